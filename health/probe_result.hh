// The raw outcome of one probe of one target. Pure data: a failed probe is a
// result with a reason, never an exception.
#pragma once

#include <chrono>
#include <optional>
#include <string>

namespace mirrorpool::health {

struct ProbeResult {
  bool ok = false;
  std::string reason;  // "ok" on success, else e.g. "http 503", "timeout after 2000ms"
  std::chrono::milliseconds latency{0};
  std::optional<int> tls_days_left;  // https only: whole days until the leaf expires
};

}  // namespace mirrorpool::health
