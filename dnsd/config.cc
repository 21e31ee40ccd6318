// The TOML layer of the configuration (SPEC §3): every key typed, defaulted and
// range-checked, every problem reported as file:line:col, all of them at once.
// Zone files are not read here; load_model does that.
#include "dnsd/config.hh"

#include <algorithm>
#include <cerrno>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <initializer_list>
#include <set>
#include <tuple>
#include <utility>

#include <fmt/format.h>
#include <toml++/toml.h>
#include <nlohmann/json.hpp>

#include "dnsd/duration.hh"
#include "dnsd/mirrors_json.hh"

namespace mirrorpool::dnsd {
namespace {

using health::CheckSpec;
using health::CheckType;
using health::Duration;
using std::chrono::days;
using std::chrono::milliseconds;
using std::chrono::seconds;

constexpr int64_t kMaxTtl = 2147483647;  // RFC 2181 §8

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

bool is_base64(std::string_view text) {
  if (text.empty() || text.size() % 4 != 0) return false;
  size_t padding = 0;
  while (padding < 2 && text[text.size() - 1 - padding] == '=') ++padding;
  for (size_t i = 0; i < text.size() - padding; ++i) {
    const char c = text[i];
    const bool ok = (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') ||
                    c == '+' || c == '/';
    if (!ok) return false;
  }
  return true;
}

// The text of a name without the root's trailing dot ("dl.pool.example").
std::string host_of(const zones::Name& name) {
  std::string text = name.to_text();
  if (text.size() > 1 && text.back() == '.') text.pop_back();
  return text;
}

// Collects the diagnostics of one config file.
class Reporter {
 public:
  Reporter(std::string file, zones::Diagnostics& diags) : file_(std::move(file)), diags_(diags) {}

  void error(const toml::source_region& where, std::string message) {
    diags_.push_back(zones::Diagnostic{pos(where), std::move(message)});
  }

  zones::SourcePos pos(const toml::source_region& where) const {
    return {file_, static_cast<int>(where.begin.line), static_cast<int>(where.begin.column)};
  }

 private:
  std::string file_;
  zones::Diagnostics& diags_;
};

// A string element of an array, with where it was written.
struct Item {
  std::string text;
  toml::source_region where;
};

// Reads one TOML table. Every key a reader function asks for counts as known;
// report_unknown_keys then reports the rest, so a typo never goes unnoticed.
class TableReader {
 public:
  // context names the table in messages ("[pool.check]"; empty at the top).
  TableReader(Reporter& reporter, const toml::table& table, std::string context)
      : reporter_(reporter), table_(table), context_(std::move(context)) {}

  const toml::source_region& where() const { return table_.source(); }

  // "'port' in [pool.check]".
  std::string name(std::string_view key) const {
    return context_.empty() ? fmt::format("'{}'", key) : fmt::format("'{}' in {}", key, context_);
  }

  // The value of key, or nullptr when absent.
  const toml::node* find(std::string_view key) {
    known_.emplace(key);
    const auto it = table_.find(key);
    return it == table_.end() ? nullptr : &it->second;
  }

  // The source of key as written (for errors about the key itself).
  toml::source_region key_where(std::string_view key) const {
    const auto it = table_.find(key);
    return it == table_.end() ? table_.source() : it->first.source();
  }

  void missing(std::string_view key) {
    reporter_.error(where(), fmt::format("missing required key {}", name(key)));
  }

  void wrong_type(std::string_view key, const toml::node& node, std::string_view expected) {
    reporter_.error(node.source(),
                    fmt::format("{} must be {}, not {}", name(key), expected, type_name(node)));
  }

  std::optional<std::string> string(std::string_view key, bool allow_empty = false) {
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

  std::optional<int64_t> integer(std::string_view key, int64_t min, int64_t max) {
    const toml::node* node = find(key);
    if (!node) return std::nullopt;
    if (!node->is_integer()) {
      wrong_type(key, *node, "an integer");
      return std::nullopt;
    }
    const int64_t value = node->as_integer()->get();
    if (value < min || value > max) {
      reporter_.error(node->source(), fmt::format("{} must be between {} and {} (got {})",
                                                  name(key), min, max, value));
      return std::nullopt;
    }
    return value;
  }

  template <class T>
  void read_integer(std::string_view key, T& out, int64_t min, int64_t max) {
    if (auto value = integer(key, min, max)) out = static_cast<T>(*value);
  }

  std::optional<Duration> duration(std::string_view key, Duration min, Duration max) {
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
      reporter_.error(node->source(),
                      fmt::format("{} must be between {} and {} (got {})", name(key),
                                  format_duration(min), format_duration(max), text));
      return std::nullopt;
    }
    return value;
  }

  template <class E>
  std::optional<E> choice(std::string_view key,
                          std::initializer_list<std::pair<std::string_view, E>> choices) {
    const toml::node* node = find(key);
    if (!node) return std::nullopt;
    std::string allowed;
    for (const auto& [text, value] : choices) {
      allowed += fmt::format("{}\"{}\"", allowed.empty() ? "" : ", ", text);
    }
    if (!node->is_string()) {
      wrong_type(key, *node, fmt::format("one of {}", allowed));
      return std::nullopt;
    }
    const std::string& text = node->as_string()->get();
    for (const auto& [choice_text, value] : choices) {
      if (text == choice_text) return value;
    }
    reporter_.error(node->source(),
                    fmt::format("{} must be one of {} (got \"{}\")", name(key), allowed, text));
    return std::nullopt;
  }

  // Every string of an array; non-string elements are reported and skipped.
  std::optional<std::vector<Item>> strings(std::string_view key) {
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

  const toml::table* table(std::string_view key) {
    const toml::node* node = find(key);
    if (!node) return nullptr;
    if (!node->is_table()) {
      wrong_type(key, *node, "a table");
      return nullptr;
    }
    return node->as_table();
  }

  // The tables of a [[key]] array.
  std::vector<const toml::table*> tables(std::string_view key) {
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

  void report_unknown_keys() {
    for (auto&& [key, value] : table_) {
      if (known_.contains(key.str())) continue;
      reporter_.error(key.source(),
                      context_.empty()
                          ? fmt::format("unknown key '{}' at the top level", key.str())
                          : fmt::format("unknown key '{}' in {}", key.str(), context_));
    }
  }

 private:
  Reporter& reporter_;
  const toml::table& table_;
  std::string context_;
  std::set<std::string, std::less<>> known_;
};

// What one layer of check settings ([pool.check] or a mirror's overrides)
// wrote, for the defaults and cross-key checks that depend on it.
struct CheckLayer {
  bool port_set = false;  // in this layer or one below it
  // In this layer: a mirrors.json url_prefix supplies what [pool.check] did not set.
  bool type_set = false;
  bool host_set = false;
  bool path_set = false;
  std::optional<toml::source_region> interval_at;
  std::optional<toml::source_region> timeout_at;
  std::optional<toml::source_region> freshness_at;
};

class Parser {
 public:
  Parser(std::string path, zones::Diagnostics& diags)
      : path_(std::move(path)),
        dir_(std::filesystem::path(path_).parent_path()),
        reporter_(path_, diags),
        diags_(diags) {}

  std::optional<Config> parse(std::string_view text) {
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
    read_tsig_keys(top, config.tsig);
    read_zones(top, config);
    read_pools(top, config.pools);
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

 private:
  TableReader reader(const toml::table& table, std::string context) {
    return TableReader(reporter_, table, std::move(context));
  }

  // Relative file names in the config are relative to the config file.
  std::string resolve(const std::string& file) const {
    const std::filesystem::path p(file);
    if (p.is_absolute() || dir_.empty()) return file;
    return (dir_ / p).string();
  }

  std::optional<Endpoint> endpoint(TableReader& r, std::string_view key, const Item& item) {
    auto parsed = Endpoint::parse(item.text);
    if (!parsed) {
      reporter_.error(item.where,
                      fmt::format("{} has an invalid endpoint \"{}\" (expected ADDRESS:PORT such "
                                  "as \"192.0.2.1:53\" or \"[2001:db8::1]:53\")",
                                  r.name(key), item.text));
    }
    return parsed;
  }

  void read_server(TableReader& top, ServerConfig& server) {
    const toml::table* table = top.table("server");
    const toml::table empty;
    TableReader r = reader(table ? *table : empty, "[server]");
    if (auto items = r.strings("listen")) {
      if (items->empty()) {
        reporter_.error(r.key_where("listen"),
                        "'listen' in [server] is empty: the server would answer nobody");
      }
      for (const Item& item : *items) {
        auto parsed = endpoint(r, "listen", item);
        if (!parsed) continue;
        const bool duplicate =
            std::any_of(server.listen.begin(), server.listen.end(), [&](const Endpoint& e) {
              return e.address.text == parsed->address.text && e.port == parsed->port;
            });
        if (duplicate) {
          reporter_.error(item.where,
                          fmt::format("'listen' in [server] lists \"{}\" twice", item.text));
          continue;
        }
        server.listen.push_back(std::move(*parsed));
      }
    } else if (!r.find("listen")) {
      reporter_.error(table ? r.where() : toml::source_region{{1, 1}, {1, 1}, {}},
                      "missing required key 'listen' in [server]");
    }
    r.read_integer("workers", server.workers, 0, 256);
    if (auto text = r.string("control_socket")) server.control_socket = *text;
    if (auto text = r.string("state_dir")) server.state_dir = *text;
    if (auto text = r.string("user")) server.user = *text;
    if (const toml::node* node = r.find("http_listen")) {
      if (!node->is_string()) {
        r.wrong_type("http_listen", *node, "a string");
      } else if (auto parsed =
                     endpoint(r, "http_listen", Item{node->as_string()->get(), node->source()})) {
        const bool taken =
            std::any_of(server.listen.begin(), server.listen.end(), [&](const Endpoint& e) {
              return e.address.text == parsed->address.text && e.port == parsed->port;
            });
        if (taken) {
          reporter_.error(node->source(),
                          fmt::format("'http_listen' in [server] conflicts with DNS listen "
                                      "endpoint \"{}\"",
                                      parsed->text));
        }
        server.http_listen = std::move(*parsed);
      }
    }
    if (auto timeout = r.duration("tcp_idle_timeout", milliseconds(1), days(1))) {
      server.tcp_idle_timeout_ms = static_cast<unsigned>(timeout->count());
    }
    if (auto timeout = r.duration("tcp_query_timeout", milliseconds(1), days(1))) {
      server.tcp_query_timeout_ms = static_cast<unsigned>(timeout->count());
    }
    r.read_integer("tcp_max_clients", server.tcp_max_clients, 1, 1'000'000);
    r.read_integer("udp_max_size", server.udp_max_size, 512, 65535);
    if (const toml::table* rrl = r.table("rrl")) {
      TableReader rr = reader(*rrl, "[server.rrl]");
      rr.read_integer("responses_per_second", server.rrl.responses_per_second, 0, 1'000'000);
      rr.read_integer("slip", server.rrl.slip, 0, 10);
      rr.read_integer("ipv4_prefix", server.rrl.ipv4_prefix, 8, 32);
      rr.read_integer("ipv6_prefix", server.rrl.ipv6_prefix, 16, 128);
      rr.report_unknown_keys();
    }
    r.report_unknown_keys();
  }

  void read_tsig_keys(TableReader& top, std::map<std::string, TsigKey>& keys) {
    const toml::table* table = top.table("tsig");
    if (!table) return;
    for (auto&& [name, node] : *table) {
      const std::string context = fmt::format("[tsig.{}]", name.str());
      if (!node.is_table()) {
        reporter_.error(node.source(),
                        fmt::format("'{}' in [tsig] must be a table, written {}, not {}",
                                    name.str(), context, type_name(node)));
        continue;
      }
      // TSIG key names travel on the wire as domain names.
      const std::string_view text = name.str();
      if (!zones::Name::from_text(text.ends_with('.') ? std::string(text)
                                                      : fmt::format("{}.", text))) {
        reporter_.error(name.source(),
                        fmt::format("TSIG key name '{}' is not a valid domain name", text));
      }
      TableReader r = reader(*node.as_table(), context);
      TsigKey key;
      key.name = std::string(text);
      key.algorithm = "hmac-sha256";
      if (auto algorithm = r.choice<std::string_view>(
              "algorithm", {{"hmac-sha256", "hmac-sha256"}, {"hmac-sha512", "hmac-sha512"}})) {
        key.algorithm = std::string(*algorithm);
      }
      if (auto secret = r.string("secret")) {
        if (is_base64(*secret)) {
          key.secret = *secret;
        } else {
          reporter_.error(r.find("secret")->source(),
                          fmt::format("'secret' in {} is not valid base64", context));
        }
      } else if (!r.find("secret")) {
        r.missing("secret");
      }
      r.report_unknown_keys();
      keys.emplace(key.name, std::move(key));
    }
  }

  void read_zones(TableReader& top, Config& config) {
    const auto tables = top.tables("zone");
    if (tables.empty() && !top.find("zone")) {
      reporter_.error(toml::source_region{{1, 1}, {1, 1}, {}},
                      "no [[zone]] defined: at least one zone is required");
    }
    for (const toml::table* table : tables) {
      TableReader r = reader(*table, "[[zone]]");
      ZoneConfig zone;
      zone.pos = reporter_.pos(r.where());
      bool ok = true;
      if (auto origin = read_name(r, "origin")) {
        zone.origin = *origin;
        const auto first = std::find_if(config.zones.begin(), config.zones.end(),
                                        [&](const ZoneConfig& z) { return z.origin == *origin; });
        if (first != config.zones.end()) {
          reporter_.error(r.find("origin")->source(),
                          fmt::format("duplicate zone origin '{}' (first defined at line {})",
                                      origin->to_text(), first->pos.line));
          ok = false;
        }
      } else {
        ok = false;
      }
      if (auto file = r.string("file")) {
        zone.file = resolve(*file);
      } else {
        if (!r.find("file")) r.missing("file");
        ok = false;
      }
      if (auto items = r.strings("notify")) {
        for (const Item& item : *items) {
          // The DNS port is the obvious default for a secondary.
          auto parsed = Endpoint::parse(item.text);
          if (!parsed) {
            if (auto address = zones::Address::parse(item.text)) {
              parsed = Endpoint{*address, 53, item.text};
            }
          }
          if (parsed) {
            zone.notify.push_back(std::move(*parsed));
          } else {
            reporter_.error(item.where,
                            fmt::format("'notify' in [[zone]] has an invalid endpoint \"{}\" "
                                        "(expected ADDRESS or ADDRESS:PORT)",
                                        item.text));
          }
        }
      }
      if (auto items = r.strings("allow_transfer")) {
        for (const Item& item : *items) {
          if (auto prefix = Prefix::parse(item.text)) {
            zone.allow_transfer.push_back(std::move(*prefix));
          } else {
            reporter_.error(
                item.where,
                fmt::format("'allow_transfer' in [[zone]] has an invalid prefix \"{}\" (expected "
                            "ADDRESS or ADDRESS/LENGTH with no bits set past LENGTH)",
                            item.text));
          }
        }
      }
      if (auto tsig = r.string("tsig")) {
        if (config.tsig.contains(*tsig)) {
          zone.tsig = *tsig;
        } else {
          reporter_.error(r.find("tsig")->source(),
                          fmt::format("'tsig' in [[zone]] names an undefined key '{}' (define it "
                                      "in a [tsig.{}] table)",
                                      *tsig, *tsig));
        }
      }
      r.report_unknown_keys();
      if (ok) config.zones.push_back(std::move(zone));
    }
  }

  // An absolute domain name ("dl.pool.example."), reported when absent or bad.
  std::optional<zones::Name> read_name(TableReader& r, std::string_view key) {
    auto text = r.string(key);
    if (!text) {
      if (!r.find(key)) r.missing(key);
      return std::nullopt;
    }
    auto name = zones::Name::from_text(*text);
    if (!name) {
      reporter_.error(r.find(key)->source(),
                      fmt::format("{} is not a valid absolute domain name: \"{}\"{}", r.name(key),
                                  *text, text->ends_with('.') ? "" : " (it must end with a dot)"));
    }
    return name;
  }

  // Applies the check keys present in r onto spec. r is a [pool.check] table
  // or a [[pool.mirror]] table, where the same keys are per-mirror overrides.
  void read_check_keys(TableReader& r, std::string_view freshness_context, CheckSpec& spec,
                       CheckLayer& layer) {
    if (auto type = r.choice<CheckType>(
            "type",
            {{"tcp", CheckType::tcp}, {"http", CheckType::http}, {"https", CheckType::https}})) {
      spec.type = *type;
      layer.type_set = true;
    }
    if (auto port = r.integer("port", 1, 65535)) {
      spec.port = static_cast<uint16_t>(*port);
      layer.port_set = true;
    }
    if (auto host = r.string("host")) {
      // The host goes into a Host header and TLS SNI, so it must be a DNS name.
      if (zones::Name::from_text(*host + ".") && !host->ends_with('.')) {
        spec.host = *host;
        layer.host_set = true;
      } else {
        reporter_.error(r.find("host")->source(),
                        fmt::format("{} is not a valid host name: \"{}\" (write it without a "
                                    "trailing dot)",
                                    r.name("host"), *host));
      }
    }
    if (auto path = read_url_path(r, "path")) {
      spec.path = *path;
      layer.path_set = true;
    }
    if (const toml::node* node = r.find("expect_status")) {
      read_statuses(r, *node, spec.expect_status);
    }
    if (auto body = r.string("expect_body", true)) spec.expect_body = *body;
    if (auto interval = r.duration("interval", milliseconds(100), days(1))) {
      spec.interval = *interval;
      layer.interval_at = r.find("interval")->source();
    }
    if (auto timeout = r.duration("timeout", milliseconds(1), days(1))) {
      spec.timeout = *timeout;
      layer.timeout_at = r.find("timeout")->source();
    }
    r.read_integer("rise", spec.rise, 1, 100);
    r.read_integer("fall", spec.fall, 1, 100);
    r.read_integer("tls_min_days", spec.tls_min_days, 0, 3650);
    if (auto ca_file = r.string("ca_file", true)) {
      spec.ca_file = ca_file->empty() ? std::string() : resolve(*ca_file);
    }
    r.read_integer("mass_failure_rounds", spec.mass_failure_rounds, 1, 100);
    if (const toml::table* table = r.table("freshness")) {
      TableReader f = reader(*table, std::string(freshness_context));
      layer.freshness_at = f.where();
      if (auto path = read_url_path(f, "path")) spec.freshness.path = *path;
      if (auto reference = f.string("reference")) {
        if (reference->starts_with("http://") || reference->starts_with("https://")) {
          spec.freshness.reference = *reference;
        } else {
          reporter_.error(f.find("reference")->source(),
                          fmt::format("{} must be an http:// or https:// URL (got \"{}\")",
                                      f.name("reference"), *reference));
        }
      }
      if (auto max_lag = f.duration("max_lag", seconds(1), days(365))) {
        spec.freshness.max_lag = *max_lag;
      }
      f.report_unknown_keys();
    }
  }

  std::optional<std::string> read_url_path(TableReader& r, std::string_view key) {
    auto path = r.string(key);
    if (path && !path->starts_with('/')) {
      reporter_.error(r.find(key)->source(),
                      fmt::format("{} must start with '/' (got \"{}\")", r.name(key), *path));
      return std::nullopt;
    }
    return path;
  }

  void read_statuses(TableReader& r, const toml::node& node, std::vector<int>& out) {
    const toml::array* array = node.as_array();
    if (!array) {
      r.wrong_type("expect_status", node, "an array of HTTP status codes such as [200]");
      return;
    }
    if (array->empty()) {
      reporter_.error(node.source(), fmt::format("{} must list at least one status code",
                                                 r.name("expect_status")));
      return;
    }
    std::vector<int> statuses;
    for (const toml::node& element : *array) {
      const auto* value = element.as_integer();
      if (!value || value->get() < 100 || value->get() > 599) {
        reporter_.error(element.source(), fmt::format("{} must contain HTTP status codes "
                                                      "between 100 and 599",
                                                      r.name("expect_status")));
        return;
      }
      statuses.push_back(static_cast<int>(value->get()));
    }
    out = std::move(statuses);
  }

  // Cross-key checks of an effective CheckSpec. A mirror layer is checked only
  // for what it overrides, so a pool-level mistake is reported once.
  void validate_check(const CheckSpec& spec, const CheckLayer& layer,
                      const toml::source_region& table_at, bool whole) {
    if ((whole || layer.interval_at || layer.timeout_at) && spec.timeout >= spec.interval) {
      reporter_.error(layer.timeout_at.value_or(layer.interval_at.value_or(table_at)),
                      fmt::format("'timeout' ({}) must be shorter than 'interval' ({})",
                                  format_duration(spec.timeout), format_duration(spec.interval)));
    }
    if ((whole || layer.freshness_at) &&
        spec.freshness.path.empty() != spec.freshness.reference.empty()) {
      reporter_.error(layer.freshness_at.value_or(table_at),
                      "freshness needs both 'path' (on the mirror) and 'reference' (the "
                      "primary's URL)");
    }
  }

  // Defaults that depend on other keys.
  static CheckSpec finish_check(CheckSpec spec, const CheckLayer& layer) {
    if (spec.type == CheckType::https && !layer.port_set) spec.port = 443;
    return spec;
  }

  void read_pools(TableReader& top, std::vector<PoolConfig>& pools) {
    for (const toml::table* table : top.tables("pool")) {
      TableReader r = reader(*table, "[[pool]]");
      PoolConfig pool;
      zones::PoolDef& def = pool.def;
      def.pos = reporter_.pos(r.where());
      bool ok = true;
      if (auto name = read_name(r, "name")) {
        def.name = *name;
        const auto first = std::find_if(pools.begin(), pools.end(),
                                        [&](const PoolConfig& p) { return p.def.name == *name; });
        if (first != pools.end()) {
          reporter_.error(r.find("name")->source(),
                          fmt::format("duplicate pool '{}' (first defined at line {})",
                                      name->to_text(), first->def.pos.line));
          ok = false;
        }
      } else {
        ok = false;
      }
      r.read_integer("ttl", def.ttl, 0, kMaxTtl);
      r.read_integer("max_answers", def.max_answers, 1, 64);
      if (auto policy = r.choice<zones::WhenAllDown>(
              "when_all_down", {{"serve-all", zones::WhenAllDown::serve_all},
                                {"serve-last-good", zones::WhenAllDown::serve_last_good},
                                {"servfail", zones::WhenAllDown::servfail},
                                {"nodata", zones::WhenAllDown::nodata}})) {
        def.when_all_down = *policy;
      }
      r.read_integer("min_healthy", def.min_healthy, 1, 10'000);
      if (auto policy = r.choice<WeightPolicy>("weight_policy",
                                               {{"static", WeightPolicy::static_weights},
                                                {"reliability", WeightPolicy::reliability}})) {
        pool.weight_policy = *policy;
      }
      std::vector<MirrorsJsonEntry> entries;
      if (auto file = r.string("mirrors_json")) {
        pool.mirrors_json = resolve(*file);
        // Errors are already in diags_, which fails the whole config.
        entries = load_mirrors_json(pool.mirrors_json, diags_).value_or(entries);
      }

      // The unfinished pool check is the base of every mirror's own, so that
      // "https → port 443" is decided after the mirror's overrides.
      CheckSpec base;
      base.host = host_of(def.name);
      CheckLayer pool_layer;
      if (const toml::table* check = r.table("check")) {
        TableReader c = reader(*check, "[pool.check]");
        read_check_keys(c, "[pool.check.freshness]", base, pool_layer);
        validate_check(base, pool_layer, c.where(), true);
        c.report_unknown_keys();
      } else {
        validate_check(base, pool_layer, r.where(), true);
      }
      pool.check = finish_check(base, pool_layer);
      pool.check_port_set = pool_layer.port_set;

      read_mirrors(r, base, pool_layer, entries, pool);
      r.report_unknown_keys();
      if (ok) pools.push_back(std::move(pool));
    }
  }

  // The check of a mirror listed in mirrors.json before its own overrides:
  // what [pool.check] did not set comes from the url_prefix.
  static CheckSpec url_defaults(CheckSpec spec, const CheckLayer& pool_layer, const UrlPrefix& url,
                                CheckLayer& layer) {
    if (!pool_layer.type_set) spec.type = url.type;
    if (!pool_layer.host_set) spec.host = url.host;
    if (!pool_layer.path_set) spec.path = url.path;
    // Without a port in the URL, finish_check picks the scheme's default.
    if (!pool_layer.port_set && url.explicit_port) {
      spec.port = url.port;
      layer.port_set = true;
    }
    return spec;
  }

  // Each address has its own health, so it may belong to one mirror only.
  // The problem with giving address to mirror id, or empty when there is none.
  static std::string claim_address(std::map<std::string, std::string>& owners,
                                   const zones::Address& address, const std::string& id) {
    auto [owner, inserted] = owners.emplace(address.text, id);
    if (inserted) return {};
    return owner->second == id ? fmt::format("address {} is listed twice", address.text)
                               : fmt::format("address {} already belongs to mirror '{}'",
                                             address.text, owner->second);
  }

  void read_mirrors(TableReader& pool_reader, const CheckSpec& base, const CheckLayer& pool_layer,
                    const std::vector<MirrorsJsonEntry>& entries, PoolConfig& pool) {
    std::map<std::string, std::string> address_owner;
    const auto entry_of = [&](const std::string& id) -> const MirrorsJsonEntry* {
      const auto it = std::find_if(entries.begin(), entries.end(),
                                   [&](const MirrorsJsonEntry& e) { return e.id == id; });
      return it == entries.end() ? nullptr : &*it;
    };
    for (const toml::table* table : pool_reader.tables("mirror")) {
      TableReader r = reader(*table, "[[pool.mirror]]");
      zones::MirrorDef mirror;
      mirror.pos = reporter_.pos(r.where());
      bool ok = true;
      if (auto id = r.string("id")) {
        const auto& mirrors = pool.def.mirrors;
        if (!is_valid_id(*id)) {
          reporter_.error(r.find("id")->source(),
                          fmt::format("'id' in [[pool.mirror]] must be 1-63 letters, digits, "
                                      "'-', '_' or '.' (got \"{}\")",
                                      *id));
          ok = false;
        } else if (auto first =
                       std::find_if(mirrors.begin(), mirrors.end(),
                                    [&](const zones::MirrorDef& m) { return m.id == *id; });
                   first != mirrors.end()) {
          reporter_.error(r.find("id")->source(),
                          fmt::format("duplicate mirror id '{}' in pool '{}' (first defined at "
                                      "line {})",
                                      *id, pool.def.name.to_text(), first->pos.line));
          ok = false;
        }
        mirror.id = *id;
      } else {
        if (!r.find("id")) r.missing("id");
        ok = false;
      }
      // The same mirror in mirrors.json: this table adds addresses, capacity
      // and check overrides to it.
      const MirrorsJsonEntry* entry = entry_of(mirror.id);
      if (auto items = r.strings("addresses")) {
        if (entry && entry->addresses) {
          reporter_.error(r.key_where("addresses"),
                          fmt::format("mirror '{}' already has 'addresses' in {}:{}: list them "
                                      "in one place",
                                      mirror.id, entry->pos.file, entry->pos.line));
          ok = false;
        }
        if (items->empty()) {
          reporter_.error(r.find("addresses")->source(),
                          "'addresses' in [[pool.mirror]] must list at least one address");
          ok = false;
        }
        for (const Item& item : *items) {
          auto address = zones::Address::parse(item.text);
          if (!address) {
            reporter_.error(item.where,
                            fmt::format("'addresses' in [[pool.mirror]] has an invalid IPv4 or "
                                        "IPv6 address \"{}\"",
                                        item.text));
            ok = false;
            continue;
          }
          if (auto problem = claim_address(address_owner, *address, mirror.id); !problem.empty()) {
            reporter_.error(item.where, std::move(problem));
            ok = false;
            continue;
          }
          mirror.addresses.push_back(std::move(*address));
        }
      } else if (entry && entry->addresses) {
        for (const zones::Address& address : *entry->addresses) {
          if (auto problem = claim_address(address_owner, address, mirror.id); !problem.empty()) {
            diags_.push_back({entry->pos, std::move(problem)});
            ok = false;
          }
        }
        mirror.addresses = *entry->addresses;
      } else {
        if (!r.find("addresses")) r.missing("addresses");
        ok = false;
      }
      r.read_integer("weight", mirror.weight, 0, kMaxMirrorWeight);
      if (auto capacity = r.choice<zones::Capacity>(
              "capacity", {{"normal", zones::Capacity::normal}, {"huge", zones::Capacity::huge}})) {
        mirror.capacity = *capacity;
      }
      if (auto email = r.string("email")) {
        if (email->find('@') == std::string::npos) {
          reporter_.error(
              r.find("email")->source(),
              fmt::format("'email' in [[pool.mirror]] is not an address: \"{}\"", *email));
        }
        mirror.email = *email;
      }
      if (auto notes = r.string("notes", true)) mirror.notes = *notes;
      if (entry) {
        // What this table writes wins over the mirrors.json entry.
        mirror.url_prefix = entry->url_prefix;
        mirror.rsync_url = entry->rsync_url;
        if (!table->contains("weight")) mirror.weight = entry->weight;
        if (!table->contains("email")) mirror.email = entry->email;
        if (!table->contains("notes")) mirror.notes = entry->notes;
      }

      CheckLayer layer;
      layer.port_set = pool_layer.port_set;
      CheckSpec spec = entry ? url_defaults(base, pool_layer, entry->url, layer) : base;
      read_check_keys(r, "[pool.mirror.freshness]", spec, layer);
      validate_check(spec, layer, r.where(), false);
      r.report_unknown_keys();
      if (ok) {
        pool.def.mirrors.push_back(std::move(mirror));
        pool.mirror_checks.push_back(finish_check(spec, layer));
      }
    }
    if (!entries.empty()) merge_mirrors_json(base, pool_layer, entries, address_owner, pool);
  }

  // Orders the pool as mirrors.json does (so an export keeps its order), adds
  // the entries that have no [[pool.mirror]] table, then the mirrors only the
  // config file defines.
  void merge_mirrors_json(const CheckSpec& base, const CheckLayer& pool_layer,
                          const std::vector<MirrorsJsonEntry>& entries,
                          std::map<std::string, std::string>& address_owner, PoolConfig& pool) {
    std::vector<zones::MirrorDef> mirrors;
    std::vector<CheckSpec> checks;
    std::vector<bool> taken(pool.def.mirrors.size(), false);
    for (const MirrorsJsonEntry& entry : entries) {
      const auto it = std::find_if(pool.def.mirrors.begin(), pool.def.mirrors.end(),
                                   [&](const zones::MirrorDef& m) { return m.id == entry.id; });
      if (it != pool.def.mirrors.end()) {
        const auto i = static_cast<size_t>(it - pool.def.mirrors.begin());
        taken[i] = true;
        mirrors.push_back(std::move(*it));
        checks.push_back(std::move(pool.mirror_checks[i]));
        continue;
      }
      if (!entry.addresses) {
        diags_.push_back({entry.pos, fmt::format("mirror '{}' has no addresses: list them in "
                                                 "'addresses' here or in a [[pool.mirror]] with "
                                                 "id = \"{}\" in {}",
                                                 entry.id, entry.id, path_)});
        continue;
      }
      zones::MirrorDef mirror;
      mirror.id = entry.id;
      mirror.addresses = *entry.addresses;
      mirror.weight = entry.weight;
      mirror.email = entry.email;
      mirror.notes = entry.notes;
      mirror.url_prefix = entry.url_prefix;
      mirror.rsync_url = entry.rsync_url;
      mirror.pos = entry.pos;
      bool ok = true;
      for (const zones::Address& address : mirror.addresses) {
        if (auto problem = claim_address(address_owner, address, mirror.id); !problem.empty()) {
          diags_.push_back({entry.pos, std::move(problem)});
          ok = false;
        }
      }
      if (!ok) continue;
      CheckLayer layer;
      layer.port_set = pool_layer.port_set;
      checks.push_back(finish_check(url_defaults(base, pool_layer, entry.url, layer), layer));
      mirrors.push_back(std::move(mirror));
    }
    for (size_t i = 0; i < taken.size(); ++i) {
      if (taken[i]) continue;
      mirrors.push_back(std::move(pool.def.mirrors[i]));
      checks.push_back(std::move(pool.mirror_checks[i]));
    }
    pool.def.mirrors = std::move(mirrors);
    pool.mirror_checks = std::move(checks);
  }

 public:
  // See parse_mirror_overrides in config.hh.
  std::optional<CheckSpec> mirror_overrides(const nlohmann::json& overrides, const PoolConfig& pool,
                                            std::string_view mirror_id) {
    const size_t first_new = diags_.size();
    const toml::source_region nowhere{};
    if (!overrides.is_object()) {
      reporter_.error(nowhere, fmt::format("the check overrides of mirror '{}' must be a JSON "
                                           "object of [pool.check] keys",
                                           mirror_id));
      return std::nullopt;
    }
    const toml::table table = json_to_toml(overrides, fmt::format("mirror '{}'", mirror_id));
    if (diags_.size() != first_new) return std::nullopt;
    // The pool's check before finish_check, as read_mirrors starts from.
    CheckSpec spec = pool.check;
    if (!pool.check_port_set) spec.port = CheckSpec{}.port;
    CheckLayer layer;
    layer.port_set = pool.check_port_set;
    TableReader r = reader(table, fmt::format("the check overrides of mirror '{}'", mirror_id));
    read_check_keys(r, fmt::format("the freshness overrides of mirror '{}'", mirror_id), spec,
                    layer);
    validate_check(spec, layer, r.where(), false);
    r.report_unknown_keys();
    if (diags_.size() != first_new) return std::nullopt;
    return finish_check(spec, layer);
  }

 private:
  // The same values as TOML, so the check keys go through read_check_keys.
  // JSON null has no TOML equivalent and is reported.
  toml::table json_to_toml(const nlohmann::json& object, const std::string& where) {
    toml::table table;
    for (const auto& [key, value] : object.items()) {
      const std::string at = fmt::format("{} '{}'", where, key);
      if (value.is_object()) {
        table.insert(key, json_to_toml(value, at));
      } else if (value.is_array()) {
        toml::array array;
        for (const nlohmann::json& element : value) {
          json_scalar(element, at, [&](auto v) { array.push_back(std::move(v)); });
        }
        table.insert(key, std::move(array));
      } else {
        // Captured by name: clang before 16 cannot capture a structured binding.
        json_scalar(value, at, [&, &name = key](auto v) { table.insert(name, std::move(v)); });
      }
    }
    return table;
  }

  // Calls put with the TOML value of a JSON string, boolean or number. Other
  // values (null, and arrays or objects inside arrays) are never check values.
  template <class Put>
  void json_scalar(const nlohmann::json& value, const std::string& at, Put&& put) {
    if (value.is_string()) {
      put(value.get<std::string>());
    } else if (value.is_boolean()) {
      put(value.get<bool>());
    } else if (value.is_number_integer() &&
               (!value.is_number_unsigned() || value.get<uint64_t>() <= INT64_MAX)) {
      put(value.get<int64_t>());
    } else if (value.is_number_float()) {
      put(value.get<double>());
    } else {
      reporter_.error(toml::source_region{}, fmt::format("{} has a value that no check key takes: "
                                                         "{}",
                                                         at, value.dump()));
    }
  }

  std::string path_;
  std::filesystem::path dir_;
  Reporter reporter_;
  zones::Diagnostics& diags_;
};

}  // namespace

bool is_valid_id(std::string_view id) {
  if (id.empty() || id.size() > 63) return false;
  return std::all_of(id.begin(), id.end(), [](char c) {
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '-' ||
           c == '_' || c == '.';
  });
}

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
  }
  return warnings;
}

}  // namespace mirrorpool::dnsd
