// Wall-clock times as text for the state files and the journal: RFC 3339 in
// UTC with whole seconds ("2026-05-21T14:03:00Z"). Text only; no clock is read.
#pragma once

#include <chrono>
#include <optional>
#include <string>
#include <string_view>

namespace mirrorpool::dnsd {

using TimePoint = std::chrono::system_clock::time_point;

// "2026-05-21T14:03:00Z"; sub-second parts are dropped.
std::string format_utc(TimePoint time);

// Reads what format_utc writes, and a bare date ("2026-05-21", meaning its
// midnight UTC) for command-line filters such as `history --since`. Anything
// else, including out-of-range fields and years outside 1678-2261 (what
// system_clock holds), is nullopt.
std::optional<TimePoint> parse_utc(std::string_view text);

}  // namespace mirrorpool::dnsd
