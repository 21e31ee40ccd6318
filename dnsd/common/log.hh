// Minimal leveled logging to stderr (systemd's journal takes it from there).
// Never called per query: only for events (start, reload, health changes).
#pragma once

#include <cstdio>
#include <string>
#include <string_view>

#include <fmt/core.h>

namespace mirrorpool::dnsd {

enum class LogLevel { debug, info, warning, error };

// Set once at start-up, before any thread starts.
void set_log_level(LogLevel level);
LogLevel log_level();
bool parse_log_level(std::string_view text, LogLevel& out);

// One log line with its newline: "level: message", control characters in
// the message written as \xHH; with `journal`, prefixed by the sd-daemon
// priority ("<4>warning: ...") so that journalctl -p can filter.
std::string format_log_line(LogLevel level, std::string_view message, bool journal);

void log_line(LogLevel level, std::string_view message);

template <typename... Args>
void log(LogLevel level, fmt::format_string<Args...> format, Args&&... args) {
  if (level < log_level()) return;
  log_line(level, fmt::format(format, std::forward<Args>(args)...));
}

}  // namespace mirrorpool::dnsd
