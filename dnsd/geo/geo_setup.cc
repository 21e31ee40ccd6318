// Building the Locator of a configuration (geo_setup.hh).
#include "dnsd/geo/geo_setup.hh"

#include <fmt/format.h>

namespace mirrorpool::dnsd::geo {

std::optional<std::shared_ptr<const Locator>> load_locator(const Config& config,
                                                           const Locator* current,
                                                           zones::Diagnostics& diags) {
  const GeoConfig& geo = config.server.geo;
  if (!geo.enabled) return std::shared_ptr<const Locator>();
  std::shared_ptr<const GeoTable> table;
  if (!geo.database.empty()) {
    std::string error;
    const auto id = file_id(geo.database, error);
    if (id && current != nullptr && current->table() != nullptr && current->table()->file() == *id) {
      table = current->table();
    } else if (id) {
      table = GeoTable::read(geo.database, error);
    }
    if (table == nullptr) {
      diags.emplace_back(zones::SourcePos{config.path, 0, 0}, "[server.geo] database: " + error);
      return std::nullopt;
    }
  }
  return std::make_shared<const Locator>(geo, std::move(table));
}

zones::Diagnostics placement_warnings(const Config& config, const Locator& locator) {
  zones::Diagnostics warnings;
  for (const PoolConfig& pool : config.pools) {
    if (pool.def.geo == zones::GeoMode::off) continue;
    for (const zones::MirrorDef& mirror : pool.def.mirrors) {
      if (locator.place_mirror(mirror).placed()) continue;
      warnings.emplace_back(
          mirror.pos,
          fmt::format("mirror {} of pool {} cannot be placed (no location or country, and its "
                      "addresses are not in the geo database): it counts as the farthest",
                      mirror.id, pool.def.name.to_text()),
          zones::Severity::warning);
    }
  }
  return warnings;
}

}  // namespace mirrorpool::dnsd::geo
