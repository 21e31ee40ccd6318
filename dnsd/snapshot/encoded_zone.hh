// The pre-encoded form of zones and pools inside a Snapshot: records stored as
// ready-to-copy answer bytes (everything after the owner name), names in hash
// tables. Built by build_snapshot, read by respond(); immutable in between.
#pragma once

#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "dnsd/dnssec/sha1.hh"
#include "dnsd/geo/place.hh"
#include "dnsd/snapshot/name_table.hh"
#include "zones/pool.hh"

namespace mirrorpool::dnsd {

// The most addresses one pool answer holds, whatever max_answers says: it
// sizes the responder's stack buffer.
inline constexpr unsigned kMaxPoolAnswers = 256;

// One RRset: `count` records back to back in EncodedZone::records, each as
// TYPE CLASS TTL RDLENGTH RDATA (RDATA names uncompressed and lowercased).
// The owner is written by the responder, usually as a compression pointer.
struct EncodedRRset {
  uint16_t type = 0;
  uint16_t count = 0;
  uint32_t ttl = 0;  // of the first record
  uint32_t offset = 0;
  uint32_t length = 0;
  // NS only: the in-zone address records of its targets, in EncodedZone::glue.
  uint32_t glue_begin = 0;
  uint32_t glue_end = 0;
};

// An address RRset (A or AAAA) of an NS target, for the additional section.
struct GlueRef {
  uint32_t node = 0;
  uint32_t rrset = 0;
};

// An owner name or an empty non-terminal (no RRsets) of one zone.
struct EncodedNode {
  uint32_t rrset_begin = 0;  // RRsets in EncodedZone::rrsets, in file order of first record
  uint32_t rrset_end = 0;
  int32_t pool = -1;  // index into Snapshot::pools() when this name is a pool
  bool apex = false;
  bool delegation = false;  // NS below the apex: a zone cut
};

// The pools inside one zone: (name as canonical wire, index into
// Snapshot::pools()), in pool order.
using ZonePools = std::vector<std::pair<std::string, int32_t>>;

struct EncodedZone {
  // What it was encoded from: zones::Zone::load_id and the pools inside the
  // zone. A zone with the same non-zero load_id and the same pools would
  // encode the same, so this one is shared instead.
  uint64_t load_id = 0;
  ZonePools pools;

  std::string apex;  // canonical wire
  unsigned apex_labels = 0;
  uint32_t apex_node = 0;
  // Node name → node index; name(i) is the name of nodes[i].
  NameTable names;
  std::vector<EncodedNode> nodes;
  std::vector<EncodedRRset> rrsets;
  std::vector<GlueRef> glue;
  std::string records;
  // The apex SOA as an authority record (no owner) with the negative-caching
  // TTL of RFC 2308: min(SOA TTL, SOA MINIMUM). Here and in `records` the
  // SOA has the zone file's serial; answers take the snapshot's (ZoneSoa).
  std::string negative_soa;

  // DNSSEC (zone_signing.hh), set only in a signed zone: the unsigned
  // encoding it was made from, what signed it and when its signatures end.
  // Its nodes have RRSIG and NSEC RRsets beside their own (RRSIG records
  // cover their node's RRsets, each with that RRset's TTL); the apex has
  // DNSKEY, CDS and CDNSKEY. A pool name's NSEC is its pool's (EncodedPool).
  std::shared_ptr<const EncodedZone> source;
  uint64_t signing_generation = 0;
  uint32_t sig_inception = 0;
  uint32_t sig_expiration = 0;
  // The nodes with an NSEC (pool names included), in canonical order, to
  // find the NSEC covering a name that does not exist.
  std::vector<uint32_t> nsec_chain;
  // The NSEC TTL (RFC 9077): the negative-caching TTL.
  uint32_t nsec_ttl = 0;
  // dnssec_denial = "nsec3" (RFC 5155 with RFC 9276's parameters: no salt,
  // no extra iteration, no opt-out) instead of the NSEC chain: one NSEC3 per
  // authoritative name, empty non-terminals included, sorted by hash. At
  // `offset` in nsec3_records: the hashed owner name (wire), then the NSEC3
  // and its RRSIG records; a pool name's are its pool's (EncodedPool::nsec).
  struct Nsec3 {
    dnssec::Sha1Digest hash{};
    uint32_t node = 0;
    uint32_t offset = 0;
    uint32_t owner_length = 0;
    uint32_t length = 0;  // of the records after the owner
  };
  bool uses_nsec3 = false;
  std::vector<Nsec3> nsec3;
  std::string nsec3_records;

  bool is_signed() const noexcept { return source != nullptr; }

  std::string_view node_name(uint32_t node) const noexcept { return names.name(node); }
  std::string_view bytes(const EncodedRRset& rrset) const noexcept {
    return std::string_view(records).substr(rrset.offset, rrset.length);
  }
  const EncodedRRset* find(const EncodedNode& node, uint16_t type) const noexcept {
    for (uint32_t i = node.rrset_begin; i < node.rrset_end; ++i) {
      if (rrsets[i].type == type) return &rrsets[i];
    }
    return nullptr;
  }
};

// How a pool answers one address family right now.
enum class FamilyMode : uint8_t { serve, servfail, nodata };

struct EncodedFamily {
  FamilyMode mode = FamilyMode::nodata;
  std::vector<uint32_t> weights;  // one per served address, all > 0
  // One record per served address, TYPE CLASS TTL RDLENGTH ADDRESS (14 bytes
  // for A, 26 for AAAA), in the order of `weights`.
  std::string records;
  size_t record_size = 0;
  // In the order of `weights`: where each address's mirror is (Place{} when
  // it cannot be placed), for geo answers; and its mirror's counter slot
  // (mirror_slots.hh).
  std::vector<geo::Place> places;
  std::vector<uint16_t> slots;

  // DNSSEC, in a signed zone only (zone_signing.hh). The answer sets a DO=1
  // query picks from, each with a chance of `chance` in `variant_total`:
  // `count` indices (into `weights`) at `first` in `members`, with its
  // RRSIG records at `sig_offset` in `sigs`.
  struct Variant {
    uint32_t first = 0;
    uint32_t count = 0;
    uint32_t sig_offset = 0;
    uint32_t sig_length = 0;
    uint32_t chance = 0;
  };
  // The first `plain_variants` (chances summing to `variant_total`) are
  // the pool's weighted answer sets; after them come the geo cells' sets.
  std::vector<Variant> variants;
  uint32_t plain_variants = 0;
  uint64_t variant_total = 0;
  // A geo pool's signed answers: for each first tier (geo_pick.hh) a client
  // can have, as a bit mask over the addresses, its own answer sets.
  struct GeoCell {
    uint64_t tier = 0;
    uint32_t first_variant = 0;
    uint32_t variant_count = 0;
    uint64_t total = 0;  // of their chances
  };
  std::vector<GeoCell> geo_cells;
  std::vector<uint32_t> members;
  std::string sigs;
  // The RRSIG records over every served address as one RRset: what zone
  // transfers carry (a secondary serves the whole set).
  std::string full_sigs;
};

struct EncodedPool {
  std::string name;  // canonical wire
  uint32_t ttl = 0;
  unsigned max_answers = 0;  // at most kMaxPoolAnswers
  zones::GeoMode geo = zones::GeoMode::off;
  geo::Margin geo_margin;
  EncodedFamily v4;
  EncodedFamily v6;
  // In a signed zone: the pool name's NSEC (or NSEC3) record and its RRSIG
  // records (TYPE CLASS TTL RDLENGTH RDATA each), with the types it serves
  // now; their owner (the pool name, or its hashed name).
  std::string nsec;
  std::string nsec_owner;
};

}  // namespace mirrorpool::dnsd
