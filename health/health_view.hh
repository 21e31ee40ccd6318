// The published health of every probe target: immutable once built, shared by
// pointer between the prober (writer) and the snapshot builder (reader).
#pragma once

#include <chrono>
#include <map>
#include <optional>
#include <string>
#include <string_view>

namespace mirrorpool::health {

// One address of one mirror of one pool.
struct TargetKey {
  std::string pool;  // pool name as text, e.g. "dl.pool.example."
  std::string mirror;
  std::string address;  // canonical text
  auto operator<=>(const TargetKey&) const = default;
};

struct TargetHealth {
  bool up = true;
  std::string reason;  // why it is down (or last failure), e.g. "http 503"
  std::chrono::system_clock::time_point last_check{};
  std::chrono::system_clock::time_point last_success{};
  std::chrono::milliseconds latency{0};
  std::optional<int> tls_days_left;
};

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

 private:
  std::map<TargetKey, TargetHealth> targets_;
};

}  // namespace mirrorpool::health
