// `mirrorpoolctl locate ADDRESS [--pool P]` (mirrorpoolctl(8)): where the
// served snapshot's locator places a client, from what, and each geo pool's
// addresses ranked for it as the responder would answer it. Also the place
// of each mirror that `status` shows. Main loop only; reads values.
#pragma once

#include <optional>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "dnsd/config/config.hh"
#include "dnsd/geo/locator.hh"
#include "dnsd/snapshot/snapshot.hh"
#include "health/health_view.hh"

namespace mirrorpool::dnsd {

// The report, or nullopt with `error` (no [server.geo], no such pool).
// `pool` empty: every pool.
std::optional<nlohmann::json> locate_report(const std::string& address, const std::string& pool,
                                            const Snapshot& snapshot,
                                            const std::vector<PoolConfig>& pools,
                                            const health::HealthView& health, std::string& error);

// {"country", "continent", "location": [lat, lon] | null, "from"} of a mirror.
nlohmann::json mirror_place_json(const geo::Locator& locator, const zones::MirrorDef& mirror);

}  // namespace mirrorpool::dnsd
