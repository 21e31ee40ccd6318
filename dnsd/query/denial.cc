// Denial lookups in a signed zone (denial.hh).
#include "dnsd/query/denial.hh"

#include <algorithm>

#include "dnsd/dnssec/rrsig.hh"
#include "dnsd/dnssec/sha1.hh"

namespace mirrorpool::dnsd {

namespace {

// The NSEC3 entry whose hash is `name`'s (`exact`) or, when none is (or not
// `exact`), the one covering it.
uint32_t nsec3_entry(const EncodedZone& zone, std::string_view name, bool exact) noexcept {
  const dnssec::Sha1Digest hash = dnssec::sha1(name);
  const auto& entries = zone.nsec3;
  // The first entry not before `hash`.
  const auto at = std::lower_bound(entries.begin(), entries.end(), hash,
                                   [](const auto& e, const auto& h) { return e.hash < h; });
  if (exact && at != entries.end() && at->hash == hash) {
    return static_cast<uint32_t>(at - entries.begin());
  }
  // Covered by the entry before (the last one wraps around to the first hashes).
  const size_t index =
      at == entries.begin() ? entries.size() : static_cast<size_t>(at - entries.begin());
  return static_cast<uint32_t>(index - 1);
}

}  // namespace

uint32_t covering_denial(const EncodedZone& zone, std::string_view name) noexcept {
  if (zone.uses_nsec3) return nsec3_entry(zone, name, false);
  const auto& chain = zone.nsec_chain;
  size_t low = 0;
  size_t high = chain.size();
  while (high - low > 1) {
    const size_t mid = low + (high - low) / 2;
    if (dnssec::canonical_compare(zone.node_name(chain[mid]), name) <= 0) {
      low = mid;
    } else {
      high = mid;
    }
  }
  return chain.empty() ? zone.apex_node : chain[low];
}

uint32_t own_denial(const EncodedZone& zone, uint32_t node) noexcept {
  if (zone.uses_nsec3) return nsec3_entry(zone, zone.node_name(node), true);
  const EncodedNode& n = zone.nodes[node];
  const bool in_chain = n.pool >= 0 || zone.find(n, kTypeNsec) != nullptr;
  return in_chain ? node : covering_denial(zone, zone.node_name(node));
}

std::string_view next_closer(const WireName& name, std::string_view encloser) noexcept {
  unsigned labels = 0;
  for (size_t at = 0; at < encloser.size() && encloser[at] != 0;
       at += 1u + static_cast<uint8_t>(encloser[at])) {
    ++labels;
  }
  return name.suffix(std::min(labels + 1, name.label_count()));
}

}  // namespace mirrorpool::dnsd
