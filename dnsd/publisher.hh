// Joins the model and the health view into snapshots and hands each new one to
// the workers. Lives on the daemon's main loop: every method must be called on
// that loop's thread. Rebuilds caused by health are coalesced to at most one
// per kCoalesce so that a flapping pool cannot keep the builder busy.
#pragma once

#include <chrono>
#include <functional>
#include <memory>
#include <vector>

#include <uv.h>

#include "dnsd/snapshot.hh"
#include "health/health_view.hh"
#include "zones/pool.hh"

namespace mirrorpool::dnsd {

class Publisher {
 public:
  static constexpr std::chrono::milliseconds kCoalesce{100};
  using Listener = std::function<void(const std::shared_ptr<const Snapshot>&)>;
  // Completes a freshly built snapshot before anyone sees it (serials and
  // transfer data: primary.hh).
  using Preparer = std::function<void(Snapshot&)>;

  explicit Publisher(uv_loop_t* loop);
  ~Publisher();
  Publisher(const Publisher&) = delete;
  Publisher& operator=(const Publisher&) = delete;

  // Receives every published snapshot (on the main loop thread).
  void add_listener(Listener listener) { listeners_.push_back(std::move(listener)); }
  void set_preparer(Preparer preparer) { preparer_ = std::move(preparer); }

  // A new model (start-up, reload, run-time change) with the health of its
  // targets: rebuilds and publishes at once. The health comes along because
  // a model can bring targets new to the prober, which must be published as
  // it judges them (not probed yet: down), never as unknown (served).
  void set_model(std::shared_ptr<const zones::Model> model, const SnapshotOptions& options,
                 std::shared_ptr<const health::HealthView> view);

  // New health: rebuilds within kCoalesce.
  void set_health(std::shared_ptr<const health::HealthView> view);

  // Number of times a pool family entered degraded mode (fewer than
  // min_healthy healthy addresses), for metrics.
  uint64_t degraded_episodes() const { return degraded_episodes_; }

  // Keeps the model without its zone records (zones::without_records), once
  // the current snapshot has them encoded.
  void release_zone_records();

  const std::shared_ptr<const Snapshot>& current() const { return current_; }
  const SnapshotOptions& options() const { return options_; }
  void close();

 private:
  void rebuild();
  void log_degraded_changes(const Snapshot* before, const Snapshot& after);

  uv_timer_t timer_{};
  bool timer_armed_ = false;
  uint64_t last_build_ms_ = 0;  // loop time of the last rebuild
  std::shared_ptr<const zones::Model> model_;
  std::shared_ptr<const health::HealthView> health_ = std::make_shared<health::HealthView>();
  SnapshotOptions options_;
  std::shared_ptr<const Snapshot> current_;
  std::vector<Listener> listeners_;
  Preparer preparer_;
  uint64_t degraded_episodes_ = 0;
};

}  // namespace mirrorpool::dnsd
