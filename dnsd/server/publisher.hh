// The one way anything new reaches the workers: takes each Change
// (change.hh), builds one snapshot from it, and publishes that snapshot in
// named stages:
//   build    build_snapshot(model, health, current), unless the change brings
//            the snapshot its decider built already;
//   prepare  the primary's serials and transfer data (Primary::prepare), on
//            disk before anyone can see them;
//   publish  the pointer swap, then every listener (the workers' mailboxes);
//   announce the primary's NOTIFY of every zone whose serial changed
//            (Primary::announce), after publication.
// Lives on the daemon's main loop: every method must be called on that loop's
// thread. Health-only changes are coalesced to at most one rebuild per
// kCoalesce so that a flapping pool cannot keep the builder busy; a change
// with a model is published at once.
#pragma once

#include <chrono>
#include <functional>
#include <memory>
#include <vector>

#include <uv.h>

#include "dnsd/snapshot/change.hh"
#include "dnsd/snapshot/snapshot.hh"
#include "health/health_view.hh"
#include "zones/pool.hh"

namespace mirrorpool::dnsd {

class Primary;

class Publisher {
 public:
  static constexpr std::chrono::milliseconds kCoalesce{100};
  using Listener = std::function<void(const std::shared_ptr<const Snapshot>&)>;

  // `primary` (may be null: no serials chosen, no transfers, no NOTIFY) must
  // outlive the publisher. `options` hold for every snapshot (the settings
  // they come from take effect at restart), but for the locator, which each
  // Change may replace.
  Publisher(uv_loop_t* loop, const SnapshotOptions& options, Primary* primary = nullptr);
  ~Publisher();
  Publisher(const Publisher&) = delete;
  Publisher& operator=(const Publisher&) = delete;

  // Receives every published snapshot (on the main loop thread).
  void add_listener(Listener listener) { listeners_.push_back(std::move(listener)); }

  // Told of each pool family ("A" or "AAAA") that a publication made
  // degraded (fewer than min_healthy healthy) or healthy again.
  using DegradedListener = std::function<void(const std::string& pool, std::string_view family,
                                              bool degraded, size_t healthy)>;
  void set_degraded_listener(DegradedListener listener) {
    degraded_listener_ = std::move(listener);
  }

  // Serves `change` from now on (its targets are the prober's business).
  // Before the first model nothing is built: the health is kept for it. A
  // change with a model is published before submit returns; a health-only
  // one within kCoalesce.
  void submit(Change change);

  // (pool, "A" or "AAAA") → times that family entered degraded mode (fewer
  // than min_healthy healthy addresses), for metrics.
  const DegradedEpisodes& degraded_episodes() const { return degraded_episodes_; }

  // Keeps the model without its zone records (zones::without_records), once
  // the current snapshot has them encoded.
  void release_zone_records();

  const std::shared_ptr<const Snapshot>& current() const { return current_; }
  const SnapshotOptions& options() const { return options_; }
  void close();

 private:
  std::shared_ptr<Snapshot> build() const;
  void publish(std::shared_ptr<Snapshot> next);
  void log_degraded_changes(const Snapshot* before, const Snapshot& after);

  uv_timer_t timer_{};
  bool timer_armed_ = false;
  uint64_t last_build_ms_ = 0;  // loop time of the last publication
  std::shared_ptr<const zones::Model> model_;
  std::shared_ptr<const health::HealthView> health_ = std::make_shared<health::HealthView>();
  SnapshotOptions options_;
  Primary* primary_;
  std::shared_ptr<const Snapshot> current_;
  std::vector<Listener> listeners_;
  DegradedListener degraded_listener_;
  DegradedEpisodes degraded_episodes_;
};

}  // namespace mirrorpool::dnsd
