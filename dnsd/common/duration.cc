// Parsing and printing of config durations (see duration.hh).
#include "dnsd/common/duration.hh"

#include <array>
#include <cstdint>
#include <limits>

namespace mirrorpool::dnsd {
namespace {

struct Unit {
  std::string_view suffix;
  int64_t ms;
};

// Largest first: a combination must list its units in this order, so that
// "1m30s" is accepted and the likely typo "30s1m" is not.
constexpr std::array<Unit, 5> kUnits{{
    {"d", 86'400'000},
    {"h", 3'600'000},
    {"m", 60'000},
    {"s", 1'000},
    {"ms", 1},
}};

bool is_digit(char c) {
  return c >= '0' && c <= '9';
}
bool is_lower(char c) {
  return c >= 'a' && c <= 'z';
}

}  // namespace

std::optional<health::Duration> parse_duration(std::string_view text) {
  constexpr int64_t kMax = std::numeric_limits<int64_t>::max();
  if (text.empty()) return std::nullopt;
  int64_t total = 0;
  size_t next_unit = 0;  // index into kUnits of the smallest unit still allowed
  size_t i = 0;
  while (i < text.size()) {
    if (!is_digit(text[i])) return std::nullopt;
    int64_t value = 0;
    for (; i < text.size() && is_digit(text[i]); ++i) {
      const int digit = text[i] - '0';
      if (value > (kMax - digit) / 10) return std::nullopt;
      value = value * 10 + digit;
    }
    const size_t suffix_start = i;
    while (i < text.size() && is_lower(text[i])) ++i;
    const std::string_view suffix = text.substr(suffix_start, i - suffix_start);
    size_t u = next_unit;
    while (u < kUnits.size() && kUnits[u].suffix != suffix) ++u;
    if (u == kUnits.size()) return std::nullopt;
    if (value > (kMax - total) / kUnits[u].ms) return std::nullopt;
    total += value * kUnits[u].ms;
    next_unit = u + 1;
  }
  return health::Duration(total);
}

std::string format_duration(health::Duration d) {
  int64_t rest = d.count();
  if (rest <= 0) return "0ms";
  std::string out;
  for (const Unit& unit : kUnits) {
    if (rest >= unit.ms) {
      out += std::to_string(rest / unit.ms);
      out += unit.suffix;
      rest %= unit.ms;
    }
  }
  return out;
}

}  // namespace mirrorpool::dnsd
