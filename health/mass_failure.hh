// "Prober self-doubt": when most of a pool fails in the same round, the fault
// is more likely our own network than every mirror at once. Pure: no I/O, no
// clock; the prober feeds it one summary per round of one pool.
#pragma once

#include <cstddef>
#include <optional>
#include <string>

namespace mirrorpool::health {

struct MassFailureVerdict {
  // True: keep the last state of the targets that failed while up.
  bool hold = false;
  // Set when something must be logged: holding, or giving up holding.
  std::optional<std::string> notice;
  // This round began an episode of holding: the one worth an alert.
  bool doubt_began = false;
};

class MassFailureGuard {
 public:
  // `rounds`: how many consecutive mass-failure rounds it takes before the
  // failures are believed; 0 or 1 believe them at once.
  MassFailureGuard(std::string pool, unsigned rounds) : pool_(std::move(pool)), rounds_(rounds) {}

  // One round of the pool: `probed` targets got a result, `failed_while_up`
  // of them failed although they were up. A mass failure is more than half of
  // the probed targets, and at least 2.
  MassFailureVerdict judge(std::size_t probed, std::size_t failed_while_up);

  unsigned streak() const { return streak_; }

 private:
  std::string pool_;
  unsigned rounds_;
  unsigned streak_ = 0;  // consecutive mass-failure rounds so far
};

}  // namespace mirrorpool::health
