// A located error message, printed NSD-style as "file:line:col: error: message".
// Loaders collect every diagnostic they find instead of stopping at the first.
#pragma once

#include <string>
#include <utility>
#include <vector>

namespace mirrorpool::zones {

// Where a diagnostic points. line and col are 1-based; 0 means "not known".
struct SourcePos {
  std::string file;
  int line = 0;
  int col = 0;
};

// An error stops a load; a warning is advice about something that loads.
enum class Severity { error, warning };

struct Diagnostic {
  // A constructor rather than an aggregate: g++ 12 at -O3 wrongly warns that
  // the file name of a braced temporary may be used uninitialized.
  Diagnostic() = default;
  Diagnostic(SourcePos where, std::string text, Severity level = Severity::error)
      : pos(std::move(where)), message(std::move(text)), severity(level) {}

  SourcePos pos;
  std::string message;
  Severity severity = Severity::error;

  // "file:line:col: error: message" (or "warning:"; line/col omitted when
  // unknown).
  std::string to_string() const;
};

using Diagnostics = std::vector<Diagnostic>;

}  // namespace mirrorpool::zones
