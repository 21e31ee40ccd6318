// "The real loaders": from a parsed Config to the immutable zones::Model —
// reads every zone file and validates the pools against them. Used identically
// by start-up, reload and --check-config.
#pragma once

#include <memory>
#include <vector>

#include "dnsd/config/config.hh"
#include "health/prober.hh"
#include "zones/pool.hh"

namespace mirrorpool::dnsd {

// Loads all zones and validates pools; appends every diagnostic; nullptr on error.
// On a reload, `previous` is the model being served: each of its zones whose
// files are unchanged (file stamps) and whose pools are the same (the names
// inside it, at the same places in the pool list) is kept, and so is its
// encoded form, instead of being read again.
// Every other zone file is read.
std::shared_ptr<const zones::Model> load_model(const Config& config, zones::Diagnostics& diags,
                                               const zones::Model* previous = nullptr);

// The same zones with the pools of `config` (an effective config: the file's
// pools with run-time changes applied). Zone files are not read again.
std::shared_ptr<const zones::Model> with_pools(const zones::Model& loaded, const Config& config,
                                               zones::Diagnostics& diags);

// The prober's targets: one per address of every mirror, weight 0 and drained
// ones included (they are probed, never answered).
std::vector<health::Target> probe_targets(const Config& config);

}  // namespace mirrorpool::dnsd
