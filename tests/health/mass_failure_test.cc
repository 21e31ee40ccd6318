// The mass-failure guard and the freshness tracker: pure decisions, no I/O.
#include "health/mass_failure.hh"
#include "health/freshness.hh"

#include <doctest/doctest.h>

using mirrorpool::health::FreshnessTracker;
using mirrorpool::health::MassFailureGuard;

TEST_CASE("a minority of failures is believed at once") {
  MassFailureGuard guard("dl.pool.example.", 3);
  auto verdict = guard.judge(5, 2);
  CHECK_FALSE(verdict.hold);
  CHECK_FALSE(verdict.notice);
  // Exactly half is not "more than half".
  CHECK_FALSE(guard.judge(4, 2).hold);
}

TEST_CASE("a single failing target is never a mass failure") {
  MassFailureGuard guard("p", 3);
  CHECK_FALSE(guard.judge(1, 1).hold);
  CHECK_FALSE(guard.judge(2, 1).hold);
}

TEST_CASE("a mass failure is held for mass_failure_rounds - 1 rounds, then believed") {
  MassFailureGuard guard("dl.pool.example.", 3);
  auto first = guard.judge(4, 3);
  CHECK(first.hold);
  CHECK(first.doubt_began);  // one alert per episode: only the first round says so
  REQUIRE(first.notice);
  CHECK(*first.notice ==
        "pool dl.pool.example.: 3 of 4 targets failed at once; suspecting the prober's own "
        "network, keeping last state (round 1 of 3)");
  auto second = guard.judge(4, 4);
  CHECK(second.hold);
  CHECK_FALSE(second.doubt_began);
  CHECK(second.notice->find("(round 2 of 3)") != std::string::npos);
  auto third = guard.judge(4, 4);
  CHECK_FALSE(third.hold);
  REQUIRE(third.notice);
  CHECK(third.notice->find("accepting") != std::string::npos);
  // Later rounds of the same episode are ordinary failures, logged no more.
  auto fourth = guard.judge(4, 4);
  CHECK_FALSE(fourth.hold);
  CHECK_FALSE(fourth.notice);
}

TEST_CASE("a round without mass failure ends the episode") {
  MassFailureGuard guard("p", 3);
  CHECK(guard.judge(3, 3).hold);
  CHECK(guard.judge(3, 3).hold);
  CHECK_FALSE(guard.judge(3, 0).hold);
  CHECK(guard.streak() == 0);
  auto again = guard.judge(3, 2);
  CHECK(again.hold);
  CHECK(again.notice->find("(round 1 of 3)") != std::string::npos);
}

TEST_CASE("mass_failure_rounds of 0 or 1 believes failures at once") {
  MassFailureGuard zero("p", 0);
  CHECK_FALSE(zero.judge(3, 3).hold);
  MassFailureGuard one("p", 1);
  CHECK_FALSE(one.judge(3, 3).hold);
}

TEST_CASE("a mirror is stale only after differing for longer than max_lag") {
  using namespace std::chrono_literals;
  FreshnessTracker tracker;
  const auto t0 = FreshnessTracker::Clock::time_point{} + 1h;
  CHECK_FALSE(tracker.compared());
  CHECK_FALSE(tracker.observe(true, t0, 2h));
  CHECK(tracker.compared());
  CHECK_FALSE(tracker.differing_for(t0));
  CHECK_FALSE(tracker.observe(false, t0 + 1min, 2h));
  CHECK_FALSE(tracker.observe(false, t0 + 2h, 2h));
  // The lag the status page shows.
  CHECK(tracker.differing_for(t0 + 2h) == 2h - 1min);
  CHECK(tracker.observe(false, t0 + 2h + 2min, 2h));
  CHECK(tracker.stale());
  // Equal again: fresh at once, and the clock starts over on the next change.
  CHECK_FALSE(tracker.observe(true, t0 + 3h, 2h));
  CHECK_FALSE(tracker.observe(false, t0 + 4h, 2h));
  CHECK_FALSE(tracker.observe(false, t0 + 5h, 2h));
  CHECK(tracker.observe(false, t0 + 6h + 1s, 2h));
}
