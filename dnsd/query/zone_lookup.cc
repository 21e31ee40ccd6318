// Finding a name in one zone (zone_lookup.hh).
#include "dnsd/query/zone_lookup.hh"

#include <cstring>

namespace mirrorpool::dnsd {

Found find_in_zone(const EncodedZone& zone, const WireName& name, uint16_t qtype) noexcept {
  uint32_t encloser = zone.apex_node;
  const unsigned labels = name.label_count();
  for (unsigned k = zone.apex_labels + 1; k <= labels; ++k) {
    const uint32_t node = zone.names.find(name.suffix(k));
    if (node == NameTable::kNotFound) {
      const std::string_view parent = zone.node_name(encloser);
      char wildcard[kMaxNameLength];
      if (parent.size() + 2 > sizeof wildcard) return {Match::nxdomain, encloser};
      wildcard[0] = 1;
      wildcard[1] = '*';
      std::memcpy(wildcard + 2, parent.data(), parent.size());
      const uint32_t source = zone.names.find(std::string_view(wildcard, parent.size() + 2));
      if (source == NameTable::kNotFound) return {Match::nxdomain, encloser};
      return {Match::wildcard, source};
    }
    if (zone.nodes[node].delegation && !(k == labels && qtype == kTypeDs)) {
      return {Match::delegation, node};
    }
    encloser = node;
  }
  return {Match::exact, encloser};
}

}  // namespace mirrorpool::dnsd
