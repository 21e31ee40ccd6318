// mirrors.json out, with nlohmann::ordered_json so that keys keep the order
// Tails' own file has; mirrorpool's own keys (id, addresses, country,
// location) follow them.
#include "dnsd/config/mirrors_json_export.hh"

#include <algorithm>

#include <fmt/core.h>
#include <nlohmann/json.hpp>

#include "dnsd/config/mirrors_json.hh"

namespace mirrorpool::dnsd {

std::optional<std::string> export_mirrors_json(const PoolConfig& effective,
                                               const health::HealthView& health,
                                               std::string& error) {
  const std::string pool = effective.def.name.to_text();
  std::string without_url;
  for (const zones::MirrorDef& mirror : effective.def.mirrors) {
    if (mirror.url_prefix.empty()) without_url += (without_url.empty() ? "" : ", ") + mirror.id;
  }
  if (!without_url.empty()) {
    // Leaving them out would publish a pool that silently lost mirrors.
    error = fmt::format(
        "cannot export pool '{}': every mirrors.json entry needs a url_prefix, and these "
        "mirrors have none: {} (give each one: url_prefix in its [[pool.mirror]] table or "
        "mirrors.json entry, or remove it and add it again with mirrorpoolctl add --url-prefix)",
        pool, without_url);
    return std::nullopt;
  }
  nlohmann::ordered_json mirrors = nlohmann::ordered_json::array();
  for (const zones::MirrorDef& mirror : effective.def.mirrors) {
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
    // An import names a mirror by its URL's host unless the entry says otherwise.
    const auto url = parse_url_prefix(mirror.url_prefix);
    if (!url || url->host != mirror.id) entry["id"] = mirror.id;
    nlohmann::ordered_json addresses = nlohmann::ordered_json::array();
    for (const zones::Address& a : mirror.addresses) addresses.push_back(a.text);
    entry["addresses"] = std::move(addresses);
    if (!mirror.country.empty()) entry["country"] = mirror.country;
    if (mirror.location) {
      entry["location"] = {mirror.location->latitude, mirror.location->longitude};
    }
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
