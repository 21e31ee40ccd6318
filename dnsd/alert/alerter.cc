#include "dnsd/alert/alerter.hh"

#include <unistd.h>

#include <algorithm>

#include <fmt/format.h>

#include "dnsd/common/log.hh"
#include "health/probe_result.hh"

namespace mirrorpool::dnsd {

namespace {

using namespace std::chrono_literals;

// A certificate is worth an event this many days before the probe itself
// fails it for tls_min_days.
constexpr int kTlsWarningDays = 7;
constexpr auto kTlsCheckEvery = 1h;
constexpr auto kTlsRepeatEvery = 24h;

std::string host_name() {
  char name[256] = {};
  if (gethostname(name, sizeof name - 1) != 0 || name[0] == '\0') return "localhost";
  return name;
}

// days_until rounds down: an hour past expiry is -1, a day and an hour -2.
std::string expiry_text(int days) {
  if (days >= 0) return fmt::format("tls expires in {} days", days);
  const int full_days_ago = -days - 1;
  return full_days_ago == 0 ? std::string("tls expired less than a day ago")
                            : fmt::format("tls expired {} days ago", full_days_ago);
}

bool wants(const AlertConfig& alert, AlertKind kind) {
  return alert.events.test(static_cast<size_t>(kind));
}

}  // namespace

Alerter::Alerter(uv_loop_t* loop, Sources sources)
    : sources_(std::move(sources)), host_(host_name()), tick_(loop), channels_(loop) {}

Alerter::~Alerter() = default;

const AlertConfig* Alerter::find_alert(const std::string& name) const {
  for (const AlertConfig& a : alerts_) {
    if (a.name == name) return &a;
  }
  return nullptr;
}

void Alerter::configure(const Config& effective) {
  // What is held for an alert that no longer exists goes out now, under the
  // configuration it was held for: a reload loses no message.
  const std::vector<AlertConfig> before = std::move(alerts_);
  alerts_ = effective.alerts;
  for (auto it = held_.begin(); it != held_.end();) {
    const std::string& name = std::get<0>(it->first);
    if (find_alert(name) != nullptr) {
      ++it;
      continue;
    }
    for (const AlertConfig& old : before) {
      if (old.name == name) send(old, AlertMessage{name, std::move(it->second.events)});
    }
    it = held_.erase(it);
  }
  sendmail_ = effective.server.sendmail;
  mirrors_.clear();
  for (const PoolConfig& pc : effective.pools) {
    const std::string pool = pc.def.name.to_text();
    for (size_t i = 0; i < pc.def.mirrors.size(); ++i) {
      const zones::MirrorDef& m = pc.def.mirrors[i];
      MirrorInfo& info = mirrors_[{pool, m.id}];
      info.email = m.email;
      const health::CheckSpec& check = pc.mirror_checks[i];
      for (const zones::Address& a : m.addresses) {
        info.addresses.push_back(a.text);
        if (check.type == health::CheckType::https) info.tls_min_days[a.text] = check.tls_min_days;
      }
    }
  }
  if (alerts_.empty()) {
    tick_.stop();
  } else {
    tick_.start(1s, [this] { tick(); });
  }
}

void Alerter::close() {
  tick_.stop();
  size_t held = 0;
  for (const auto& [key, h] : held_) held += h.events.size();
  if (held > 0) log(LogLevel::warning, "stopping: {} held alert event(s) not sent", held);
  held_.clear();
  alerts_.clear();
  channels_.close();
}

void Alerter::on_transitions(const std::vector<health::Transition>& transitions) {
  for (const health::Transition& t : transitions) {
    const AddressKey key{t.key.pool, t.key.mirror, t.key.address};
    AlertEvent e;
    e.pool = t.key.pool;
    e.mirror = t.key.mirror;
    e.address = t.key.address;
    e.reason = t.reason;
    e.time = t.when;
    if (t.up) {
      const auto down = down_since_.find(key);
      e.kind = AlertKind::mirror_up;
      e.since = down != down_since_.end() ? down->second : t.when;
      if (down != down_since_.end()) down_since_.erase(down);
      // The mirror's admin may be mailed again for its next outage once
      // none of its addresses is down.
      const bool any_down = std::any_of(down_since_.begin(), down_since_.end(), [&](const auto& d) {
        return std::get<0>(d.first) == t.key.pool && std::get<1>(d.first) == t.key.mirror;
      });
      if (!any_down) {
        std::erase_if(admin_mailed_, [&](const HoldKey& k) {
          return std::get<1>(k) == t.key.pool && std::get<2>(k) == t.key.mirror;
        });
      }
      raise(e);
      continue;
    }
    down_since_.emplace(key, t.when);
    e.kind = t.reason == "stale" ? AlertKind::stale : AlertKind::mirror_down;
    e.since = t.when;
    raise(e);
    // The runbook's rule: the failure that makes the second within 6 months
    // makes the mirror a removal candidate.
    if (!sources_.failures) continue;
    std::vector<Failure> failures = sources_.failures(t.key.pool, t.key.mirror);
    if (failures.empty() || failures.back().time != t.when) continue;  // same outage as before
    const TimePoint now = std::chrono::system_clock::now();
    const std::vector<Failure> before(failures.begin(), failures.end() - 1);
    if (!removal_candidate(failures, now) || removal_candidate(before, now)) continue;
    std::erase_if(failures, [&](const Failure& f) { return now - f.time >= kSixMonths; });
    AlertEvent candidate = e;
    candidate.kind = AlertKind::removal_candidate;
    candidate.address.clear();
    candidate.reason = fmt::format("{} failures in 6 months", failures.size());
    candidate.since = failures.front().time;
    candidate.failures = std::move(failures);
    raise(candidate);
  }
}

void Alerter::on_prober_doubt(const std::string& pool, const std::string& text) {
  const TimePoint now = std::chrono::system_clock::now();
  raise(AlertEvent{AlertKind::prober_doubt, pool, "", "", text, now, now, {}});
}

void Alerter::on_degraded(const std::string& pool, std::string_view family, bool degraded,
                          size_t healthy) {
  const TimePoint now = std::chrono::system_clock::now();
  raise(AlertEvent{degraded ? AlertKind::pool_degraded : AlertKind::pool_recovered,
                   pool,
                   "",
                   "",
                   degraded ? fmt::format("{}: only {} healthy, below min_healthy", family, healthy)
                            : fmt::format("{}: {} healthy again", family, healthy),
                   now,
                   now,
                   {}});
}

void Alerter::raise(const AlertEvent& event) {
  const TimePoint now = std::chrono::system_clock::now();
  for (const AlertConfig& alert : alerts_) {
    if (!wants(alert, event.kind)) continue;
    const HoldKey hold{alert.name, event.pool, event.mirror};
    if (auto it = held_.find(hold); it != held_.end()) {
      it->second.events.push_back(event);
      continue;
    }
    const auto last = last_sent_.find({alert.name, event.pool, event.mirror, event.kind});
    if (last != last_sent_.end() && now - last->second < alert.min_interval) {
      held_[hold] = Held{{event}, last->second + alert.min_interval};
      continue;
    }
    last_sent_[{alert.name, event.pool, event.mirror, event.kind}] = now;
    send(alert, AlertMessage{alert.name, {event}});
  }
}

void Alerter::send(const AlertConfig& alert, AlertMessage message) {
  const auto shared = std::make_shared<const AlertMessage>(std::move(message));
  const std::string name = alert.name;
  if (!alert.command.empty()) {
    channels_.run(alert.command, message_json(*shared).dump() + "\n",
                  [this, name, shared](bool ok, std::string detail) {
                    delivered(name, "command", *shared, ok, detail);
                  });
  }
  if (!alert.webhook.empty()) {
    channels_.post(alert.webhook, message_json(*shared).dump(),
                   [this, name, shared](bool ok, std::string detail) {
                     delivered(name, "webhook", *shared, ok, detail);
                   });
  }
  if (!alert.mail_to.empty()) {
    channels_.run(
        {sendmail_, "-t", "-oi"},
        operator_mail(*shared, alert.mail_to, host_, std::chrono::system_clock::now(), ++unique_),
        [this, name, shared](bool ok, std::string detail) {
          delivered(name, "mail", *shared, ok, detail);
        });
  }
}

void Alerter::delivered(const std::string& alert, const std::string& channel,
                        const AlertMessage& message, bool ok, const std::string& detail) {
  ++deliveries_[{alert, channel, ok ? "sent" : "failed"}];
  const AlertEvent& first = message.events.front();
  const std::string what = message.events.size() == 1
                               ? std::string(to_string(first.kind))
                               : fmt::format("digest of {} events", message.events.size());
  log(ok ? LogLevel::info : LogLevel::warning, "alert {}: {} {}{} via {}: {}", alert, what,
      first.mirror.empty() ? first.pool : first.mirror,
      first.address.empty() ? "" : " " + first.address, channel, detail);
  if (sources_.record) {
    sources_.record(JournalEntry{std::chrono::system_clock::now(), "alert " + alert,
                                 JournalKind::alert, first.pool, first.mirror, first.address,
                                 fmt::format("{} via {}: {}", what, channel, detail),
                                 first.reason});
  }
}

void Alerter::tick() {
  const TimePoint now = std::chrono::system_clock::now();
  flush_due(now, false);
  check_admins(now);
  if (now - last_tls_check_ >= kTlsCheckEvery) {
    last_tls_check_ = now;
    check_tls(now);
  }
  tick_.start(1s, [this] { tick(); });
}

void Alerter::flush_due(TimePoint now, bool all) {
  for (auto it = held_.begin(); it != held_.end();) {
    if (!all && it->second.due > now) {
      ++it;
      continue;
    }
    const auto& [name, pool, mirror] = it->first;
    if (const AlertConfig* alert = find_alert(name)) {
      for (const AlertEvent& e : it->second.events) last_sent_[{name, pool, mirror, e.kind}] = now;
      send(*alert, AlertMessage{name, std::move(it->second.events)});
    }
    it = held_.erase(it);
  }
}

void Alerter::check_admins(TimePoint now) {
  for (const AlertConfig& alert : alerts_) {
    if (!alert.mirror_admins) continue;
    std::map<MirrorKey, TimePoint> down;  // each mirror's oldest address still down
    for (const auto& [key, since] : down_since_) {
      const MirrorKey mirror{std::get<0>(key), std::get<1>(key)};
      auto [it, fresh] = down.emplace(mirror, since);
      if (!fresh) it->second = std::min(it->second, since);
    }
    for (const auto& [mirror, since] : down) {
      const HoldKey mailed{alert.name, mirror.first, mirror.second};
      if (now - since < alert.admin_after || admin_mailed_.contains(mailed)) continue;
      const auto info = mirrors_.find(mirror);
      if (info == mirrors_.end() || info->second.email.empty()) continue;
      admin_mailed_.insert(mailed);
      send_admin_mail(alert, mirror, since);
    }
  }
}

void Alerter::send_admin_mail(const AlertConfig& alert, const MirrorKey& mirror, TimePoint since) {
  const MirrorInfo& info = mirrors_.at(mirror);
  AdminMailFacts facts{mirror.first, mirror.second, info.email, alert.contact, since, {}, {}};
  const auto view = sources_.health ? sources_.health() : nullptr;
  for (const std::string& address : info.addresses) {
    const health::TargetHealth* h =
        view ? view->find({mirror.first, mirror.second, address}) : nullptr;
    if (h == nullptr || h->up) continue;
    std::string line =
        fmt::format("{}: {} (last checked {})", address, h->reason, format_utc(h->last_check));
    if (h->tls_expiry)
      line += fmt::format("; certificate valid until {}", format_utc(*h->tls_expiry));
    facts.evidence.push_back(std::move(line));
  }
  if (sources_.failures) facts.failures = sources_.failures(mirror.first, mirror.second);
  const AlertMessage record{alert.name,
                            {AlertEvent{AlertKind::mirror_down,
                                        mirror.first,
                                        mirror.second,
                                        "",
                                        "admin mail to " + info.email,
                                        since,
                                        std::chrono::system_clock::now(),
                                        {}}}};
  const std::string name = alert.name;
  channels_.run({sendmail_, "-t", "-oi"},
                admin_mail(facts, host_, std::chrono::system_clock::now(), ++unique_),
                [this, name, record](bool ok, std::string detail) {
                  delivered(name, "admin-mail", record, ok, detail);
                });
}

void Alerter::check_tls(TimePoint now) {
  const auto view = sources_.health ? sources_.health() : nullptr;
  if (!view) return;
  for (const auto& [mirror, info] : mirrors_) {
    for (const auto& [address, min_days] : info.tls_min_days) {
      const health::TargetHealth* h = view->find({mirror.first, mirror.second, address});
      if (h == nullptr || !h->tls_expiry) continue;
      const int days = health::days_until(*h->tls_expiry, now);
      if (days >= static_cast<int>(min_days) + kTlsWarningDays) continue;
      const AddressKey key{mirror.first, mirror.second, address};
      if (auto it = tls_raised_.find(key);
          it != tls_raised_.end() && now - it->second < kTlsRepeatEvery)
        continue;
      tls_raised_[key] = now;
      raise(AlertEvent{AlertKind::tls_expiring,
                       mirror.first,
                       mirror.second,
                       address,
                       expiry_text(days),
                       *h->tls_expiry,
                       now,
                       {}});
    }
  }
}

}  // namespace mirrorpool::dnsd
