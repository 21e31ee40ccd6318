#include "dnsd/dnssec/key_check.hh"

#include <algorithm>
#include <memory>

#include <unistd.h>

#include <fmt/core.h>

#include "dnsd/dnssec/zone_key.hh"

namespace mirrorpool::dnsd::dnssec {

bool check_zone_keys(const Config& config, zones::Diagnostics& diags,
                     std::vector<std::string>& notes) {
  for (const ZoneConfig& zone : config.zones) {
    if (!zone.dnssec.enabled) continue;
    const std::string dir = key_dir(config.server.state_dir, zone.origin);
    const std::string name = zone.origin.to_text();
    if (access(dir.c_str(), F_OK) == 0 && access(dir.c_str(), R_OK | X_OK) != 0) {
      diags.emplace_back(zone.pos,
                         fmt::format("zone {}: the DNSSEC keys in {} cannot be read by this "
                                     "user, so they are not checked",
                                     name, dir),
                         zones::Severity::warning);
      continue;
    }
    std::vector<std::shared_ptr<const ZoneKey>> keys;
    std::string error;
    if (!KeyFiles(dir, zone.origin).load(keys, error)) {
      diags.emplace_back(zone.pos, fmt::format("zone {}: DNSSEC key: {}", name, error));
    } else if (keys.empty()) {
      notes.push_back(
          fmt::format("zone {}: no DNSSEC key yet: one will be made at start in {}", name, dir));
    } else {
      for (const auto& key : keys) {
        notes.push_back(fmt::format("zone {}: DNSSEC key {} ({}, flags {}) in {}", name, key->tag(),
                                    algorithm_text(key->algorithm()), key->flags(), key->path()));
      }
    }
  }
  return std::none_of(diags.begin(), diags.end(), [](const zones::Diagnostic& d) {
    return d.severity == zones::Severity::error;
  });
}

}  // namespace mirrorpool::dnsd::dnssec
