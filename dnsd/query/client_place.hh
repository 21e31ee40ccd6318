// Where a client is, for geo answers: placed by its EDNS Client Subnet
// option or its source address, and which of a signed geo pool's answer
// sets are its. Allocation-free, for the responder.
#pragma once

#include <sys/socket.h>

#include "dnsd/geo/locator.hh"
#include "dnsd/snapshot/encoded_zone.hh"
#include "dnsd/wire/query.hh"

namespace mirrorpool::dnsd {

// Where a client is: by its ECS option (`ecs`, null when the query has
// none or it is not used) when the option is usable, else by its source
// address `source`. A SOURCE PREFIX-LENGTH of 0 asks for an answer for
// everyone (scope 0), so the resolver's own address places it.
geo::Located locate_client(const geo::Locator& locator, const ClientSubnet* ecs,
                           const sockaddr* source) noexcept;

// The signed answer sets (zone_signing.hh) of `family` of a geo pool for a
// client at `client`: those of its first tier, or null when that tier has
// none signed.
const EncodedFamily::GeoCell* signed_cell(const EncodedPool& pool, const EncodedFamily& family,
                                          const geo::Place& client) noexcept;

}  // namespace mirrorpool::dnsd
