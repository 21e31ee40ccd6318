// The daemon's side of DNSSEC key changes: the hooks of the dnssec control
// commands (DnssecHooks) over its SigningKeys, and the periodic check that
// publishes a key timing reached or signatures due for renewal. Every key
// change goes out as a Change with the new signings, through `serve`. Main
// loop only.
#pragma once

#include <cstdint>
#include <functional>

#include "dnsd/control/dnssec_commands.hh"
#include "dnsd/server/signing_keys.hh"
#include "dnsd/snapshot/change.hh"
#include "dnsd/snapshot/snapshot.hh"

namespace mirrorpool::dnsd {

// `keys` must outlive the hooks; `serve` publishes a change.
DnssecHooks dnssec_hooks(SigningKeys& keys, std::function<void(Change)> serve);

}  // namespace mirrorpool::dnsd
