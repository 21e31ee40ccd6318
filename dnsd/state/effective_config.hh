// The configuration the daemon serves: the config file with the operator's
// run-time changes (admin_state.hh) and the reliability weights (from the
// journal) applied. Pure: no I/O; the clock is an argument.
#pragma once

#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "dnsd/config/config.hh"
#include "dnsd/state/admin_state.hh"
#include "dnsd/state/journal.hh"

namespace mirrorpool::dnsd {

// Returns from_file with, in each pool:
//   - removed mirrors dropped;
//   - added mirrors appended, their check overrides validated with
//     parse_mirror_overrides against the pool's current [pool.check];
//   - for weight_policy = "reliability", every enabled mirror's weight
//     replaced by reliability_weight (failures from the journal, first seen
//     from state.first_seen, else its oldest journal entry, else now);
//   - operator weight overrides (they come before the policy), then drains.
// State that no longer fits the config (a pool or mirror that is gone, an
// added mirror whose id or address the config file now uses, overrides that
// no longer validate) is skipped with one message per item in `warnings`;
// it stays in the state, so undoing the config change brings it back.
// Why `added` cannot join `pool` as the pool now is: a mirror of the pool
// has its id; an address is not one, is given twice, or belongs to another
// mirror (named); it has no addresses; its check overrides do not validate
// (the messages after `check_label`). nullopt when it can, with `mirror` and
// `check` then what it joins as. apply_admin skips such state with a warning;
// `mirrorpoolctl add` refuses it.
std::optional<std::string> added_mirror_problem(const PoolConfig& pool, const AddedMirror& added,
                                                std::string_view check_label,
                                                zones::MirrorDef& mirror, health::CheckSpec& check);

Config apply_admin(const Config& from_file, const AdminState& state,
                   const std::vector<JournalEntry>& journal, TimePoint now,
                   std::vector<std::string>& warnings);

}  // namespace mirrorpool::dnsd
