// Placing a client (client_place.hh).
#include "dnsd/query/client_place.hh"

#include <netinet/in.h>

#include <algorithm>
#include <iterator>

#include "dnsd/geo/geo_pick.hh"

namespace mirrorpool::dnsd {

geo::Located locate_client(const geo::Locator& locator, const ClientSubnet* ecs,
                           const sockaddr* source) noexcept {
  geo::Located client;
  if (ecs != nullptr && ecs->source_prefix > 0) {
    const bool v6 = ecs->family == 2;
    const unsigned used = std::min<unsigned>(ecs->source_prefix, locator.ecs_max_prefix(v6));
    client = locator.locate(geo::masked_address(ecs->address.data(), v6, used), true);
    client.scope = static_cast<uint8_t>(std::min<unsigned>(client.scope, used));
    return client;
  }
  if (source != nullptr && source->sa_family == AF_INET) {
    const auto* in = reinterpret_cast<const sockaddr_in*>(source);
    client = locator.locate(
        geo::masked_address(reinterpret_cast<const uint8_t*>(&in->sin_addr), false, 32), false);
  } else if (source != nullptr && source->sa_family == AF_INET6) {
    const auto* in6 = reinterpret_cast<const sockaddr_in6*>(source);
    client = locator.locate(
        geo::masked_address(reinterpret_cast<const uint8_t*>(&in6->sin6_addr), true, 128), false);
  }
  client.scope = 0;
  return client;
}

const EncodedFamily::GeoCell* signed_cell(const EncodedPool& pool, const EncodedFamily& family,
                                          const geo::Place& client) noexcept {
  bool tier[64];
  const size_t n = family.weights.size();
  if (n > std::size(tier) ||
      first_tier(family.places, pool.geo, pool.geo_margin, client, std::span<bool>(tier, n)) == 0) {
    return nullptr;
  }
  uint64_t mask = 0;
  for (size_t i = 0; i < n; ++i) mask |= tier[i] ? uint64_t{1} << i : 0;
  for (const EncodedFamily::GeoCell& cell : family.geo_cells) {
    if (cell.tier == mask) return &cell;
  }
  return nullptr;
}

}  // namespace mirrorpool::dnsd
