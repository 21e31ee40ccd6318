// Mirror addresses and the cross-checks between pool definitions and zones.
// Reading pools from the config file is the config loader's job.
#include "zones/pool.hh"

#include <arpa/inet.h>
#include <sys/socket.h>

#include <map>
#include <memory>

namespace mirrorpool::zones {

namespace {

constexpr uint16_t kTypeA = 1;
constexpr uint16_t kTypeNs = 2;
constexpr uint16_t kTypeCname = 5;
constexpr uint16_t kTypeAaaa = 28;

// The record types that clash with a pool at the same name.
const char* type_text(uint16_t type) {
  return type == kTypeA ? "A" : type == kTypeAaaa ? "AAAA" : "CNAME";
}

std::string where(const SourcePos& pos) {
  return pos.line > 0 ? pos.file + ":" + std::to_string(pos.line) : pos.file;
}

}  // namespace

std::optional<Address> Address::parse(std::string_view text) {
  // inet_pton needs a terminated string; anything longer than the longest
  // IPv6 text form cannot be an address.
  if (text.empty() || text.size() >= INET6_ADDRSTRLEN) return std::nullopt;
  std::string input(text);
  Address address;
  for (int family : {AF_INET, AF_INET6}) {
    if (inet_pton(family, input.c_str(), address.bytes.data()) != 1) continue;
    char buf[INET6_ADDRSTRLEN];
    if (inet_ntop(family, address.bytes.data(), buf, sizeof buf) == nullptr) return std::nullopt;
    address.family = family;
    address.text = buf;
    return address;
  }
  return std::nullopt;
}

Model without_records(const Model& model) {
  Model lean;
  lean.pools = model.pools;
  lean.zones.reserve(model.zones.size());
  for (const auto& zone : model.zones) {
    lean.zones.push_back(std::make_shared<const Zone>(zone->without_records()));
  }
  return lean;
}

std::vector<Name> origins(const ZoneList& zones) {
  std::vector<Name> names;
  names.reserve(zones.size());
  for (const auto& zone : zones) names.push_back(zone->origin);
  return names;
}

std::vector<std::vector<size_t>> pools_by_zone(const std::vector<Name>& origins,
                                               const std::vector<PoolDef>& pools) {
  std::vector<std::vector<size_t>> inside(origins.size());
  for (size_t p = 0; p < pools.size(); ++p) {
    const Name* best = nullptr;
    size_t best_index = 0;
    for (size_t z = 0; z < origins.size(); ++z) {
      if (pools[p].name.is_subdomain_of(origins[z]) &&
          (best == nullptr || origins[z].label_count() > best->label_count())) {
        best = &origins[z];
        best_index = z;
      }
    }
    if (best != nullptr) inside[best_index].push_back(p);
  }
  return inside;
}

bool validate_pools(const ZoneList& zones, const std::vector<PoolDef>& pools, Diagnostics& diags) {
  size_t before = diags.size();
  std::vector<const Zone*> owner(pools.size(), nullptr);
  const auto inside = pools_by_zone(origins(zones), pools);
  for (size_t z = 0; z < zones.size(); ++z) {
    for (const size_t p : inside[z]) owner[p] = zones[z].get();
  }
  std::map<Name, const PoolDef*> seen_pools;
  for (size_t p = 0; p < pools.size(); ++p) {
    const PoolDef& pool = pools[p];
    std::string name = pool.name.to_text();
    auto [first, inserted] = seen_pools.emplace(pool.name, &pool);
    if (!inserted) {
      diags.push_back({pool.pos, "duplicate pool " + name + " (first defined at " +
                                     where(first->second->pos) + ")"});
    }

    std::map<std::string, const MirrorDef*> seen_mirrors;
    for (const MirrorDef& mirror : pool.mirrors) {
      auto [other, fresh] = seen_mirrors.emplace(mirror.id, &mirror);
      if (!fresh) {
        diags.push_back({mirror.pos, "duplicate mirror id " + mirror.id + " in pool " + name +
                                         " (first defined at " + where(other->second->pos) + ")"});
      }
    }

    const Zone* zone = owner[p];
    if (zone == nullptr) {
      diags.push_back({pool.pos, "pool " + name + " is not inside any [[zone]]"});
      continue;
    }
    // A delegation hands the pool name to another server: answers from here
    // would never be asked for, so this is a configuration mistake.
    const Record* cut = nullptr;
    const Record* own = nullptr;
    for (const Record& record : zone->records) {
      if (record.type == kTypeNs && record.owner != zone->origin &&
          pool.name.is_subdomain_of(record.owner) && cut == nullptr) {
        cut = &record;
      }
      // The pool gives its name's addresses; other types there (the SOA and
      // NS of a pool at its zone's apex, say) are answered from the file.
      const bool clashes =
          record.type == kTypeA || record.type == kTypeAaaa || record.type == kTypeCname;
      if (record.owner == pool.name && clashes && own == nullptr) own = &record;
    }
    if (cut != nullptr) {
      SourcePos pos = zone->pos_of(*cut);
      diags.push_back({pool.pos, "pool " + name + " is at or below the delegation at " +
                                     cut->owner.to_text() + " in zone file " + where(pos)});
    } else if (own != nullptr) {
      // Addresses or a CNAME in the file would be shadowed by the pool's or
      // mixed into its answers, so they are refused outright.
      SourcePos pos = zone->pos_of(*own);
      diags.push_back({pool.pos, "pool name " + name + " has " + type_text(own->type) +
                                     " records in zone file " + where(pos)});
    }
  }
  return diags.size() == before;
}

}  // namespace mirrorpool::zones
