// The prober end to end on one libuv loop against fake servers on loopback:
// first round, rise/fall, mass failure, hanging mirrors, freshness, reload.
// Short intervals from the check specs stand in for time; waits have deadlines.
#include "health/prober.hh"

#include <netinet/in.h>

#include <algorithm>
#include <chrono>
#include <string>
#include <vector>

#include <doctest/doctest.h>

#include "fake_server.hh"
#include "loop_runner.hh"

using namespace std::chrono_literals;
using namespace mirrorpool::health;
using namespace mirrorpool::health::test;

namespace {

// Everything the prober published, in order.
struct Published {
  struct Event {
    std::vector<Transition> transitions;
    std::vector<Notice> notices;
  };
  std::shared_ptr<const HealthView> view;
  std::vector<Event> events;

  Prober::PublishFn fn() {
    return [this](std::shared_ptr<const HealthView> v, std::vector<Transition> t,
                  std::vector<Notice> n) {
      view = std::move(v);
      events.push_back({std::move(t), std::move(n)});
    };
  }
  // Index of the first event with a transition of `mirror` to `up`, or -1.
  int transition(const std::string& mirror, bool up) const {
    for (std::size_t i = 0; i < events.size(); ++i) {
      for (const auto& t : events[i].transitions) {
        if (t.key.mirror == mirror && t.up == up) return static_cast<int>(i);
      }
    }
    return -1;
  }
  int notice(const std::string& text) const {
    for (std::size_t i = 0; i < events.size(); ++i) {
      for (const auto& n : events[i].notices) {
        if (n.text.find(text) != std::string::npos) return static_cast<int>(i);
      }
    }
    return -1;
  }
  std::string reason_of(const std::string& mirror, bool up) const {
    for (const auto& e : events) {
      for (const auto& t : e.transitions) {
        if (t.key.mirror == mirror && t.up == up) return t.reason;
      }
    }
    return {};
  }
};

CheckSpec fast_check(uint16_t port) {
  CheckSpec check;
  check.type = CheckType::http;
  // Strings, not "= literal": g++ 12 -O3 warns falsely (-Wrestrict) on that here.
  check.host = std::string("mirror.test");
  check.port = port;
  check.path = std::string("/");
  check.interval = 100ms;
  check.timeout = 500ms;
  check.rise = 2;
  check.fall = 2;
  check.mass_failure_rounds = 3;
  return check;
}

Target target(const std::string& pool, const std::string& mirror, const CheckSpec& check) {
  return Target{TargetKey{pool, mirror, "127.0.0.1"}, AF_INET, check};
}

TargetKey key(const std::string& pool, const std::string& mirror) {
  return TargetKey{pool, mirror, "127.0.0.1"};
}

}  // namespace

TEST_CASE("the first round decides, then fall failures take a mirror down and rise bring it back") {
  LoopRunner runner;
  FakeServer good;
  FakeServer bad;
  bad.reply({503, "busy", false});
  Published published;
  Prober prober(runner.loop(), published.fn());
  prober.set_targets(
      {target("p.", "good", fast_check(good.port())), target("p.", "bad", fast_check(bad.port()))});
  bool first = false;
  prober.start([&] { first = true; });
  REQUIRE(runner.run_until([&] { return first; }, 5s));

  REQUIRE(published.view);
  REQUIRE(published.view->find(key("p.", "good")));
  CHECK(published.view->is_up(key("p.", "good")));
  CHECK_FALSE(published.view->is_up(key("p.", "bad")));
  CHECK(published.view->find(key("p.", "bad"))->reason == "http 503");
  REQUIRE(published.events.size() == 1);
  REQUIRE(published.events[0].transitions.size() == 1);
  CHECK(published.events[0].transitions[0].key.mirror == "bad");
  CHECK(published.events[0].transitions[0].reason == "http 503");

  good.reply({503, "busy", false});
  REQUIRE(runner.run_until([&] { return published.transition("good", false) >= 0; }, 5s));
  CHECK(published.reason_of("good", false) == "http 503");
  bad.reply({200, "ok", false});
  REQUIRE(runner.run_until([&] { return published.transition("bad", true) >= 0; }, 5s));
  CHECK(published.reason_of("bad", true) == "ok");
  CHECK(prober.view()->is_up(key("p.", "bad")));
  prober.stop();
}

TEST_CASE("most of a pool failing at once is held for mass_failure_rounds, then believed") {
  LoopRunner runner;
  FakeServer a, b, c, other;
  Published published;
  Prober prober(runner.loop(), published.fn());
  auto check = [](uint16_t port) {
    CheckSpec spec = fast_check(port);
    spec.fall = 1;  // without the guard, one failure would take them down
    return spec;
  };
  prober.set_targets({target("p.", "a", check(a.port())), target("p.", "b", check(b.port())),
                      target("p.", "c", check(c.port())),
                      target("q.", "other", check(other.port()))});
  bool first = false;
  prober.start([&] { first = true; });
  REQUIRE(runner.run_until([&] { return first; }, 5s));

  for (auto* server : {&a, &b, &c}) server->reply({503, "busy", false});
  REQUIRE(runner.run_until([&] { return published.notice("(round 1 of 3)") >= 0; }, 5s));
  // Most of the pool: all three, or two when the round that first saw 503s
  // had probed the third before it was switched (a slow machine).
  const int held = published.notice("pool p.: 3 of 3 targets failed at once");
  CHECK((held >= 0 || published.notice("pool p.: 2 of 3 targets failed at once") >= 0));
  CHECK(published.notice("targets failed at once; suspecting the prober's own network, keeping "
                         "last state (round 1 of 3)") >= 0);
  CHECK(prober.view()->is_up(key("p.", "a")));

  REQUIRE(runner.run_until(
      [&] {
        return published.transition("a", false) >= 0 && published.transition("b", false) >= 0 &&
               published.transition("c", false) >= 0;
      },
      5s));
  const int second = published.notice("(round 2 of 3)");
  REQUIRE(second >= 0);
  CHECK(second < published.transition("a", false));
  CHECK(published.notice("accepting the failures") >= 0);
  CHECK(published.reason_of("a", false) == "http 503");
  // The other pool was never in doubt.
  CHECK(published.transition("other", false) < 0);
  CHECK(prober.view()->is_up(key("q.", "other")));
  prober.stop();
}

TEST_CASE("a short mass failure changes nothing") {
  LoopRunner runner;
  FakeServer a, b;
  Published published;
  Prober prober(runner.loop(), published.fn());
  auto check = [](uint16_t port) {
    CheckSpec spec = fast_check(port);
    spec.fall = 1;
    spec.mass_failure_rounds = 50;  // far more rounds than the test lasts
    return spec;
  };
  prober.set_targets({target("p.", "a", check(a.port())), target("p.", "b", check(b.port()))});
  bool first = false;
  prober.start([&] { first = true; });
  REQUIRE(runner.run_until([&] { return first; }, 5s));
  a.reply({503, "busy", false});
  b.reply({503, "busy", false});
  REQUIRE(runner.run_until([&] { return published.notice("(round 2 of 50)") >= 0; }, 5s));
  a.reply({200, "ok", false});
  b.reply({200, "ok", false});
  // Wait until a round has seen both healthy again: the view stops showing
  // the held failure as the last reason.
  REQUIRE(runner.run_until(
      [&] {
        auto view = prober.view();
        return view->find(key("p.", "a"))->reason == "ok" &&
               view->find(key("p.", "b"))->reason == "ok";
      },
      5s));
  CHECK(published.transition("a", false) < 0);
  CHECK(published.transition("b", false) < 0);
  prober.stop();
}

TEST_CASE("a hanging mirror delays no other pool, and the first round is bounded") {
  LoopRunner runner;
  FakeServer hang, fine;
  hang.reply({200, "", true});
  Published published;
  Prober prober(runner.loop(), published.fn());
  CheckSpec slow = fast_check(hang.port());
  slow.timeout = 2000ms;
  prober.set_targets(
      {target("slow.", "hang", slow), target("fast.", "fine", fast_check(fine.port()))});
  bool first = false;
  const auto started = std::chrono::steady_clock::now();
  prober.start([&] { first = true; });
  REQUIRE(runner.run_until([&] { return first; }, 5s));
  CHECK(std::chrono::steady_clock::now() - started < 3s);
  CHECK_FALSE(prober.view()->is_up(key("slow.", "hang")));
  CHECK(prober.view()->find(key("slow.", "hang"))->reason == "timeout after 2000ms");

  // The hanging pool is again mid-round (2s each); the other pool keeps going.
  fine.reply({500, "", false});
  const auto switched = std::chrono::steady_clock::now();
  REQUIRE(runner.run_until([&] { return published.transition("fine", false) >= 0; }, 5s));
  CHECK(std::chrono::steady_clock::now() - switched < 1500ms);
  prober.stop();
}

TEST_CASE("a mirror whose copy differs from the reference longer than max_lag is stale") {
  LoopRunner runner;
  FakeServer primary, mirror;
  primary.reply_at("/latest.json", {200, "{\"version\": \"6.2\"}", false});
  mirror.reply_at("/latest.json", {200, "{\"version\": \"6.1\"}", false});
  Published published;
  Prober prober(runner.loop(), published.fn());
  CheckSpec check = fast_check(mirror.port());
  check.rise = 1;
  check.fall = 1;
  check.freshness.path = "/latest.json";
  check.freshness.reference = "http://127.0.0.1:" + std::to_string(primary.port()) + "/latest.json";
  check.freshness.max_lag = 300ms;
  prober.set_targets({target("p.", "m", check)});
  bool first = false;
  prober.start([&] { first = true; });
  REQUIRE(runner.run_until([&] { return first; }, 5s));
  // Differing, but not yet for longer than max_lag.
  CHECK(prober.view()->is_up(key("p.", "m")));
  REQUIRE(runner.run_until([&] { return published.transition("m", false) >= 0; }, 5s));
  CHECK(published.reason_of("m", false) == "stale");

  mirror.reply_at("/latest.json", {200, "{\"version\": \"6.2\"}", false});
  REQUIRE(runner.run_until([&] { return published.transition("m", true) >= 0; }, 5s));
  prober.stop();
}

TEST_CASE("set_targets keeps the state of unchanged targets and probes new ones at once") {
  LoopRunner runner;
  FakeServer good, bad, added;
  bad.reply({503, "busy", false});
  Published published;
  Prober prober(runner.loop(), published.fn());
  CheckSpec slow_good = fast_check(good.port());
  CheckSpec slow_bad = fast_check(bad.port());
  // Long intervals: after the first round nothing is probed again unless
  // set_targets asks for it.
  slow_good.interval = slow_bad.interval = 60s;
  const std::vector<Target> before = {target("p.", "good", slow_good),
                                      target("p.", "bad", slow_bad)};
  prober.set_targets(before);
  bool first = false;
  prober.start([&] { first = true; });
  REQUIRE(runner.run_until([&] { return first; }, 5s));
  REQUIRE_FALSE(prober.view()->is_up(key("p.", "bad")));

  auto after = before;
  after.push_back(target("q.", "added", fast_check(added.port())));
  prober.set_targets(after);
  // Kept at once, without waiting for any probe.
  CHECK_FALSE(prober.view()->is_up(key("p.", "bad")));
  CHECK(prober.view()->find(key("p.", "good")));
  // Added while serving: down until it has passed rise (2) probes, however
  // healthy, so that an address is never answered unprobed.
  const TargetHealth* pending = prober.view()->find(key("q.", "added"));
  REQUIRE(pending);
  CHECK_FALSE(pending->up);
  CHECK(pending->reason == kNotProbedYet);
  REQUIRE(runner.run_until([&] { return prober.view()->is_up(key("q.", "added")); }, 5s));
  CHECK(added.requests() >= 2);
  CHECK(published.transition("added", true) >= 0);

  // A changed check keeps the target's state: it must earn a change under
  // the new check like any other.
  after[1].check.path = "/other";
  prober.set_targets(after);
  REQUIRE(prober.view()->find(key("p.", "bad")));
  CHECK_FALSE(prober.view()->is_up(key("p.", "bad")));
  CHECK(prober.view()->is_up(key("p.", "good")));
  prober.stop();
}

TEST_CASE("with no targets the first round completes at once") {
  LoopRunner runner;
  Published published;
  Prober prober(runner.loop(), published.fn());
  prober.set_targets({});
  bool first = false;
  prober.start([&] { first = true; });
  REQUIRE(runner.run_until([&] { return first; }, 2s));
  REQUIRE(published.view);
  CHECK(published.view->targets().empty());
  prober.stop();
}
