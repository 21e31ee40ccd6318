// mirrors.json out, with nlohmann::ordered_json so that keys keep the order
// Tails' own file has.
#include "dnsd/config/mirrors_json_export.hh"

#include <algorithm>

#include <fmt/core.h>
#include <nlohmann/json.hpp>

namespace mirrorpool::dnsd {

std::optional<std::string> export_mirrors_json(const PoolConfig& effective,
                                               const health::HealthView& health,
                                               std::string& error) {
  const std::string pool = effective.def.name.to_text();
  nlohmann::ordered_json mirrors = nlohmann::ordered_json::array();
  for (const zones::MirrorDef& mirror : effective.def.mirrors) {
    if (mirror.url_prefix.empty()) continue;
    // Clients fetch url_prefix by the mirror's own host name and may land on
    // any of its addresses, so one address down makes the URL unreliable.
    const bool down =
        std::any_of(mirror.addresses.begin(), mirror.addresses.end(), [&](const zones::Address& a) {
          return !health.is_up(health::TargetKey{pool, mirror.id, a.text});
        });
    nlohmann::ordered_json entry;
    entry["url_prefix"] = mirror.url_prefix;
    if (!mirror.rsync_url.empty()) entry["rsync_url"] = mirror.rsync_url;
    entry["weight"] = mirror.drained || down ? 0 : mirror.weight;
    if (!mirror.email.empty()) entry["email"] = mirror.email;
    if (!mirror.notes.empty()) entry["notes"] = mirror.notes;
    mirrors.push_back(std::move(entry));
  }
  nlohmann::ordered_json root;
  root["mirrors"] = std::move(mirrors);
  std::string text = root.dump(2, ' ', false, nlohmann::json::error_handler_t::replace) + "\n";
  if (text.size() > kMirrorsJsonMaxBytes) {
    error = fmt::format(
        "mirrors.json for pool '{}' would be {} bytes, over the limit of {} "
        "bytes; shorten the notes or remove mirrors",
        pool, text.size(), kMirrorsJsonMaxBytes);
    return std::nullopt;
  }
  return text;
}

}  // namespace mirrorpool::dnsd
