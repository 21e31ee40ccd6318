// The TOML layer of the configuration (mirrorpool.toml(5)): every key typed, defaulted and
// range-checked, every problem reported as file:line:col, all of them at once.
// Zone files are not read here; load_model does that. This file owns the entry
// points, the TOML document and the table reader; the readers of each part of
// the file are in config_server.cc, config_pools.cc and config_json.cc (see
// config_parser.hh).
#include "dnsd/config/config.hh"

#include <algorithm>
#include <cerrno>
#include <cmath>
#include <cstdio>
#include <cstring>
#include <tuple>

#include "dnsd/common/duration.hh"
#include "dnsd/config/config_parser.hh"
#include "dnsd/config/mirror_notes.hh"

namespace mirrorpool::dnsd {
namespace config_detail {

using health::Duration;

std::string_view type_name(const toml::node& node) {
  switch (node.type()) {
    case toml::node_type::string:
      return "a string";
    case toml::node_type::integer:
      return "an integer";
    case toml::node_type::floating_point:
      return "a float";
    case toml::node_type::boolean:
      return "a boolean";
    case toml::node_type::date:
      return "a date";
    case toml::node_type::time:
      return "a time";
    case toml::node_type::date_time:
      return "a date-time";
    case toml::node_type::array:
      return "an array";
    case toml::node_type::table:
      return "a table";
    case toml::node_type::none:
      break;
  }
  return "nothing";
}

std::string TableReader::name(std::string_view key) const {
  return context_.empty() ? fmt::format("'{}'", key) : fmt::format("'{}' in {}", key, context_);
}

const toml::node* TableReader::find(std::string_view key) {
  known_.emplace(key);
  const auto it = table_.find(key);
  return it == table_.end() ? nullptr : &it->second;
}

toml::source_region TableReader::key_where(std::string_view key) const {
  const auto it = table_.find(key);
  return it == table_.end() ? table_.source() : it->first.source();
}

void TableReader::missing(std::string_view key) {
  reporter_.error(where(), fmt::format("missing required key {}", name(key)));
}

void TableReader::wrong_type(std::string_view key, const toml::node& node,
                             std::string_view expected) {
  reporter_.error(node.source(),
                  fmt::format("{} must be {}, not {}", name(key), expected, type_name(node)));
}

std::optional<std::string> TableReader::string(std::string_view key, bool allow_empty) {
  const toml::node* node = find(key);
  if (!node) return std::nullopt;
  if (!node->is_string()) {
    wrong_type(key, *node, "a string");
    return std::nullopt;
  }
  std::string text = node->as_string()->get();
  if (text.empty() && !allow_empty) {
    reporter_.error(node->source(), fmt::format("{} must not be empty", name(key)));
    return std::nullopt;
  }
  return text;
}

std::optional<bool> TableReader::boolean(std::string_view key) {
  const toml::node* node = find(key);
  if (!node) return std::nullopt;
  if (!node->is_boolean()) {
    wrong_type(key, *node, "true or false");
    return std::nullopt;
  }
  return node->as_boolean()->get();
}

std::optional<zones::GeoPoint> TableReader::location(std::string_view key) {
  const toml::node* node = find(key);
  if (!node) return std::nullopt;
  const toml::array* array = node->as_array();
  const auto number = [&](size_t i) -> std::optional<double> {
    if (array == nullptr || array->size() != 2) return std::nullopt;
    const toml::node& n = *array->get(i);
    if (n.is_floating_point()) return n.as_floating_point()->get();
    if (n.is_integer()) return static_cast<double>(n.as_integer()->get());
    return std::nullopt;
  };
  const auto latitude = number(0);
  const auto longitude = number(1);
  if (!latitude || !longitude) {
    wrong_type(key, *node, "[latitude, longitude] in degrees, such as [50.11, 8.68]");
    return std::nullopt;
  }
  if (!valid_location(*latitude, *longitude)) {
    reporter_.error(node->source(),
                    fmt::format("{} must be [latitude, longitude] with |latitude| <= 90 and "
                                "|longitude| <= 180 (got [{}, {}])",
                                name(key), *latitude, *longitude));
    return std::nullopt;
  }
  return zones::GeoPoint{*latitude, *longitude};
}

std::optional<std::string> TableReader::country(std::string_view key) {
  const toml::node* node = find(key);
  if (!node) return std::nullopt;
  if (!node->is_string()) {
    wrong_type(key, *node, "a two-letter ISO 3166-1 country code such as \"DE\"");
    return std::nullopt;
  }
  std::string code = node->as_string()->get();
  if (!normalize_country(code)) {
    reporter_.error(node->source(),
                    fmt::format("{} must be a two-letter ISO 3166-1 country code such as \"DE\" "
                                "(got \"{}\")",
                                name(key), node->as_string()->get()));
    return std::nullopt;
  }
  return code;
}

std::optional<int64_t> TableReader::integer(std::string_view key, int64_t min, int64_t max) {
  const toml::node* node = find(key);
  if (!node) return std::nullopt;
  if (!node->is_integer()) {
    wrong_type(key, *node, "an integer");
    return std::nullopt;
  }
  const int64_t value = node->as_integer()->get();
  if (value < min || value > max) {
    reporter_.error(node->source(), fmt::format("{} must be between {} and {} (got {})", name(key),
                                                min, max, value));
    return std::nullopt;
  }
  return value;
}

std::optional<Duration> TableReader::duration(std::string_view key, Duration min, Duration max) {
  const toml::node* node = find(key);
  if (!node) return std::nullopt;
  if (!node->is_string()) {
    wrong_type(key, *node, "a duration string such as \"5s\"");
    return std::nullopt;
  }
  const std::string& text = node->as_string()->get();
  auto value = parse_duration(text);
  if (!value) {
    reporter_.error(node->source(),
                    fmt::format("{} is not a valid duration: \"{}\" (use a number and a unit "
                                "ms, s, m, h or d, e.g. \"250ms\", \"5s\", \"1m30s\")",
                                name(key), text));
    return std::nullopt;
  }
  if (*value < min || *value > max) {
    reporter_.error(node->source(), fmt::format("{} must be between {} and {} (got {})", name(key),
                                                format_duration(min), format_duration(max), text));
    return std::nullopt;
  }
  return value;
}

std::optional<std::vector<Item>> TableReader::strings(std::string_view key) {
  const toml::node* node = find(key);
  if (!node) return std::nullopt;
  const toml::array* array = node->as_array();
  if (!array) {
    wrong_type(key, *node, "an array of strings");
    return std::nullopt;
  }
  std::vector<Item> items;
  for (const toml::node& element : *array) {
    if (const auto* text = element.as_string()) {
      items.push_back(Item{text->get(), element.source()});
    } else {
      reporter_.error(element.source(), fmt::format("{} must contain only strings, not {}",
                                                    name(key), type_name(element)));
    }
  }
  return items;
}

const toml::table* TableReader::table(std::string_view key) {
  const toml::node* node = find(key);
  if (!node) return nullptr;
  if (!node->is_table()) {
    wrong_type(key, *node, "a table");
    return nullptr;
  }
  return node->as_table();
}

std::vector<const toml::table*> TableReader::tables(std::string_view key) {
  const toml::node* node = find(key);
  if (!node) return {};
  const toml::array* array = node->as_array();
  if (!array || !array->is_array_of_tables()) {
    wrong_type(key, *node, fmt::format("an array of tables, written [[{}]]", key));
    return {};
  }
  std::vector<const toml::table*> out;
  for (const toml::node& element : *array) out.push_back(element.as_table());
  return out;
}

void TableReader::report_unknown_keys() {
  for (auto&& [key, value] : table_) {
    if (known_.contains(key.str())) continue;
    reporter_.error(key.source(), context_.empty()
                                      ? fmt::format("unknown key '{}' at the top level", key.str())
                                      : fmt::format("unknown key '{}' in {}", key.str(), context_));
  }
}

Parser::Parser(std::string path, zones::Diagnostics& diags)
    : path_(std::move(path)),
      dir_(std::filesystem::path(path_).parent_path()),
      reporter_(path_, diags),
      diags_(diags) {}

std::optional<Config> Parser::parse(std::string_view text) {
  const size_t first_new = diags_.size();
  toml::table root;
  try {
    root = toml::parse(text, std::string_view(path_));
  } catch (const toml::parse_error& e) {
    // toml++ says "Error while parsing table header: expected ']'"; the
    // diagnostic already says "error:", so only the detail is kept.
    constexpr std::string_view kPrefix = "Error while parsing ";
    std::string_view detail = e.description();
    reporter_.error(e.source(),
                    detail.starts_with(kPrefix)
                        ? fmt::format("TOML syntax error in {}", detail.substr(kPrefix.size()))
                        : fmt::format("TOML syntax error: {}", detail));
    return std::nullopt;
  }
  Config config;
  config.path = path_;
  TableReader top(reporter_, root, "");
  read_server(top, config.server);
  geo_enabled_ = config.server.geo.enabled;
  read_tsig_keys(top, config.tsig);
  read_zones(top, config);
  read_pools(top, config.pools);
  read_alerts(top, config.alerts);
  top.report_unknown_keys();
  if (diags_.size() == first_new) return config;
  // Keys come out of toml++ tables sorted by name; print in file order, the
  // config file's first, then those of mirrors.json files.
  std::stable_sort(diags_.begin() + static_cast<std::ptrdiff_t>(first_new), diags_.end(),
                   [&](const zones::Diagnostic& a, const zones::Diagnostic& b) {
                     return std::tuple(a.pos.file != path_, a.pos.line, a.pos.col) <
                            std::tuple(b.pos.file != path_, b.pos.line, b.pos.col);
                   });
  return std::nullopt;
}

TableReader Parser::reader(const toml::table& table, std::string context) {
  return TableReader(reporter_, table, std::move(context));
}

// Relative file names in the config are relative to the config file.
std::string Parser::resolve(const std::string& file) const {
  const std::filesystem::path p(file);
  if (p.is_absolute() || dir_.empty()) return file;
  return (dir_ / p).string();
}

}  // namespace config_detail

using config_detail::Parser;

std::optional<health::CheckSpec> parse_mirror_overrides(const nlohmann::json& overrides,
                                                        const PoolConfig& pool,
                                                        std::string_view mirror_id,
                                                        const std::string& source,
                                                        zones::Diagnostics& diags) {
  return Parser(source, diags).mirror_overrides(overrides, pool, mirror_id);
}

std::optional<Config> parse_config(std::string_view text, const std::string& path,
                                   zones::Diagnostics& diags) {
  return Parser(path, diags).parse(text);
}

std::optional<Config> load_config(const std::string& path, zones::Diagnostics& diags) {
  std::FILE* file = std::fopen(path.c_str(), "rb");
  if (!file) {
    diags.push_back({zones::SourcePos{path, 0, 0},
                     fmt::format("cannot open config file: {}", std::strerror(errno))});
    return std::nullopt;
  }
  std::string text;
  char buffer[65536];
  size_t n = 0;
  while ((n = std::fread(buffer, 1, sizeof buffer, file)) > 0) text.append(buffer, n);
  const bool failed = std::ferror(file) != 0;
  const int error = errno;
  std::fclose(file);
  if (failed) {
    diags.push_back({zones::SourcePos{path, 0, 0},
                     fmt::format("cannot read config file: {}", std::strerror(error))});
    return std::nullopt;
  }
  return parse_config(text, path, diags);
}

zones::Diagnostics config_warnings(const Config& config) {
  zones::Diagnostics warnings;
  for (const PoolConfig& pool : config.pools) {
    const bool can_answer =
        std::any_of(pool.def.mirrors.begin(), pool.def.mirrors.end(),
                    [](const zones::MirrorDef& m) { return m.weight > 0 && !m.addresses.empty(); });
    if (!can_answer) {
      warnings.emplace_back(pool.def.pos,
                            fmt::format("pool {} has no mirror with a weight above 0 and an "
                                        "address: it can never answer with an address",
                                        pool.def.name.to_text()),
                            zones::Severity::warning);
    }
    for (const zones::MirrorDef& m : pool.def.mirrors) {
      const auto from_json = pool.json_notes.find(m.id);
      if (from_json == pool.json_notes.end()) continue;
      for (const std::string& item : read_mirror_notes(m.notes).unread) {
        warnings.emplace_back(
            from_json->second,
            fmt::format("notes of mirror '{}': \"{}\" is neither a dated failure "
                        "(\"YYYY-MM-DD: reason\") nor \"added YYYY-MM-DD\"; kept as text, not "
                        "imported into the journal",
                        m.id, item),
            zones::Severity::warning);
      }
    }
  }
  return warnings;
}

}  // namespace mirrorpool::dnsd
