// The rule of uptime.hh as code: replay the mirror's health entries in time
// order, keeping the set of its addresses that are down.
#include "dnsd/state/uptime.hh"

#include <algorithm>
#include <set>

namespace mirrorpool::dnsd {
namespace {

using std::chrono::duration_cast;
using std::chrono::seconds;

TimePoint earliest(const std::vector<JournalEntry>& journal) {
  TimePoint first = TimePoint::max();
  for (const JournalEntry& e : journal) first = std::min(first, e.time);
  return first;
}

}  // namespace

MirrorTimeline mirror_timeline(const std::vector<JournalEntry>& journal, std::string_view pool,
                               std::string_view mirror, const std::vector<std::string>& addresses,
                               std::optional<TimePoint> first_seen, TimePoint now) {
  const std::set<std::string_view> mine(addresses.begin(), addresses.end());
  std::vector<const JournalEntry*> events;
  TimePoint first_own = TimePoint::max();
  for (const JournalEntry& e : journal) {
    const bool own = e.pool == pool && e.mirror == mirror;
    if (own) first_own = std::min(first_own, e.time);
    if (e.kind == JournalKind::start ||
        (own && e.kind == JournalKind::health && mine.contains(e.address))) {
      events.push_back(&e);
    }
  }
  std::stable_sort(events.begin(), events.end(),
                   [](const JournalEntry* a, const JournalEntry* b) { return a->time < b->time; });

  MirrorTimeline t;
  const TimePoint seen = first_seen ? *first_seen : first_own;
  t.observed_since = std::min(std::max(seen, earliest(journal)), now);

  std::vector<TimeSpan> spans;
  std::set<std::string_view> down;
  bool mirror_down = false;
  const auto settle = [&](TimePoint at) {
    const bool now_down = !mine.empty() && down.size() == mine.size();
    if (now_down && !mirror_down) spans.push_back({at, now});
    if (!now_down && mirror_down) spans.back().to = at;
    mirror_down = now_down;
  };
  for (const JournalEntry* e : events) {
    if (e->time > now) break;
    if (e->kind == JournalKind::start) {
      down.clear();
    } else if (e->what == kHealthDown) {
      down.insert(e->address);
    } else if (e->what == kHealthUp) {
      down.erase(e->address);
    }
    settle(e->time);
  }
  t.down_now = mirror_down;
  t.since = t.observed_since;
  if (!spans.empty()) {
    t.since = std::max(mirror_down ? spans.back().from : spans.back().to, t.observed_since);
  }
  for (TimeSpan s : spans) {
    s.from = std::max(s.from, t.observed_since);
    if (s.to > s.from) t.down.push_back(s);
  }
  return t;
}

std::optional<double> Availability::up_percent() const {
  if (observed.count() <= 0) return std::nullopt;
  return 100.0 * static_cast<double>((observed - down).count()) /
         static_cast<double>(observed.count());
}

Availability availability(const MirrorTimeline& timeline, TimePoint from, TimePoint to) {
  from = std::max(from, timeline.observed_since);
  Availability a;
  if (to <= from) return a;
  a.observed = duration_cast<seconds>(to - from);
  TimePoint::duration down{0};
  for (const TimeSpan& s : timeline.down) {
    const TimePoint lo = std::max(s.from, from);
    const TimePoint hi = std::min(s.to, to);
    if (hi > lo) down += hi - lo;
  }
  a.down = std::min(a.observed, duration_cast<seconds>(down));
  return a;
}

std::vector<DayAvailability> daily_availability(const MirrorTimeline& timeline, TimePoint now,
                                                int days) {
  std::vector<DayAvailability> out;
  const TimePoint today = std::chrono::floor<std::chrono::days>(now);
  for (int i = days - 1; i >= 0; --i) {
    const TimePoint day = today - std::chrono::days(i);
    const TimePoint end = std::min(day + std::chrono::days(1), now);
    out.push_back({day, availability(timeline, day, end)});
  }
  return out;
}

}  // namespace mirrorpool::dnsd
