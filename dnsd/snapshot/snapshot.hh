// The immutable dataset the query path reads: every zone's records and every
// pool's currently served addresses, pre-encoded so that answering is lookup,
// selection and copy. Built off the query path by build_snapshot; the
// publisher's prepare stage sets the serials and the transfer data, and from
// publication on (by pointer, to every serving thread) it never changes.
#pragma once

#include <array>
#include <cstdint>
#include <map>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "dnsd/geo/locator.hh"
#include "dnsd/snapshot/encoded_zone.hh"
#include "dnsd/snapshot/mirror_slots.hh"
#include "dnsd/snapshot/name_table.hh"
#include "dnsd/snapshot/zone_signing.hh"
#include "health/health_view.hh"
#include "zones/pool.hh"

namespace mirrorpool::dnsd {

struct TransferState;

// The secret of server cookies (query/server_cookies.hh).
inline constexpr size_t kCookieSecretSize = 16;
struct CookieSecret {
  std::array<uint8_t, kCookieSecretSize> bytes{};
  // Drawn at start: keys derived from it rotate. Configured: the secret is
  // the key, as other implementations sharing it use it.
  bool rotating = false;
};

struct SnapshotOptions {
  unsigned udp_max_size = 1232;  // our EDNS UDP payload size
  std::string nsid;              // RFC 5001 NSID, raw bytes; empty: not answered
  CookieSecret cookie_secret;
  bool require_cookie = false;  // BADCOOKIE to UDP clients without a valid server cookie
  // Places clients and mirrors ([server.geo]); null when the configuration
  // has none: then pools answer as with geo = "off" and ECS is ignored.
  std::shared_ptr<const geo::Locator> locator;
  // The counter slot of each mirror; null: every mirror counts in one slot.
  std::shared_ptr<MirrorSlots> slots;
  // What signs each signed zone ([[zone]] dnssec); null or absent: unsigned.
  std::shared_ptr<const ZoneSignings> signings;
};

// What one pool serves for one address family right now (for status, logs and
// tests; the query path uses the pre-encoded form inside Snapshot).
struct ServedFamily {
  std::vector<std::string> addresses;  // canonical text of each served address
  unsigned healthy = 0;                // healthy enabled addresses
  // Fewer than min_healthy were healthy, so when_all_down decided the set.
  bool degraded = false;
};

struct ServedPool {
  std::string name;  // "dl.pool.example."
  ServedFamily v4;
  ServedFamily v6;
};

// (pool name, "A" or "AAAA") → times that family became degraded, counted
// by whoever watches the snapshots go by (the publisher).
using DegradedEpisodes = std::map<std::pair<std::string, std::string>, uint64_t>;

// An encoded zone is shared by every snapshot made from one read of its
// files with the same pools in it: a health change copies no records, and a
// reload encodes only the zones whose files or pools changed.
using EncodedZones = std::vector<std::shared_ptr<const EncodedZone>>;

// The apex SOA of one zone with the serial this snapshot answers (the
// shared EncodedZone keeps the zone file's).
struct ZoneSoa {
  std::string record;    // TYPE CLASS TTL RDLENGTH RDATA, as in EncodedZone::records
  std::string negative;  // EncodedZone::negative_soa, with this serial
  // A signed zone's RRSIG records over that SOA: with the SOA's TTL, and
  // with the negative TTL for the authority section.
  std::string rrsig;
  std::string negative_rrsig;
};

class Snapshot {
 public:
  Snapshot(EncodedZones zones, std::vector<EncodedPool> pools, std::vector<ServedPool> served,
           const SnapshotOptions& options);

  // Zone apex (canonical wire) → zone index.
  const NameTable& apexes() const noexcept { return apexes_; }
  // True when some zone apex has `labels` labels: the responder looks up
  // only the suffixes of the query name that could be an apex.
  bool apex_depth(unsigned labels) const noexcept {
    return labels < 128 && (apex_depths_[labels / 64] >> (labels % 64) & 1) != 0;
  }
  size_t zone_count() const noexcept { return zones_.size(); }
  const EncodedZone& zone(size_t index) const noexcept { return *zones_[index]; }
  const ZoneSoa& soa(size_t zone) const noexcept { return soas_[zone]; }
  const EncodedZones& encoded_zones() const noexcept { return zones_; }
  const std::vector<EncodedPool>& pools() const noexcept { return pools_; }
  const std::vector<ServedPool>& served() const noexcept { return served_; }
  unsigned udp_max_size() const noexcept { return udp_max_size_; }
  std::string_view nsid() const noexcept { return nsid_; }
  const CookieSecret& cookie_secret() const noexcept { return cookie_secret_; }
  bool require_cookie() const noexcept { return require_cookie_; }
  // Null when no [server.geo] is configured.
  const geo::Locator* locator() const noexcept { return locator_.get(); }
  const std::shared_ptr<const geo::Locator>& shared_locator() const noexcept { return locator_; }

  // The SOA serial of zone(zone) as answered (and transferred).
  uint32_t serial(size_t zone) const noexcept;
  // What zone transfers serve from this snapshot (transfer_state.hh); null
  // when nobody attached any, and then every transfer is refused.
  const std::shared_ptr<const TransferState>& transfers() const noexcept { return transfers_; }

  // What signs zone(zone), or null when it is not signed.
  const ZoneSigning* signing(size_t zone) const noexcept { return signings_[zone].get(); }

  // Before publication only (the publisher's prepare step): the serial
  // chosen for a zone (serials.hh), its SOA signed again in a signed zone,
  // and the transfer data built for it.
  void set_serial(size_t zone, uint32_t serial);
  void set_transfers(std::shared_ptr<const TransferState> transfers) {
    transfers_ = std::move(transfers);
  }

 private:
  // A signed zone's SOA RRSIGs for its current serial.
  void sign_soa(size_t zone);

  EncodedZones zones_;
  std::vector<ZoneSoa> soas_;
  std::vector<std::shared_ptr<const ZoneSigning>> signings_;  // per zone, null: unsigned
  NameTable apexes_;
  uint64_t apex_depths_[2] = {};  // bit n: an apex has n labels
  std::vector<EncodedPool> pools_;
  std::vector<ServedPool> served_;
  unsigned udp_max_size_;
  std::string nsid_;
  CookieSecret cookie_secret_;
  bool require_cookie_;
  std::shared_ptr<const geo::Locator> locator_;
  std::shared_ptr<const TransferState> transfers_;
};

// Builds a snapshot from the model and the current health. `previous` (may be
// null) supplies the last good set for when_all_down = serve-last-good, and
// the encoded zones to share. Zones carry their files' serials until
// set_serial. Throws std::bad_alloc, or std::logic_error for a zone whose
// records were released and that `previous` has not encoded.
std::shared_ptr<Snapshot> build_snapshot(const zones::Model& model,
                                         const health::HealthView& health, const Snapshot* previous,
                                         const SnapshotOptions& options);

// Read-only accessor for what a snapshot serves (same order as model.pools).
const std::vector<ServedPool>& served_pools(const Snapshot& snapshot);

}  // namespace mirrorpool::dnsd
