// Unit tests of the Tails runbook rule: each weight, the 6- and 12-month
// boundaries, huge capacity, failure grouping, removal candidates, the report.
#include <string>
#include <vector>

#include <doctest/doctest.h>

#include "dnsd/state/reliability.hh"

namespace mirrorpool::dnsd {
namespace {

using std::chrono::days;
using std::chrono::hours;
using std::chrono::minutes;
using zones::Capacity;

const std::string kPool = "dl.pool.example.";
const TimePoint kNow = *parse_utc("2026-12-01T12:00:00Z");
const TimePoint kLongAgo = kNow - days(1000);

std::vector<Failure> failed(std::initializer_list<days> ages) {
  std::vector<Failure> out;
  for (days age : ages) out.push_back(Failure{kNow - age, {"192.0.2.1"}, "http 503"});
  return out;
}

uint32_t weight(const std::vector<Failure>& failures, Capacity capacity = Capacity::normal,
                TimePoint first_seen = kLongAgo) {
  return reliability_weight(failures, first_seen, capacity, kNow);
}

JournalEntry transition(TimePoint time, std::string mirror, std::string address,
                        std::string_view what, std::string reason) {
  return JournalEntry{time,
                      std::string(kWhoHealth),
                      JournalKind::health,
                      kPool,
                      std::move(mirror),
                      std::move(address),
                      std::string(what),
                      std::move(reason)};
}

TEST_CASE("the runbook weights") {
  CHECK(weight({}) == 5);
  CHECK(weight({}, Capacity::huge) == 10);
  CHECK(weight(failed({days(30)})) == 1);
  CHECK(weight(failed({days(30)}), Capacity::huge) == 1);
  CHECK(weight(failed({days(200)})) == 2);
  CHECK(weight(failed({days(200)}), Capacity::huge) == 2);
  CHECK(weight(failed({days(400)})) == 5);
  CHECK(weight(failed({days(400)}), Capacity::huge) == 10);
}

TEST_CASE("the 6-month boundary") {
  CHECK(weight(failed({kSixMonths - days(1)})) == 1);
  CHECK(weight({Failure{kNow - kSixMonths + minutes(1), {}, ""}}) == 1);
  CHECK(weight(failed({kSixMonths})) == 2);
  CHECK(weight(failed({kSixMonths + days(1)})) == 2);
}

TEST_CASE("the 12-month boundary") {
  CHECK(weight(failed({kTwelveMonths - days(1)})) == 2);
  CHECK(weight(failed({kTwelveMonths - days(1)}), Capacity::huge) == 2);
  CHECK(weight(failed({kTwelveMonths})) == 5);
  CHECK(weight(failed({kTwelveMonths}), Capacity::huge) == 10);
}

TEST_CASE("new mirrors get 2 until they are 6 months old") {
  CHECK(weight({}, Capacity::normal, kNow) == 2);
  CHECK(weight({}, Capacity::huge, kNow - days(100)) == 2);
  CHECK(weight({}, Capacity::normal, kNow - kSixMonths + days(1)) == 2);
  CHECK(weight({}, Capacity::normal, kNow - kSixMonths) == 5);
  CHECK(weight({}, Capacity::huge, kNow - kSixMonths) == 10);
  // A failure within 6 months comes first, new or not.
  CHECK(weight(failed({days(10)}), Capacity::normal, kNow - days(20)) == 1);
}

TEST_CASE("failures_of groups the transitions of one outage") {
  const TimePoint t = kNow - days(10);
  const std::vector<JournalEntry> journal = {
      transition(t + minutes(30), "mirror-1", "2001:db8::1", kHealthDown, "connect timeout"),
      transition(t, "mirror-1", "192.0.2.1", kHealthDown, "No route to host"),
      // Flapping back and down within the hour: the same outage.
      transition(t + minutes(40), "mirror-1", "192.0.2.1", kHealthUp, ""),
      transition(t + minutes(50), "mirror-1", "192.0.2.1", kHealthDown, "No route to host"),
      // Up again, then down an hour after the first transition: a new failure.
      transition(t + minutes(55), "mirror-1", "192.0.2.1", kHealthUp, ""),
      transition(t + hours(1), "mirror-1", "192.0.2.1", kHealthDown, "http 503"),
      // Other mirrors, pools and kinds do not count.
      transition(t, "mirror-2", "192.0.2.2", kHealthDown, "http 503"),
      JournalEntry{t, "uid 0 (root)", JournalKind::drain, kPool, "mirror-1", "", "drained", "x"},
      JournalEntry{t, "health", JournalKind::health, "other.example.", "mirror-1", "192.0.2.1",
                   std::string(kHealthDown), "x"},
  };
  const auto failures = failures_of(journal, kPool, "mirror-1");
  REQUIRE(failures.size() == 2);
  CHECK(failures[0].time == t);
  CHECK(failures[0].reason == "No route to host");
  CHECK(failures[0].addresses == std::vector<std::string>{"192.0.2.1", "2001:db8::1"});
  CHECK(failures[1].time == t + hours(1));
  CHECK(failures[1].reason == "http 503");
  CHECK(failures_of(journal, kPool, "mirror-3").empty());
}

TEST_CASE("a restart that finds a mirror still down does not count a second failure") {
  const TimePoint t = kNow - days(10);
  // Down, then two daemon restarts a day apart: each first probe round logs
  // UP→DOWN again for the same outage. Only an UP in between starts a new one.
  const std::vector<JournalEntry> journal = {
      transition(t, "mirror-1", "192.0.2.1", kHealthDown, "No route to host"),
      transition(t + days(1), "mirror-1", "192.0.2.1", kHealthDown, "No route to host"),
      transition(t + days(2), "mirror-1", "192.0.2.1", kHealthDown, "No route to host"),
  };
  const auto failures = failures_of(journal, kPool, "mirror-1");
  REQUIRE(failures.size() == 1);
  CHECK(failures[0].time == t);
  CHECK_FALSE(removal_candidate(failures, kNow));
  std::vector<JournalEntry> recovered = journal;
  recovered.insert(recovered.begin() + 1,
                   transition(t + hours(12), "mirror-1", "192.0.2.1", kHealthUp, ""));
  CHECK(failures_of(recovered, kPool, "mirror-1").size() == 2);
}

TEST_CASE("two failures within 6 months make a removal candidate") {
  CHECK_FALSE(removal_candidate({}, kNow));
  CHECK_FALSE(removal_candidate(failed({days(10)}), kNow));
  CHECK(removal_candidate(failed({days(10), days(100)}), kNow));
  CHECK(removal_candidate(failed({days(10), kSixMonths - days(1)}), kNow));
  CHECK_FALSE(removal_candidate(failed({days(10), kSixMonths}), kNow));
}

TEST_CASE("the failure report is ready for a mail") {
  const std::vector<Failure> failures = {
      Failure{*parse_utc("2025-10-01T08:00:00Z"), {"192.0.2.1"}, "too old to list"},
      Failure{*parse_utc("2026-05-21T14:03:00Z"), {"192.0.2.1", "2001:db8::1"}, "No route to host"},
      Failure{*parse_utc("2026-10-02T09:30:00Z"), {"192.0.2.1"}, "TLS certificate expired"},
  };
  CHECK(failure_report("mirror-1", failures, kNow) ==
        "mirror-1 failed 2 times in the last 12 months (1 in the last 6 months):\n"
        "- 2026-05-21 14:03 UTC: No route to host (192.0.2.1, 2001:db8::1)\n"
        "- 2026-10-02 09:30 UTC: TLS certificate expired (192.0.2.1)\n");
  CHECK(failure_report("mirror-2", {}, kNow) == "mirror-2 has not failed in the last 12 months.\n");
  CHECK(failure_report("m", {Failure{kNow - days(1), {}, ""}}, kNow) ==
        "m failed 1 time in the last 12 months (1 in the last 6 months):\n"
        "- 2026-11-30 12:00 UTC: no reason recorded\n");
}

}  // namespace
}  // namespace mirrorpool::dnsd
