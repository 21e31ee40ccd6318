// One thing worth telling someone, and the texts it is told in: the JSON a
// command or webhook receives and the mails. Pure: the clock and the host
// name are inputs, so every text can be checked in a unit test.
#pragma once

#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "dnsd/common/utc_time.hh"
#include "dnsd/config/alert_config.hh"
#include "dnsd/state/reliability.hh"

namespace mirrorpool::dnsd {

struct AlertEvent {
  AlertKind kind = AlertKind::mirror_down;
  std::string pool;               // "dl.pool.example."; empty for none
  std::string mirror;             // empty for pool and prober events
  std::string address;            // empty for mirror-wide, pool and prober events
  std::string reason;             // "http 503", "stale", "tls: certificate expires in 3 days", ...
  TimePoint since{};              // when the condition began (an outage's start for mirror-up)
  TimePoint time{};               // when it was noticed
  std::vector<Failure> failures;  // removal-candidate: the last 6 months'
};

// {"event": "mirror-down", "pool": …, "mirror": …, "address": …, "reason": …,
//  "since": "2026-12-05T10:00:00Z", "time": …, ["failures": [...]]}
nlohmann::json event_json(const AlertEvent& event);

// What one message of an [[alert]] carries: one event, or the digest of
// several held back by min_interval.
struct AlertMessage {
  std::string alert;  // [[alert]] name
  std::vector<AlertEvent> events;
};

// One event: event_json plus "alert". Several: {"event": "digest",
// "alert": …, "count": N, "events": [...]}.
nlohmann::json message_json(const AlertMessage& message);

// A mail for `to` (RFC 5322, UTF-8 body, for `sendmail -t -oi`).
// `host` names the machine in From and Message-ID; `unique` makes the
// Message-ID unique.
std::string operator_mail(const AlertMessage& message, const std::vector<std::string>& to,
                          const std::string& host, TimePoint now, uint64_t unique);

// What the mirror-admin mail says about the mirror.
struct AdminMailFacts {
  std::string pool;
  std::string mirror;
  std::string email;
  std::string contact;  // the operator's address, for Reply-To and the text
  TimePoint down_since{};
  // One line per address that is down: "ADDRESS: REASON (last checked …)".
  std::vector<std::string> evidence;
  std::vector<Failure> failures;  // the last 12 months'
};

// The polite mail to a mirror's admin: what fails, since when, the last
// probe's evidence and how to reach the operator.
std::string admin_mail(const AdminMailFacts& facts, const std::string& host, TimePoint now,
                       uint64_t unique);

}  // namespace mirrorpool::dnsd
