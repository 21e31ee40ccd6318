// Leveled logging: one line per event, "<level>: message", on stderr. Lines are
// written with one fputs call so that lines from different threads never mix.
#include "dnsd/log.hh"

#include <atomic>
#include <string>

namespace mirrorpool::dnsd {

namespace {
std::atomic<LogLevel> g_level{LogLevel::info};

const char* level_name(LogLevel level) {
  switch (level) {
    case LogLevel::debug:
      return "debug";
    case LogLevel::info:
      return "info";
    case LogLevel::warning:
      return "warning";
    case LogLevel::error:
      return "error";
  }
  return "?";
}
}  // namespace

void set_log_level(LogLevel level) {
  g_level.store(level);
}
LogLevel log_level() {
  return g_level.load(std::memory_order_relaxed);
}

bool parse_log_level(std::string_view text, LogLevel& out) {
  for (LogLevel l : {LogLevel::debug, LogLevel::info, LogLevel::warning, LogLevel::error}) {
    if (text == level_name(l)) {
      out = l;
      return true;
    }
  }
  return false;
}

void log_line(LogLevel level, std::string_view message) {
  std::string line = fmt::format("{}: {}\n", level_name(level), message);
  std::fputs(line.c_str(), stderr);
  std::fflush(stderr);
}

}  // namespace mirrorpool::dnsd
