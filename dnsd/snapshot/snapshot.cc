// Builds the immutable Snapshot (see snapshot.hh): encodes every zone's
// records into answer bytes and decides each pool's served addresses from
// health and when_all_down. Runs off the query path, so it may allocate.
#include "dnsd/snapshot/snapshot.hh"

#include <sys/socket.h>

#include <algorithm>
#include <ctime>
#include <stdexcept>
#include <unordered_set>
#include <utility>

#include "dnsd/wire/wire.hh"

namespace mirrorpool::dnsd {

namespace {

// TYPE CLASS TTL RDLENGTH RDATA: a record without its owner.
void encode_record(std::string& out, uint16_t type, uint32_t ttl, std::string_view rdata) {
  put16(out, type);
  put16(out, kClassIn);
  put32(out, ttl);
  put16(out, static_cast<uint16_t>(rdata.size()));
  out.append(rdata);
}

// True when `name` equals `origin` or lies below it (both canonical wire).
bool wire_in(const WireName& name, std::string_view origin, unsigned origin_labels) {
  return name.label_count() >= origin_labels && name.suffix(origin_labels) == origin;
}

EncodedZone encode_zone(const zones::Zone& zone, const ZonePools& pools) {
  const std::string_view apex = zone.origin.wire();
  // Every owner with its records in file order, sorted by name: the node
  // layout then does not depend on file order. Sorted vectors rather than a
  // map keep a zone of a million names quick to encode.
  std::vector<std::pair<std::string_view, const zones::Record*>> owned;
  owned.reserve(zone.records.size());
  for (const zones::Record& record : zone.records) {
    if (record.owner.is_subdomain_of(zone.origin)) owned.emplace_back(record.owner.wire(), &record);
  }
  std::stable_sort(owned.begin(), owned.end(),
                   [](const auto& a, const auto& b) { return a.first < b.first; });
  // The nodes: every owner and pool name with its ancestors up to the apex,
  // so that empty non-terminals exist and answer NODATA rather than NXDOMAIN.
  // Ancestors are few and shared (mostly the apex): a hash set finds them.
  std::vector<std::string_view> names;
  std::unordered_set<std::string_view> ancestors{apex};
  auto add_ancestors = [&](std::string_view wire) {
    while (wire.size() > apex.size()) {
      wire.remove_prefix(1 + static_cast<uint8_t>(wire[0]));
      if (!ancestors.insert(wire).second) break;  // and so are its own ancestors
    }
  };
  for (const auto& [wire, record] : owned) {
    if (!names.empty() && names.back() == wire) continue;
    names.push_back(wire);
    add_ancestors(wire);
  }
  for (const auto& [name, index] : pools) {
    ancestors.insert(name);
    add_ancestors(name);
  }
  const size_t owners = names.size();
  names.insert(names.end(), ancestors.begin(), ancestors.end());
  std::sort(names.begin() + static_cast<std::ptrdiff_t>(owners), names.end());
  std::inplace_merge(names.begin(), names.begin() + static_cast<std::ptrdiff_t>(owners),
                     names.end());
  names.erase(std::unique(names.begin(), names.end()), names.end());
  std::vector<int32_t> node_pool(names.size(), -1);
  for (const auto& [name, index] : pools) {
    const auto at = std::lower_bound(names.begin(), names.end(), std::string_view(name));
    node_pool[static_cast<size_t>(at - names.begin())] = index;
  }

  // A zone stays in memory as long as it is served: sized exactly where the
  // sizes are known, trimmed where they are not, so that no spare capacity
  // stays resident (heap pages reused after a reload are already touched).
  EncodedZone out;
  out.load_id = zone.load_id;
  out.pools = pools;
  size_t name_bytes = 0;
  for (const std::string_view name : names) name_bytes += name.size();
  out.names.reserve(names.size(), name_bytes);
  out.nodes.reserve(names.size());
  out.apex = zone.origin.wire();
  out.apex_labels = zone.origin.label_count();
  auto next_owned = owned.begin();
  // One node's RRsets, types in order of first appearance; reused.
  std::vector<std::pair<uint16_t, std::vector<const zones::Record*>>> rrsets;
  for (size_t n = 0; n < names.size(); ++n) {
    const std::string_view wire = names[n];
    rrsets.clear();
    for (; next_owned != owned.end() && next_owned->first == wire; ++next_owned) {
      const zones::Record& record = *next_owned->second;
      auto it = std::find_if(rrsets.begin(), rrsets.end(),
                             [&](const auto& rrset) { return rrset.first == record.type; });
      if (it == rrsets.end()) {
        rrsets.emplace_back(record.type, std::vector<const zones::Record*>{});
        it = rrsets.end() - 1;
      }
      const bool duplicate = std::any_of(it->second.begin(), it->second.end(),
                                         [&](const auto* r) { return r->rdata == record.rdata; });
      if (!duplicate) it->second.push_back(&record);
    }
    const auto index = static_cast<uint32_t>(out.nodes.size());
    out.names.insert(wire, index);
    EncodedNode encoded;
    encoded.pool = node_pool[n];
    encoded.apex = wire == out.apex;
    if (encoded.apex) out.apex_node = index;
    encoded.rrset_begin = static_cast<uint32_t>(out.rrsets.size());
    for (const auto& [type, records] : rrsets) {
      EncodedRRset rrset;
      rrset.type = type;
      rrset.count = static_cast<uint16_t>(records.size());
      rrset.ttl = records.front()->ttl;
      rrset.offset = static_cast<uint32_t>(out.records.size());
      for (const zones::Record* r : records) encode_record(out.records, type, r->ttl, r->rdata);
      rrset.length = static_cast<uint32_t>(out.records.size()) - rrset.offset;
      out.rrsets.push_back(rrset);
      if (type == kTypeNs && !encoded.apex) encoded.delegation = true;
    }
    encoded.rrset_end = static_cast<uint32_t>(out.rrsets.size());
    out.nodes.push_back(encoded);
  }
  out.names.freeze();
  out.rrsets.shrink_to_fit();
  out.records.shrink_to_fit();

  // Glue: the in-zone address records of every NS target, found once here so
  // that referrals and apex NS answers only copy them.
  for (auto& rrset : out.rrsets) {
    if (rrset.type != kTypeNs) continue;
    rrset.glue_begin = static_cast<uint32_t>(out.glue.size());
    std::string_view rrs = out.bytes(rrset);
    while (rrs.size() >= kRrFixedSize) {
      const size_t rdlength = get16(rrs.data() + kRdlengthAt);
      WireName target;
      if (target.assign(rrs.substr(kRrFixedSize, rdlength)) &&
          wire_in(target, out.apex, out.apex_labels)) {
        const uint32_t node = out.names.find(target.view());
        if (node != NameTable::kNotFound) {
          for (uint32_t i = out.nodes[node].rrset_begin; i < out.nodes[node].rrset_end; ++i) {
            const uint16_t type = out.rrsets[i].type;
            const GlueRef ref{node, i};
            const bool known =
                std::any_of(out.glue.begin() + rrset.glue_begin, out.glue.end(),
                            [&](const GlueRef& g) { return g.node == node && g.rrset == i; });
            if ((type == kTypeA || type == kTypeAaaa) && !known) out.glue.push_back(ref);
          }
        }
      }
      rrs.remove_prefix(std::min(rrs.size(), kRrFixedSize + rdlength));
    }
    rrset.glue_end = static_cast<uint32_t>(out.glue.size());
  }

  const zones::Record& soa = zone.soa();
  const size_t n = soa.rdata.size();
  // MINIMUM, the last of the SOA's timers.
  const uint32_t minimum = n >= 4 ? get32(soa.rdata.data() + n - 4) : 0;
  encode_record(out.negative_soa, kTypeSoa, std::min(soa.ttl, minimum), soa.rdata);
  return out;
}

const ServedFamily* previous_family(const Snapshot* previous, const std::string& pool, int family) {
  if (previous == nullptr) return nullptr;
  for (const ServedPool& p : previous->served()) {
    if (p.name == pool) return family == AF_INET ? &p.v4 : &p.v6;
  }
  return nullptr;
}

struct Candidate {
  const zones::Address* address;
  const zones::MirrorDef* mirror;
  uint32_t weight;
  bool healthy;
};

// Decides what one pool serves for one family (`min_healthy` and `when_all_down` in
// mirrorpool.toml(5)) and encodes it.
void build_family(const zones::PoolDef& pool, const std::string& pool_text, int family,
                  const health::HealthView& health, const ServedFamily* previous,
                  const SnapshotOptions& options, EncodedFamily& encoded, ServedFamily& served) {
  std::vector<Candidate> candidates;
  bool any_address = false;  // of this family, enabled or not
  for (const zones::MirrorDef& mirror : pool.mirrors) {
    for (const zones::Address& address : mirror.addresses) {
      if (address.family != family) continue;
      any_address = true;
      if (mirror.weight == 0 || mirror.drained) continue;
      const bool up = health.is_up({pool_text, mirror.id, address.text});
      candidates.push_back({&address, &mirror, mirror.weight, up});
      if (up) ++served.healthy;
    }
  }

  std::vector<const Candidate*> chosen;
  encoded.mode = FamilyMode::serve;
  if (!any_address) {
    // A pool without addresses of this family: AAAA of an IPv4-only pool.
    encoded.mode = FamilyMode::nodata;
  } else if (served.healthy >= pool.min_healthy && !candidates.empty()) {
    for (const Candidate& c : candidates) {
      if (c.healthy) chosen.push_back(&c);
    }
  } else {
    served.degraded = true;
    switch (pool.when_all_down) {
      case zones::WhenAllDown::serve_last_good:
        // The last set served, minus addresses disabled since then.
        if (previous != nullptr) {
          for (const Candidate& c : candidates) {
            const auto& last = previous->addresses;
            if (std::find(last.begin(), last.end(), c.address->text) != last.end()) {
              chosen.push_back(&c);
            }
          }
        }
        if (!chosen.empty()) break;
        [[fallthrough]];
      case zones::WhenAllDown::serve_all:
        for (const Candidate& c : candidates) chosen.push_back(&c);
        break;
      case zones::WhenAllDown::servfail:
        encoded.mode = FamilyMode::servfail;
        break;
      case zones::WhenAllDown::nodata:
        encoded.mode = FamilyMode::nodata;
        break;
    }
    // Drained and zero-weight mirrors are never answered, not even to fail
    // open: with none enabled, there is nothing to serve.
    if (encoded.mode == FamilyMode::serve && chosen.empty()) encoded.mode = FamilyMode::nodata;
  }

  const bool v4 = family == AF_INET;
  const size_t address_size = v4 ? 4 : 16;
  encoded.record_size = kRrFixedSize + address_size;
  for (const Candidate* c : chosen) {
    encoded.weights.push_back(c->weight);
    const auto* bytes = reinterpret_cast<const char*>(c->address->bytes.data());
    encode_record(encoded.records, v4 ? kTypeA : kTypeAaaa, pool.ttl,
                  std::string_view(bytes, address_size));
    served.addresses.push_back(c->address->text);
    encoded.slots.push_back(options.slots ? options.slots->slot(pool_text, c->mirror->id)
                                          : MirrorSlots::kSlots - 1);
    if (pool.geo != zones::GeoMode::off && options.locator) {
      encoded.places.push_back(options.locator->place_mirror(*c->mirror));
    }
  }
}

}  // namespace

Snapshot::Snapshot(EncodedZones zones, std::vector<EncodedPool> pools,
                   std::vector<ServedPool> served, const SnapshotOptions& options)
    : zones_(std::move(zones)),
      pools_(std::move(pools)),
      served_(std::move(served)),
      udp_max_size_(
          std::clamp<unsigned>(options.udp_max_size, kMinUdpMessageSize, kMaxMessageSize)),
      nsid_(options.nsid),
      cookie_secret_(options.cookie_secret),
      require_cookie_(options.require_cookie),
      locator_(options.locator) {
  soas_.reserve(zones_.size());
  for (size_t i = 0; i < zones_.size(); ++i) {
    const EncodedZone& z = *zones_[i];
    ZoneSoa& soa = soas_.emplace_back();
    // load_zone guarantees exactly one SOA, at the apex.
    if (const EncodedRRset* rrset = z.find(z.nodes[z.apex_node], kTypeSoa)) {
      soa.record = z.bytes(*rrset);
    }
    soa.negative = z.negative_soa;
    std::shared_ptr<const ZoneSigning> signing;
    if (z.is_signed() && options.signings) {
      const auto it = options.signings->find(z.apex);
      if (it != options.signings->end()) signing = it->second;
    }
    signings_.push_back(std::move(signing));
    sign_soa(i);
    apexes_.insert(z.apex, static_cast<uint32_t>(i));
    const unsigned labels = z.apex_labels;
    apex_depths_[labels / 64] |= uint64_t{1} << (labels % 64);
  }
  apexes_.freeze();
}

std::shared_ptr<Snapshot> build_snapshot(const zones::Model& model,
                                         const health::HealthView& health, const Snapshot* previous,
                                         const SnapshotOptions& options) {
  std::vector<EncodedPool> pools;
  std::vector<ServedPool> served;
  for (const zones::PoolDef& def : model.pools) {
    EncodedPool& pool = pools.emplace_back();
    ServedPool& status = served.emplace_back();
    status.name = def.name.to_text();
    pool.name = def.name.wire();
    pool.ttl = def.ttl;
    pool.max_answers = std::min(def.max_answers, kMaxPoolAnswers);
    if (options.locator) {
      pool.geo = def.geo;
      pool.geo_margin = geo::Margin::of_km(def.geo_margin_km);
    }
    build_family(def, status.name, AF_INET, health, previous_family(previous, status.name, AF_INET),
                 options, pool.v4, status.v4);
    build_family(def, status.name, AF_INET6, health,
                 previous_family(previous, status.name, AF_INET6), options, pool.v6, status.v6);
  }

  const std::vector<std::vector<size_t>> inside =
      zones::pools_by_zone(zones::origins(model.zones), model.pools);
  const int64_t now = std::time(nullptr);
  EncodedZones zones;
  zones.reserve(model.zones.size());
  for (size_t z = 0; z < model.zones.size(); ++z) {
    const zones::Zone& zone = *model.zones[z];
    ZonePools zone_pools;
    for (const size_t p : inside[z]) {
      zone_pools.emplace_back(model.pools[p].name.wire(), static_cast<int32_t>(p));
    }
    const ZoneSigning* signing = nullptr;
    if (options.signings) {
      const auto it = options.signings->find(zone.origin.wire());
      if (it != options.signings->end()) signing = it->second.get();
    }
    // The same read of the file with the same pools in it (a health change,
    // or a reload that changed only other zones): share the encoded zone,
    // and its signatures while they are fresh.
    const uint32_t before = previous != nullptr && zone.load_id != 0
                                ? previous->apexes().find(zone.origin.wire())
                                : NameTable::kNotFound;
    std::shared_ptr<const EncodedZone> encoded;
    if (before != NameTable::kNotFound) {
      const auto& kept = previous->encoded_zones()[before];
      if (kept->load_id == zone.load_id && kept->pools == zone_pools) {
        if (signing == nullptr) {
          encoded = kept->is_signed() ? kept->source : kept;
        } else if (signatures_fresh(*kept, *signing, now)) {
          zones.push_back(kept);
          continue;
        } else {
          encoded = kept->is_signed() ? kept->source : kept;
        }
      }
    }
    if (!encoded) {
      // load_model reads a zone's files again whenever its encoded form
      // cannot be kept, so a zone without records always has one to share.
      if (zone.records_released) {
        throw std::logic_error("zone " + zone.origin.to_text() +
                               ": its records were released and it is not encoded");
      }
      encoded = std::make_shared<const EncodedZone>(encode_zone(zone, zone_pools));
    }
    zones.push_back(signing != nullptr ? sign_zone(std::move(encoded), *signing, now)
                                       : std::move(encoded));
  }
  // Pool answers of signed zones: signed per snapshot, from the cache when
  // their set was signed before.
  for (const auto& zone : zones) {
    if (!zone->is_signed()) continue;
    const ZoneSigning& signing = *options.signings->at(zone->apex);
    for (const auto& [name, index] : zone->pools) {
      const uint32_t node = zone->names.find(name);
      if (node != NameTable::kNotFound)
        sign_pool(pools[static_cast<size_t>(index)], *zone, node, signing);
    }
    signing.cache->next_build();
  }
  return std::make_shared<Snapshot>(std::move(zones), std::move(pools), std::move(served), options);
}

namespace {

// The serial inside an SOA record stored as TYPE CLASS TTL RDLENGTH RDATA: the
// first of the five 32-bit fields that end the RDATA.
size_t soa_serial_at(std::string_view record) noexcept {
  return record.size() - kSoaTimersSize;
}

}  // namespace

uint32_t Snapshot::serial(size_t zone) const noexcept {
  return get32(soas_[zone].negative.data() + soa_serial_at(soas_[zone].negative));
}

void Snapshot::set_serial(size_t zone, uint32_t serial) {
  ZoneSoa& soa = soas_[zone];
  set32(soa.negative.data() + soa_serial_at(soa.negative), serial);
  if (!soa.record.empty()) set32(soa.record.data() + soa_serial_at(soa.record), serial);
  sign_soa(zone);
}

void Snapshot::sign_soa(size_t zone) {
  const ZoneSigning* signing = signings_[zone].get();
  if (signing == nullptr) return;
  ZoneSoa& soa = soas_[zone];
  soa.rrsig = dnsd::sign_soa(soa.record, get32(soa.record.data() + 4), *zones_[zone], *signing);
  // The same signature with the negative TTL: only the records' own TTL differs.
  soa.negative_rrsig = soa.rrsig;
  const uint32_t negative_ttl = get32(soa.negative.data() + 4);
  for (size_t at = 0; at + kRrFixedSize <= soa.negative_rrsig.size();
       at += kRrFixedSize + get16(soa.negative_rrsig.data() + at + kRdlengthAt)) {
    set32(soa.negative_rrsig.data() + at + 4, negative_ttl);
  }
}

const std::vector<ServedPool>& served_pools(const Snapshot& snapshot) {
  return snapshot.served();
}

}  // namespace mirrorpool::dnsd
