// The prober: schedules probe rounds per pool on one libuv loop, runs them
// with bounded concurrency, feeds results through the mass-failure guard and
// each target's state machine, and publishes immutable HealthViews.
//
// A "round" is the unit of the mass-failure rule. Each pool has its own round
// timer whose period is the smallest `interval` among the pool's targets,
// jittered by ±10% so that pools drift apart instead of probing in lockstep.
// A round probes every target that is due (a target with a longer interval
// override is probed every round(interval / pool interval) rounds) and closes
// when every one of its probes has reported; each probe is bounded by its own
// timeout, so a hanging mirror delays only its own pool's verdict, by at most
// that timeout, and never any other probe. Results are applied when the round
// closes, all at once, which is what lets the guard see "most of the pool
// failed in the same round". The next round starts one jittered interval
// after the previous one started (or at once, if the round took longer).
//
// check_now runs the same probes, traced, for one mirror on demand and judges
// them with the same rules, but against copies: it never votes.
//
// One file because rounds, targets, the guard and publication are the
// private parts of one class (Prober::Impl) on one loop; the probes
// themselves (tcp_probe, http_probe), the state machine and the guard
// (mass_failure) are in their own files.
#include "health/prober.hh"

#include <algorithm>
#include <cmath>
#include <deque>
#include <map>
#include <optional>
#include <random>
#include <tuple>

#include <fmt/format.h>

#include "health/freshness.hh"
#include "health/http_client.hh"
#include "health/http_probe.hh"
#include "health/mass_failure.hh"
#include "health/state_machine.hh"
#include "health/tcp_probe.hh"
#include "health/uv_timer.hh"

namespace mirrorpool::health {

namespace {

// Totals for /metrics: every probe, whatever it changed.
void count_probe(ProbeCounters& c, const ProbeResult& result, bool changed_state) {
  ++c.probes;
  if (changed_state) ++c.state_changes;
  if (!result.ok) ++c.failures[result.reason.substr(0, result.reason.find_first_of(" :"))];
  const double seconds = std::chrono::duration<double>(result.latency).count();
  size_t slot = 0;
  while (slot < kLatencyBoundsSeconds.size() && seconds > kLatencyBoundsSeconds[slot]) ++slot;
  ++c.latency_buckets[slot];
  c.latency_sum_seconds += seconds;
}

using Clock = std::chrono::steady_clock;
using std::chrono::milliseconds;

// Enough parallelism for hundreds of mirrors at a 5s interval, few enough
// sockets that a daemon never runs out of descriptors because of probing.
constexpr std::size_t kMaxInFlight = 64;
// Added to the longest timeout before start-up stops waiting for round one.
constexpr milliseconds kFirstRoundGrace{500};
constexpr double kJitter = 0.1;

bool same_check(const CheckSpec& a, const CheckSpec& b) {
  auto fields = [](const CheckSpec& c) {
    return std::tie(c.type, c.port, c.host, c.path, c.expect_status, c.expect_body, c.interval,
                    c.timeout, c.rise, c.fall, c.tls_min_days, c.ca_file, c.mass_failure_rounds,
                    c.freshness.path, c.freshness.reference, c.freshness.max_lag);
  };
  return fields(a) == fields(b);
}

std::string seconds(Clock::duration time) {
  return fmt::format("{:.1f}s", std::chrono::duration<double>(time).count());
}

// Judges a mirror's copy of the freshness file against the reference's
// (nullptr: not fetched this round), moving `tracker`'s clock. Returns the
// failure reason, or nullopt when fresh; `detail` receives the explanation
// mirrorpoolctl check prints.
std::optional<std::string> judge_freshness(const Freshness& spec, const HttpResponse& mine,
                                           const HttpResponse* reference, FreshnessTracker& tracker,
                                           Clock::time_point now, std::string& detail) {
  if (!mine.transferred) {
    detail = fmt::format("GET {}: {}", spec.path, mine.error);
    return fmt::format("freshness: {}", mine.error);
  }
  if (mine.status != 200) {
    detail = fmt::format("GET {} -> {}", spec.path, mine.status);
    return fmt::format("freshness: http {}", mine.status);
  }
  const bool comparable = reference && reference->transferred && reference->status == 200;
  bool stale = false;
  if (comparable) {
    stale = tracker.observe(mine.body == reference->body, now, spec.max_lag);
    const auto lag = tracker.differing_for(now);
    detail =
        lag ? fmt::format("{} differs from {} for {} so far (max_lag {})", spec.path,
                          spec.reference, seconds(*lag), seconds(spec.max_lag))
            : fmt::format("{} same as {} ({} bytes)", spec.path, spec.reference, mine.body.size());
  } else {
    // Without a reference the last verdict stands: an outage of the primary
    // must not make every mirror fresh, or stale.
    stale = tracker.stale();
    const std::string why = !reference               ? std::string("not fetched")
                            : reference->transferred ? fmt::format("http {}", reference->status)
                                                     : reference->error;
    detail = fmt::format("reference {}: {}; keeping the last verdict ({})", spec.reference, why,
                         stale ? "stale" : "fresh");
  }
  if (stale) return "stale";
  return std::nullopt;
}

// Everything the prober knows about one target; survives reloads that leave
// the target's key and check unchanged.
struct TargetState {
  explicit TargetState(Target t, State initial = State::unknown)
      : target(std::move(t)), machine(target.check.rise, target.check.fall, initial) {}
  Target target;
  StateMachine machine;
  FreshnessTracker freshness;
  TargetHealth health;
  bool judged = false;
  // Failures withheld from the state machine during a suspected mass
  // failure; replayed if the failure turns out to be real.
  unsigned held_failures = 0;
  unsigned rounds_since_probe = 0;
};

struct Round {
  struct Probe {
    std::shared_ptr<TargetState> target;
    std::optional<ProbeResult> main;
    bool wants_freshness = false;
    std::optional<HttpResponse> freshness;
  };
  unsigned generation = 0;
  Clock::time_point started;
  std::vector<Probe> probes;
  std::map<std::string, std::optional<HttpResponse>> references;  // by URL
  std::size_t outstanding = 0;
};

struct PoolState {
  PoolState(uv_loop_t* loop, const std::string& name, unsigned mass_failure_rounds)
      : name(name), guard(name, mass_failure_rounds), timer(loop) {}
  std::string name;
  std::vector<std::shared_ptr<TargetState>> targets;
  milliseconds interval{0};
  MassFailureGuard guard;
  UvTimer timer;
  // Bumped for every round and on stop: a completion carrying an older
  // generation belongs to an abandoned round and is dropped.
  unsigned generation = 0;
  std::optional<Round> round;
  bool first_round_done = false;
};

// One address being looked at by check_now: copies of its target and its
// freshness clock, so nothing the rounds own is touched.
struct AddressCheck {
  Target target;
  FreshnessTracker freshness;
  Clock::time_point started;   // when check_now was called
  Clock::time_point launched;  // when the main probe left the queue
  std::optional<ProbeResult> tcp;
  std::optional<HttpResponse> http;
  std::optional<HttpResponse> mine;  // the freshness file
  std::optional<HttpResponse> reference;
  Clock::time_point freshness_done;
  std::size_t outstanding = 0;
};

struct CheckRun {
  std::function<void(std::vector<CheckReport>)> done;
  std::vector<CheckReport> reports;  // by address, filled as each finishes
  std::size_t outstanding = 0;
};

milliseconds since(Clock::time_point from, Clock::time_point to) {
  return std::chrono::duration_cast<milliseconds>(to - from);
}

// Explains one finished AddressCheck; `now` is when its last answer came.
CheckReport report_of(AddressCheck& check, Clock::time_point now) {
  const CheckSpec& spec = check.target.check;
  const std::string& address = check.target.key.address;
  CheckReport report;
  report.key = check.target.key;
  ProbeResult result;
  if (check.tcp) {
    result = *check.tcp;
    const std::string remote = address.find(':') != std::string::npos
                                   ? fmt::format("[{}]:{}", address, spec.port)
                                   : fmt::format("{}:{}", address, spec.port);
    report.steps.push_back({"connect", result.ok,
                            result.ok ? fmt::format("{} in {}ms", remote, result.latency.count())
                                      : fmt::format("{}: {}", remote, result.reason),
                            since(check.started, check.launched) + result.latency});
  } else {
    result = judge_http(spec, *check.http);
    report.steps = http_steps(spec, address, *check.http);
    // curl counts from the start of the fetch, which may have waited in the
    // queue behind a busy round.
    for (auto& step : report.steps) step.at += since(check.started, check.launched);
  }
  if (spec.freshness.enabled()) {
    std::string detail;
    auto failure =
        judge_freshness(spec.freshness, *check.mine, check.reference ? &*check.reference : nullptr,
                        check.freshness, check.freshness_done, detail);
    report.steps.push_back(
        {"freshness", !failure, std::move(detail), since(check.started, check.freshness_done)});
    if (result.ok && failure) {
      result.ok = false;
      result.reason = std::move(*failure);
    }
  }
  report.ok = result.ok;
  report.reason = result.reason;
  report.total = since(check.started, now);
  report.steps.push_back({"result", result.ok, result.reason, report.total});
  return report;
}

}  // namespace

struct Prober::Impl {
  Impl(uv_loop_t* l, PublishFn fn)
      : loop(l), publish(std::move(fn)), tcp(l), http(l), first_round_timer(l) {}

  using Launch = std::function<bool(const std::function<void()>& release)>;

  void set_targets(std::vector<Target> list);
  void start(std::function<void()> done);
  void stop();

  void schedule_round(const std::shared_ptr<PoolState>& pool, milliseconds after);
  void start_round(const std::shared_ptr<PoolState>& pool);
  void enqueue(Launch launch);
  void pump();
  void completed(const std::weak_ptr<PoolState>& weak, unsigned generation);
  void close_round(PoolState& pool);
  ProbeResult with_freshness(TargetState& target, const Round::Probe& probe, const Round& round,
                             Clock::time_point now);
  void rebuild_view();
  void finish_first_round();
  milliseconds jittered(milliseconds interval);
  bool check_now(const std::string& pool, const std::string& mirror,
                 std::function<void(std::vector<CheckReport>)> done);
  void launch_check(const std::shared_ptr<CheckRun>& run, std::size_t index,
                    const std::shared_ptr<AddressCheck>& check);

  uv_loop_t* loop;
  PublishFn publish;
  TcpProber tcp;
  HttpClient http;
  UvTimer first_round_timer;
  std::function<void()> on_first_round;
  bool started = false;
  bool first_round_done = false;
  std::map<TargetKey, std::shared_ptr<TargetState>> targets;
  std::map<std::string, std::shared_ptr<PoolState>> pools;
  std::deque<Launch> queue;
  std::size_t in_flight = 0;
  // Collected until the first round completes, then published together.
  std::vector<Transition> early_transitions;
  std::vector<Notice> early_notices;
  std::shared_ptr<const HealthView> view = std::make_shared<HealthView>();
  std::mt19937 rng{std::random_device{}()};
};

milliseconds Prober::Impl::jittered(milliseconds interval) {
  std::uniform_real_distribution<double> factor(1.0 - kJitter, 1.0 + kJitter);
  return milliseconds(std::llround(static_cast<double>(interval.count()) * factor(rng)));
}

void Prober::Impl::set_targets(std::vector<Target> list) {
  std::map<TargetKey, std::shared_ptr<TargetState>> next_targets;
  std::map<std::string, std::vector<std::shared_ptr<TargetState>>> by_pool;
  for (auto& target : list) {
    auto old = targets.find(target.key);
    std::shared_ptr<TargetState> state;
    if (old != targets.end() && same_check(old->second->target.check, target.check) &&
        old->second->target.family == target.family) {
      state = old->second;
    } else if (!first_round_done) {
      // Nothing is answered before the first round, which judges it.
      state = std::make_shared<TargetState>(std::move(target));
    } else if (old != targets.end() && old->second->judged) {
      // Its check changed: it keeps its state (and counters) and must earn a
      // change of state under the new check like any other.
      const TargetState& was = *old->second;
      state = std::make_shared<TargetState>(std::move(target),
                                            was.machine.is_up() ? State::up : State::down);
      state->health = was.health;
      state->judged = true;
    } else {
      // Added while serving (mirrorpoolctl add, a reload, a weight raised
      // from 0): never answered before it has passed `rise` probes.
      state = std::make_shared<TargetState>(std::move(target), State::down);
      state->health.up = false;
      state->health.reason = std::string(kNotProbedYet);
      state->judged = true;
    }
    if (!next_targets.emplace(state->target.key, state).second) continue;  // duplicate key
    by_pool[state->target.key.pool].push_back(state);
  }

  std::map<std::string, std::shared_ptr<PoolState>> next_pools;
  std::vector<std::shared_ptr<PoolState>> fresh_pools;
  for (auto& [name, members] : by_pool) {
    auto old = pools.find(name);
    if (old != pools.end() && old->second->targets == members) {
      next_pools.emplace(name, old->second);
      continue;
    }
    // A changed pool starts over: its round in flight is abandoned (the
    // probes finish and are ignored) and new targets are probed at once.
    unsigned mass_rounds = 0;
    milliseconds interval = members.front()->target.check.interval;
    for (const auto& member : members) {
      mass_rounds = std::max(mass_rounds, member->target.check.mass_failure_rounds);
      interval = std::min(interval, member->target.check.interval);
    }
    auto pool = std::make_shared<PoolState>(loop, name, mass_rounds);
    pool->targets = members;
    pool->interval = std::max(interval, milliseconds(1));
    // Targets kept from the old pool need no first round again.
    pool->first_round_done = std::all_of(members.begin(), members.end(),
                                         [](const auto& member) { return member->judged; });
    next_pools.emplace(name, pool);
    fresh_pools.push_back(pool);
  }
  targets = std::move(next_targets);
  pools = std::move(next_pools);
  rebuild_view();
  if (started) {
    for (const auto& pool : fresh_pools) schedule_round(pool, milliseconds(0));
  }
}

void Prober::Impl::start(std::function<void()> done) {
  on_first_round = std::move(done);
  started = true;
  milliseconds longest{0};
  for (const auto& [key, target] : targets)
    longest = std::max(longest, target->target.check.timeout);
  for (const auto& [name, pool] : pools) schedule_round(pool, milliseconds(0));
  // With no targets (or all kept across a restart of probing) this fires at
  // once, from the loop, so on_first_round never runs inside start().
  const bool waiting = std::any_of(pools.begin(), pools.end(),
                                   [](const auto& pool) { return !pool.second->first_round_done; });
  first_round_timer.start(waiting ? longest + kFirstRoundGrace : milliseconds(0),
                          [this] { finish_first_round(); });
}

void Prober::Impl::stop() {
  started = false;
  tcp.cancel_all();
  http.cancel_all();
  queue.clear();
  in_flight = 0;
  first_round_timer.stop();
  for (auto& [name, pool] : pools) {
    pool->timer.stop();
    pool->round.reset();
    ++pool->generation;
  }
}

void Prober::Impl::schedule_round(const std::shared_ptr<PoolState>& pool, milliseconds after) {
  std::weak_ptr<PoolState> weak = pool;
  pool->timer.start(after, [this, weak] {
    if (auto pool = weak.lock()) start_round(pool);
  });
}

void Prober::Impl::start_round(const std::shared_ptr<PoolState>& pool) {
  Round round;
  round.generation = ++pool->generation;
  round.started = Clock::now();
  std::map<std::string, CheckSpec> reference_checks;
  for (const auto& target : pool->targets) {
    const CheckSpec& check = target->target.check;
    const auto every =
        std::max<int64_t>(1, std::llround(static_cast<double>(check.interval.count()) /
                                          static_cast<double>(pool->interval.count())));
    if (target->judged && ++target->rounds_since_probe < every) continue;
    target->rounds_since_probe = 0;
    round.probes.push_back({target, std::nullopt, check.freshness.enabled(), std::nullopt});
    if (check.freshness.enabled()) {
      round.references.emplace(check.freshness.reference, std::nullopt);
      reference_checks.emplace(check.freshness.reference, check);
    }
  }
  round.outstanding = round.probes.size() + round.references.size();
  for (const auto& probe : round.probes) round.outstanding += probe.wants_freshness ? 1 : 0;
  if (round.outstanding == 0) {
    schedule_round(pool, jittered(pool->interval));
    return;
  }
  const unsigned generation = round.generation;
  const std::size_t count = round.probes.size();
  pool->round = std::move(round);

  std::weak_ptr<PoolState> weak = pool;
  // The slot of a result in the round, checked against the generation so a
  // late answer from an abandoned round lands nowhere.
  auto round_of = [weak, generation]() -> std::pair<std::shared_ptr<PoolState>, Round*> {
    auto pool = weak.lock();
    if (!pool || !pool->round || pool->round->generation != generation) return {nullptr, nullptr};
    return {pool, &*pool->round};
  };
  for (std::size_t i = 0; i < count; ++i) {
    const Target target = pool->round->probes[i].target->target;
    enqueue([this, round_of, target, i, weak, generation](const std::function<void()>& release) {
      if (!round_of().second) return false;
      auto on_result = [this, round_of, i, weak, generation, release](ProbeResult result) {
        release();
        auto [pool, round] = round_of();
        if (!round) return;
        round->probes[i].main = std::move(result);
        completed(weak, generation);
      };
      if (target.check.type == CheckType::tcp) {
        tcp.probe(target.key.address, target.check.port, target.check.timeout, on_result);
      } else {
        http.fetch(make_probe_request(target.check, target.key.address, target.check.path),
                   [check = target.check, on_result](const HttpResponse& response) {
                     on_result(judge_http(check, response));
                   });
      }
      return true;
    });
    if (!pool->round->probes[i].wants_freshness) continue;
    enqueue([this, round_of, target, i, weak, generation](const std::function<void()>& release) {
      if (!round_of().second) return false;
      const CheckSpec& check = target.check;
      // The freshness file is fetched like the probe path, over https only
      // when the check itself is https.
      http.fetch(make_probe_request(check, target.key.address, check.freshness.path),
                 [this, round_of, i, weak, generation, release](HttpResponse response) {
                   release();
                   auto [pool, round] = round_of();
                   if (!round) return;
                   round->probes[i].freshness = std::move(response);
                   completed(weak, generation);
                 });
      return true;
    });
  }
  for (const auto& reference : reference_checks) {
    const std::string url = reference.first;
    enqueue([this, round_of, url, request = make_reference_request(reference.second), weak,
             generation](const std::function<void()>& release) {
      if (!round_of().second) return false;
      http.fetch(request, [this, round_of, url, weak, generation, release](HttpResponse response) {
        release();
        auto [pool, round] = round_of();
        if (!round) return;
        round->references[url] = std::move(response);
        completed(weak, generation);
      });
      return true;
    });
  }
}

void Prober::Impl::enqueue(Launch launch) {
  queue.push_back(std::move(launch));
  pump();
}

void Prober::Impl::pump() {
  while (in_flight < kMaxInFlight && !queue.empty()) {
    Launch launch = std::move(queue.front());
    queue.pop_front();
    ++in_flight;
    // Released exactly once, by the probe's completion; probes of abandoned
    // rounds are not launched at all.
    if (!launch([this] {
          if (in_flight > 0) --in_flight;
          pump();
        }))
      --in_flight;
  }
}

void Prober::Impl::completed(const std::weak_ptr<PoolState>& weak, unsigned generation) {
  auto pool = weak.lock();
  if (!pool || !pool->round || pool->round->generation != generation) return;
  if (--pool->round->outstanding == 0) close_round(*pool);
}

ProbeResult Prober::Impl::with_freshness(TargetState& target, const Round::Probe& probe,
                                         const Round& round, Clock::time_point now) {
  ProbeResult result = *probe.main;
  if (!result.ok || !probe.wants_freshness || !probe.freshness) return result;
  const Freshness& spec = target.target.check.freshness;
  auto ref = round.references.find(spec.reference);
  const HttpResponse* reference =
      ref != round.references.end() && ref->second ? &*ref->second : nullptr;
  std::string detail;
  if (auto failure =
          judge_freshness(spec, *probe.freshness, reference, target.freshness, now, detail)) {
    result.ok = false;
    result.reason = std::move(*failure);
  }
  return result;
}

void Prober::Impl::close_round(PoolState& pool) {
  Round round = std::move(*pool.round);
  pool.round.reset();
  const auto now = Clock::now();
  const auto wall = std::chrono::system_clock::now();

  std::vector<ProbeResult> results;
  results.reserve(round.probes.size());
  std::size_t failed_while_up = 0;
  for (const auto& probe : round.probes) {
    results.push_back(with_freshness(*probe.target, probe, round, now));
    // A target's first result is not a failure "while up": there is no
    // previous state to keep, and the first answer must be measured.
    if (!results.back().ok && probe.target->judged && probe.target->machine.is_up())
      ++failed_while_up;
  }
  const MassFailureVerdict verdict = pool.guard.judge(round.probes.size(), failed_while_up);

  std::vector<Transition> transitions;
  bool changed = false;
  for (std::size_t i = 0; i < round.probes.size(); ++i) {
    TargetState& target = *round.probes[i].target;
    const ProbeResult& result = results[i];
    const bool was_up = target.machine.is_up();
    std::optional<StateChange> change;
    if (result.ok) {
      target.held_failures = 0;
      change = target.machine.observe(true, result.reason);
    } else if (verdict.hold && target.judged && was_up) {
      ++target.held_failures;
    } else {
      // Failures held back earlier count now that they are believed.
      const unsigned failures = target.held_failures + 1;
      target.held_failures = 0;
      for (unsigned n = 0; n < failures; ++n) {
        if (auto c = target.machine.observe(false, result.reason)) change = std::move(c);
      }
    }
    target.judged = true;

    TargetHealth& health = target.health;
    const TargetHealth before = health;
    health.up = target.machine.is_up();
    health.last_check = wall;
    health.latency = result.latency;
    if (result.tls_expiry) health.tls_expiry = result.tls_expiry;
    if (round.probes[i].wants_freshness && target.freshness.compared()) {
      health.freshness_lag = std::chrono::duration_cast<std::chrono::seconds>(
          target.freshness.differing_for(now).value_or(Clock::duration::zero()));
    }
    if (result.ok) health.last_success = wall;
    count_probe(health.counters, result, was_up != health.up);
    // A down target keeps the reason it went down for until it is up again.
    if (!result.ok || health.up) health.reason = result.reason;
    changed = changed || before.up != health.up || before.reason != health.reason ||
              before.tls_expiry != health.tls_expiry;
    if (was_up != health.up) {
      transitions.push_back(
          Transition{target.target.key, health.up, change ? change->reason : result.reason, wall});
    }
  }
  std::vector<Notice> notices;
  if (verdict.notice) notices.push_back(Notice{pool.name, *verdict.notice, verdict.doubt_began});

  rebuild_view();
  const auto next = jittered(pool.interval) -
                    std::chrono::duration_cast<milliseconds>(Clock::now() - round.started);
  for (auto& [name, state] : pools) {
    if (state.get() == &pool) schedule_round(state, std::max(next, milliseconds(0)));
  }
  pool.first_round_done = true;

  // Publishing runs daemon code, which may reload targets: nothing below
  // touches `pool` again.
  if (!first_round_done) {
    std::move(transitions.begin(), transitions.end(), std::back_inserter(early_transitions));
    std::move(notices.begin(), notices.end(), std::back_inserter(early_notices));
    const bool all_done = std::all_of(pools.begin(), pools.end(),
                                      [](const auto& p) { return p.second->first_round_done; });
    if (all_done) finish_first_round();
    return;
  }
  if (changed || !transitions.empty() || !notices.empty())
    publish(view, std::move(transitions), std::move(notices));
}

void Prober::Impl::rebuild_view() {
  std::map<TargetKey, TargetHealth> healths;
  for (const auto& [key, target] : targets) {
    if (target->judged) healths.emplace(key, target->health);
  }
  view = std::make_shared<const HealthView>(std::move(healths));
}

void Prober::Impl::finish_first_round() {
  if (first_round_done) return;
  first_round_done = true;
  first_round_timer.stop();
  auto transitions = std::move(early_transitions);
  auto notices = std::move(early_notices);
  early_transitions.clear();
  early_notices.clear();
  auto done = std::move(on_first_round);
  on_first_round = nullptr;
  publish(view, std::move(transitions), std::move(notices));
  if (done) done();
}

bool Prober::Impl::check_now(const std::string& pool, const std::string& mirror,
                             std::function<void(std::vector<CheckReport>)> done) {
  const auto started = Clock::now();
  std::vector<std::shared_ptr<AddressCheck>> checks;
  for (auto it = targets.lower_bound(TargetKey{pool, mirror, ""});
       it != targets.end() && it->first.pool == pool && it->first.mirror == mirror; ++it) {
    auto check = std::make_shared<AddressCheck>();
    check->target = it->second->target;
    check->freshness = it->second->freshness;
    check->started = started;
    checks.push_back(std::move(check));
  }
  if (checks.empty()) return false;
  auto run = std::make_shared<CheckRun>();
  run->done = std::move(done);
  run->reports.resize(checks.size());
  run->outstanding = checks.size();
  for (std::size_t i = 0; i < checks.size(); ++i) launch_check(run, i, checks[i]);
  return true;
}

void Prober::Impl::launch_check(const std::shared_ptr<CheckRun>& run, std::size_t index,
                                const std::shared_ptr<AddressCheck>& check) {
  const CheckSpec& spec = check->target.check;
  const std::string& address = check->target.key.address;
  check->outstanding = spec.freshness.enabled() ? 3 : 1;
  // Runs once per answer; the last answer of the last address reports.
  auto answered = [run, index, check] {
    if (--check->outstanding > 0) return;
    run->reports[index] = report_of(*check, Clock::now());
    if (--run->outstanding > 0) return;
    auto done = std::move(run->done);
    done(std::move(run->reports));
  };
  enqueue([this, check, answered](const std::function<void()>& release) {
    check->launched = Clock::now();
    const CheckSpec& spec = check->target.check;
    if (spec.type == CheckType::tcp) {
      tcp.probe(check->target.key.address, spec.port, spec.timeout,
                [check, answered, release](ProbeResult result) {
                  release();
                  check->tcp = std::move(result);
                  answered();
                });
    } else {
      HttpRequest request = make_probe_request(spec, check->target.key.address, spec.path);
      request.trace = true;
      http.fetch(request, [check, answered, release](HttpResponse response) {
        release();
        check->http = std::move(response);
        answered();
      });
    }
    return true;
  });
  if (!spec.freshness.enabled()) return;
  // Both freshness fetches are this address's own: a look at one mirror
  // must not wait for, or share, another's.
  auto fetch = [this, check, answered](HttpRequest request,
                                       std::optional<HttpResponse> AddressCheck::*slot) {
    enqueue([this, check, answered, request, slot](const std::function<void()>& release) {
      http.fetch(request, [check, answered, release, slot](HttpResponse response) {
        release();
        (*check).*slot = std::move(response);
        check->freshness_done = Clock::now();
        answered();
      });
      return true;
    });
  };
  fetch(make_probe_request(spec, address, spec.freshness.path), &AddressCheck::mine);
  fetch(make_reference_request(spec), &AddressCheck::reference);
}

Prober::Prober(uv_loop_t* loop, PublishFn publish)
    : impl_(std::make_unique<Impl>(loop, std::move(publish))) {}

Prober::~Prober() {
  impl_->stop();
}

void Prober::set_targets(std::vector<Target> targets) {
  impl_->set_targets(std::move(targets));
}

void Prober::start(std::function<void()> on_first_round) {
  impl_->start(std::move(on_first_round));
}

void Prober::stop() {
  impl_->stop();
}

std::shared_ptr<const HealthView> Prober::view() const {
  return impl_->view;
}

bool Prober::check_now(const std::string& pool, const std::string& mirror_id,
                       std::function<void(std::vector<CheckReport>)> done) {
  return impl_->check_now(pool, mirror_id, std::move(done));
}

}  // namespace mirrorpool::health
