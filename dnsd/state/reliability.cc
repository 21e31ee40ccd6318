// The runbook rule as code; every threshold is a named constant in the header.
#include "dnsd/state/reliability.hh"

#include <algorithm>
#include <set>

#include <fmt/format.h>

namespace mirrorpool::dnsd {
namespace {

size_t failures_within(const std::vector<Failure>& failures, std::chrono::days window,
                       TimePoint now) {
  return static_cast<size_t>(std::count_if(
      failures.begin(), failures.end(), [&](const Failure& f) { return now - f.time < window; }));
}

}  // namespace

std::vector<Failure> failures_of(const std::vector<JournalEntry>& journal, std::string_view pool,
                                 std::string_view mirror) {
  std::vector<const JournalEntry*> changes;
  for (const JournalEntry& e : journal) {
    if (e.kind == JournalKind::health && e.pool == pool && e.mirror == mirror) {
      changes.push_back(&e);
    }
  }
  std::stable_sort(changes.begin(), changes.end(),
                   [](const JournalEntry* a, const JournalEntry* b) { return a->time < b->time; });
  std::vector<Failure> failures;
  // Addresses down and not seen up since: a daemon restart finds a
  // still-down address down again and logs UP→DOWN, but that is the same
  // outage, not a second failure.
  std::set<std::string_view> down;
  for (const JournalEntry* e : changes) {
    if (e->what != kHealthDown) {
      down.erase(e->address);
      continue;
    }
    // Failures imported from notes name no address: each is its own.
    if (!e->address.empty() && !down.insert(e->address).second) continue;
    if (failures.empty() || e->time - failures.back().time >= kSameFailure) {
      failures.push_back(Failure{e->time, {}, e->reason});
    }
    auto& addresses = failures.back().addresses;
    if (!e->address.empty() &&
        std::find(addresses.begin(), addresses.end(), e->address) == addresses.end()) {
      addresses.push_back(e->address);
    }
  }
  return failures;
}

uint32_t reliability_weight(const std::vector<Failure>& failures, TimePoint first_seen,
                            zones::Capacity capacity, TimePoint now) {
  if (failures_within(failures, kSixMonths, now) > 0) return 1;
  if (now - first_seen < kSixMonths) return 2;
  if (failures_within(failures, kTwelveMonths, now) == 0) {
    return capacity == zones::Capacity::huge ? 10 : 5;
  }
  return 2;
}

bool removal_candidate(const std::vector<Failure>& failures, TimePoint now) {
  return failures_within(failures, kSixMonths, now) >= 2;
}

std::string failure_report(std::string_view mirror, const std::vector<Failure>& failures,
                           TimePoint now) {
  const size_t year = failures_within(failures, kTwelveMonths, now);
  if (year == 0) return fmt::format("{} has not failed in the last 12 months.\n", mirror);
  std::string out =
      fmt::format("{} failed {} time{} in the last 12 months ({} in the last 6 months):\n", mirror,
                  year, year == 1 ? "" : "s", failures_within(failures, kSixMonths, now));
  for (const Failure& f : failures) {
    if (now - f.time >= kTwelveMonths) continue;
    // "2026-05-21T14:03:00Z" → "2026-05-21 14:03 UTC": easier to read in a mail.
    const std::string when = format_utc(f.time);
    out += fmt::format("- {} {} UTC: {}", when.substr(0, 10), when.substr(11, 5),
                       f.reason.empty() ? "no reason recorded" : f.reason);
    for (size_t i = 0; i < f.addresses.size(); ++i) {
      out += i == 0 ? " (" : ", ";
      out += f.addresses[i];
    }
    if (!f.addresses.empty()) out += ')';
    out += '\n';
  }
  return out;
}

}  // namespace mirrorpool::dnsd
