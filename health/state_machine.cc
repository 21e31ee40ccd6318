// Rise/fall hysteresis of one target. Pure: no I/O, no clock.
#include "health/state_machine.hh"

#include <algorithm>

namespace mirrorpool::health {

StateMachine::StateMachine(unsigned rise, unsigned fall, State initial)
    : rise_(std::max(rise, 1U)), fall_(std::max(fall, 1U)), state_(initial) {}

std::optional<StateChange> StateMachine::observe(bool ok, std::string_view reason) {
  const State wanted = ok ? State::up : State::down;
  if (state_ == State::unknown) {
    state_ = wanted;
    streak_ = 0;
    return StateChange{State::unknown, wanted, std::string(reason)};
  }
  if (state_ == wanted) {
    streak_ = 0;
    return std::nullopt;
  }
  ++streak_;
  if (streak_ < (ok ? rise_ : fall_)) return std::nullopt;
  StateChange change{state_, wanted, std::string(reason)};
  state_ = wanted;
  streak_ = 0;
  return change;
}

}  // namespace mirrorpool::health
