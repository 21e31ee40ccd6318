#include "dnsd/server/publisher.hh"

#include "dnsd/common/log.hh"
#include "dnsd/common/uv_cast.hh"
#include "dnsd/primary/primary.hh"

namespace mirrorpool::dnsd {

Publisher::Publisher(uv_loop_t* loop, const SnapshotOptions& options, Primary* primary)
    : options_(options), primary_(primary) {
  uv_timer_init(loop, &timer_);
  timer_.data = this;
}

Publisher::~Publisher() = default;

void Publisher::close() {
  uv_close(as_handle(&timer_), nullptr);
}

void Publisher::release_zone_records() {
  if (model_) model_ = std::make_shared<const zones::Model>(zones::without_records(*model_));
}

void Publisher::submit(Change change) {
  if (change.health) health_ = std::move(change.health);
  if (change.locator) options_.locator = std::move(*change.locator);
  if (change.signings) options_.signings = std::move(*change.signings);
  if (change.model) {
    model_ = std::move(change.model);
    // The decider's snapshot is this one only while it sits on the snapshot
    // it was built on.
    const bool reusable = change.built && change.built_on == current_;
    publish(reusable ? std::move(change.built) : build());
    return;
  }
  if (timer_armed_ || !model_) return;
  timer_armed_ = true;
  // The first health change after a quiet period is published at once (failover
  // speed matters most then); changes that follow within kCoalesce wait for the
  // end of that window and go out together.
  const uint64_t now = uv_now(timer_.loop);
  const uint64_t window = static_cast<uint64_t>(kCoalesce.count());
  const uint64_t delay = now - last_build_ms_ >= window ? 0 : window - (now - last_build_ms_);
  uv_timer_start(
      &timer_,
      [](uv_timer_t* t) {
        auto* self = static_cast<Publisher*>(t->data);
        self->timer_armed_ = false;
        self->publish(self->build());
      },
      delay, 0);
}

std::shared_ptr<Snapshot> Publisher::build() const {
  return build_snapshot(*model_, *health_, current_.get(), options_);
}

void Publisher::publish(std::shared_ptr<Snapshot> next) {
  last_build_ms_ = uv_now(timer_.loop);
  if (primary_ != nullptr) primary_->prepare(*next);
  log_degraded_changes(current_.get(), *next);
  current_ = std::move(next);
  for (const Listener& listener : listeners_) listener(current_);
  if (primary_ != nullptr) primary_->announce();
}

void Publisher::log_degraded_changes(const Snapshot* before, const Snapshot& after) {
  const auto& now = served_pools(after);
  for (size_t i = 0; i < now.size(); ++i) {
    const ServedPool* old = nullptr;
    if (before) {
      for (const ServedPool& p : served_pools(*before)) {
        if (p.name == now[i].name) old = &p;
      }
    }
    auto report = [&](const char* family, const ServedFamily& fam, const ServedFamily* was) {
      const bool was_degraded = was && was->degraded;
      if (fam.degraded != was_degraded && degraded_listener_) {
        degraded_listener_(now[i].name, family, fam.degraded, fam.healthy);
      }
      if (fam.degraded && !was_degraded) {
        ++degraded_episodes_[{now[i].name, family}];
        log(LogLevel::warning,
            "pool {} {}: only {} healthy, below min_healthy; serving {} by when_all_down",
            now[i].name, family, fam.healthy, fam.addresses.size());
      } else if (!fam.degraded && was_degraded) {
        log(LogLevel::info, "pool {} {}: {} healthy again, normal answers resumed", now[i].name,
            family, fam.healthy);
      }
    };
    report("A", now[i].v4, old ? &old->v4 : nullptr);
    report("AAAA", now[i].v6, old ? &old->v6 : nullptr);
  }
}

}  // namespace mirrorpool::dnsd
