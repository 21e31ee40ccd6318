// The raw outcome of one probe of one target. Pure data: a failed probe is a
// result with a reason, never an exception.
#pragma once

#include <chrono>
#include <optional>
#include <string>

namespace mirrorpool::health {

using WallTime = std::chrono::system_clock::time_point;

// Whole days from `now` until `expiry`, rounded down: negative once expired
// (an hour past expiry is -1).
inline int days_until(WallTime expiry, WallTime now) {
  return static_cast<int>(std::chrono::floor<std::chrono::days>(expiry - now).count());
}

struct ProbeResult {
  bool ok = false;
  std::string reason;  // "ok" on success, else e.g. "http 503", "timeout after 2000ms"
  std::chrono::milliseconds latency{0};
  // https only: when the leaf certificate the mirror showed expires, also
  // when it failed verification (expired, self-signed).
  std::optional<WallTime> tls_expiry;
};

// One step of a probe as `mirrorpoolctl check` prints it: "connect", "tls",
// "certificate", "http", "body", "freshness" or "result".
struct CheckStep {
  std::string name;
  bool ok = false;
  std::string detail;               // e.g. "127.0.0.1:80 in 0.2ms", "GET / Host: x -> 503"
  std::chrono::milliseconds at{0};  // since the probe started
};

}  // namespace mirrorpool::health
