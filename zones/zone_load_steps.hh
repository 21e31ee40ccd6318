// The steps of load_zone, each in its own file, and the record types they
// share: reading the files (zone_reader.cc), then normalizing and checking the
// records (zone_validator.cc). Internal to zones/: only load_zone runs them.
#pragma once

#include <cstdint>
#include <string>

#include "zones/diagnostic.hh"
#include "zones/zone.hh"

// After the standard headers: built without stdbool.h, ldns defines false as
// 0, and <optional> no longer compiles when included after that.
#include <ldns/ldns.h>

namespace mirrorpool::zones {

inline constexpr uint16_t kTypeA = LDNS_RR_TYPE_A;
inline constexpr uint16_t kTypeNs = LDNS_RR_TYPE_NS;
inline constexpr uint16_t kTypeCname = LDNS_RR_TYPE_CNAME;
inline constexpr uint16_t kTypeSoa = LDNS_RR_TYPE_SOA;
inline constexpr uint16_t kTypeAaaa = LDNS_RR_TYPE_AAAA;
inline constexpr uint16_t kTypeDs = LDNS_RR_TYPE_DS;
inline constexpr uint16_t kTypeRrsig = LDNS_RR_TYPE_RRSIG;
inline constexpr uint16_t kTypeNsec = LDNS_RR_TYPE_NSEC;

// The mnemonic of a record type ("AAAA"), or "TYPE" and its number for one
// ldns does not know, as diagnostics name it.
std::string type_name(uint16_t type);

// Reads zone.file and its $INCLUDEs into zone.records, zone.files and
// zone.stamps, appending a diagnostic for every record it cannot read. Returns
// false when the zone file itself could not be read at all.
bool read_zone_files(Zone& zone, Diagnostics& diags);

// Identical records collapse into one and an RRset takes the TTL of its first
// record, as NSD and BIND do. RRSIGs keep their own TTLs: one owner's
// signatures over different types legitimately differ.
void normalize(Zone& zone);

// The structural checks, run on the normalized records; appends what they find
// in file order. After parse errors (had_parse_errors) a missing SOA or apex NS
// is not reported: the unparsable record is most likely the one missing.
void validate(const Zone& zone, bool had_parse_errors, Diagnostics& diags);

}  // namespace mirrorpool::zones
