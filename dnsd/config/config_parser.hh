// Inside the config parser, shared by its files and by nothing else
// (config.hh is the interface): the reporter of file:line:col diagnostics,
// the table reader that counts the keys it was asked for, and the Parser,
// whose readers are spread by concern:
//   config.cc          the document, the table reader, the entry points;
//   config_server.cc   [server], [tsig.NAME] and [[zone]];
//   config_pools.cc    [[pool]], [pool.check] and [[pool.mirror]];
//   config_alerts.cc   [[alert]];
//   config_json.cc     JSON merged in: mirrors.json entries and the check
//                      overrides of a mirror added at run time.
#pragma once

#include <cstdint>
#include <filesystem>
#include <initializer_list>
#include <map>
#include <optional>
#include <set>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include <fmt/format.h>
#include <toml++/toml.h>
#include <nlohmann/json_fwd.hpp>

#include "dnsd/config/config.hh"
#include "dnsd/config/geo_keys.hh"
#include "dnsd/config/mirrors_json.hh"
#include "health/check_spec.hh"
#include "zones/diagnostic.hh"

namespace mirrorpool::dnsd::config_detail {

// "a string", "an integer", …: what a node is, for messages.
std::string_view type_name(const toml::node& node);

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
  std::string name(std::string_view key) const;

  // The value of key, or nullptr when absent.
  const toml::node* find(std::string_view key);

  // The source of key as written (for errors about the key itself).
  toml::source_region key_where(std::string_view key) const;

  void missing(std::string_view key);
  void wrong_type(std::string_view key, const toml::node& node, std::string_view expected);

  std::optional<std::string> string(std::string_view key, bool allow_empty = false);
  std::optional<int64_t> integer(std::string_view key, int64_t min, int64_t max);
  std::optional<bool> boolean(std::string_view key);
  // [latitude, longitude] in degrees, |latitude| <= 90, |longitude| <= 180.
  std::optional<zones::GeoPoint> location(std::string_view key);
  // An ISO 3166-1 alpha-2 code in any case, returned in upper case.
  std::optional<std::string> country(std::string_view key);

  template <class T>
  void read_integer(std::string_view key, T& out, int64_t min, int64_t max) {
    if (auto value = integer(key, min, max)) out = static_cast<T>(*value);
  }

  std::optional<health::Duration> duration(std::string_view key, health::Duration min,
                                           health::Duration max);

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
  std::optional<std::vector<Item>> strings(std::string_view key);

  const toml::table* table(std::string_view key);

  // The tables of a [[key]] array.
  std::vector<const toml::table*> tables(std::string_view key);

  void report_unknown_keys();

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

// Defaults that depend on other keys (config_pools.cc).
health::CheckSpec finish_check(health::CheckSpec spec, const CheckLayer& layer);

// The check of a mirror listed in mirrors.json before its own overrides:
// what [pool.check] did not set comes from the url_prefix (config_json.cc).
health::CheckSpec url_defaults(health::CheckSpec spec, const CheckLayer& pool_layer,
                               const UrlPrefix& url, CheckLayer& layer);

// Each address has its own health, so it may belong to one mirror only.
// The problem with giving address to mirror id, or empty when there is none
// (config_pools.cc).
std::string claim_address(std::map<std::string, std::string>& owners, const zones::Address& address,
                          const std::string& id);

// One config file (or one set of check overrides) read into typed values;
// every problem goes to diags. One Parser per parse.
class Parser {
 public:
  Parser(std::string path, zones::Diagnostics& diags);

  // See parse_config in config.hh.
  std::optional<Config> parse(std::string_view text);
  // See parse_mirror_overrides in config.hh (config_json.cc).
  std::optional<health::CheckSpec> mirror_overrides(const nlohmann::json& overrides,
                                                    const PoolConfig& pool,
                                                    std::string_view mirror_id);

 private:
  TableReader reader(const toml::table& table, std::string context);
  std::string resolve(const std::string& file) const;

  // config_server.cc
  std::optional<Endpoint> endpoint(TableReader& r, std::string_view key, const Item& item);
  void read_server(TableReader& top, ServerConfig& server);
  void read_nsid(TableReader& server_table, ServerConfig& server);
  void read_cookie_secret(TableReader& server_table, ServerConfig& server);
  void read_geo(TableReader& server, GeoConfig& geo);
  void read_tsig_keys(TableReader& top, std::map<std::string, TsigKey>& keys);
  void read_zones(TableReader& top, Config& config);
  std::optional<zones::Name> read_name(TableReader& r, std::string_view key);

  // config_pools.cc
  void read_pools(TableReader& top, std::vector<PoolConfig>& pools);
  void read_check_keys(TableReader& r, std::string_view freshness_context, health::CheckSpec& spec,
                       CheckLayer& layer);
  std::optional<std::string> read_url_path(TableReader& r, std::string_view key);
  void read_statuses(TableReader& r, const toml::node& node, std::vector<int>& out);
  void validate_check(const health::CheckSpec& spec, const CheckLayer& layer,
                      const toml::source_region& table_at, bool whole);
  void read_mirrors(TableReader& pool_reader, const health::CheckSpec& base,
                    const CheckLayer& pool_layer, const std::vector<MirrorsJsonEntry>& entries,
                    PoolConfig& pool);

  // config_alerts.cc
  void read_alerts(TableReader& top, std::vector<AlertConfig>& alerts);

  // config_json.cc
  void merge_mirrors_json(const health::CheckSpec& base, const CheckLayer& pool_layer,
                          const std::vector<MirrorsJsonEntry>& entries,
                          std::map<std::string, std::string>& address_owner, PoolConfig& pool);

  std::string path_;
  std::filesystem::path dir_;
  Reporter reporter_;
  zones::Diagnostics& diags_;
  bool geo_enabled_ = false;  // [server.geo] was read: pools may use geo
};

}  // namespace mirrorpool::dnsd::config_detail
