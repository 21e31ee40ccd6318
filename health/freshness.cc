// Stale-mirror detection for one target. Pure: the caller passes the time.
#include "health/freshness.hh"

namespace mirrorpool::health {

bool FreshnessTracker::observe(bool same_as_reference, Clock::time_point now,
                               Clock::duration max_lag) {
  compared_ = true;
  if (same_as_reference) {
    differs_since_.reset();
  } else if (!differs_since_) {
    differs_since_ = now;
  }
  stale_ = differs_since_ && now - *differs_since_ > max_lag;
  return stale_;
}

}  // namespace mirrorpool::health
