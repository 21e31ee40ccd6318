// Reliability weights (weight_policy = "reliability"), the rule of the Tails
// mirror runbook, and the failure list an operator mails to a mirror's admin.
// Pure: the journal and the clock are inputs.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "dnsd/state/journal.hh"
#include "zones/pool.hh"

namespace mirrorpool::dnsd {

// The windows of the rule. A failure is "within" a window when it happened
// less than the window before now; one exactly 183 days old is outside.
inline constexpr std::chrono::days kSixMonths{183};
inline constexpr std::chrono::days kTwelveMonths{365};

// Two addresses failing within this long of a failure count as that one failure.
inline constexpr std::chrono::hours kSameFailure{1};

// One failure of a mirror. A failure is a health journal entry with what ==
// kHealthDown (one UP→DOWN transition) for any of the mirror's addresses.
// Transitions within kSameFailure of the first of a group — the mirror's
// IPv4 and IPv6 addresses going down together, or an address flapping — are
// one outage of the mirror and count once.
struct Failure {
  TimePoint time{};                    // of the first transition of the group
  std::vector<std::string> addresses;  // every address that went down in it
  std::string reason;                  // of the first transition
};

// The failures of (pool, mirror) in the journal, oldest first. The journal
// need not be sorted.
std::vector<Failure> failures_of(const std::vector<JournalEntry>& journal, std::string_view pool,
                                 std::string_view mirror);

// The runbook weight, checked in this order:
//   1  a failure within 6 months;
//   2  new: first seen less than 6 months ago;
//   10 capacity "huge" and no failure within 12 months;
//   5  no failure within 12 months;
//   2  otherwise (the last failure was 6 to 12 months ago).
uint32_t reliability_weight(const std::vector<Failure>& failures, TimePoint first_seen,
                            zones::Capacity capacity, TimePoint now);

// Two or more failures within 6 months: the runbook says remove the mirror.
bool removal_candidate(const std::vector<Failure>& failures, TimePoint now);

// The failures within 12 months as plain text, ready to paste into a mail to
// the mirror's admin:
//   mirror-1 failed 2 times in the last 12 months (2 in the last 6 months):
//   - 2026-05-21 14:03 UTC: No route to host (192.0.2.10, 2001:db8::10)
//   - 2026-07-14 09:30 UTC: http 404 (192.0.2.10)
std::string failure_report(std::string_view mirror, const std::vector<Failure>& failures,
                           TimePoint now);

}  // namespace mirrorpool::dnsd
