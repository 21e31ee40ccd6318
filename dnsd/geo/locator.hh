// Placing clients and mirrors (mirrorpool.toml(5), [server.geo]): the
// operator's [[server.geo.net]] overrides first, the longest prefix winning,
// then the geo database. Built when the configuration or the database is
// read, shared by every snapshot made until the next reload; locate() runs
// on the query path and is pure: no allocation, no lock.
#pragma once

#include <array>
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "dnsd/config/config.hh"
#include "dnsd/geo/geo_table.hh"
#include "dnsd/geo/place.hh"
#include "zones/pool.hh"

namespace mirrorpool::dnsd::geo {

// How a client was placed: the labels of the metrics and of `locate`.
enum class PlacedBy : uint8_t { unknown, source, ecs, override_net, count };
const char* placed_by_name(PlacedBy by) noexcept;

// An address to place: 4 (IPv4) or 16 bytes in network order. IPv4-mapped
// IPv6 addresses are placed as the IPv4 address they carry.
struct ClientAddress {
  bool v6 = false;
  std::array<uint8_t, 16> bytes{};
};

struct Located {
  const Place* place = nullptr;  // null: unknown
  PlacedBy by = PlacedBy::unknown;
  // The shortest prefix around the address whose every address would be
  // placed the same way: the SCOPE PREFIX-LENGTH of an ECS reply.
  uint8_t scope = 0;
  int override_index = -1;  // which [[server.geo.net]], when by == override_net
};

class Locator {
 public:
  // `table` may be null: overrides alone place clients.
  Locator(const GeoConfig& config, std::shared_ptr<const GeoTable> table);

  // from_ecs only chooses the label (ecs or source).
  Located locate(const ClientAddress& address, bool from_ecs) const noexcept;

  // Where a mirror is: its location, else its country's place, else its
  // addresses looked up (the first placed wins). Unplaced: Place{} and
  // `from` says so.
  Place place_mirror(const zones::MirrorDef& mirror, std::string* from = nullptr) const;

  bool ecs() const noexcept { return ecs_; }
  unsigned ecs_max_prefix(bool v6) const noexcept { return v6 ? ecs_max_v6_ : ecs_max_v4_; }
  const std::shared_ptr<const GeoTable>& table() const noexcept { return table_; }
  const std::string& override_text(int index) const { return overrides_[static_cast<size_t>(index)].text; }

 private:
  struct Override {
    bool v6 = false;
    std::array<uint8_t, 16> bytes{};
    unsigned length = 0;
    Place place;
    std::string text;
  };

  Place place_of(const std::string& country, const std::optional<zones::GeoPoint>& location) const;

  std::shared_ptr<const GeoTable> table_;
  std::vector<Override> overrides_;  // longest prefix first
  bool ecs_ = true;
  unsigned ecs_max_v4_ = 24;
  unsigned ecs_max_v6_ = 56;
};

// The client address of `bytes` (4 or 16) with every bit past `prefix` cleared.
ClientAddress masked_address(const uint8_t* bytes, bool v6, unsigned prefix) noexcept;

}  // namespace mirrorpool::dnsd::geo
