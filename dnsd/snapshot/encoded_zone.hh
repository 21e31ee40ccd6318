// The pre-encoded form of zones and pools inside a Snapshot: records stored as
// ready-to-copy answer bytes (everything after the owner name), names in hash
// tables. Built by build_snapshot, read by respond(); immutable in between.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

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
};

struct EncodedPool {
  std::string name;  // canonical wire
  uint32_t ttl = 0;
  unsigned max_answers = 0;  // at most kMaxPoolAnswers
  zones::GeoMode geo = zones::GeoMode::off;
  double geo_margin_km = 0;
  EncodedFamily v4;
  EncodedFamily v6;
};

}  // namespace mirrorpool::dnsd
