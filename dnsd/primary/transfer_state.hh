// What zone transfers serve from one snapshot: each zone's current version
// as an ordered record list (AXFR), a bounded history of differences between
// consecutive versions (IXFR), and who may transfer it. Immutable once
// attached to a snapshot; built on the main loop by TransferHistory.
#pragma once

#include <compare>
#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "dnsd/config/config.hh"
#include "dnsd/wire/tsig.hh"

namespace mirrorpool::dnsd {

class Snapshot;

// One resource record of a zone, class IN, names canonical.
struct ZoneRecord {
  std::string owner;  // canonical wire
  uint16_t type = 0;
  uint32_t ttl = 0;
  std::string rdata;  // uncompressed
  auto operator<=>(const ZoneRecord&) const = default;
};

// A zone file's records, all but the SOA, sorted and unique, with the
// SHA-256 of their content. Every version built from the same load of the
// file shares one, so a health change copies and hashes none of them. Kept
// packed (owner, type, TTL and RDATA back to back): a +100k-name zone holds a
// few MB here rather than a ZoneRecord with two strings per record.
//
// A zone nobody may transfer (no allow_transfer, no tsig) keeps only the
// count and the digest, which the SOA serial rule still needs: the same
// digest as with the records, so enabling transfers later changes no serial.
class FileRecords {
 public:
  // `packed`: `count` records appended by pack(), sorted and unique.
  FileRecords(uint64_t load_id, std::string packed, size_t count);
  // Without the records: `digest` is the SHA-256 of what `packed` would be.
  FileRecords(uint64_t load_id, size_t count, std::string digest);

  // zones::Zone::load_id of the read of the file the records come from.
  uint64_t load_id() const noexcept { return load_id_; }
  size_t size() const noexcept { return count_; }
  const std::string& digest() const noexcept { return digest_; }  // raw SHA-256
  bool has_records() const noexcept { return has_records_; }
  bool operator==(const FileRecords& other) const {
    return count_ == other.count_ && digest_ == other.digest_;
  }
  // Calls `f` on each record in order until it returns false; false then,
  // and at once when the records were not kept.
  bool each(const std::function<bool(const ZoneRecord&)>& f) const;

  // Appends `record` to `packed` in the form FileRecords keeps (and hashes).
  static void pack(std::string& packed, const ZoneRecord& record);

 private:
  uint64_t load_id_;
  std::string packed_;
  size_t count_;
  std::string digest_;
  bool has_records_;
};

// One version of a zone: its SOA, the zone file's other records and the
// addresses its pools serve (sorted, unique); in a signed zone the first
// list has the DNSSEC records of the file's names and the second those of
// the pool names (their RRSIGs over the whole served set, their NSEC). The two lists never share a
// record: a pool name has no address records in the zone file.
struct ZoneVersion {
  uint32_t serial = 0;
  ZoneRecord soa;
  // A signed zone's RRSIGs over that SOA: made for each serial, so left out
  // of the content the serial is chosen from.
  std::vector<ZoneRecord> soa_sigs;
  std::shared_ptr<const FileRecords> file;
  std::vector<ZoneRecord> pooled;

  // Records in the zone, the SOA included.
  size_t size() const noexcept { return 1 + soa_sigs.size() + file->size() + pooled.size(); }
  // Calls `f` on every record but the SOA until it returns false; false then.
  bool each_body(const std::function<bool(const ZoneRecord&)>& f) const;
  // The same records, the SOA (and so the serial) included.
  bool same_content(const ZoneVersion& other) const;
};

// From one version to the next (RFC 1995 §4): SOAs not included in the lists.
struct ZoneDiff {
  ZoneRecord old_soa;
  ZoneRecord new_soa;
  std::vector<ZoneRecord> removed;
  std::vector<ZoneRecord> added;
};

struct ZoneTransfer {
  std::string apex;  // canonical wire
  std::string name;  // presentation form, for logs
  std::shared_ptr<const ZoneVersion> current;
  // Oldest first; each starts where the previous ended, the last ends at current.
  std::vector<std::shared_ptr<const ZoneDiff>> diffs;
  std::vector<Prefix> allow_transfer;
  std::string required_key;  // canonical wire name of the zone's TSIG key, empty = none
};

struct TransferState {
  std::vector<ZoneTransfer> zones;  // same order as the snapshot's zones
  std::vector<TsigKeyMaterial> keys;

  // The zone whose apex is `apex` (canonical wire), or null.
  const ZoneTransfer* find(std::string_view apex) const noexcept;
};

// Every record zone(zone) of the snapshot transfers: the zone file's
// records and, at each pool name, the addresses it currently serves (with the
// pool TTL); the SOA carries the snapshot's serial. The file's records come
// from `previous` (may be null) when it was read from the same load. With
// `keep_records` false (a zone nobody may transfer) they are only digested.
ZoneVersion zone_version(const Snapshot& snapshot, size_t zone,
                         const ZoneVersion* previous = nullptr, bool keep_records = true);

// Sets `version`'s SOA and its signatures to those zone(zone) of the
// snapshot answers with now (after Snapshot::set_serial).
void set_version_soa(ZoneVersion& version, const Snapshot& snapshot, size_t zone);

// A digest of a version's content without the SOA serial (hex SHA-256), so
// that equal data compare equal whatever serial they were published with.
std::string content_digest(const ZoneVersion& version);

// Whether diff_versions can tell what changed: both versions' file records
// are the same or both were kept.
bool can_diff(const ZoneVersion& from, const ZoneVersion& to);
ZoneDiff diff_versions(const ZoneVersion& from, const ZoneVersion& to);

// Keeps the versions and differences across snapshots. Main loop only.
class TransferHistory {
 public:
  static constexpr size_t kMaxDiffs = 64;

  // Access rules and keys for the next advance() (start-up, reload).
  void configure(const Config& config);

  // The transfer data of a new snapshot whose zones have their final serials
  // and versions (one per zone, in order). A zone whose serial changed gets a
  // diff from its previous version; one whose content changed without a new
  // serial (impossible with SerialBook) or that is new starts a new history.
  std::shared_ptr<const TransferState> advance(const Snapshot& snapshot,
                                               std::vector<ZoneVersion> versions);

  const TransferState* current() const { return current_.get(); }

 private:
  struct Access {
    std::string apex;  // canonical wire
    std::vector<Prefix> allow_transfer;
    std::string required_key;
  };
  std::shared_ptr<const TransferState> current_;
  std::vector<Access> access_;
  std::vector<TsigKeyMaterial> keys_;
};

}  // namespace mirrorpool::dnsd
