// The rise/fall state machine, fed injected result sequences: no I/O, no sleeps.
#include "health/state_machine.hh"

#include <doctest/doctest.h>

using mirrorpool::health::State;
using mirrorpool::health::StateMachine;

TEST_CASE("the first result sets the state directly") {
  StateMachine up(3, 3);
  auto change = up.observe(true, "ok");
  REQUIRE(change);
  CHECK(change->from == State::unknown);
  CHECK(change->to == State::up);
  CHECK(up.state() == State::up);

  StateMachine down(3, 3);
  change = down.observe(false, "http 503");
  REQUIRE(change);
  CHECK(change->to == State::down);
  CHECK(change->reason == "http 503");
  CHECK_FALSE(down.is_up());
}

TEST_CASE("a machine started down needs rise successes, like one that went down") {
  StateMachine machine(2, 2, State::down);
  CHECK_FALSE(machine.is_up());
  CHECK_FALSE(machine.observe(true, "ok"));
  CHECK_FALSE(machine.is_up());
  const auto change = machine.observe(true, "ok");
  REQUIRE(change);
  CHECK(change->from == State::down);
  CHECK(change->to == State::up);
  // A failure while it waits is no change, only a reset of the streak.
  StateMachine failing(2, 2, State::down);
  CHECK_FALSE(failing.observe(false, "connect: refused"));
  CHECK_FALSE(failing.observe(true, "ok"));
  CHECK_FALSE(failing.is_up());
}

TEST_CASE("an unjudged target counts as up") {
  StateMachine machine(2, 2);
  CHECK(machine.state() == State::unknown);
  CHECK(machine.is_up());
}

TEST_CASE("fall consecutive failures take an up target down, reported once") {
  StateMachine machine(2, 3);
  machine.observe(true, "ok");
  CHECK_FALSE(machine.observe(false, "http 503"));
  CHECK_FALSE(machine.observe(false, "http 503"));
  auto change = machine.observe(false, "timeout after 2000ms");
  REQUIRE(change);
  CHECK(change->from == State::up);
  CHECK(change->to == State::down);
  CHECK(change->reason == "timeout after 2000ms");
  // Further failures change nothing and report nothing.
  for (int i = 0; i < 5; ++i) CHECK_FALSE(machine.observe(false, "http 503"));
  CHECK(machine.state() == State::down);
}

TEST_CASE("rise consecutive successes bring a down target up with reason ok") {
  StateMachine machine(2, 1);
  machine.observe(false, "connect: Connection refused");
  CHECK_FALSE(machine.observe(true, "ok"));
  auto change = machine.observe(true, "ok");
  REQUIRE(change);
  CHECK(change->to == State::up);
  CHECK(change->reason == "ok");
  CHECK_FALSE(machine.observe(true, "ok"));
}

TEST_CASE("flapping results never reach the thresholds") {
  StateMachine machine(2, 2);
  machine.observe(true, "ok");
  // Ends on a success, so no failure is pending afterwards.
  for (int i = 1; i <= 21; ++i) {
    CHECK_FALSE(machine.observe(i % 2 == 1, i % 2 == 1 ? "ok" : "http 503"));
    CHECK(machine.state() == State::up);
  }
  // A success in between restarts the count of failures.
  CHECK_FALSE(machine.observe(false, "http 503"));
  CHECK_FALSE(machine.observe(true, "ok"));
  CHECK_FALSE(machine.observe(false, "http 503"));
  CHECK(machine.observe(false, "http 503"));
}

TEST_CASE("a down target flapping stays down until rise successes in a row") {
  StateMachine machine(3, 1);
  machine.observe(false, "http 503");
  CHECK_FALSE(machine.observe(true, "ok"));
  CHECK_FALSE(machine.observe(true, "ok"));
  CHECK_FALSE(machine.observe(false, "http 503"));
  CHECK_FALSE(machine.observe(true, "ok"));
  CHECK_FALSE(machine.observe(true, "ok"));
  CHECK(machine.observe(true, "ok"));
}

TEST_CASE("rise and fall of 0 act as 1") {
  StateMachine machine(0, 0);
  machine.observe(true, "ok");
  CHECK(machine.observe(false, "http 500"));
  CHECK(machine.observe(true, "ok"));
}
