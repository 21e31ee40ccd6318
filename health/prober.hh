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

namespace mirrorpool::health {

// One address of one mirror, with how to probe it.
struct Target {
  TargetKey key;
  int family = 0;  // AF_INET or AF_INET6 (key.address is its text form)
  CheckSpec check;
};

// A state change of one target, reported exactly once.
struct Transition {
  TargetKey key;
  bool up = false;     // the new state
  std::string reason;  // e.g. "http 503", "connect: Connection refused", "ok"
  std::chrono::system_clock::time_point when;
};

class Prober {
 public:
  // Called after the first round and then whenever health changed: the whole
  // new view plus the transitions that produced it. Also used for notices the
  // daemon must log (mass failure suspected), passed as `notices`.
  using PublishFn =
      std::function<void(std::shared_ptr<const HealthView> view,
                         std::vector<Transition> transitions, std::vector<std::string> notices)>;

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

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace mirrorpool::health
