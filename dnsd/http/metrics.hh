// What /metrics shows (Prometheus text format): query counters summed over
// the workers, what each pool serves, each mirror's and address's state,
// probe totals and latency, degraded episodes, reloads, transfers and NOTIFY. Built on
// the main loop when scraped; never touches the query path.
#pragma once

#include <cstdint>
#include <map>
#include <string>
#include <tuple>
#include <utility>
#include <vector>

#include "dnsd/config/config.hh"
#include "dnsd/query/stats.hh"
#include "dnsd/snapshot/snapshot.hh"
#include "health/health_view.hh"

namespace mirrorpool::dnsd {

struct MetricsInputs {
  std::vector<const Stats*> workers;
  const Config* effective = nullptr;
  const Snapshot* snapshot = nullptr;  // null before the first one
  const health::HealthView* health = nullptr;
  DegradedEpisodes degraded_episodes;
  uint64_t reloads_ok = 0;
  uint64_t reloads_failed = 0;
  bool last_reload_ok = true;
  uint64_t journal_failures = 0;
  // NOTIFY messages to secondaries (notifier.hh): tries sent, answered, and
  // given up on after the last try.
  uint64_t notify_sent = 0;
  uint64_t notify_answered = 0;
  uint64_t notify_given_up = 0;
  // [[alert]] messages: (alert, channel, "sent" or "failed") → count.
  std::map<std::tuple<std::string, std::string, std::string>, uint64_t> alert_deliveries;
  // Who each slot of Stats::mirror_answers counts for; null: not shown.
  const MirrorSlots* mirror_slots = nullptr;
};

std::string render_metrics(const MetricsInputs& in);

// Pool answers and each mirror's addresses given out in them, summed over the
// workers: the counters of mirrorpool_pool_answers_total and
// mirrorpool_mirror_answers_total, for the status page's share of answers. A
// pool or mirror past the last counter slot (which counts all of those
// together) is left out rather than given a shared count.
struct AnswerCounts {
  std::map<std::string, uint64_t> pools;                            // by pool name as text
  std::map<std::pair<std::string, std::string>, uint64_t> mirrors;  // by (pool, mirror id)
};
AnswerCounts count_answers(const std::vector<const Stats*>& workers, const Snapshot* snapshot,
                           const MirrorSlots* slots);

}  // namespace mirrorpool::dnsd
