// The [server.rrl] keys of the config file, apart from the rest of Config so
// that the rate limiter (query/) takes only what it is configured by.
#pragma once

namespace mirrorpool::dnsd {

struct RrlConfig {
  unsigned responses_per_second = 0;  // 0 = off
  unsigned slip = 2;
  unsigned ipv4_prefix = 24;
  unsigned ipv6_prefix = 56;
  bool operator==(const RrlConfig&) const = default;
};

}  // namespace mirrorpool::dnsd
