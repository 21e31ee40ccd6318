// Routes events to the [[alert]] sections that want them: rate-limited per
// alert, mirror (or pool) and event kind, with what arrives within
// min_interval held back and sent as one digest when it has passed; mails a
// mirror's admin once an outage has lasted admin_after; looks for expiring
// certificates once an hour. Lives as long as the daemon, across reloads:
// configure() keeps what is held for alerts that still exist and sends
// at once what was held for those that are gone.
#pragma once

#include <array>
#include <functional>
#include <map>
#include <memory>
#include <set>
#include <string>
#include <tuple>
#include <vector>

#include <uv.h>

#include "dnsd/alert/alert_channels.hh"
#include "dnsd/alert/alert_event.hh"
#include "dnsd/config/config.hh"
#include "dnsd/state/journal.hh"
#include "health/health_view.hh"
#include "health/prober.hh"
#include "health/uv_timer.hh"

namespace mirrorpool::dnsd {

class Alerter {
 public:
  // What the alerter reads and writes elsewhere, all on the main loop.
  struct Sources {
    std::function<std::shared_ptr<const health::HealthView>()> health;
    // A mirror's failures in the journal, the transitions just recorded included.
    std::function<std::vector<Failure>(const std::string& pool, const std::string& mirror)>
        failures;
    std::function<void(JournalEntry)> record;
  };
  // (alert, channel, result) → deliveries; channel is "command", "webhook",
  // "mail" or "admin-mail", result "sent" or "failed".
  using Deliveries = std::map<std::tuple<std::string, std::string, std::string>, uint64_t>;

  Alerter(uv_loop_t* loop, Sources sources);
  ~Alerter();
  Alerter(const Alerter&) = delete;
  Alerter& operator=(const Alerter&) = delete;

  // The [[alert]] sections, sendmail and the mirrors (emails, https checks)
  // of the configuration in force.
  void configure(const Config& effective);

  // Probe transitions, after the journal has recorded them.
  void on_transitions(const std::vector<health::Transition>& transitions);
  // The prober suspects its own network (a mass failure in `pool`).
  void on_prober_doubt(const std::string& pool, const std::string& text);
  // A pool family fell below min_healthy, or came back.
  void on_degraded(const std::string& pool, std::string_view family, bool degraded, size_t healthy);

  const Deliveries& deliveries() const { return deliveries_; }

  // The daemon stops: nothing more is sent; what is held is logged as lost.
  void close();

 private:
  // What configure keeps of each mirror.
  struct MirrorInfo {
    std::string email;
    std::vector<std::string> addresses;
    std::map<std::string, unsigned> tls_min_days;  // https addresses only
  };
  using MirrorKey = std::pair<std::string, std::string>;                 // pool, mirror
  using AddressKey = std::tuple<std::string, std::string, std::string>;  // + address
  using HoldKey = std::tuple<std::string, std::string, std::string>;     // alert, pool, mirror
  struct Held {
    std::vector<AlertEvent> events;
    TimePoint due{};
  };

  void raise(const AlertEvent& event);
  void send(const AlertConfig& alert, AlertMessage message);
  void send_admin_mail(const AlertConfig& alert, const MirrorKey& mirror, TimePoint since);
  void delivered(const std::string& alert, const std::string& channel, const AlertMessage& message,
                 bool ok, const std::string& detail);
  void tick();
  void flush_due(TimePoint now, bool all);
  void check_admins(TimePoint now);
  void check_tls(TimePoint now);
  const AlertConfig* find_alert(const std::string& name) const;

  Sources sources_;
  std::vector<AlertConfig> alerts_;
  std::string sendmail_;
  std::map<MirrorKey, MirrorInfo> mirrors_;
  std::string host_;
  uint64_t unique_ = 0;
  health::UvTimer tick_;  // every second while any [[alert]] is configured
  TimePoint last_tls_check_{};

  std::map<AddressKey, TimePoint> down_since_;
  std::map<std::tuple<std::string, std::string, std::string, AlertKind>, TimePoint> last_sent_;
  std::map<HoldKey, Held> held_;
  std::set<HoldKey> admin_mailed_;  // this outage's mail went out
  std::map<AddressKey, TimePoint> tls_raised_;
  Deliveries deliveries_;
  AlertChannels channels_;  // last: its callbacks reach the members above
};

}  // namespace mirrorpool::dnsd
