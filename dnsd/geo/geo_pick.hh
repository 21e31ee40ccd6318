// Choosing a pool's addresses for a placed client (mirrorpool.toml(5), `geo`):
// the first tier the client is answered from, drawn by weight, and for
// `nearest` the answer filled up by distance. Pure and allocation-free, for
// the responder and the DNSSEC signer (which signs the answers of each tier);
// `mirrorpoolctl locate` shows the same tiers.
#pragma once

#include <cstddef>
#include <cstdint>
#include <span>

#include "dnsd/common/rng.hh"
#include "dnsd/geo/place.hh"
#include "zones/pool.hh"

namespace mirrorpool::dnsd {

// Pools with more addresses of one family than this answer every client
// with the ordinary weighted answer (the work is on the responder's stack).
inline constexpr size_t kMaxGeoCandidates = 1024;

// Marks in `tier` (one flag per mirror address, same order as `mirrors`) the
// addresses a client at `client` is answered from first, and returns how
// many. `nearest`: the located mirrors within `margin` of the nearest one;
// `country`: the client's country, else its continent, else all. A client or
// mirrors without coordinates fall back to the country rule under
// `nearest`. 0: no tier can be made for this client (ordinary answer).
size_t first_tier(std::span<const geo::Place> mirrors, zones::GeoMode mode,
                  const geo::Margin& margin, const geo::Place& client,
                  std::span<bool> tier) noexcept;

// Picks up to picked.size() addresses for `client`: drawn by weight from
// first_tier without replacement, then (nearest only) filled with the
// nearest of the rest, unplaced mirrors last. Returns how many were picked;
// 0 when first_tier made none (the caller then gives the ordinary answer).
size_t pick_for_client(std::span<const uint32_t> weights, std::span<const geo::Place> mirrors,
                       zones::GeoMode mode, const geo::Margin& margin, const geo::Place& client,
                       Rng& rng, std::span<uint32_t> picked) noexcept;

}  // namespace mirrorpool::dnsd
