// Geo answers (geo_pick.hh).
#include "dnsd/query/geo_pick.hh"

#include <algorithm>
#include <cmath>

#include "dnsd/query/sampler.hh"

namespace mirrorpool::dnsd {

namespace {

// Closeness (the cosine of the angle) of an unplaced mirror: below any real one.
constexpr double kFarthest = -2.0;

size_t country_tier(std::span<const geo::Place> mirrors, const geo::Place& client,
                    std::span<bool> tier) noexcept {
  const auto mark = [&](auto matches) noexcept {
    size_t n = 0;
    for (size_t i = 0; i < mirrors.size(); ++i) {
      tier[i] = matches(mirrors[i]);
      n += tier[i] ? 1 : 0;
    }
    return n;
  };
  if (client.country != 0) {
    const size_t n = mark([&](const geo::Place& m) { return m.country == client.country; });
    if (n > 0) return n;
  }
  if (client.continent != 0) {
    const size_t n = mark([&](const geo::Place& m) { return m.continent == client.continent; });
    if (n > 0) return n;
  }
  if (client.country == 0 && client.continent == 0) return 0;
  return mark([](const geo::Place&) { return true; });
}

}  // namespace

size_t first_tier(std::span<const geo::Place> mirrors, zones::GeoMode mode, double margin_km,
                  const geo::Place& client, std::span<bool> tier) noexcept {
  if (mirrors.empty() || mirrors.size() > tier.size() || mode == zones::GeoMode::off) return 0;
  double best = kFarthest;
  if (client.has_location) {
    for (const geo::Place& m : mirrors) {
      if (m.has_location) best = std::max(best, geo::closeness(client, m));
    }
  }
  if (mode == zones::GeoMode::country || best == kFarthest) {
    return country_tier(mirrors, client, tier);
  }
  // Within margin_km of the nearest: an angle up to the nearest's plus the margin's.
  const double nearest = std::acos(std::clamp(best, -1.0, 1.0));
  const double limit = nearest + margin_km / geo::kEarthRadiusKm;
  const double threshold = limit >= M_PI ? -1.0 : std::cos(limit);
  size_t n = 0;
  for (size_t i = 0; i < mirrors.size(); ++i) {
    // The nearest itself is in, whatever rounding does to its own cosine.
    const double c = mirrors[i].has_location ? geo::closeness(client, mirrors[i]) : kFarthest;
    tier[i] = mirrors[i].has_location && (c >= threshold || c == best);
    n += tier[i] ? 1 : 0;
  }
  return n;
}

size_t pick_for_client(std::span<const uint32_t> weights, std::span<const geo::Place> mirrors,
                       zones::GeoMode mode, double margin_km, const geo::Place& client, Rng& rng,
                       std::span<uint32_t> picked) noexcept {
  bool tier[kMaxGeoCandidates];
  if (weights.size() != mirrors.size() || first_tier(mirrors, mode, margin_km, client, tier) == 0) {
    return 0;
  }
  uint32_t tier_weights[kMaxGeoCandidates];
  for (size_t i = 0; i < weights.size(); ++i) tier_weights[i] = tier[i] ? weights[i] : 0;
  size_t count = sample_without_replacement(std::span<const uint32_t>(tier_weights, weights.size()),
                                            rng, picked);
  // Filled up by distance only where distance chose the first tier.
  bool by_distance = mode == zones::GeoMode::nearest && client.has_location;
  if (by_distance) {
    by_distance = false;
    for (size_t i = 0; i < mirrors.size(); ++i) by_distance |= tier[i] && mirrors[i].has_location;
  }
  if (!by_distance) return count;
  // The first tier is all in: the rest by distance, nearest first.
  while (count < picked.size()) {
    size_t next = mirrors.size();
    double next_closeness = -3.0;
    for (size_t i = 0; i < mirrors.size(); ++i) {
      if (tier[i]) continue;
      const double c = mirrors[i].has_location ? geo::closeness(client, mirrors[i]) : kFarthest;
      if (c > next_closeness) {
        next = i;
        next_closeness = c;
      }
    }
    if (next == mirrors.size()) break;
    tier[next] = true;  // taken
    picked[count++] = static_cast<uint32_t>(next);
  }
  return count;
}

}  // namespace mirrorpool::dnsd
