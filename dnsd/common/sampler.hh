// Weighted random sampling without replacement, for picking which mirror
// addresses go into one answer. Pure and allocation-free: the caller owns the
// output buffer, and the work is O(n * k) for n weights and k picks, which is
// cheap for the few answers a DNS response holds.
#pragma once

#include <cstddef>
#include <cstdint>
#include <span>

#include "dnsd/common/rng.hh"

namespace mirrorpool::dnsd {

// Picks up to picked.size() distinct indices into `weights`, each draw taking
// an index with probability proportional to its weight among those not yet
// taken, and writes them in draw order. Indices of weight 0 are never picked.
// Returns how many were picked (fewer when fewer have a positive weight).
inline size_t sample_without_replacement(std::span<const uint32_t> weights, Rng& rng,
                                         std::span<uint32_t> picked) noexcept {
  uint64_t remaining = 0;
  for (const uint32_t w : weights) remaining += w;
  size_t count = 0;
  // A bit per index below 64 already taken (every pool of a usual size);
  // an index past that is looked up in `picked`.
  uint64_t taken_low = 0;
  const auto taken = [&](size_t i) noexcept {
    if (i < 64) return (taken_low >> i & 1) != 0;
    for (size_t j = 0; j < count; ++j) {
      if (picked[j] == i) return true;
    }
    return false;
  };
  while (count < picked.size() && remaining > 0) {
    uint64_t r = rng.below(remaining);
    for (size_t i = 0; i < weights.size(); ++i) {
      if (taken(i)) continue;
      if (r < weights[i]) {
        picked[count++] = static_cast<uint32_t>(i);
        if (i < 64) taken_low |= uint64_t{1} << i;
        remaining -= weights[i];
        break;
      }
      r -= weights[i];
    }
  }
  return count;
}

}  // namespace mirrorpool::dnsd
