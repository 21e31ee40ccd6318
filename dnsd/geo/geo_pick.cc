// Geo answers (geo_pick.hh).
#include "dnsd/geo/geo_pick.hh"

#include <algorithm>
#include <cmath>

#include "dnsd/common/sampler.hh"

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

namespace {

// first_tier, also leaving each mirror's closeness to the client in
// `closeness` (kFarthest for the unplaced) when distance chose the tier;
// `by_distance` says whether it did.
size_t tier_of(std::span<const geo::Place> mirrors, zones::GeoMode mode, const geo::Margin& margin,
               const geo::Place& client, std::span<bool> tier, double* closeness,
               bool& by_distance) noexcept {
  by_distance = false;
  if (mirrors.empty() || mirrors.size() > tier.size() || mode == zones::GeoMode::off) return 0;
  double best = kFarthest;
  if (client.has_location) {
    for (size_t i = 0; i < mirrors.size(); ++i) {
      closeness[i] = mirrors[i].has_location ? geo::closeness(client, mirrors[i]) : kFarthest;
      best = std::max(best, closeness[i]);
    }
  }
  if (mode == zones::GeoMode::country || best == kFarthest) {
    return country_tier(mirrors, client, tier);
  }
  by_distance = true;
  // Within the margin of the nearest: an angle up to the nearest's (A) plus
  // the margin's (M), that is a cosine down to cos(A + M) = cos A cos M -
  // sin A sin M, unless A + M passes pi (cos A < cos(pi - M) = -cos M).
  const double cos_a = std::clamp(best, -1.0, 1.0);
  const double threshold =
      cos_a < -margin.cos ? -1.0 : cos_a * margin.cos - std::sqrt(1 - cos_a * cos_a) * margin.sin;
  size_t n = 0;
  for (size_t i = 0; i < mirrors.size(); ++i) {
    // The nearest itself is in, whatever rounding does to its own cosine.
    tier[i] = mirrors[i].has_location && (closeness[i] >= threshold || closeness[i] == best);
    n += tier[i] ? 1 : 0;
  }
  return n;
}

}  // namespace

size_t first_tier(std::span<const geo::Place> mirrors, zones::GeoMode mode,
                  const geo::Margin& margin, const geo::Place& client,
                  std::span<bool> tier) noexcept {
  double closeness[kMaxGeoCandidates];
  bool by_distance = false;
  return tier_of(mirrors, mode, margin, client, tier, closeness, by_distance);
}

size_t pick_for_client(std::span<const uint32_t> weights, std::span<const geo::Place> mirrors,
                       zones::GeoMode mode, const geo::Margin& margin, const geo::Place& client,
                       Rng& rng, std::span<uint32_t> picked) noexcept {
  bool tier[kMaxGeoCandidates];
  double closeness[kMaxGeoCandidates];
  bool by_distance = false;
  if (weights.size() != mirrors.size() ||
      tier_of(mirrors, mode, margin, client, tier, closeness, by_distance) == 0) {
    return 0;
  }
  uint32_t tier_weights[kMaxGeoCandidates];
  for (size_t i = 0; i < weights.size(); ++i) tier_weights[i] = tier[i] ? weights[i] : 0;
  size_t count = sample_without_replacement(std::span<const uint32_t>(tier_weights, weights.size()),
                                            rng, picked);
  // Filled up by distance only where distance chose the first tier, once
  // the whole of it is in: the rest, nearest first, the unplaced last.
  while (by_distance && count < picked.size()) {
    size_t next = mirrors.size();
    double next_closeness = -3.0;
    for (size_t i = 0; i < mirrors.size(); ++i) {
      if (!tier[i] && closeness[i] > next_closeness) {
        next = i;
        next_closeness = closeness[i];
      }
    }
    if (next == mirrors.size()) break;
    tier[next] = true;  // taken
    picked[count++] = static_cast<uint32_t>(next);
  }
  return count;
}

}  // namespace mirrorpool::dnsd
