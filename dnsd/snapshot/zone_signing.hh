// DNSSEC for the snapshot (mirrorpool.toml(5), DNSSEC): what signs a zone,
// and the signing of encoded zones and pool answers. A signed zone is its
// unsigned encoding with DNSKEY, CDS and CDNSKEY at the apex, an NSEC per
// authoritative name and an RRSIG RRset per signed name, all pre-encoded, so
// that a DO=1 answer is still lookup and copy. The SOA is signed per
// snapshot (its serial changes), pool answers per health change: each pool
// family's served set as one RRset when it fits in max_answers, else a fixed
// number of answer sets pre-drawn with the weights and each signed once.
// Main loop only: signing is CPU work the query path never does.
#pragma once

#include <cstdint>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "dnsd/config/config.hh"
#include "dnsd/dnssec/rrsig.hh"
#include "dnsd/dnssec/zone_key.hh"
#include "dnsd/snapshot/encoded_zone.hh"

namespace mirrorpool::dnsd {

// Counters of the signing work done, for /metrics.
struct SigningStats {
  uint64_t signatures = 0;       // RRSIGs made
  double seconds = 0;            // spent making them
  double last_pool_seconds = 0;  // the last pool re-signed after a health change
};

// Pool RRSIGs made before, by what they cover: a flapping mirror brings back
// a set signed a moment ago, and a health change re-signs only the pools it
// touched. Entries unused for kKeepBuilds builds are dropped.
class SignatureCache {
 public:
  static constexpr unsigned kKeepBuilds = 8;
  // The RRSIG records for `key` (what they cover), or null.
  const std::string* find(const std::string& key, uint32_t not_before_expiry);
  void put(const std::string& key, std::string records, uint32_t expiration);
  // One build done: ages the entries.
  void next_build();
  size_t size() const { return entries_.size(); }

 private:
  struct Entry {
    std::string records;
    uint32_t expiration = 0;
    uint64_t used = 0;
  };
  std::map<std::string, Entry> entries_;
  uint64_t build_ = 0;
};

// What signs one zone: its settings, the keys whose DNSKEY it publishes and
// those that sign. Replaced whenever any of that changes (start, reload, a
// rollover step); `generation` tells a re-encoding from a reuse.
struct ZoneSigning {
  std::string apex;  // canonical wire
  DnssecConfig config;
  std::vector<std::shared_ptr<const dnssec::ZoneKey>> published;  // DNSKEY RRset
  std::vector<std::shared_ptr<const dnssec::ZoneKey>> signing;    // make the RRSIGs
  std::vector<std::shared_ptr<const dnssec::ZoneKey>> announced;  // CDS and CDNSKEY
  uint64_t generation = 0;
  // A test-only fault (MIRRORPOOL_TEST_BAD_SIGNATURES=1 at start): every
  // pool RRSIG made has a flipped bit, so that validators must reject it.
  bool corrupt_pool_signatures = false;
  // Main loop only, shared by the snapshots built with this signing.
  std::shared_ptr<SignatureCache> cache = std::make_shared<SignatureCache>();
  std::shared_ptr<SigningStats> stats = std::make_shared<SigningStats>();
};

// Every signed zone's signing, by apex (canonical wire).
using ZoneSignings = std::map<std::string, std::shared_ptr<const ZoneSigning>>;

// The window of signatures made at `now` (Unix seconds): an hour back for
// clocks behind ours, config.signature_validity_s ahead.
dnssec::SignWindow sign_window(const DnssecConfig& config, int64_t now);

// `source` (unsigned) signed with `signing` at `now`. Pool names get their
// NSEC from sign_pool, as their types depend on what they serve.
std::shared_ptr<const EncodedZone> sign_zone(std::shared_ptr<const EncodedZone> source,
                                             const ZoneSigning& signing, int64_t now);

// True when `zone` (signed) can still serve as signed by `signing` at `now`:
// same keys, signatures far enough from their end.
bool signatures_fresh(const EncodedZone& zone, const ZoneSigning& signing, int64_t now);

// Signs the answers of `pool`, a pool at node `node` of the signed `zone`:
// each family's answer sets and their full set, and the pool name's NSEC.
void sign_pool(EncodedPool& pool, const EncodedZone& zone, uint32_t node,
               const ZoneSigning& signing);

// The RRSIG records (TYPE CLASS TTL RDLENGTH RDATA) over the zone's SOA
// record `soa` (the same form) with TTL `ttl`.
std::string sign_soa(std::string_view soa, uint32_t ttl, const EncodedZone& zone,
                     const ZoneSigning& signing);

}  // namespace mirrorpool::dnsd
