// [[alert]]: who is told about which events, and how (mirrorpool.toml(5)).
// The event kinds live here, below dnsd/alert/, because the config names them.
#pragma once

#include <array>
#include <bitset>
#include <chrono>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "zones/diagnostic.hh"

namespace mirrorpool::dnsd {

enum class AlertKind : uint8_t {
  mirror_down,
  mirror_up,
  tls_expiring,
  stale,
  pool_degraded,
  pool_recovered,
  removal_candidate,
  prober_doubt,
  count
};

inline constexpr std::array<std::string_view, static_cast<size_t>(AlertKind::count)>
    kAlertKindNames = {"mirror-down",   "mirror-up",      "tls-expiring",      "stale",
                       "pool-degraded", "pool-recovered", "removal-candidate", "prober-doubt"};

inline std::string_view to_string(AlertKind kind) {
  return kAlertKindNames[static_cast<size_t>(kind)];
}

inline std::optional<AlertKind> parse_alert_kind(std::string_view text) {
  for (size_t i = 0; i < kAlertKindNames.size(); ++i) {
    if (kAlertKindNames[i] == text) return static_cast<AlertKind>(i);
  }
  return std::nullopt;
}

struct AlertConfig {
  std::string name;
  std::bitset<static_cast<size_t>(AlertKind::count)> events;  // default: all
  // Channels; at least one of command, webhook and mail_to is set.
  std::vector<std::string> command;  // argv: the event as JSON on stdin
  std::string webhook;               // http(s) URL: POST of the same JSON
  std::vector<std::string> mail_to;  // through [server] sendmail
  // Also mail a mirror's `email` once it has been down for admin_after.
  bool mirror_admins = false;
  std::chrono::milliseconds admin_after{std::chrono::hours(1)};
  // At most one message per mirror (or pool) and event kind in this time;
  // what comes meanwhile goes out as one digest when it has passed.
  std::chrono::milliseconds min_interval{std::chrono::minutes(10)};
  // Where a mirror's admin can reach the operator; default: mail_to[0].
  std::string contact;
  zones::SourcePos pos;
};

}  // namespace mirrorpool::dnsd
