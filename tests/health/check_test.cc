// Prober::check_now against fake servers on loopback: the steps of http,
// https, tcp and freshness checks, and that a look never votes.
#include <netinet/in.h>

#include <chrono>
#include <optional>
#include <string>
#include <vector>

#include <doctest/doctest.h>

#include "fake_server.hh"
#include "health/prober.hh"
#include "loop_runner.hh"
#include "test_cert.hh"

using namespace std::chrono_literals;
using namespace mirrorpool::health;
using namespace mirrorpool::health::test;

namespace {

constexpr auto kDeadline = 10s;

CheckSpec http_check(uint16_t port) {
  CheckSpec check;
  check.type = CheckType::http;
  check.host = "mirror.test";
  check.port = port;
  check.path = "/tails/";
  check.interval = 60s;  // no round runs during a test unless it starts one
  check.timeout = 2000ms;
  return check;
}

Target target(const std::string& mirror, const std::string& address, const CheckSpec& check) {
  return Target{TargetKey{"p.", mirror, address}, AF_INET, check};
}

struct Checker {
  LoopRunner runner;
  Prober prober{runner.loop(), [](auto, auto, auto) {}};

  std::vector<CheckReport> check(const std::string& mirror) {
    std::optional<std::vector<CheckReport>> reports;
    int calls = 0;
    REQUIRE(prober.check_now("p.", mirror, [&](std::vector<CheckReport> r) {
      ++calls;
      reports = std::move(r);
    }));
    REQUIRE(runner.run_until([&] { return reports.has_value(); }, kDeadline));
    CHECK(calls == 1);
    return *reports;
  }
};

std::vector<std::string> names(const CheckReport& report) {
  std::vector<std::string> out;
  for (const auto& step : report.steps) out.push_back(step.name);
  return out;
}

const CheckStep& step(const CheckReport& report, const std::string& name) {
  for (const auto& s : report.steps) {
    if (s.name == name) return s;
  }
  FAIL("no step " << name);
  return report.steps.front();
}

bool contains(const std::string& text, const std::string& part) {
  return text.find(part) != std::string::npos;
}

}  // namespace

TEST_CASE("check_now on an http mirror: one report per address, every step in order") {
  FakeServer first("127.0.0.1");
  FakeServer second("127.0.1.7");
  first.reply({200, "<title>Tails</title>", false});
  second.reply({200, "<title>Tails</title>", false});
  Checker checker;
  CheckSpec check_first = http_check(first.port());
  check_first.expect_body = "Tails";
  CheckSpec check_second = http_check(second.port());
  check_second.expect_body = "Tails";
  checker.prober.set_targets(
      {target("m", "127.0.1.7", check_second), target("m", "127.0.0.1", check_first)});

  const auto reports = checker.check("m");
  REQUIRE(reports.size() == 2);
  CHECK(reports[0].key.address == "127.0.0.1");
  CHECK(reports[1].key.address == "127.0.1.7");
  for (const auto& report : reports) {
    CHECK(report.ok);
    CHECK(report.reason == "ok");
    CHECK(names(report) == std::vector<std::string>{"connect", "http", "body", "result"});
    for (const auto& s : report.steps) CHECK_MESSAGE(s.ok, s.name << ": " << s.detail);
    for (std::size_t i = 1; i < report.steps.size(); ++i)
      CHECK(report.steps[i - 1].at <= report.steps[i].at);
    CHECK(report.steps.back().at == report.total);
  }
  const auto& report = reports[0];
  CHECK(contains(step(report, "connect").detail, "127.0.0.1:" + std::to_string(first.port())));
  CHECK(contains(step(report, "http").detail,
                 "GET /tails/ Host: mirror.test:" + std::to_string(first.port()) + " -> 200"));
  CHECK(step(report, "body").detail == "20 bytes, expect_body 'Tails' found");
  CHECK(step(report, "result").detail == "ok");
  CHECK(first.requests() == 1);
  CHECK(second.requests() == 1);
}

TEST_CASE("check_now on a mirror answering 503: the http step and the result fail") {
  FakeServer server;
  server.reply({503, "busy", false});
  Checker checker;
  checker.prober.set_targets({target("m", "127.0.0.1", http_check(server.port()))});
  const auto reports = checker.check("m");
  REQUIRE(reports.size() == 1);
  const auto& report = reports[0];
  CHECK_FALSE(report.ok);
  CHECK(report.reason == "http 503");
  CHECK(step(report, "connect").ok);
  CHECK_FALSE(step(report, "http").ok);
  CHECK(contains(step(report, "http").detail, "-> 503 (expected 200)"));
  CHECK_FALSE(step(report, "result").ok);
  CHECK(step(report, "result").detail == "http 503");
}

TEST_CASE("check_now on a refused connection stops at the connect step") {
  RefusingPort refusing;
  Checker checker;
  checker.prober.set_targets({target("m", "127.0.0.1", http_check(refusing.port()))});
  const auto report = checker.check("m").at(0);
  CHECK(names(report) == std::vector<std::string>{"connect", "result"});
  CHECK_FALSE(step(report, "connect").ok);
  CHECK(contains(step(report, "connect").detail, "connect: Connection refused"));
  CHECK(report.reason == "connect: Connection refused");
}

TEST_CASE("check_now on https with a ca_file: handshake, certificate and days left") {
  TestCert cert("mirror.test", -1, 30);
  FakeServer server("127.0.0.1", &cert.files());
  Checker checker;
  CheckSpec check = http_check(server.port());
  check.type = CheckType::https;
  check.ca_file = cert.ca_file();
  check.tls_min_days = 7;
  checker.prober.set_targets({target("m", "127.0.0.1", check)});
  const auto report = checker.check("m").at(0);
  CHECK(report.ok);
  CHECK(names(report) ==
        std::vector<std::string>{"connect", "tls", "certificate", "http", "body", "result"});
  const auto& tls = step(report, "tls");
  CHECK(tls.ok);
  CHECK(contains(tls.detail, "TLSv1."));
  CHECK(contains(tls.detail, "verify ok"));
  const auto& certificate = step(report, "certificate");
  CHECK(certificate.ok);
  CHECK(contains(certificate.detail, "CN=mirror.test, issued by CN=mirror.test, expires "));
  // Whole days left: 30, or 29 once the clock passed the second it was made.
  CHECK((contains(certificate.detail, ": 30 days left (tls_min_days 7)") ||
         contains(certificate.detail, ": 29 days left (tls_min_days 7)")));
}

TEST_CASE("check_now on an expired certificate shows the certificate behind the failed handshake") {
  TestCert cert("mirror.test", -30, -2);
  FakeServer server("127.0.0.1", &cert.files());
  Checker checker;
  CheckSpec check = http_check(server.port());
  check.type = CheckType::https;
  check.ca_file = cert.ca_file();
  checker.prober.set_targets({target("m", "127.0.0.1", check)});
  const auto report = checker.check("m").at(0);
  CHECK_FALSE(report.ok);
  CHECK(names(report) == std::vector<std::string>{"connect", "tls", "certificate", "result"});
  CHECK_FALSE(step(report, "tls").ok);
  CHECK(contains(step(report, "tls").detail, "expired"));
  CHECK_FALSE(step(report, "certificate").ok);
  CHECK((contains(step(report, "certificate").detail, "expired 2 days ago") ||
         contains(step(report, "certificate").detail, "expired 3 days ago")));
}

TEST_CASE("check_now on a tcp check: connect and result only") {
  FakeServer server;
  Checker checker;
  CheckSpec check = http_check(server.port());
  check.type = CheckType::tcp;
  checker.prober.set_targets({target("m", "127.0.0.1", check)});
  const auto report = checker.check("m").at(0);
  CHECK(report.ok);
  CHECK(names(report) == std::vector<std::string>{"connect", "result"});
  CHECK(contains(step(report, "connect").detail, "127.0.0.1:" + std::to_string(server.port())));
}

TEST_CASE("check_now compares the freshness file with the reference") {
  FakeServer primary, mirror;
  primary.reply_at("/latest.json", {200, "6.2", false});
  mirror.reply_at("/latest.json", {200, "6.1", false});
  Checker checker;
  CheckSpec check = http_check(mirror.port());
  check.freshness.path = "/latest.json";
  check.freshness.reference = "http://127.0.0.1:" + std::to_string(primary.port()) + "/latest.json";
  check.freshness.max_lag = 3600s;
  checker.prober.set_targets({target("m", "127.0.0.1", check)});
  auto report = checker.check("m").at(0);
  CHECK(names(report) ==
        std::vector<std::string>{"connect", "http", "body", "freshness", "result"});
  CHECK(step(report, "freshness").ok);
  CHECK(contains(step(report, "freshness").detail,
                 "/latest.json differs from " + check.freshness.reference + " for "));
  CHECK(contains(step(report, "freshness").detail, "(max_lag 3600.0s)"));
  CHECK(report.ok);

  mirror.reply_at("/latest.json", {200, "6.2", false});
  report = checker.check("m").at(0);
  CHECK(contains(step(report, "freshness").detail, "same as"));
}

TEST_CASE("check_now on an unknown mirror or pool returns false and never calls back") {
  FakeServer server;
  Checker checker;
  checker.prober.set_targets({target("m", "127.0.0.1", http_check(server.port()))});
  bool called = false;
  CHECK_FALSE(checker.prober.check_now("p.", "nope", [&](auto) { called = true; }));
  CHECK_FALSE(checker.prober.check_now("q.", "m", [&](auto) { called = true; }));
  checker.runner.settle();
  CHECK_FALSE(called);
  CHECK(server.requests() == 0);
}

TEST_CASE("check_now is a look, not a vote: the published state does not change") {
  LoopRunner runner;
  FakeServer server;
  server.reply({503, "busy", false});
  int publishes = 0;
  Prober prober(runner.loop(), [&](auto, auto, auto) { ++publishes; });
  CheckSpec check = http_check(server.port());
  check.rise = 1;
  check.fall = 1;
  prober.set_targets({target("m", "127.0.0.1", check)});
  bool first = false;
  prober.start([&] { first = true; });
  REQUIRE(runner.run_until([&] { return first; }, kDeadline));
  const TargetKey key{"p.", "m", "127.0.0.1"};
  const auto before = prober.view();
  REQUIRE(before->find(key));
  REQUIRE_FALSE(before->is_up(key));
  const TargetHealth health = *before->find(key);
  const int publishes_before = publishes;

  // Healthy now, with rise = 1: one vote would bring it up.
  server.reply({200, "ok", false});
  std::optional<std::vector<CheckReport>> reports;
  REQUIRE(prober.check_now("p.", "m", [&](auto r) { reports = std::move(r); }));
  REQUIRE(runner.run_until([&] { return reports.has_value(); }, kDeadline));
  CHECK(reports->at(0).ok);
  // Let any consequence of the check run before looking.
  runner.settle();

  CHECK(prober.view() == before);
  CHECK_FALSE(prober.view()->is_up(key));
  CHECK(prober.view()->find(key)->reason == "http 503");
  CHECK(prober.view()->find(key)->last_check == health.last_check);
  CHECK(publishes == publishes_before);
  prober.stop();
}
