// Log lines: one per event however hostile the text in it, and the journal's
// priority prefix only when stderr is the journal.
#include "dnsd/common/log.hh"

#include <doctest/doctest.h>

namespace mirrorpool::dnsd {
namespace {

TEST_CASE("a control character cannot start a forged log line") {
  CHECK(format_log_line(LogLevel::info, "drained m1 by uid 0: note", false) ==
        "info: drained m1 by uid 0: note\n");
  CHECK(format_log_line(LogLevel::warning, "m1\nerror: forged\r\x1b[2J\x7f", false) ==
        "warning: m1\\x0aerror: forged\\x0d\\x1b[2J\\x7f\n");
  // UTF-8 passes as it is.
  CHECK(format_log_line(LogLevel::info, "m1 UP→DOWN: http 503", false) ==
        "info: m1 UP→DOWN: http 503\n");
}

TEST_CASE("under systemd each line carries its priority") {
  CHECK(format_log_line(LogLevel::error, "x", true) == "<3>error: x\n");
  CHECK(format_log_line(LogLevel::warning, "x", true) == "<4>warning: x\n");
  CHECK(format_log_line(LogLevel::info, "x", true) == "<6>info: x\n");
  CHECK(format_log_line(LogLevel::debug, "x", true) == "<7>debug: x\n");
}

}  // namespace
}  // namespace mirrorpool::dnsd
