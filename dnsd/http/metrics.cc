#include "dnsd/http/metrics.hh"

#include <algorithm>
#include <array>
#include <chrono>

#include "dnsd/http/process_metrics.hh"
#include "dnsd/http/prometheus.hh"
#include "zones/name.hh"

namespace mirrorpool::dnsd {

namespace {

constexpr std::array<const char*, static_cast<size_t>(QtypeSlot::count)> kQtypeNames = {
    "A", "NS", "CNAME", "SOA", "MX", "TXT", "AAAA", "SRV", "ANY", "AXFR", "IXFR", "other"};

// RFC 6895 names of the rcodes we can send.
const char* rcode_name(size_t rcode) {
  static constexpr std::array<const char*, 24> kNames = {
      "NOERROR", "FORMERR", "SERVFAIL", "NXDOMAIN",  "NOTIMP",  "REFUSED", "YXDOMAIN", "YXRRSET",
      "NXRRSET", "NOTAUTH", "NOTZONE",  "DSOTYPENI", "12",      "13",      "14",       "15",
      "BADVERS", "BADKEY",  "BADTIME",  "BADMODE",   "BADNAME", "BADALG",  "BADTRUNC", "BADCOOKIE"};
  return kNames[rcode];
}

template <typename Get>
uint64_t sum(const MetricsInputs& in, Get get) {
  uint64_t total = 0;
  for (const Stats* s : in.workers) total += get(*s).get();
  return total;
}

double unix_seconds(std::chrono::system_clock::time_point t) {
  return std::chrono::duration<double>(t.time_since_epoch()).count();
}

bool contains(const std::vector<std::string>& list, const std::string& item) {
  return std::find(list.begin(), list.end(), item) != list.end();
}

// Signing work and signature ages of each signed zone (zone_signing.hh).
void render_dnssec(MetricsWriter& w, const Snapshot& snapshot) {
  std::vector<std::pair<std::string, size_t>> signed_zones;
  for (size_t z = 0; z < snapshot.zone_count(); ++z) {
    if (snapshot.signing(z) == nullptr) continue;
    const auto origin = zones::Name::from_wire(snapshot.zone(z).apex);
    signed_zones.emplace_back(origin ? origin->to_text() : "?", z);
  }
  if (signed_zones.empty()) return;
  w.counter("mirrorpool_dnssec_signatures_total", "RRSIGs made for each signed zone.");
  for (const auto& [zone, z] : signed_zones) {
    w.sample({{"zone", zone}}, snapshot.signing(z)->stats->signatures);
  }
  w.counter("mirrorpool_dnssec_signing_seconds_total", "CPU time spent making them.");
  for (const auto& [zone, z] : signed_zones) {
    w.sample({{"zone", zone}}, snapshot.signing(z)->stats->seconds);
  }
  w.gauge("mirrorpool_dnssec_last_signing_seconds",
          "How long the last pool that needed new signatures took to sign (all its answer sets).");
  for (const auto& [zone, z] : signed_zones) {
    w.sample({{"zone", zone}}, snapshot.signing(z)->stats->last_pool_seconds);
  }
  w.gauge("mirrorpool_dnssec_signature_expiry_timestamp_seconds",
          "When the earliest signature served in each zone expires (Unix time).");
  for (const auto& [zone, z] : signed_zones) {
    w.sample({{"zone", zone}}, snapshot.zone(z).sig_expiration);
  }
  w.gauge("mirrorpool_dnssec_key",
          "Each key of a signed zone: 1 in the roles it has (published, signing).");
  for (const auto& [zone, z] : signed_zones) {
    const ZoneSigning& signing = *snapshot.signing(z);
    for (const auto& key : signing.published) {
      const bool signs =
          std::find(signing.signing.begin(), signing.signing.end(), key) != signing.signing.end();
      const std::string tag = std::to_string(key->tag());
      w.sample({{"zone", zone}, {"tag", tag}, {"role", "published"}}, 1);
      w.sample({{"zone", zone}, {"tag", tag}, {"role", "signing"}}, signs ? 1 : 0);
    }
  }
}

}  // namespace

std::string render_metrics(const MetricsInputs& in) {
  MetricsWriter w;
  w.gauge("mirrorpool_build_info", "1, labelled with the version of mirrorpoold.");
  w.sample({{"version", MIRRORPOOL_VERSION}}, 1);
  write_process_metrics(w);
  w.counter("mirrorpool_queries_total", "DNS queries received, by transport.");
  w.sample({{"transport", "udp"}},
           sum(in, [](const Stats& s) -> const Counter& { return s.udp_queries; }));
  w.sample({{"transport", "tcp"}},
           sum(in, [](const Stats& s) -> const Counter& { return s.tcp_queries; }));
  w.counter("mirrorpool_queries_by_qtype_total", "Answered queries by query type.");
  for (size_t i = 0; i < kQtypeNames.size(); ++i) {
    w.sample({{"qtype", kQtypeNames[i]}},
             sum(in, [i](const Stats& s) -> const Counter& { return s.by_qtype[i]; }));
  }
  w.counter("mirrorpool_responses_total", "Responses sent, by rcode.");
  for (size_t i = 0; i < 24; ++i) {
    const uint64_t n = sum(in, [i](const Stats& s) -> const Counter& { return s.by_rcode[i]; });
    // Rcodes we never send would only be noise; the common ones always show.
    if (n > 0 || i <= 5) w.sample({{"rcode", rcode_name(i)}}, n);
  }
  w.counter("mirrorpool_dropped_total", "Queries dropped without an answer, by why.");
  w.sample({{"reason", "malformed"}},
           sum(in, [](const Stats& s) -> const Counter& { return s.malformed; }));
  w.sample({{"reason", "qr_set"}},
           sum(in, [](const Stats& s) -> const Counter& { return s.qr_set; }));
  w.counter("mirrorpool_truncated_total", "UDP answers sent with TC set.");
  w.sample(sum(in, [](const Stats& s) -> const Counter& { return s.truncated; }));
  w.counter("mirrorpool_udp_send_failed_total",
            "UDP answers the kernel did not take (socket buffer full).");
  w.sample(sum(in, [](const Stats& s) -> const Counter& { return s.udp_send_failed; }));
  w.counter("mirrorpool_rrl_limited_total",
            "UDP answers over the rate limit, by what was done with them.");
  w.sample({{"action", "dropped"}},
           sum(in, [](const Stats& s) -> const Counter& { return s.rrl_dropped; }));
  w.sample({{"action", "slipped"}},
           sum(in, [](const Stats& s) -> const Counter& { return s.rrl_slipped; }));
  w.counter("mirrorpool_rrl_episodes_total",
            "Times a client prefix began to be rate limited (also logged).");
  w.sample(sum(in, [](const Stats& s) -> const Counter& { return s.rrl_episodes; }));
  w.counter("mirrorpool_rrl_exempt_total",
            "UDP queries not rate limited because a valid server cookie proved the address.");
  w.sample(sum(in, [](const Stats& s) -> const Counter& { return s.rrl_exempt; }));
  w.counter("mirrorpool_cookies_total",
            "Queries by their DNS cookie (RFC 7873): none, client cookie only, valid or bad "
            "server cookie.");
  for (size_t v = 0; v < static_cast<size_t>(CookieVerdict::count); ++v) {
    w.sample({{"cookie", cookie_verdict_name(static_cast<CookieVerdict>(v))}},
             sum(in, [v](const Stats& s) -> const Counter& { return s.cookies[v]; }));
  }
  w.counter("mirrorpool_tsig_queries_total",
            "TSIG-signed queries other than transfers, by the signature check's result.");
  static constexpr std::array<const char*, static_cast<size_t>(TsigCheck::Status::count)>
      kTsigResults = {"", "ok", "bad_key", "bad_sig", "bad_time", "malformed"};
  for (size_t r = 1; r < kTsigResults.size(); ++r) {
    w.sample({{"result", kTsigResults[r]}},
             sum(in, [r](const Stats& s) -> const Counter& { return s.tsig_queries[r]; }));
  }
  w.counter("mirrorpool_nsid_requests_total", "Queries asking for the NSID (RFC 5001).");
  w.sample(sum(in, [](const Stats& s) -> const Counter& { return s.nsid_requests; }));
  w.counter("mirrorpool_tcp_closed_total", "TCP connections closed by the server, by why.");
  w.sample({{"reason", "idle_timeout"}},
           sum(in, [](const Stats& s) -> const Counter& { return s.tcp_idle_closed; }));
  w.sample({{"reason", "query_timeout"}},
           sum(in, [](const Stats& s) -> const Counter& { return s.tcp_query_timeouts; }));
  w.sample({{"reason", "evicted"}},
           sum(in, [](const Stats& s) -> const Counter& { return s.tcp_evicted; }));
  w.sample({{"reason", "write_failed"}},
           sum(in, [](const Stats& s) -> const Counter& { return s.tcp_write_failed; }));
  w.counter("mirrorpool_transfers_total", "Zone transfers, by how they were answered.");
  w.sample({{"type", "axfr"}},
           sum(in, [](const Stats& s) -> const Counter& { return s.transfers_axfr; }));
  w.sample({{"type", "ixfr"}},
           sum(in, [](const Stats& s) -> const Counter& { return s.transfers_ixfr; }));
  w.sample({{"type", "ixfr_full"}},
           sum(in, [](const Stats& s) -> const Counter& { return s.transfers_ixfr_full; }));
  w.sample({{"type", "ixfr_current"}},
           sum(in, [](const Stats& s) -> const Counter& { return s.transfers_ixfr_current; }));
  w.sample({{"type", "refused"}},
           sum(in, [](const Stats& s) -> const Counter& { return s.transfers_refused; }));
  w.counter("mirrorpool_notify_total",
            "NOTIFY messages to secondaries: tries sent, answered, given up after the last try.");
  w.sample({{"result", "sent"}}, in.notify_sent);
  w.sample({{"result", "answered"}}, in.notify_answered);
  w.sample({{"result", "given_up"}}, in.notify_given_up);

  const auto& served = in.snapshot ? served_pools(*in.snapshot) : std::vector<ServedPool>{};
  w.counter("mirrorpool_pool_answers_total", "Pool answers (A or AAAA with addresses) per pool.");
  for (size_t p = 0; p < served.size(); ++p) {
    const size_t slot = std::min<size_t>(p, std::tuple_size_v<decltype(Stats::pool_answers)> - 1);
    w.sample({{"pool", served[p].name}},
             sum(in, [slot](const Stats& s) -> const Counter& { return s.pool_answers[slot]; }));
  }
  w.counter("mirrorpool_geo_answers_total",
            "Answers of pools with geo on, by how the client was placed (ecs, source, override, "
            "unknown).");
  for (size_t by = 0; by < static_cast<size_t>(geo::PlacedBy::count); ++by) {
    w.sample({{"placed_by", geo::placed_by_name(static_cast<geo::PlacedBy>(by))}},
             sum(in, [by](const Stats& s) -> const Counter& { return s.geo_answers[by]; }));
  }
  if (in.mirror_slots != nullptr) {
    w.counter("mirrorpool_mirror_answers_total",
              "Addresses of each mirror given out in pool answers.");
    const auto& names = in.mirror_slots->names();
    for (size_t slot = 0; slot < names.size(); ++slot) {
      w.sample(
          {{"pool", names[slot].first}, {"mirror", names[slot].second}},
          sum(in, [slot](const Stats& s) -> const Counter& { return s.mirror_answers[slot]; }));
    }
  }
  w.gauge("mirrorpool_pool_served_addresses", "Addresses a pool answers with now, by family.");
  for (const ServedPool& p : served) {
    w.sample({{"pool", p.name}, {"family", "A"}}, p.v4.addresses.size());
    w.sample({{"pool", p.name}, {"family", "AAAA"}}, p.v6.addresses.size());
  }
  w.gauge("mirrorpool_pool_degraded",
          "1 while fewer than min_healthy are healthy (when_all_down applies).");
  for (const ServedPool& p : served) {
    w.sample({{"pool", p.name}, {"family", "A"}}, p.v4.degraded ? 1 : 0);
    w.sample({{"pool", p.name}, {"family", "AAAA"}}, p.v6.degraded ? 1 : 0);
  }
  w.counter("mirrorpool_degraded_episodes_total", "Times a pool family fell below min_healthy.");
  for (const ServedPool& p : served) {
    for (const char* family : {"A", "AAAA"}) {
      const auto it = in.degraded_episodes.find({p.name, family});
      w.sample({{"pool", p.name}, {"family", family}},
               it == in.degraded_episodes.end() ? 0 : it->second);
    }
  }
  if (in.snapshot) {
    w.gauge("mirrorpool_zone_serial", "The SOA serial each zone is answered and transferred with.");
    for (size_t z = 0; z < in.snapshot->zone_count(); ++z) {
      const auto origin = zones::Name::from_wire(in.snapshot->zone(z).apex);
      w.sample({{"zone", origin ? origin->to_text() : "?"}}, in.snapshot->serial(z));
    }
    render_dnssec(w, *in.snapshot);
  }

  const Config& cfg = *in.effective;
  const health::HealthView& health = *in.health;
  w.gauge("mirrorpool_mirror_weight", "Effective weight of each mirror.");
  for (const PoolConfig& pc : cfg.pools) {
    for (const zones::MirrorDef& m : pc.def.mirrors) {
      w.sample({{"pool", pc.def.name.to_text()}, {"mirror", m.id}}, m.weight);
    }
  }
  w.gauge("mirrorpool_mirror_admin_state",
          "1 for the operator's state of each mirror, 0 for the others it could be in.");
  for (const PoolConfig& pc : cfg.pools) {
    for (const zones::MirrorDef& m : pc.def.mirrors) {
      const char* state = m.drained ? "drained" : m.weight == 0 ? "disabled" : "enabled";
      for (const char* each : {"enabled", "disabled", "drained"}) {
        w.sample({{"pool", pc.def.name.to_text()}, {"mirror", m.id}, {"state", each}},
                 std::string_view(state) == each ? 1 : 0);
      }
    }
  }
  // Per address: everything the prober knows.
  struct Row {
    std::string pool, mirror, address;
    const health::TargetHealth* h;
    bool served;
  };
  std::vector<Row> rows;
  for (const PoolConfig& pc : cfg.pools) {
    const std::string pool = pc.def.name.to_text();
    const ServedPool* sp = nullptr;
    for (const ServedPool& p : served) {
      if (p.name == pool) sp = &p;
    }
    for (const zones::MirrorDef& m : pc.def.mirrors) {
      for (const zones::Address& a : m.addresses) {
        const bool is_served =
            sp && contains(a.family == AF_INET ? sp->v4.addresses : sp->v6.addresses, a.text);
        rows.push_back({pool, m.id, a.text, health.find({pool, m.id, a.text}), is_served});
      }
    }
  }
  auto labels = [](const Row& r) {
    return std::array<Label, 3>{Label{"pool", r.pool}, Label{"mirror", r.mirror},
                                Label{"address", r.address}};
  };
  w.gauge("mirrorpool_address_up", "1 when the prober finds the address healthy.");
  for (const Row& r : rows) w.sample(Labels(labels(r)), !r.h || r.h->up ? 1 : 0);
  w.gauge("mirrorpool_address_served", "1 when the address is in the pool's answers now.");
  for (const Row& r : rows) w.sample(Labels(labels(r)), r.served ? 1 : 0);
  w.gauge("mirrorpool_address_last_check_timestamp_seconds", "When the address was last probed.");
  for (const Row& r : rows) {
    if (r.h && r.h->counters.probes > 0) w.sample(Labels(labels(r)), unix_seconds(r.h->last_check));
  }
  w.gauge("mirrorpool_address_last_success_timestamp_seconds", "When a probe last succeeded.");
  for (const Row& r : rows) {
    if (r.h && r.h->last_success.time_since_epoch().count() != 0) {
      w.sample(Labels(labels(r)), unix_seconds(r.h->last_success));
    }
  }
  w.gauge("mirrorpool_address_tls_expiry_timestamp_seconds",
          "When the last certificate an https mirror showed expires, also one that failed "
          "verification.");
  for (const Row& r : rows) {
    if (r.h && r.h->tls_expiry) w.sample(Labels(labels(r)), unix_seconds(*r.h->tls_expiry));
  }
  w.counter("mirrorpool_probes_total", "Probes run per address.");
  for (const Row& r : rows) {
    if (r.h) w.sample(Labels(labels(r)), r.h->counters.probes);
  }
  w.counter("mirrorpool_probe_failures_total", "Failed probes per address, by reason.");
  for (const Row& r : rows) {
    if (!r.h) continue;
    for (const auto& [reason, n] : r.h->counters.failures) {
      const std::array<Label, 4> l{Label{"pool", r.pool}, Label{"mirror", r.mirror},
                                   Label{"address", r.address}, Label{"reason", reason}};
      w.sample(Labels(l), n);
    }
  }
  w.counter("mirrorpool_state_changes_total", "UP/DOWN changes per address.");
  for (const Row& r : rows) {
    if (r.h) w.sample(Labels(labels(r)), r.h->counters.state_changes);
  }
  w.histogram("mirrorpool_probe_duration_seconds", "Probe latency per address.");
  for (const Row& r : rows) {
    if (!r.h) continue;
    const auto& c = r.h->counters;
    Histogram::Reading reading{health::kLatencyBoundsSeconds, {}, c.latency_sum_seconds};
    uint64_t running = 0;
    for (uint64_t n : c.latency_buckets) reading.cumulative.push_back(running += n);
    w.sample(Labels(labels(r)), reading);
  }

  w.counter("mirrorpool_reloads_total", "Reloads (SIGHUP or mirrorpoolctl reload), by result.");
  w.sample({{"result", "success"}}, in.reloads_ok);
  w.sample({{"result", "failure"}}, in.reloads_failed);
  w.gauge("mirrorpool_last_reload_successful",
          "1 when the last reload succeeded (or none was tried).");
  w.sample(in.last_reload_ok ? 1 : 0);
  w.counter("mirrorpool_alerts_total",
            "[[alert]] messages by alert, channel (command, webhook, mail, admin-mail) and "
            "result (sent, failed).");
  for (const auto& [key, n] : in.alert_deliveries) {
    const auto& [alert, channel, result] = key;
    w.sample({{"alert", alert}, {"channel", channel}, {"result", result}}, n);
  }
  w.counter("mirrorpool_journal_write_failures_total",
            "Journal lines that could not be written (full disk, I/O error); the change that "
            "needed one was refused.");
  w.sample(in.journal_failures);
  return w.take();
}

AnswerCounts count_answers(const std::vector<const Stats*>& workers, const Snapshot* snapshot,
                           const MirrorSlots* slots) {
  AnswerCounts counts;
  const auto total = [&](auto get) {
    uint64_t n = 0;
    for (const Stats* s : workers) n += get(*s).get();
    return n;
  };
  if (snapshot != nullptr) {
    const auto& served = served_pools(*snapshot);
    constexpr size_t kPoolSlots = std::tuple_size_v<decltype(Stats::pool_answers)>;
    for (size_t p = 0; p + 1 < kPoolSlots && p < served.size(); ++p) {
      counts.pools[served[p].name] =
          total([p](const Stats& s) -> const Counter& { return s.pool_answers[p]; });
    }
  }
  if (slots != nullptr) {
    const auto& names = slots->names();
    for (size_t slot = 0; slot < names.size(); ++slot) {
      counts.mirrors[names[slot]] =
          total([slot](const Stats& s) -> const Counter& { return s.mirror_answers[slot]; });
    }
  }
  return counts;
}

}  // namespace mirrorpool::dnsd
