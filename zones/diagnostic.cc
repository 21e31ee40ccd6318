// Formatting of a located error message. Formatting only: collecting and
// printing diagnostics is the caller's job.
#include "zones/diagnostic.hh"

namespace mirrorpool::zones {

std::string Diagnostic::to_string() const {
  std::string out = pos.file;
  // A column without a line would point nowhere, so col is printed only with a line.
  if (pos.line > 0) {
    out += ':' + std::to_string(pos.line);
    if (pos.col > 0) out += ':' + std::to_string(pos.col);
  }
  if (!out.empty()) out += ": ";
  out += severity == Severity::warning ? "warning: " : "error: ";
  out += message;
  return out;
}

}  // namespace mirrorpool::zones
