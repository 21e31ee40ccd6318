// Finding a name in one zone, per RFC 1034 4.3.2 and RFC 4592: the query
// path's walk from the apex down to the name, a zone cut or the closest
// encloser. Allocation-free.
#pragma once

#include <cstdint>

#include "dnsd/snapshot/encoded_zone.hh"
#include "dnsd/wire/wire.hh"

namespace mirrorpool::dnsd {

enum class Match : uint8_t { exact, wildcard, delegation, nxdomain };

struct Found {
  Match match;
  uint32_t node;  // exact: the name; wildcard: "*.<closest encloser>"; delegation: the cut
};

// Finds `name` (canonical, inside the zone) per RFC 1034 4.3.2 and RFC 4592:
// walks down from the apex, stopping at a zone cut (except for DS exactly at
// the cut, which the parent side answers) or at the closest encloser.
Found find_in_zone(const EncodedZone& zone, const WireName& name, uint16_t qtype) noexcept;

}  // namespace mirrorpool::dnsd
