// A change to what the daemon serves, as a value. A probe result, an
// operator's command, reliability weights that moved and a reload each become
// one Change, decided by whoever knows about it (the prober's publication,
// Operations); the daemon hands the probe targets to the prober and the
// change to the one Publisher, which builds one snapshot from it. Plain data:
// no callbacks, nothing live.
#pragma once

#include <memory>
#include <optional>
#include <vector>

#include "dnsd/geo/locator.hh"
#include "dnsd/snapshot/snapshot.hh"
#include "health/health_view.hh"
#include "health/prober.hh"
#include "zones/pool.hh"

namespace mirrorpool::dnsd {

struct Change {
  // The model to serve from now on: the effective configuration's (start,
  // reload, an operator's change, reliability weights that moved). Null: the
  // served model stays.
  std::shared_ptr<const zones::Model> model;
  // The probe targets of `model`, for the prober (the publisher ignores them).
  // nullopt: the prober keeps the targets it has.
  std::optional<std::vector<health::Target>> targets;
  // The health to judge by. Null: the publisher keeps the one it has.
  std::shared_ptr<const health::HealthView> health;
  // The snapshot of `model` under that health as its decider already built it
  // to check it (an operator's change), on top of `built_on`: published as it
  // is rather than built a second time, unless another snapshot was published
  // since. Null: the publisher builds it.
  std::shared_ptr<Snapshot> built;
  std::shared_ptr<const Snapshot> built_on;
  // What places clients and mirrors from now on (start, reload): null when
  // no [server.geo] is configured. nullopt: the publisher keeps its own.
  std::optional<std::shared_ptr<const geo::Locator>> locator;
  // What signs the signed zones from now on (start, reload, a key's timing
  // reached): null when none is signed. nullopt: the publisher keeps its own.
  std::optional<std::shared_ptr<const ZoneSignings>> signings;
};

}  // namespace mirrorpool::dnsd
