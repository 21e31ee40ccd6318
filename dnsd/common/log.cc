// Leveled logging: one line per event, "<level>: message", on stderr. Lines are
// written with one fputs call so that lines from different threads never mix.
#include "dnsd/common/log.hh"

#include <atomic>
#include <cstdlib>
#include <string>

#include <sys/stat.h>
#include <unistd.h>

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

// sd-daemon(3) priorities.
int priority(LogLevel level) {
  switch (level) {
    case LogLevel::debug:
      return 7;
    case LogLevel::info:
      return 6;
    case LogLevel::warning:
      return 4;
    case LogLevel::error:
      return 3;
  }
  return 6;
}

// Under systemd, stderr is a journal stream when JOURNAL_STREAM names its
// device and inode (systemd.exec(5)); a terminal or a file gets plain text.
bool stderr_is_journal() {
  const char* stream = std::getenv("JOURNAL_STREAM");
  struct stat st {};
  if (stream == nullptr || fstat(STDERR_FILENO, &st) != 0) return false;
  return fmt::format("{}:{}", st.st_dev, st.st_ino) == stream;
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

std::string format_log_line(LogLevel level, std::string_view message, bool journal) {
  std::string line = journal ? fmt::format("<{}>", priority(level)) : std::string();
  line += level_name(level);
  line += ": ";
  // Messages carry text from peers and operators (probe errors, ids, notes):
  // a control character must not start a forged line or rewrite a terminal.
  for (const char c : message) {
    const auto byte = static_cast<unsigned char>(c);
    if (byte < 0x20 || byte == 0x7f) {
      line += fmt::format("\\x{:02x}", byte);
    } else {
      line += c;
    }
  }
  line += '\n';
  return line;
}

void log_line(LogLevel level, std::string_view message) {
  static const bool journal = stderr_is_journal();
  const std::string line = format_log_line(level, message, journal);
  std::fputs(line.c_str(), stderr);
  std::fflush(stderr);
}

}  // namespace mirrorpool::dnsd
