// What comes into the configuration as JSON rather than TOML: the entries of
// a pool's mirrors.json, merged with its [[pool.mirror]] tables, and the check
// overrides of a mirror added at run time (`mirrorpoolctl add --check`),
// converted to TOML so that they go through the same readers as the file.
#include <algorithm>
#include <cstdint>

#include <nlohmann/json.hpp>

#include "dnsd/config/config_parser.hh"

namespace mirrorpool::dnsd::config_detail {
namespace {

// Calls put with the TOML value of a JSON string, boolean or number. Other
// values (null, and arrays or objects inside arrays) are never check values.
template <class Put>
void json_scalar(Reporter& reporter, const nlohmann::json& value, const std::string& at,
                 Put&& put) {
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
    reporter.error(toml::source_region{}, fmt::format("{} has a value that no check key takes: "
                                                      "{}",
                                                      at, value.dump()));
  }
}

// The same values as TOML, so the check keys go through read_check_keys.
// JSON null has no TOML equivalent and is reported.
toml::table json_to_toml(Reporter& reporter, const nlohmann::json& object,
                         const std::string& where) {
  toml::table table;
  for (const auto& [key, value] : object.items()) {
    const std::string at = fmt::format("{} '{}'", where, key);
    if (value.is_object()) {
      table.insert(key, json_to_toml(reporter, value, at));
    } else if (value.is_array()) {
      toml::array array;
      for (const nlohmann::json& element : value) {
        json_scalar(reporter, element, at, [&](auto v) { array.push_back(std::move(v)); });
      }
      table.insert(key, std::move(array));
    } else {
      // Captured by name: clang before 16 cannot capture a structured binding.
      json_scalar(reporter, value, at,
                  [&, &name = key](auto v) { table.insert(name, std::move(v)); });
    }
  }
  return table;
}

}  // namespace

using health::CheckSpec;

CheckSpec url_defaults(CheckSpec spec, const CheckLayer& pool_layer, const UrlPrefix& url,
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

// Orders the pool as mirrors.json does (so an export keeps its order), adds
// the entries that have no [[pool.mirror]] table, then the mirrors only the
// config file defines.
void Parser::merge_mirrors_json(const CheckSpec& base, const CheckLayer& pool_layer,
                                const std::vector<MirrorsJsonEntry>& entries,
                                std::map<std::string, std::string>& address_owner,
                                PoolConfig& pool) {
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
    mirror.country = entry.country;
    mirror.location = entry.location;
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

// See parse_mirror_overrides in config.hh.
std::optional<CheckSpec> Parser::mirror_overrides(const nlohmann::json& overrides,
                                                  const PoolConfig& pool,
                                                  std::string_view mirror_id) {
  const size_t first_new = diags_.size();
  const toml::source_region nowhere{};
  if (!overrides.is_object()) {
    reporter_.error(nowhere, fmt::format("the check overrides of mirror '{}' must be a JSON "
                                         "object of [pool.check] keys",
                                         mirror_id));
    return std::nullopt;
  }
  const toml::table table =
      json_to_toml(reporter_, overrides, fmt::format("mirror '{}'", mirror_id));
  if (diags_.size() != first_new) return std::nullopt;
  // The pool's check before finish_check, as read_mirrors starts from.
  CheckSpec spec = pool.check;
  if (!pool.check_port_set) spec.port = CheckSpec{}.port;
  CheckLayer layer;
  layer.port_set = pool.check_port_set;
  TableReader r = reader(table, fmt::format("the check overrides of mirror '{}'", mirror_id));
  read_check_keys(r, fmt::format("the freshness overrides of mirror '{}'", mirror_id), spec, layer);
  validate_check(spec, layer, r.where(), false);
  r.report_unknown_keys();
  if (diags_.size() != first_new) return std::nullopt;
  return finish_check(spec, layer);
}

}  // namespace mirrorpool::dnsd::config_detail
