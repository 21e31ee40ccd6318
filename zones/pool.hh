// Pool definitions: which name answers with which mirror addresses. Pure data;
// health and serving are elsewhere.
#pragma once

#include <array>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "zones/diagnostic.hh"
#include "zones/name.hh"
#include "zones/zone.hh"

namespace mirrorpool::zones {

enum class WhenAllDown { serve_all, serve_last_good, servfail, nodata };

struct Address {
  int family = 0;                   // AF_INET or AF_INET6
  std::array<uint8_t, 16> bytes{};  // 4 or 16 significant bytes, network order
  std::string text;                 // canonical text form

  static std::optional<Address> parse(std::string_view text);
};

enum class Capacity { normal, huge };

// A point on the Earth, in degrees: |latitude| <= 90, |longitude| <= 180.
struct GeoPoint {
  double latitude = 0;
  double longitude = 0;
  bool operator==(const GeoPoint&) const = default;
};

// How a pool chooses among its healthy addresses for one client
// (mirrorpool.toml(5), `geo`): the same weighted set for everyone, the
// nearest by great-circle distance, or the client's country, else continent.
enum class GeoMode { off, nearest, country };

struct MirrorDef {
  std::string id;
  std::vector<Address> addresses;
  uint32_t weight = 1;  // 0 = disabled
  // Taken out by an operator (mirrorpoolctl drain): never answered, still
  // probed so that status shows whether it could come back.
  bool drained = false;
  Capacity capacity = Capacity::normal;
  std::string email;
  std::string notes;
  std::string url_prefix;  // from mirrors.json, for export
  std::string rsync_url;
  // Where the mirror is, when the operator says so; else its country's
  // place, else its address looked up in the geo database.
  std::optional<GeoPoint> location;
  std::string country;  // ISO 3166-1 alpha-2, upper case; empty = not given
  SourcePos pos;
};

struct PoolDef {
  Name name;
  uint32_t ttl = 30;
  unsigned max_answers = 4;
  WhenAllDown when_all_down = WhenAllDown::serve_all;
  unsigned min_healthy = 1;
  GeoMode geo = GeoMode::off;
  // nearest: mirrors within this of the nearest healthy one share its rank.
  uint32_t geo_margin_km = 0;
  std::vector<MirrorDef> mirrors;
  SourcePos pos;
};

// Everything the answers are built from, apart from health. Immutable once built.
// Zones are shared, not copied, between models built from one load of the
// files (a drain or a re-weighting makes a new model, not new zones).
using ZoneList = std::vector<std::shared_ptr<const Zone>>;

struct Model {
  ZoneList zones;
  std::vector<PoolDef> pools;
};

// The origin of each zone, in order.
std::vector<Name> origins(const ZoneList& zones);

// The pools inside each zone of `origins`, as indexes into `pools` in pool
// order. A pool belongs to the deepest zone containing its name: with both
// "example." and "pool.example." configured, dl.pool.example. is served by
// the second. A pool inside no zone is in none.
std::vector<std::vector<size_t>> pools_by_zone(const std::vector<Name>& origins,
                                               const std::vector<PoolDef>& pools);

// The same model with every zone replaced by Zone::without_records().
Model without_records(const Model& model);

// A pool name must lie inside exactly one zone (the deepest that contains it),
// not below a delegation, and have no records in that zone's file. Mirror ids
// are unique within a pool. Appends a diagnostic per violation; true when clean.
// A zone whose records were released is not searched for them: callers pass
// it only with the pool names it was checked against when it was read.
bool validate_pools(const ZoneList& zones, const std::vector<PoolDef>& pools, Diagnostics& diags);

}  // namespace mirrorpool::zones
