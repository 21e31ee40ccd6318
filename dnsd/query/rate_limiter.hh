// Response rate limiting (RRL), in the spirit of BIND, NSD and Knot: UDP
// responses per second per client prefix (/24 and /56 by default). Over the
// limit a response is dropped, except every `slip`-th, which is sent
// truncated: a spoofed flood gains nothing, while a real client behind the
// flooded prefix retries over TCP, which cannot be spoofed and is never
// limited.
//
// One table is shared by every worker: SO_REUSEPORT spreads a prefix's
// queries over all of them, so per-worker tables would multiply the limit by
// the number of workers. Buckets are lock-free atomics; check() is pure
// arithmetic on the query path and never allocates.
#pragma once

#include <sys/socket.h>

#include <atomic>
#include <cstdint>
#include <memory>
#include <string>

#include "dnsd/config/rrl_config.hh"

namespace mirrorpool::dnsd {

class RateLimiter {
 public:
  enum class Verdict : uint8_t { answer, drop, slip };
  struct Decision {
    Verdict verdict = Verdict::answer;
    // The first limited response of this prefix after at least one whole
    // second under the limit: worth one log line.
    bool episode_start = false;
  };

  // config.responses_per_second must be > 0. The table is allocated here.
  explicit RateLimiter(const RrlConfig& config);

  // Counts one response to `client` at `now_ms` (any monotonic clock in
  // milliseconds) and says what to do with it. Any thread.
  Decision check(const sockaddr* client, uint64_t now_ms) noexcept;

  // "192.0.2.0/24" or "2001:db8:1200::/56": the prefix `client` is counted in.
  std::string prefix_text(const sockaddr* client) const;

  const RrlConfig& config() const noexcept { return config_; }

 private:
  // One prefix's count for the current second, packed so that a single
  // compare-and-swap updates it: fingerprint (20 bits) | second (20) | count (24).
  struct Bucket {
    std::atomic<uint64_t> window{0};
    std::atomic<uint32_t> last_limited_second{0};  // 0 = never
  };

  RrlConfig config_;
  uint64_t seed_;
  uint64_t mask_;  // bucket count - 1
  std::unique_ptr<Bucket[]> buckets_;
};

}  // namespace mirrorpool::dnsd
