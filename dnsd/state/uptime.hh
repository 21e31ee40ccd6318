// A mirror's availability as the journal records it: when it was down, and
// how much of a window (24 h, 7 d, 30 d, one UTC day) it was up. For the
// status page and /status.json. Pure: the journal and the clock are inputs;
// no file is read here.
#pragma once

#include <chrono>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "dnsd/state/journal.hh"

namespace mirrorpool::dnsd {

struct TimeSpan {
  TimePoint from{};
  TimePoint to{};
};

// What the journal says about one mirror of one pool.
//
// The rule:
//  - an address is down from its UP→DOWN (kHealthDown) health entry to its
//    next DOWN→UP (kHealthUp); a repeated UP→DOWN (a restart finding it
//    still down) changes nothing;
//  - a `start` entry makes every address up: the prober starts with every
//    address up and writes UP→DOWN again, in its first round, for one that is
//    still down; one that came back while the daemon was stopped writes
//    nothing. Between the daemon's last entry before a stop and the next
//    `start`, the last recorded state carries on;
//  - the mirror is down while *all* of its addresses are down (one address
//    still up still gets its clients' downloads); a mirror without
//    addresses is never down;
//  - failures imported from a mirror's notes (who "notes", no address,
//    dated at midnight) have no duration and do not count;
//  - operator actions (drain, weight) are not health: a drained mirror that
//    answers its probes is up;
//  - nothing is known before `observed_since` (below): that time is left
//    out of every window, not counted as up.
struct MirrorTimeline {
  // The later of the mirror's first-seen time (state.json: when the daemon
  // first served it, or its oldest journal entry) and the oldest entry of
  // the journal given; `now` when neither is known.
  TimePoint observed_since{};
  // The mirror's outages, oldest first, disjoint, within [observed_since,
  // now]; an ongoing one ends at now.
  std::vector<TimeSpan> down;
  bool down_now = false;
  // When the current state (up or down) began: the start of the ongoing
  // outage, the end of the last one, or observed_since.
  TimePoint since{};
};

// `journal` need not be sorted (entries of equal time keep their order);
// entries of other mirrors, and of addresses not in `addresses`, are ignored.
MirrorTimeline mirror_timeline(const std::vector<JournalEntry>& journal, std::string_view pool,
                               std::string_view mirror, const std::vector<std::string>& addresses,
                               std::optional<TimePoint> first_seen, TimePoint now);

struct Availability {
  std::chrono::seconds observed{0};  // of the window, the part after observed_since
  std::chrono::seconds down{0};      // of observed
  // 100 × (observed − down) / observed; nullopt when nothing was observed.
  std::optional<double> up_percent() const;
};

// Availability over [from, to).
Availability availability(const MirrorTimeline& timeline, TimePoint from, TimePoint to);

struct DayAvailability {
  TimePoint day{};  // midnight UTC
  Availability availability;
};

// The last `days` UTC days, oldest first; the last is today, up to now.
std::vector<DayAvailability> daily_availability(const MirrorTimeline& timeline, TimePoint now,
                                                int days);

}  // namespace mirrorpool::dnsd
