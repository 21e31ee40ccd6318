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

// A file as it was just before it was read. Any write changes ctime, which
// no one can set back, so an equal stamp means the same content.
struct FileStamp {
  uint64_t device = 0;
  uint64_t inode = 0;
  uint64_t size = 0;
  int64_t mtime_ns = 0;
  int64_t ctime_ns = 0;
  bool operator==(const FileStamp&) const = default;
};

// The stamp of `path` now; nullopt when it cannot be stat()ed.
std::optional<FileStamp> stamp_file(const std::string& path);

// True when the file was written within the last second, so that another
// write could still leave the same stamp.
bool changed_recently(const FileStamp& stamp);

struct Zone {
  Name origin;
  std::string file;             // path as opened
  std::vector<Record> records;  // in file order
  // Every file read: files[0] is file, then each $INCLUDE in the order read.
  std::vector<std::string> files;
  // stamps[i]: files[i] as it was when read; empty when it had changed
  // within a second of that (see changed_recently).
  std::vector<FileStamp> stamps;

  // True when every file still has its stamp: reading them again would give
  // this same zone, so a reload may keep it (as NSD and Knot do).
  bool files_unchanged() const;

  // file:line of a record, for diagnostics about it.
  SourcePos pos_of(const Record& record) const;

  // The apex SOA (validated to exist exactly once by load_zone).
  const Record& soa() const;
  uint32_t serial() const;

  // Which read of the files this is: zones with the same non-zero id come
  // from one read and hold the same records, so what was compiled from one
  // serves for the other. Set by whoever reads the files; 0 = unknown.
  uint64_t load_id = 0;
  // True for a zone made by without_records: it no longer has its records.
  bool records_released = false;
  // This zone's origin, files and stamps without its records. A server keeps
  // only this once it has compiled the records into the form it answers from,
  // as NSD, Knot and gdnsd keep only their compiled zones: the parsed records
  // are about as large again. Whoever needs them again reads the files.
  Zone without_records() const;
};

// Loads and validates a zone file. On any error, appends every diagnostic
// found (file:line) and returns nullopt. Checks: parse errors, exactly one SOA
// at the apex, at least one apex NS, every owner inside origin, CNAME not at the
// apex and not beside other data, nothing but glue below a delegation, in-zone
// NS targets below a delegation have glue. Identical records are collapsed and
// an RRset takes the TTL of its first record.
std::optional<Zone> load_zone(const std::string& path, const Name& origin, Diagnostics& diags);

}  // namespace mirrorpool::zones
