// Probes every target on its own schedule and publishes their health. Runs on
// one libuv loop (the daemon's main loop); every method must be called on that
// loop's thread. Probe failures are data, never exceptions.
#pragma once

#include <chrono>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include <uv.h>

#include "health/check_spec.hh"
#include "health/health_view.hh"
#include "health/probe_result.hh"

namespace mirrorpool::health {

// One address of one mirror, with how to probe it.
struct Target {
  TargetKey key;
  int family = 0;  // AF_INET or AF_INET6 (key.address is its text form)
  CheckSpec check;
};

// A state change of one target, reported exactly once.
// Something the daemon must log and may alert on: the mass-failure guard
// suspecting the prober's own network, or giving up suspecting it.
struct Notice {
  std::string pool;
  std::string text;          // "pool dl.example.: 3 of 4 targets failed at once; ..."
  bool doubt_began = false;  // the first round of holding (MassFailureVerdict)
};

struct Transition {
  TargetKey key;
  bool up = false;     // the new state
  std::string reason;  // e.g. "http 503", "connect: Connection refused", "ok"
  std::chrono::system_clock::time_point when;
};

// What one address answered to `mirrorpoolctl check`: its steps (CheckStep,
// in probe_result.hh) in the order they happened, ending with "result".
struct CheckReport {
  TargetKey key;
  bool ok = false;
  std::string reason;  // the verdict a probe round would have reached
  std::vector<CheckStep> steps;
  std::chrono::milliseconds total{0};
};

class Prober {
 public:
  // Called after the first round and then whenever health changed: the whole
  // new view plus the transitions that produced it. Also used for notices the
  // daemon must log (mass failure suspected), passed as `notices`.
  using PublishFn =
      std::function<void(std::shared_ptr<const HealthView> view,
                         std::vector<Transition> transitions, std::vector<Notice> notices)>;

  Prober(uv_loop_t* loop, PublishFn publish);
  ~Prober();
  Prober(const Prober&) = delete;
  Prober& operator=(const Prober&) = delete;

  // Replaces the target list. Targets whose key and check are unchanged keep
  // their state and schedule; new ones start unknown (counted as up) and are
  // probed at once. Called once at start and again on every reload.
  void set_targets(std::vector<Target> targets);

  // Starts probing. `on_first_round` runs once, when every target has a first
  // result or after the longest timeout has passed, whichever is first.
  void start(std::function<void()> on_first_round);

  // Cancels every probe and timer; afterwards the loop can close.
  void stop();

  // The latest view, including last-check times and latencies of rounds that
  // changed nothing worth publishing (for status output). Never null.
  std::shared_ptr<const HealthView> view() const;

  // Probes every address of `mirror_id` in `pool` at once, with its
  // configured check, outside the schedule and with every step traced. A
  // look, not a vote: no state machine, freshness clock, view or publish is
  // touched. Returns false, and never calls `done`, when no such mirror is
  // known. Otherwise `done` runs exactly once, later, on the loop thread,
  // with one report per address in address order, unless stop() comes first;
  // it may call any method of the Prober. Shares the probe concurrency bound,
  // so it may wait behind a busy round, by at most the probes' timeouts.
  bool check_now(const std::string& pool, const std::string& mirror_id,
                 std::function<void(std::vector<CheckReport>)> done);

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace mirrorpool::health
