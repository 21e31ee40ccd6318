// Zones built by hand in tests: names from text, records with wire RDATA,
// and the 32-bit fields of an SOA.
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <utility>

#include "zones/name.hh"
#include "zones/pool.hh"
#include "zones/zone.hh"

namespace mirrorpool::test {

inline zones::Name nm(std::string_view text) {
  return *zones::Name::from_text(text);
}

// Network byte order, as in RDATA.
inline std::string u32_bytes(uint32_t v) {
  return {static_cast<char>(v >> 24), static_cast<char>(v >> 16), static_cast<char>(v >> 8),
          static_cast<char>(v)};
}

inline zones::Record rec(std::string_view owner, uint16_t type, uint32_t ttl, std::string rdata) {
  zones::Record r;
  r.owner = nm(owner);
  r.type = type;
  r.ttl = ttl;
  r.rdata = std::move(rdata);
  return r;
}

inline zones::Record rec(std::string_view owner, uint16_t type, std::string rdata) {
  return rec(owner, type, 300, std::move(rdata));
}

// Marks every zone of `model` as one read of its files (zones::Zone::load_id),
// as load_model does.
inline void set_load_id(zones::Model& model, uint64_t load_id) {
  for (auto& zone : model.zones) {
    zones::Zone copy = *zone;
    copy.load_id = load_id;
    zone = std::make_shared<const zones::Zone>(std::move(copy));
  }
}

}  // namespace mirrorpool::test
