// Where the proof that a name or type does not exist is, in a signed zone
// (RFC 4035 3.1.3, RFC 5155 7.2): lookups in the zone's NSEC chain or NSEC3
// entries, which the responder copies into the authority section. Pure and
// allocation-free, like the rest of the query path.
#pragma once

#include <cstdint>
#include <string_view>

#include "dnsd/snapshot/encoded_zone.hh"
#include "dnsd/wire/wire.hh"

namespace mirrorpool::dnsd {

// The denial record covering `name`, a name the zone does not have: with
// NSEC the chain node before it in canonical order (the apex sorts first);
// with NSEC3 the entry whose hash comes before the name's.
uint32_t covering_denial(const EncodedZone& zone, std::string_view name) noexcept;

// The denial record of `node`, a name of the zone that is not glue: its own
// NSEC or NSEC3, or for an empty non-terminal under NSEC (which has none)
// the NSEC covering it.
uint32_t own_denial(const EncodedZone& zone, uint32_t node) noexcept;

// `name` cut to one label more than `encloser` has: the next closer name
// of RFC 5155 7.2.1.
std::string_view next_closer(const WireName& name, std::string_view encloser) noexcept;

}  // namespace mirrorpool::dnsd
