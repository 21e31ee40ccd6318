// RRSIG, NSEC and NSEC3 RDATA (RFC 4034, RFC 5155), made off the query path
// from RRsets in canonical form: names uncompressed and lowercase, as the
// snapshot stores them.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "dnsd/dnssec/zone_key.hh"

namespace mirrorpool::dnsd::dnssec {

// When a signature is valid: RFC 4034 3.1.5 times, Unix seconds mod 2^32.
struct SignWindow {
  uint32_t inception = 0;
  uint32_t expiration = 0;
};

// The RDATA of the RRSIG by `key` over the RRset `type` at `owner` (both
// names canonical wire; `signer` is the zone apex) whose records have TTL
// `ttl` and RDATA `rdatas`, in any order (sorted and made unique here, RFC
// 4034 6.3). An owner "*.<name>" is signed as a wildcard: its label count
// leaves the "*" out. Empty on a failure of the crypto library.
std::string rrsig_rdata(const ZoneKey& key, std::string_view signer, std::string_view owner,
                        uint16_t type, uint32_t ttl, std::vector<std::string_view> rdatas,
                        SignWindow window);

// The Type Bit Maps field of NSEC and NSEC3 (RFC 4034 4.1.2) for `types`
// (any order, duplicates allowed).
std::string type_bitmap(std::vector<uint16_t> types);

// RFC 4648 base32hex without padding, lowercase: the first label of an NSEC3 owner.
std::string base32hex(std::string_view raw);

// RFC 4034 6.1: -1, 0 or 1 as `a` sorts before, equal to or after `b`
// (canonical wire names, lowercase). No allocation: the query path uses it.
int canonical_compare(std::string_view a, std::string_view b) noexcept;

}  // namespace mirrorpool::dnsd::dnssec
