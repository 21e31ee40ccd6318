// What `mirrorpoold --check-config` says about the keys of the signed zones.
#pragma once

#include <string>
#include <vector>

#include "dnsd/config/config.hh"
#include "zones/diagnostic.hh"

namespace mirrorpool::dnsd::dnssec {

// Reads the keys of each zone with dnssec = true as a start would, and makes
// nothing. A key file that cannot be used is an error at the zone's
// [[zone]] naming the file; keys the user running the check may not read
// (state_dir is the service user's) a warning. `notes` gets a line per key
// found, or per zone that one will be made for at start.
// Returns false when any of `diags` is an error.
bool check_zone_keys(const Config& config, zones::Diagnostics& diags,
                     std::vector<std::string>& notes);

}  // namespace mirrorpool::dnsd::dnssec
