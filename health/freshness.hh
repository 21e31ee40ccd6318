// Stale-mirror detection for one target: how long its copy of the freshness
// file has differed from the primary's. Pure: the caller passes the time.
#pragma once

#include <chrono>
#include <optional>

namespace mirrorpool::health {

class FreshnessTracker {
 public:
  using Clock = std::chrono::steady_clock;

  // One comparison of the mirror's copy with the reference. Returns whether
  // the mirror is stale: it has differed continuously for longer than
  // `max_lag`. An equal copy makes it fresh again at once.
  bool observe(bool same_as_reference, Clock::time_point now, Clock::duration max_lag);

  // The last verdict; used when no comparison was possible this round (the
  // reference could not be fetched), so a primary outage changes nothing.
  bool stale() const { return stale_; }

  // How long the copy has differed continuously as of `now`; nullopt while
  // it is the same as the reference (or was never compared).
  std::optional<Clock::duration> differing_for(Clock::time_point now) const {
    if (!differs_since_) return std::nullopt;
    return now - *differs_since_;
  }

  // Whether observe() was ever called: before, differing_for says nothing.
  bool compared() const { return compared_; }

 private:
  std::optional<Clock::time_point> differs_since_;
  bool stale_ = false;
  bool compared_ = false;
};

}  // namespace mirrorpool::health
