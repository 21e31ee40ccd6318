// Mass-failure decision of one pool. Pure: no I/O, no clock.
#include "health/mass_failure.hh"

#include <fmt/format.h>

namespace mirrorpool::health {

MassFailureVerdict MassFailureGuard::judge(std::size_t probed, std::size_t failed_while_up) {
  const bool mass = failed_while_up >= 2 && failed_while_up * 2 > probed;
  if (!mass) {
    streak_ = 0;
    return {};
  }
  ++streak_;
  if (streak_ < rounds_) {
    return {true,
            fmt::format("pool {}: {} of {} targets failed at once; suspecting the "
                        "prober's own network, keeping last state (round {} of {})",
                        pool_, failed_while_up, probed, streak_, rounds_),
            streak_ == 1};
  }
  // Only the round that crosses the threshold is worth a line; later rounds of
  // the same episode are ordinary failures.
  if (streak_ == rounds_ && rounds_ > 1) {
    return {false, fmt::format("pool {}: {} of {} targets failed for {} rounds in a row; "
                               "accepting the failures",
                               pool_, failed_while_up, probed, streak_)};
  }
  return {};
}

}  // namespace mirrorpool::health
