// Unit tests of uptime.hh: the windows, an ongoing outage, a mirror down only
// while all its addresses are, restarts, no data, and the days of the picture.
#include <string>
#include <vector>

#include <doctest/doctest.h>

#include "dnsd/state/uptime.hh"

namespace mirrorpool::dnsd {
namespace {

using std::chrono::days;
using std::chrono::hours;
using std::chrono::minutes;
using std::chrono::seconds;

const std::string kPool = "dl.pool.example.";
const TimePoint kNow = *parse_utc("2026-12-01T12:00:00Z");
const std::vector<std::string> kOne = {"192.0.2.1"};
const std::vector<std::string> kTwo = {"192.0.2.1", "2001:db8::1"};

JournalEntry health(TimePoint time, std::string address, std::string_view what,
                    std::string mirror = "m1") {
  return JournalEntry{time,
                      std::string(kWhoHealth),
                      JournalKind::health,
                      kPool,
                      std::move(mirror),
                      std::move(address),
                      std::string(what),
                      "http 503"};
}

JournalEntry start(TimePoint time) {
  return JournalEntry{time, "daemon", JournalKind::start, "", "", "", "daemon started", ""};
}

double up(const MirrorTimeline& t, std::chrono::hours window) {
  return availability(t, kNow - window, kNow).up_percent().value_or(-1);
}

TEST_CASE("windows: a six-hour outage within the last day") {
  const std::vector<JournalEntry> journal = {
      start(kNow - days(40)),
      health(kNow - hours(20), "192.0.2.1", kHealthDown),
      health(kNow - hours(14), "192.0.2.1", kHealthUp),
  };
  const auto t = mirror_timeline(journal, kPool, "m1", kOne, kNow - days(40), kNow);
  CHECK(t.observed_since == kNow - days(40));
  CHECK_FALSE(t.down_now);
  CHECK(t.since == kNow - hours(14));
  REQUIRE(t.down.size() == 1);
  CHECK(up(t, hours(24)) == doctest::Approx(75.0));
  CHECK(up(t, hours(24 * 7)) == doctest::Approx(100.0 * (168 - 6) / 168));
  CHECK(up(t, hours(24 * 30)) == doctest::Approx(100.0 * (720 - 6) / 720));
  const Availability day = availability(t, kNow - hours(24), kNow);
  CHECK(day.observed == hours(24));
  CHECK(day.down == hours(6));
  // An outage outside the window does not count in it.
  CHECK(availability(t, kNow - hours(12), kNow).up_percent() == doctest::Approx(100.0));
}

TEST_CASE("an ongoing outage counts up to now and gives the state's since") {
  const std::vector<JournalEntry> journal = {
      start(kNow - days(10)),
      health(kNow - hours(3), "192.0.2.1", kHealthDown),
      // A restart finding it still down writes UP→DOWN again: same outage.
      start(kNow - hours(2)),
      health(kNow - hours(2), "192.0.2.1", kHealthDown),
  };
  const auto t = mirror_timeline(journal, kPool, "m1", kOne, kNow - days(10), kNow);
  CHECK(t.down_now);
  // The restart makes it up for no time at all (same second): one outage
  // for the window, though `since` is the restart's.
  CHECK(availability(t, kNow - hours(24), kNow).down == hours(3));
  CHECK(up(t, hours(24)) == doctest::Approx(100.0 * 21 / 24));
  CHECK(t.since == kNow - hours(2));
}

TEST_CASE("a start ends an outage the prober no longer sees") {
  // Down, then the daemon stopped; it came back while the daemon was away,
  // so after the start nothing was written: up from the start on.
  const std::vector<JournalEntry> journal = {
      start(kNow - days(5)),
      health(kNow - hours(10), "192.0.2.1", kHealthDown),
      start(kNow - hours(4)),
  };
  const auto t = mirror_timeline(journal, kPool, "m1", kOne, std::nullopt, kNow);
  CHECK_FALSE(t.down_now);
  CHECK(t.since == kNow - hours(4));
  CHECK(availability(t, kNow - hours(24), kNow).down == hours(6));
}

TEST_CASE("a mirror is down only while all its addresses are") {
  const std::vector<JournalEntry> journal = {
      start(kNow - days(5)),
      health(kNow - hours(10), "192.0.2.1", kHealthDown),
      health(kNow - hours(8), "2001:db8::1", kHealthDown),  // both down from here
      health(kNow - hours(7), "192.0.2.1", kHealthUp),      // ... to here
      health(kNow - hours(5), "2001:db8::1", kHealthUp),
      // Another mirror's and another pool's entries do not count.
      health(kNow - hours(6), "192.0.2.1", kHealthDown, "m2"),
      JournalEntry{kNow - hours(6), "health", JournalKind::health, "other.example.", "m1",
                   "2001:db8::1", std::string(kHealthDown), "x"},
  };
  const auto t = mirror_timeline(journal, kPool, "m1", kTwo, std::nullopt, kNow);
  REQUIRE(t.down.size() == 1);
  CHECK(t.down[0].from == kNow - hours(8));
  CHECK(t.down[0].to == kNow - hours(7));
  CHECK(availability(t, kNow - hours(24), kNow).down == hours(1));
  // With only its IPv4 address it would have been down for three hours.
  const auto v4 = mirror_timeline(journal, kPool, "m1", kOne, std::nullopt, kNow);
  CHECK(availability(v4, kNow - hours(24), kNow).down == hours(3));
}

TEST_CASE("no data: nothing known is not counted as up") {
  // No journal at all.
  const auto none = mirror_timeline({}, kPool, "m1", kOne, std::nullopt, kNow);
  CHECK_FALSE(availability(none, kNow - hours(24), kNow).up_percent());
  // First seen two hours ago: a day's window counts those two hours only.
  const std::vector<JournalEntry> journal = {
      start(kNow - days(3)),
      health(kNow - hours(1), "192.0.2.1", kHealthDown),
  };
  const auto young = mirror_timeline(journal, kPool, "m1", kOne, kNow - hours(2), kNow);
  const Availability a = availability(young, kNow - hours(24), kNow);
  CHECK(a.observed == hours(2));
  CHECK(a.down == hours(1));
  CHECK(a.up_percent() == doctest::Approx(50.0));
  // Nor is time before the journal begins, whatever state.json says.
  const auto lost =
      mirror_timeline({start(kNow - hours(6))}, kPool, "m1", kOne, kNow - days(100), kNow);
  CHECK(lost.observed_since == kNow - hours(6));
  CHECK(availability(lost, kNow - days(30), kNow).observed == hours(6));
  // Without a first-seen time, the mirror's own oldest entry.
  const auto own = mirror_timeline(journal, kPool, "m1", kOne, std::nullopt, kNow);
  CHECK(own.observed_since == kNow - hours(1));
}

TEST_CASE("failures imported from notes have no duration") {
  JournalEntry noted{
      kNow - days(2),           std::string(kWhoNotes),   JournalKind::health, kPool, "m1", "",
      std::string(kHealthDown), "expired TLS certificate"};
  const auto t =
      mirror_timeline({start(kNow - days(10)), noted}, kPool, "m1", kOne, std::nullopt, kNow);
  CHECK(t.down.empty());
  CHECK(up(t, hours(24 * 7)) == doctest::Approx(100.0));
}

TEST_CASE("the days of the picture") {
  // kNow is 12:00 UTC: today has twelve hours so far.
  const std::vector<JournalEntry> journal = {
      start(kNow - days(2) - hours(12)),                   // midnight two days ago
      health(kNow - hours(18), "192.0.2.1", kHealthDown),  // yesterday 18:00
      health(kNow - hours(9), "192.0.2.1", kHealthUp),     // today 03:00
  };
  const auto t = mirror_timeline(journal, kPool, "m1", kOne, kNow - days(5), kNow);
  const auto d = daily_availability(t, kNow, 30);
  REQUIRE(d.size() == 30);
  CHECK(format_utc(d.back().day) == "2026-12-01T00:00:00Z");
  CHECK(format_utc(d.front().day) == "2026-11-02T00:00:00Z");
  CHECK(d.back().availability.observed == hours(12));
  CHECK(d.back().availability.down == hours(3));
  CHECK(d[28].availability.down == hours(6));
  CHECK(d[27].availability.up_percent() == doctest::Approx(100.0));
  CHECK_FALSE(d[26].availability.up_percent());  // before the journal: unknown
}

}  // namespace
}  // namespace mirrorpool::dnsd
