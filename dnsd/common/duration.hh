// Duration text of the config file: "250ms", "5s", "2m", "1h", "1d" and
// combinations in descending unit order ("1m30s"). Text only; range checks
// belong to the key that uses the duration.
#pragma once

#include <optional>
#include <string>
#include <string_view>

#include "health/check_spec.hh"

namespace mirrorpool::dnsd {

// Returns nullopt for empty text, a number without a unit, an unknown or
// repeated unit, units out of order, signs, spaces, or a total that overflows.
std::optional<health::Duration> parse_duration(std::string_view text);

// The shortest text parse_duration reads back as d ("1m30s", "0ms").
std::string format_duration(health::Duration d);

}  // namespace mirrorpool::dnsd
