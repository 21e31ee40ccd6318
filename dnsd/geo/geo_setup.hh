// Building the Locator of a configuration at start and reload, and the
// advice --check-config gives about it.
#pragma once

#include <memory>
#include <optional>

#include "dnsd/config/config.hh"
#include "dnsd/geo/locator.hh"
#include "zones/diagnostic.hh"

namespace mirrorpool::dnsd::geo {

// The Locator of `config`: null when it has no [server.geo]. The database
// is read again only when its file changed since `current` read it (path,
// inode, size or modification time). nullopt, with an error in diags, when
// the database cannot be read: the caller keeps what it serves.
std::optional<std::shared_ptr<const Locator>> load_locator(const Config& config,
                                                           const Locator* current,
                                                           zones::Diagnostics& diags);

// Warnings: each mirror of a geo pool that cannot be placed (it counts as
// the farthest).
zones::Diagnostics placement_warnings(const Config& config, const Locator& locator);

}  // namespace mirrorpool::dnsd::geo
