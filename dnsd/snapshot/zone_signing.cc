// Signing encoded zones and pool answers (zone_signing.hh).
#include "dnsd/snapshot/zone_signing.hh"

#include <algorithm>
#include <chrono>
#include <cmath>
#include <numeric>
#include <unordered_map>

#include "dnsd/common/sampler.hh"
#include "dnsd/geo/geo_pick.hh"
#include "dnsd/wire/wire.hh"

namespace mirrorpool::dnsd {

namespace {

// Unsigned answers drawn to estimate how often the weighted sampler puts
// each address into an answer (to within 0.004, one standard deviation):
// the pre-signed sets reproduce those shares.
constexpr unsigned kShareDraws = 16384;
// The most addresses of one family a geo pool may have for its answers to
// be signed per tier (a tier is a bit mask); beyond, its DO=1 answers are
// the pool's weighted ones.
constexpr size_t kMaxGeoCells = 64;
// A set's chance of being picked, as an integer out of this for the query path.
constexpr double kChanceScale = 1 << 24;

void encode_record(std::string& out, uint16_t type, uint32_t ttl, std::string_view rdata) {
  put16(out, type);
  put16(out, kClassIn);
  put32(out, ttl);
  put16(out, static_cast<uint16_t>(rdata.size()));
  out.append(rdata);
}

// The records of `bytes` (TYPE CLASS TTL RDLENGTH RDATA, back to back): their RDATA.
std::vector<std::string_view> rdatas_of(std::string_view bytes) {
  std::vector<std::string_view> out;
  while (bytes.size() >= kRrFixedSize) {
    const size_t rdlength = get16(bytes.data() + kRdlengthAt);
    out.push_back(bytes.substr(kRrFixedSize, rdlength));
    bytes.remove_prefix(std::min(bytes.size(), kRrFixedSize + rdlength));
  }
  return out;
}

class Clock {
 public:
  Clock() : start_(std::chrono::steady_clock::now()) {}
  double seconds() const {
    return std::chrono::duration<double>(std::chrono::steady_clock::now() - start_).count();
  }

 private:
  std::chrono::steady_clock::time_point start_;
};

// RRSIG records by every signing key over one RRset; `record_ttl` is the
// TTL the RRSIG records themselves carry (the RRset's as served).
std::string sign_rrset(const ZoneSigning& signing, std::string_view owner, uint16_t type,
                       uint32_t ttl, const std::vector<std::string_view>& rdatas,
                       dnssec::SignWindow window, uint32_t record_ttl, bool corrupt = false) {
  const Clock clock;
  std::string records;
  for (const auto& key : signing.signing) {
    std::string rdata = dnssec::rrsig_rdata(*key, signing.apex, owner, type, ttl, rdatas, window);
    if (rdata.empty()) continue;  // the crypto library failed: logged by no one, validators see it
    if (corrupt) rdata.back() = static_cast<char>(rdata.back() ^ 1);
    encode_record(records, kTypeRrsig, record_ttl, rdata);
    ++signing.stats->signatures;
  }
  signing.stats->seconds += clock.seconds();
  return records;
}

// True when a proper ancestor of node `i` below the apex is a zone cut: its
// records are glue, neither signed nor in the NSEC chain.
bool occluded(const EncodedZone& zone, uint32_t i) {
  std::string_view name = zone.node_name(i);
  while (name.size() > zone.apex.size()) {
    name.remove_prefix(1 + static_cast<uint8_t>(name[0]));
    if (name.size() <= zone.apex.size()) break;
    const uint32_t up = zone.names.find(name);
    if (up != NameTable::kNotFound && zone.nodes[up].delegation) return true;
  }
  return false;
}

// The types the NSEC or NSEC3 of `node` lists from its RRsets as encoded in
// the signed `zone`: at a zone cut only NS and DS are the zone's (RFC 4035
// 2.3), and an unsigned cut has no RRSIG. An NSEC always has its own RRSIG.
std::vector<uint16_t> node_types(const EncodedZone& zone, const EncodedNode& node) {
  std::vector<uint16_t> types;
  if (!zone.uses_nsec3) types = {kTypeNsec, kTypeRrsig};
  const bool has_ds = zone.find(node, kTypeDs) != nullptr;
  for (uint32_t r = node.rrset_begin; r < node.rrset_end; ++r) {
    const uint16_t type = zone.rrsets[r].type;
    if (node.delegation && type != kTypeNs && type != kTypeDs && !(type == kTypeRrsig && has_ds)) {
      continue;
    }
    types.push_back(type);
  }
  return types;
}

// RFC 5155 3.2 RDATA: SHA-1, no flags, no extra iteration, no salt.
std::string nsec3_rdata(const dnssec::Sha1Digest& next, const std::vector<uint16_t>& types) {
  std::string rdata{1, 0, 0, 0, 0, 20};
  rdata.append(reinterpret_cast<const char*>(next.data()), next.size());
  rdata += dnssec::type_bitmap(types);
  return rdata;
}

// The owner of the NSEC3 of a name hashed to `hash` in the zone at `apex`.
std::string nsec3_owner(const dnssec::Sha1Digest& hash, std::string_view apex) {
  const std::string label =
      dnssec::base32hex(std::string_view(reinterpret_cast<const char*>(hash.data()), hash.size()));
  std::string owner(1, static_cast<char>(label.size()));
  owner += label;
  owner.append(apex);
  return owner;
}

}  // namespace

const std::string* SignatureCache::find(const std::string& key, uint32_t not_before_expiry) {
  const auto it = entries_.find(key);
  if (it == entries_.end() || static_cast<int32_t>(it->second.expiration - not_before_expiry) < 0) {
    return nullptr;
  }
  it->second.used = build_;
  return &it->second.records;
}

void SignatureCache::put(const std::string& key, std::string records, uint32_t expiration) {
  entries_[key] = Entry{std::move(records), expiration, build_};
}

void SignatureCache::next_build() {
  ++build_;
  std::erase_if(entries_, [&](const auto& e) { return build_ - e.second.used > kKeepBuilds; });
}

dnssec::SignWindow sign_window(const DnssecConfig& config, int64_t now) {
  return {static_cast<uint32_t>(now - 3600),
          static_cast<uint32_t>(now + config.signature_validity_s)};
}

std::shared_ptr<const EncodedZone> sign_zone(std::shared_ptr<const EncodedZone> source,
                                             const ZoneSigning& signing, int64_t now) {
  const EncodedZone& in = *source;
  const dnssec::SignWindow window = sign_window(signing.config, now);
  auto out = std::make_shared<EncodedZone>();
  out->load_id = in.load_id;
  out->pools = in.pools;
  out->apex = in.apex;
  out->apex_labels = in.apex_labels;
  out->apex_node = in.apex_node;
  out->names = in.names;
  out->negative_soa = in.negative_soa;
  out->signing_generation = signing.generation;
  out->sig_inception = window.inception;
  out->sig_expiration = window.expiration;
  out->nsec_ttl = get32(in.negative_soa.data() + 4);

  const EncodedNode& apex = in.nodes[in.apex_node];
  const EncodedRRset* soa = in.find(apex, kTypeSoa);
  const uint32_t key_ttl = soa != nullptr ? soa->ttl : 3600;

  // The NSEC chain: every authoritative name with data, pool names and zone
  // cuts; not empty non-terminals, not glue. NSEC3 has those names and the
  // empty non-terminals.
  const bool nsec3 = signing.config.denial == DenialKind::nsec3;
  out->uses_nsec3 = nsec3;
  std::vector<bool> occluded_node(in.nodes.size());
  std::vector<uint32_t> hashed;
  for (uint32_t i = 0; i < in.nodes.size(); ++i) {
    occluded_node[i] = occluded(in, i);
    const EncodedNode& node = in.nodes[i];
    if (occluded_node[i]) continue;
    if (nsec3) {
      hashed.push_back(i);
    } else if (node.rrset_begin != node.rrset_end || node.pool >= 0 || node.apex) {
      out->nsec_chain.push_back(i);
    }
  }
  std::sort(out->nsec_chain.begin(), out->nsec_chain.end(), [&](uint32_t a, uint32_t b) {
    return dnssec::canonical_compare(in.node_name(a), in.node_name(b)) < 0;
  });
  std::vector<uint32_t> next(in.nodes.size(), NameTable::kNotFound);
  for (size_t c = 0; c < out->nsec_chain.size(); ++c) {
    next[out->nsec_chain[c]] = out->nsec_chain[(c + 1) % out->nsec_chain.size()];
  }

  std::vector<uint32_t> new_index(in.rrsets.size());
  std::string rrsigs;
  for (uint32_t i = 0; i < in.nodes.size(); ++i) {
    EncodedNode node = in.nodes[i];
    const std::string_view owner = in.node_name(i);
    node.rrset_begin = static_cast<uint32_t>(out->rrsets.size());
    auto add = [&](uint16_t type, uint32_t ttl, std::string_view records, uint16_t count) {
      EncodedRRset rrset;
      rrset.type = type;
      rrset.count = count;
      rrset.ttl = ttl;
      rrset.offset = static_cast<uint32_t>(out->records.size());
      out->records.append(records);
      rrset.length = static_cast<uint32_t>(records.size());
      out->rrsets.push_back(rrset);
    };
    rrsigs.clear();
    const bool authoritative = !occluded_node[i];
    for (uint32_t r = in.nodes[i].rrset_begin; r < in.nodes[i].rrset_end; ++r) {
      const EncodedRRset& rrset = in.rrsets[r];
      new_index[r] = static_cast<uint32_t>(out->rrsets.size());
      add(rrset.type, rrset.ttl, in.bytes(rrset), rrset.count);
      out->rrsets.back().glue_begin = rrset.glue_begin;
      out->rrsets.back().glue_end = rrset.glue_end;
      // The SOA is signed per snapshot (its serial changes); a cut's NS and
      // glue are the child's, and not signed here.
      const bool signed_here = authoritative && !(node.apex && rrset.type == kTypeSoa) &&
                               !(node.delegation && rrset.type != kTypeDs);
      if (signed_here) {
        rrsigs += sign_rrset(signing, owner, rrset.type, rrset.ttl, rdatas_of(in.bytes(rrset)),
                             window, rrset.ttl);
      }
    }
    if (node.apex) {
      std::string dnskeys, cds, cdnskeys;
      for (const auto& key : signing.published) {
        encode_record(dnskeys, kTypeDnskey, key_ttl, key->dnskey_rdata());
      }
      for (const auto& key : signing.announced) {
        encode_record(cds, kTypeCds, key_ttl, key->ds_sha256_rdata(in.apex));
        encode_record(cdnskeys, kTypeCdnskey, key_ttl, key->dnskey_rdata());
      }
      // RFC 5155 4: the NSEC3PARAM says how names are hashed; TTL 0 as
      // BIND and NSD give it (it is for the zone's own servers).
      std::string param;
      if (nsec3) encode_record(param, kTypeNsec3param, 0, std::string_view("\1\0\0\0\0", 5));
      for (const auto& [type, records, count] :
           {std::tuple{kTypeDnskey, &dnskeys, signing.published.size()},
            std::tuple{kTypeCds, &cds, signing.announced.size()},
            std::tuple{kTypeCdnskey, &cdnskeys, signing.announced.size()},
            std::tuple{kTypeNsec3param, &param, size_t{nsec3 ? 1u : 0u}}}) {
        if (count == 0) continue;
        const uint32_t ttl = get32(records->data() + 4);
        add(type, ttl, *records, static_cast<uint16_t>(count));
        rrsigs += sign_rrset(signing, owner, type, ttl, rdatas_of(*records), window, ttl);
      }
    }
    if (next[i] != NameTable::kNotFound && node.pool < 0) {
      // Types at this node as now encoded (the apex's keys included).
      node.rrset_end = static_cast<uint32_t>(out->rrsets.size());
      std::string rdata(in.node_name(next[i]));
      rdata += dnssec::type_bitmap(node_types(*out, node));
      std::string nsec;
      encode_record(nsec, kTypeNsec, out->nsec_ttl, rdata);
      add(kTypeNsec, out->nsec_ttl, nsec, 1);
      rrsigs +=
          sign_rrset(signing, owner, kTypeNsec, out->nsec_ttl, {rdata}, window, out->nsec_ttl);
    }
    if (!rrsigs.empty()) {
      uint16_t count = 0;
      for (std::string_view rest = rrsigs; rest.size() >= kRrFixedSize; ++count) {
        rest.remove_prefix(kRrFixedSize + get16(rest.data() + kRdlengthAt));
      }
      add(kTypeRrsig, get32(rrsigs.data() + 4), rrsigs, count);
    }
    node.rrset_end = static_cast<uint32_t>(out->rrsets.size());
    out->nodes.push_back(node);
  }
  out->glue = in.glue;
  for (GlueRef& ref : out->glue) ref.rrset = new_index[ref.rrset];
  if (nsec3) {
    for (const uint32_t i : hashed) {
      EncodedZone::Nsec3& entry = out->nsec3.emplace_back();
      entry.hash = dnssec::sha1(in.node_name(i));
      entry.node = i;
    }
    std::sort(out->nsec3.begin(), out->nsec3.end(),
              [](const auto& a, const auto& b) { return a.hash < b.hash; });
    for (size_t e = 0; e < out->nsec3.size(); ++e) {
      EncodedZone::Nsec3& entry = out->nsec3[e];
      const std::string owner = nsec3_owner(entry.hash, in.apex);
      entry.offset = static_cast<uint32_t>(out->nsec3_records.size());
      entry.owner_length = static_cast<uint32_t>(owner.size());
      out->nsec3_records += owner;
      // A pool name's NSEC3 lists what it serves now: sign_pool makes it.
      if (out->nodes[entry.node].pool >= 0) continue;
      const std::string rdata = nsec3_rdata(out->nsec3[(e + 1) % out->nsec3.size()].hash,
                                            node_types(*out, out->nodes[entry.node]));
      std::string records;
      encode_record(records, kTypeNsec3, out->nsec_ttl, rdata);
      records +=
          sign_rrset(signing, owner, kTypeNsec3, out->nsec_ttl, {rdata}, window, out->nsec_ttl);
      entry.length = static_cast<uint32_t>(records.size());
      out->nsec3_records += records;
    }
  }
  out->rrsets.shrink_to_fit();
  out->records.shrink_to_fit();
  out->source = std::move(source);
  return out;
}

bool signatures_fresh(const EncodedZone& zone, const ZoneSigning& signing, int64_t now) {
  if (!zone.is_signed() || zone.signing_generation != signing.generation) return false;
  // Made again once half their validity has passed: well before they end,
  // and a resolver's cached copy always outlives its TTL.
  const int64_t half = signing.config.signature_validity_s / 2;
  return static_cast<int32_t>(zone.sig_expiration - static_cast<uint32_t>(now + half)) > 0;
}

namespace {

// The answer sets of a family with more addresses than one answer holds,
// each with the chance of being picked, so that each address is in as
// large a share of answers as the weighted sampler gives it. Its share is
// estimated by drawing; then, systematic sampling: the addresses laid end to
// end on [0, size) with their shares as lengths, a set is what the points
// u, u + 1, ... u + size - 1 fall on, for u in [0, 1): at most one set per
// address (plus one), each with the length of its stretch of u. Beyond
// `sets` of them, the shortest stretches join a neighbour.
struct WeightedSet {
  std::vector<uint32_t> members;
  double chance = 0;
};

std::vector<WeightedSet> draw_sets(const std::vector<uint32_t>& weights, size_t size,
                                   unsigned sets) {
  const size_t n = weights.size();
  std::vector<uint64_t> hits(n);
  // A fixed seed: the same served set gives the same answer sets, so their
  // signatures come from the cache when a flapping mirror brings it back.
  Rng rng(0x6d6972726f72706fULL ^ n);
  std::vector<uint32_t> picked(size);
  for (unsigned d = 0; d < kShareDraws; ++d) {
    const size_t count = sample_without_replacement(weights, rng, picked);
    for (size_t j = 0; j < count; ++j) ++hits[picked[j]];
  }
  std::vector<double> start(n + 1);
  for (size_t i = 0; i < n; ++i)
    start[i + 1] = start[i] + static_cast<double>(hits[i]) / kShareDraws;
  std::vector<double> cuts{0.0, 1.0};
  for (size_t i = 1; i < n; ++i) cuts.push_back(start[i] - std::floor(start[i]));
  std::sort(cuts.begin(), cuts.end());
  std::vector<WeightedSet> out;
  for (size_t c = 0; c + 1 < cuts.size(); ++c) {
    const double length = cuts[c + 1] - cuts[c];
    if (length < 1e-9) continue;
    const double u = cuts[c] + length / 2;
    WeightedSet set;
    set.chance = length;
    for (size_t t = 0; t < size; ++t) {
      // The address point u + t falls on: no two points on one, as no
      // share exceeds 1.
      const double x = u + static_cast<double>(t);
      const auto at = std::upper_bound(start.begin(), start.end(), x);
      const auto i = static_cast<size_t>(at - start.begin()) - 1;
      if (at != start.begin() && i < n) set.members.push_back(static_cast<uint32_t>(i));
    }
    if (!out.empty() && out.back().members == set.members) {
      out.back().chance += length;
    } else {
      out.push_back(std::move(set));
    }
  }
  while (out.size() > std::max(1u, sets)) {
    const auto shortest = std::min_element(
        out.begin(), out.end(), [](const auto& a, const auto& b) { return a.chance < b.chance; });
    const auto into = shortest == out.begin() ? shortest + 1 : shortest - 1;
    into->chance += shortest->chance;
    out.erase(shortest);
  }
  return out;
}

// The RRSIG records over the family's addresses `members`, from the cache
// when that set was signed before.
std::string signed_set(const EncodedFamily& family, const std::vector<uint32_t>& members,
                       std::string_view owner, uint16_t type, uint32_t ttl,
                       const ZoneSigning& signing, dnssec::SignWindow window) {
  std::vector<std::string_view> rdatas;
  std::string key(owner);
  put16(key, type);
  put32(key, ttl);
  put32(key, window.expiration);  // a new window (a re-signed zone) signs again
  for (const uint32_t m : members) {
    const std::string_view record =
        std::string_view(family.records).substr(m * family.record_size, family.record_size);
    rdatas.push_back(record.substr(kRrFixedSize));
  }
  std::sort(rdatas.begin(), rdatas.end());
  for (const std::string_view r : rdatas) key.append(r);
  if (const std::string* cached = signing.cache->find(key, window.expiration)) return *cached;
  std::string records =
      sign_rrset(signing, owner, type, ttl, rdatas, window, ttl, signing.corrupt_pool_signatures);
  signing.cache->put(key, records, window.expiration);
  return records;
}

// Appends `sets` to the family's signed answer sets; returns the sum of
// their chances.
uint64_t add_sets(EncodedFamily& family, const std::vector<WeightedSet>& sets,
                  const EncodedPool& pool, uint16_t type, const ZoneSigning& signing,
                  dnssec::SignWindow window) {
  uint64_t total = 0;
  for (const auto& [set, chance] : sets) {
    EncodedFamily::Variant v;
    v.first = static_cast<uint32_t>(family.members.size());
    v.count = static_cast<uint32_t>(set.size());
    v.chance = std::max<uint32_t>(1, static_cast<uint32_t>(chance * kChanceScale));
    total += v.chance;
    family.members.insert(family.members.end(), set.begin(), set.end());
    const std::string sigs =
        set.size() == family.weights.size()
            ? family.full_sigs
            : signed_set(family, set, pool.name, type, pool.ttl, signing, window);
    v.sig_offset = static_cast<uint32_t>(family.sigs.size());
    v.sig_length = static_cast<uint32_t>(sigs.size());
    family.sigs += sigs;
    family.variants.push_back(v);
  }
  return total;
}

// The signed answers of a geo pool: one cell per first tier a client can
// have. The tiers are those of clients standing where each mirror is
// (nearest), or in each mirror's country and continent (country): a client
// elsewhere whose tier is one of them gets that cell's sets, which are
// filled up (nearest) by distance from the tier rather than from the
// client; one whose tier is none of them gets the pool's weighted sets.
void sign_geo_cells(EncodedFamily& family, const EncodedPool& pool, uint16_t type,
                    const ZoneSigning& signing, dnssec::SignWindow window) {
  const size_t n = family.weights.size();
  std::vector<geo::Place> clients;
  for (const geo::Place& place : family.places) {
    if (pool.geo == zones::GeoMode::nearest && place.has_location) clients.push_back(place);
    geo::Place country;
    country.country = place.country;
    country.continent = place.continent;
    clients.push_back(country);
    country.country = 0;
    clients.push_back(country);
  }
  for (const geo::Place& client : clients) {
    bool tier[kMaxGeoCells];
    const size_t in_tier =
        first_tier(family.places, pool.geo, pool.geo_margin, client, std::span<bool>(tier, n));
    if (in_tier == 0) continue;
    uint64_t mask = 0;
    for (size_t i = 0; i < n; ++i) mask |= tier[i] ? uint64_t{1} << i : 0;
    if (std::any_of(family.geo_cells.begin(), family.geo_cells.end(),
                    [&](const auto& c) { return c.tier == mask; })) {
      continue;
    }
    std::vector<WeightedSet> sets;
    if (in_tier > pool.max_answers) {
      std::vector<uint32_t> weights = family.weights;
      for (size_t i = 0; i < n; ++i) weights[i] = tier[i] ? weights[i] : 0;
      sets = draw_sets(weights, pool.max_answers, signing.config.variants);
    } else {
      // The whole tier, filled up as the unsigned answer is: no choice is
      // left to chance, whatever the generator draws.
      Rng rng(1);
      std::vector<uint32_t> picked(pool.max_answers);
      picked.resize(pick_for_client(family.weights, family.places, pool.geo, pool.geo_margin,
                                    client, rng, picked));
      std::sort(picked.begin(), picked.end());
      sets.push_back({picked, 1.0});
    }
    EncodedFamily::GeoCell cell;
    cell.tier = mask;
    cell.first_variant = static_cast<uint32_t>(family.variants.size());
    cell.total = add_sets(family, sets, pool, type, signing, window);
    cell.variant_count = static_cast<uint32_t>(family.variants.size()) - cell.first_variant;
    family.geo_cells.push_back(cell);
  }
}

void sign_family(EncodedFamily& family, const EncodedPool& pool, uint16_t type,
                 const ZoneSigning& signing, dnssec::SignWindow window) {
  if (family.mode != FamilyMode::serve || family.weights.empty()) return;
  const size_t n = family.weights.size();
  std::vector<uint32_t> all(n);
  std::iota(all.begin(), all.end(), 0u);
  family.full_sigs = signed_set(family, all, pool.name, type, pool.ttl, signing, window);
  std::vector<WeightedSet> sets;
  if (n <= pool.max_answers) {
    sets.push_back({all, 1.0});
  } else {
    sets = draw_sets(family.weights, pool.max_answers, signing.config.variants);
  }
  family.variant_total = add_sets(family, sets, pool, type, signing, window);
  family.plain_variants = static_cast<uint32_t>(family.variants.size());
  if (pool.geo != zones::GeoMode::off && family.places.size() == n && n <= kMaxGeoCells) {
    sign_geo_cells(family, pool, type, signing, window);
  }
}

// The pool name's NSEC or NSEC3: its zone file types (at the apex) and the
// address types it answers now; a family answered NODATA is not listed.
void sign_pool_denial(EncodedPool& pool, const EncodedZone& zone, uint32_t node,
                      const ZoneSigning& signing, dnssec::SignWindow window) {
  std::vector<uint16_t> types = node_types(zone, zone.nodes[node]);
  for (const auto& [family, type] : {std::pair{&pool.v4, kTypeA}, std::pair{&pool.v6, kTypeAaaa}}) {
    if (family->mode == FamilyMode::serve && !family->weights.empty()) {
      types.push_back(type);
      types.push_back(kTypeRrsig);
    }
  }
  std::string rdata;
  uint16_t type = kTypeNsec;
  pool.nsec_owner = pool.name;
  if (zone.uses_nsec3) {
    const auto at = std::find_if(zone.nsec3.begin(), zone.nsec3.end(),
                                 [&](const auto& e) { return e.node == node; });
    if (at == zone.nsec3.end()) return;
    const size_t e = static_cast<size_t>(at - zone.nsec3.begin());
    rdata = nsec3_rdata(zone.nsec3[(e + 1) % zone.nsec3.size()].hash, types);
    pool.nsec_owner = nsec3_owner(at->hash, zone.apex);
    type = kTypeNsec3;
  } else {
    const auto at = std::find(zone.nsec_chain.begin(), zone.nsec_chain.end(), node);
    if (at == zone.nsec_chain.end()) return;
    const uint32_t next = zone.nsec_chain[static_cast<size_t>(at - zone.nsec_chain.begin() + 1) %
                                          zone.nsec_chain.size()];
    rdata = zone.node_name(next);
    rdata += dnssec::type_bitmap(types);
  }
  std::string key("NSEC");
  key += pool.nsec_owner;
  put32(key, window.expiration);
  key += rdata;
  pool.nsec.clear();
  encode_record(pool.nsec, type, zone.nsec_ttl, rdata);
  if (const std::string* cached = signing.cache->find(key, window.expiration)) {
    pool.nsec += *cached;
  } else {
    const std::string sigs =
        sign_rrset(signing, pool.nsec_owner, type, zone.nsec_ttl, {rdata}, window, zone.nsec_ttl);
    signing.cache->put(key, sigs, window.expiration);
    pool.nsec += sigs;
  }
}

}  // namespace

void sign_pool(EncodedPool& pool, const EncodedZone& zone, uint32_t node,
               const ZoneSigning& signing) {
  const Clock clock;
  const uint64_t made_before = signing.stats->signatures;
  const dnssec::SignWindow window{zone.sig_inception, zone.sig_expiration};
  sign_family(pool.v4, pool, kTypeA, signing, window);
  sign_family(pool.v6, pool, kTypeAaaa, signing, window);
  sign_pool_denial(pool, zone, node, signing, window);

  // Only a pool that needed new signatures tells how long a re-signing takes.
  if (signing.stats->signatures != made_before) signing.stats->last_pool_seconds = clock.seconds();
}

std::string sign_soa(std::string_view soa, uint32_t ttl, const EncodedZone& zone,
                     const ZoneSigning& signing) {
  if (soa.size() < kRrFixedSize) return {};
  // The same serial in the same window keeps its signature: every
  // snapshot of one version then transfers the same bytes.
  std::string key("SOA");
  put32(key, zone.sig_expiration);
  put32(key, ttl);
  key.append(soa);
  if (const std::string* cached = signing.cache->find(key, zone.sig_expiration)) return *cached;
  const uint32_t original_ttl = get32(soa.data() + 4);
  std::string records =
      sign_rrset(signing, zone.apex, kTypeSoa, original_ttl, {soa.substr(kRrFixedSize)},
                 {zone.sig_inception, zone.sig_expiration}, ttl);
  signing.cache->put(key, records, zone.sig_expiration);
  return records;
}

}  // namespace mirrorpool::dnsd
