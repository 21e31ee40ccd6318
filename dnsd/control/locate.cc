// `mirrorpoolctl locate` (locate.hh).
#include "dnsd/control/locate.hh"

#include <arpa/inet.h>
#include <sys/socket.h>

#include <algorithm>
#include <cmath>

#include <fmt/format.h>

#include "dnsd/geo/geo_pick.hh"

namespace mirrorpool::dnsd {

namespace {

using nlohmann::json;

json place_json(const geo::Place& place) {
  json j = {{"country", geo::code_text(place.country)},
            {"continent", geo::code_text(place.continent)},
            {"location", nullptr}};
  if (place.has_location) j["location"] = {place.latitude, place.longitude};
  return j;
}

const char* mode_name(zones::GeoMode mode) {
  switch (mode) {
    case zones::GeoMode::nearest:
      return "nearest";
    case zones::GeoMode::country:
      return "country";
    case zones::GeoMode::off:
      break;
  }
  return "off";
}

// The text of the block of addresses placed like `address`: "192.0.2.0/24".
std::string block_text(const zones::Address& address, unsigned prefix) {
  zones::Address block = address;
  const unsigned bits = address.family == AF_INET ? 32 : 128;
  for (unsigned i = prefix; i < bits; ++i) {
    block.bytes[i / 8] = static_cast<uint8_t>(block.bytes[i / 8] & ~(0x80u >> (i % 8)));
  }
  char text[64] = {};
  inet_ntop(address.family, block.bytes.data(), text, sizeof text);
  return fmt::format("{}/{}", text, prefix);
}

// One family of one pool, ranked for the client: every address of the
// pool's mirrors, served ones with the answer they would get.
json rank_family(const PoolConfig& pool, int family, const EncodedFamily& encoded,
                 const ServedFamily& served, unsigned max_answers, const geo::Located& client,
                 const geo::Locator& locator, const health::HealthView& health) {
  const std::string pool_name = pool.def.name.to_text();
  const size_t n = served.addresses.size();
  bool tier[kMaxGeoCandidates] = {};
  size_t in_tier = 0;
  if (client.place != nullptr && encoded.places.size() == n) {
    in_tier = first_tier(encoded.places, pool.def.geo, geo::Margin::of_km(pool.def.geo_margin_km),
                         *client.place, std::span<bool>(tier, kMaxGeoCandidates));
  }
  struct Row {
    json entry;
    double distance;  // km; infinity when unknown
  };
  std::vector<Row> rows;
  for (const zones::MirrorDef& m : pool.def.mirrors) {
    const geo::Place place = locator.place_mirror(m);
    for (const zones::Address& a : m.addresses) {
      if (a.family != family) continue;
      const auto at = std::find(served.addresses.begin(), served.addresses.end(), a.text);
      const health::TargetHealth* h = health.find({pool_name, m.id, a.text});
      std::string state = !h || h->up ? "up" : "down";
      if (m.weight == 0) state = "disabled";
      if (m.drained) state = "drained";
      const bool answered = at != served.addresses.end();
      const size_t index = static_cast<size_t>(at - served.addresses.begin());
      const bool first = answered && in_tier > 0 && index < n && tier[index];
      const double distance =
          client.place != nullptr && client.place->has_location && place.has_location
              ? geo::distance_km(*client.place, place)
              : INFINITY;
      json entry = {
          {"mirror", m.id},
          {"address", a.text},
          {"weight", m.weight},
          {"state", state},
          {"served", answered},
          {"place", place_json(place)},
          {"distance_km", std::isinf(distance) ? json() : json(std::lround(distance))},
          {"answer", !answered ? "no" : (in_tier == 0 ? "weighted" : (first ? "first" : "no"))}};
      rows.push_back({std::move(entry), distance});
    }
  }
  std::stable_sort(rows.begin(), rows.end(),
                   [](const Row& a, const Row& b) { return a.distance < b.distance; });
  // nearest: what the first tier leaves of max_answers goes to the nearest of the rest.
  if (in_tier > 0 && pool.def.geo == zones::GeoMode::nearest && client.place->has_location &&
      in_tier < max_answers) {
    size_t left = max_answers - in_tier;
    for (Row& row : rows) {
      if (left == 0) break;
      if (row.entry["served"].get<bool>() && row.entry["answer"] == "no") {
        row.entry["answer"] = "fill";
        --left;
      }
    }
  }
  json list = json::array();
  for (Row& row : rows) list.push_back(std::move(row.entry));
  return list;
}

}  // namespace

json mirror_place_json(const geo::Locator& locator, const zones::MirrorDef& mirror) {
  std::string from;
  json j = place_json(locator.place_mirror(mirror, &from));
  j["from"] = from;
  return j;
}

std::optional<json> locate_report(const std::string& address, const std::string& pool_arg,
                                  const Snapshot& snapshot, const std::vector<PoolConfig>& pools,
                                  const health::HealthView& health, std::string& error) {
  const geo::Locator* locator = snapshot.locator();
  if (locator == nullptr) {
    error = "no [server.geo] in the configuration: every client gets the same answers";
    return std::nullopt;
  }
  const auto parsed = zones::Address::parse(address);
  if (!parsed) {
    error = fmt::format("'{}' is not an IPv4 or IPv6 address", address);
    return std::nullopt;
  }
  const bool v6 = parsed->family == AF_INET6;
  const geo::Located client =
      locator->locate(geo::masked_address(parsed->bytes.data(), v6, v6 ? 128 : 32), false);
  json place = client.place != nullptr ? place_json(*client.place) : json(nullptr);
  const char* by = client.by == geo::PlacedBy::override_net ? "override"
                   : client.by == geo::PlacedBy::unknown    ? "unknown"
                                                            : "database";
  json report = {{"address", parsed->text},
                 {"placed_by", by},
                 {"network", block_text(*parsed, client.scope)},
                 {"place", place}};
  if (client.override_index >= 0)
    report["override"] = locator->override_text(client.override_index);

  json pool_list = json::array();
  bool matched = false;
  for (size_t i = 0; i < snapshot.pools().size(); ++i) {
    const EncodedPool& encoded = snapshot.pools()[i];
    const ServedPool& served = snapshot.served()[i];
    const auto config = std::find_if(pools.begin(), pools.end(), [&](const PoolConfig& p) {
      return p.def.name.to_text() == served.name;
    });
    if (config == pools.end()) continue;
    if (!pool_arg.empty() && served.name != pool_arg && served.name != pool_arg + ".") continue;
    matched = true;
    json entry = {{"name", served.name},
                  {"geo", mode_name(config->def.geo)},
                  {"geo_margin_km", config->def.geo_margin_km},
                  {"max_answers", config->def.max_answers}};
    entry["A"] = rank_family(*config, AF_INET, encoded.v4, served.v4, encoded.max_answers, client,
                             *locator, health);
    entry["AAAA"] = rank_family(*config, AF_INET6, encoded.v6, served.v6, encoded.max_answers,
                                client, *locator, health);
    pool_list.push_back(std::move(entry));
  }
  if (!pool_arg.empty() && !matched) {
    error = fmt::format("no pool '{}'", pool_arg);
    return std::nullopt;
  }
  report["pools"] = std::move(pool_list);
  return report;
}

}  // namespace mirrorpool::dnsd
