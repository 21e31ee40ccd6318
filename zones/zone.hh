// One authoritative zone as loaded from an RFC 1035 master file. Immutable
// after loading; holds records exactly as written (no pool data).
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "zones/diagnostic.hh"
#include "zones/name.hh"

namespace mirrorpool::zones {

struct Record {
  Name owner;
  uint16_t type = 0;  // RR type code (ldns_rr_type values = IANA numbers)
  uint32_t ttl = 0;
  // RDATA in uncompressed wire format; embedded names lowercased.
  std::string rdata;
  int line = 0;  // line in the zone file, for diagnostics
  // Which file the line is in: an index into Zone::files (0 = the zone file
  // itself, more when the zone uses $INCLUDE).
  unsigned file_index = 0;
};

struct Zone {
  Name origin;
  std::string file;             // path as opened
  std::vector<Record> records;  // in file order
  // Every file read: files[0] is file, then each $INCLUDE in the order read.
  std::vector<std::string> files;

  // file:line of a record, for diagnostics about it.
  SourcePos pos_of(const Record& record) const;

  // The apex SOA (validated to exist exactly once by load_zone).
  const Record& soa() const;
  uint32_t serial() const;
};

// Loads and validates a zone file. On any error, appends every diagnostic
// found (file:line) and returns nullopt. Checks: parse errors, exactly one SOA
// at the apex, at least one apex NS, every owner inside origin, CNAME not at the
// apex and not beside other data, nothing but glue below a delegation, in-zone
// NS targets below a delegation have glue. Identical records are collapsed and
// an RRset takes the TTL of its first record.
std::optional<Zone> load_zone(const std::string& path, const Name& origin, Diagnostics& diags);

}  // namespace mirrorpool::zones
