// How one mirror address is probed: the [pool.check] keys after per-mirror
// overrides have been applied. Pure data.
#pragma once

#include <chrono>
#include <cstdint>
#include <string>
#include <vector>

namespace mirrorpool::health {

using Duration = std::chrono::milliseconds;

enum class CheckType { tcp, http, https };

struct Freshness {
  std::string path;       // fetched from each mirror address
  std::string reference;  // full URL on the primary
  Duration max_lag{std::chrono::hours(2)};
  bool enabled() const { return !path.empty(); }
};

struct CheckSpec {
  CheckType type = CheckType::http;
  uint16_t port = 80;
  std::string host;  // Host header and TLS SNI; the probe connects to the address
  std::string path = "/";
  std::vector<int> expect_status{200};
  std::string expect_body;  // substring; empty = no body check
  Duration interval{std::chrono::seconds(5)};
  Duration timeout{std::chrono::seconds(2)};
  unsigned rise = 2;
  unsigned fall = 2;
  unsigned tls_min_days = 7;
  std::string ca_file;  // empty = system store
  unsigned mass_failure_rounds = 3;
  Freshness freshness;
};

}  // namespace mirrorpool::health
