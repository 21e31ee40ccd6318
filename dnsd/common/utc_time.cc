// RFC 3339 (UTC, whole seconds) formatting and strict parsing.
#include "dnsd/common/utc_time.hh"

#include <cstdio>
#include <ctime>

#include <fmt/core.h>

namespace mirrorpool::dnsd {
namespace {

// The whole years a system_clock::time_point can hold (1677-09-21 to
// 2262-04-11 in nanoseconds).
constexpr int kMinYear = 1678;
constexpr int kMaxYear = 2261;

// Reads exactly `width` digits.
bool digits(std::string_view text, size_t at, size_t width, int& out) {
  if (at + width > text.size()) return false;
  out = 0;
  for (size_t i = at; i < at + width; ++i) {
    if (text[i] < '0' || text[i] > '9') return false;
    out = out * 10 + (text[i] - '0');
  }
  return true;
}

}  // namespace

std::string format_utc(TimePoint time) {
  const std::time_t seconds =
      std::chrono::system_clock::to_time_t(std::chrono::floor<std::chrono::seconds>(time));
  std::tm tm{};
  gmtime_r(&seconds, &tm);
  return fmt::format("{:04}-{:02}-{:02}T{:02}:{:02}:{:02}Z", tm.tm_year + 1900, tm.tm_mon + 1,
                     tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec);
}

std::optional<TimePoint> parse_utc(std::string_view text) {
  int year = 0, month = 0, day = 0, hour = 0, minute = 0, second = 0;
  const bool date_ok = text.size() >= 10 && digits(text, 0, 4, year) && text[4] == '-' &&
                       digits(text, 5, 2, month) && text[7] == '-' && digits(text, 8, 2, day);
  if (!date_ok) return std::nullopt;
  if (text.size() != 10) {
    const bool time_ok = text.size() == 20 && text[10] == 'T' && digits(text, 11, 2, hour) &&
                         text[13] == ':' && digits(text, 14, 2, minute) && text[16] == ':' &&
                         digits(text, 17, 2, second) && text[19] == 'Z';
    if (!time_ok) return std::nullopt;
  }
  const std::chrono::year_month_day ymd{std::chrono::year(year),
                                        std::chrono::month(static_cast<unsigned>(month)),
                                        std::chrono::day(static_cast<unsigned>(day))};
  // Leap seconds (":60") are not representable in system_clock and never written.
  if (!ymd.ok() || hour > 23 || minute > 59 || second > 59) return std::nullopt;
  // system_clock counts nanoseconds in 64 bits: outside these years the
  // conversion below overflows (undefined behaviour, found by fuzzing).
  if (year < kMinYear || year > kMaxYear) return std::nullopt;
  return std::chrono::sys_days(ymd) + std::chrono::hours(hour) + std::chrono::minutes(minute) +
         std::chrono::seconds(second);
}

}  // namespace mirrorpool::dnsd
