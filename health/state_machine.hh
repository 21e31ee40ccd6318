// Anti-flap state of one probe target: rise/fall hysteresis over raw probe
// results. Pure: no I/O, no clock.
#pragma once

#include <optional>
#include <string>
#include <string_view>

namespace mirrorpool::health {

enum class State { unknown, up, down };

// A change of state, reported exactly once by the result that caused it.
struct StateChange {
  State from = State::unknown;
  State to = State::unknown;
  std::string reason;  // the deciding result's reason ("ok" when coming up)
};

class StateMachine {
 public:
  // A rise or fall of 0 is taken as 1: one result always counts. A machine
  // that starts up or down (not unknown) needs `rise` or `fall` results to
  // change, like one that has been running.
  StateMachine(unsigned rise, unsigned fall, State initial = State::unknown);

  // Feeds one probe result. The first result sets the state directly, so the
  // first answer after start-up reflects a measurement rather than a guess;
  // afterwards `fall` consecutive failures take an up target down and `rise`
  // consecutive successes bring a down target up.
  std::optional<StateChange> observe(bool ok, std::string_view reason);

  State state() const { return state_; }
  // A target never judged counts as up: without evidence we keep serving it.
  bool is_up() const { return state_ != State::down; }

 private:
  unsigned rise_;
  unsigned fall_;
  State state_ = State::unknown;
  // Consecutive results disagreeing with the current state.
  unsigned streak_ = 0;
};

}  // namespace mirrorpool::health
