// The published health of every probe target: immutable once built, shared by
// pointer between the prober (writer) and the snapshot builder (reader).
#pragma once

#include <array>
#include <chrono>
#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace mirrorpool::health {

// One address of one mirror of one pool.
struct TargetKey {
  std::string pool;  // pool name as text, e.g. "dl.pool.example."
  std::string mirror;
  std::string address;  // canonical text
  auto operator<=>(const TargetKey&) const = default;
};

// Upper bounds (seconds) of the probe latency histogram, Prometheus' defaults.
inline constexpr std::array<double, 11> kLatencyBoundsSeconds = {
    0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10};

// Running totals of every probe of one target, for /metrics.
struct ProbeCounters {
  uint64_t probes = 0;
  uint64_t state_changes = 0;
  // Failures by the first word of their reason: "http", "timeout", "connect", "tls", ...
  std::map<std::string, uint64_t> failures;
  // Probes with latency <= kLatencyBoundsSeconds[i] (not cumulative); the
  // last slot counts the rest (+Inf).
  std::array<uint64_t, kLatencyBoundsSeconds.size() + 1> latency_buckets{};
  double latency_sum_seconds = 0;
};

struct TargetHealth {
  bool up = true;
  std::string reason;  // why it is down (or last failure), e.g. "http 503"
  std::chrono::system_clock::time_point last_check{};
  std::chrono::system_clock::time_point last_success{};
  std::chrono::milliseconds latency{0};
  // The last certificate seen (probe_result.hh): kept while probes fail
  // before the handshake, so an alert on it does not flap with the network.
  std::optional<std::chrono::system_clock::time_point> tls_expiry;
  // With a freshness check: how long the mirror's copy of the freshness file
  // has differed from the reference, as of the last comparison (0 while it is
  // the same). nullopt without a freshness check or before a comparison.
  std::optional<std::chrono::seconds> freshness_lag;
  ProbeCounters counters;
};

// The reason shown for an address added while serving until its first probe.
inline constexpr std::string_view kNotProbedYet = "not probed yet";

class HealthView {
 public:
  HealthView() = default;
  explicit HealthView(std::map<TargetKey, TargetHealth> targets) : targets_(std::move(targets)) {}

  // Targets the prober has never judged count as up: before any prober exists
  // (or for a pool without checks) every enabled address is served.
  bool is_up(const TargetKey& key) const {
    auto it = targets_.find(key);
    return it == targets_.end() || it->second.up;
  }
  const TargetHealth* find(const TargetKey& key) const {
    auto it = targets_.find(key);
    return it == targets_.end() ? nullptr : &it->second;
  }
  const std::map<TargetKey, TargetHealth>& targets() const { return targets_; }

  // This view with each of `keys` marked down (not probed yet): what the
  // prober publishes once it is given those targets while serving, since an
  // address added then is not answered before it has been probed.
  HealthView with_unprobed_down(const std::vector<TargetKey>& keys) const {
    std::map<TargetKey, TargetHealth> targets = targets_;
    for (const TargetKey& key : keys) {
      TargetHealth pending;
      pending.up = false;
      pending.reason = std::string(kNotProbedYet);
      targets.insert_or_assign(key, std::move(pending));
    }
    return HealthView(std::move(targets));
  }

 private:
  std::map<TargetKey, TargetHealth> targets_;
};

}  // namespace mirrorpool::health
