// Operations: every control command, decided and persisted. One file because
// each mutating command ends in the same commit (preview snapshot, journal
// line, state file, undo on failure) over Operations' private state; the
// read-only commands (status, history, check, export) are short and read
// that same state. Split by command it would scatter one invariant.
#include "dnsd/control/operations.hh"

#include <algorithm>
#include <array>
#include <cerrno>
#include <chrono>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <set>

#include <fmt/core.h>

#include "dnsd/common/duration.hh"
#include "dnsd/common/log.hh"
#include "dnsd/common/utc_time.hh"
#include "dnsd/config/mirror_notes.hh"
#include "dnsd/config/mirrors_json_export.hh"
#include "dnsd/config/model_loader.hh"
#include "dnsd/control/locate.hh"
#include "dnsd/state/effective_config.hh"
#include "dnsd/state/reliability.hh"
#include "dnsd/state/uptime.hh"
#include "health/probe_result.hh"

namespace mirrorpool::dnsd {

namespace {

using nlohmann::json;

// History answers are for people; a year of a busy pool is still readable.
constexpr size_t kMaxHistoryEntries = 5000;

// The windows of each mirror's uptime in status, and the days of its picture.
constexpr std::array<std::pair<const char*, std::chrono::hours>, 3> kUptimeWindows = {{
    {"24h", std::chrono::hours(24)},
    {"7d", std::chrono::hours(24 * 7)},
    {"30d", std::chrono::hours(24 * 30)},
}};
constexpr int kUptimeDays = 30;

TimePoint now() {
  return std::chrono::system_clock::now();
}

std::string journal_path(const std::string& state_dir) {
  return state_dir + "/journal.log";
}

json served_family(const ServedFamily& family) {
  return family.addresses;
}

const ServedPool* find_served(const Snapshot& snapshot, const std::string& pool) {
  for (const ServedPool& p : served_pools(snapshot)) {
    if (p.name == pool) return &p;
  }
  return nullptr;
}

json answer_sets(const ServedPool* pool) {
  if (pool == nullptr) return {{"A", json::array()}, {"AAAA", json::array()}};
  return {{"A", served_family(pool->v4)}, {"AAAA", served_family(pool->v6)}};
}

const char* policy_name(zones::WhenAllDown policy) {
  switch (policy) {
    case zones::WhenAllDown::serve_all:
      return "serve-all";
    case zones::WhenAllDown::serve_last_good:
      return "serve-last-good";
    case zones::WhenAllDown::servfail:
      return "servfail";
    case zones::WhenAllDown::nodata:
      return "nodata";
  }
  return "?";
}

// "dl.pool.example" and "dl.pool.example." both name that pool.
bool names_pool(const PoolConfig& pool, const std::string& name) {
  const std::string text = pool.def.name.to_text();
  return text == name || text == name + ".";
}

// A mirror with a history is as old as its oldest journal entry, even when
// the state file was lost or the journal was carried over from elsewhere.
// true when a first-seen time was added or moved back.
bool first_seen_from_journal(AdminState& state, const std::vector<JournalEntry>& journal) {
  bool changed = false;
  for (const JournalEntry& e : journal) {
    if (e.mirror.empty()) continue;
    auto [it, inserted] = state.first_seen.emplace(MirrorKey{e.pool, e.mirror}, e.time);
    if (!inserted && e.time < it->second) {
      it->second = e.time;
      changed = true;
    }
    changed |= inserted;
  }
  return changed;
}

// Every mirror's weight, pool by pool: all that a health transition can
// change in the effective config.
std::vector<uint32_t> mirror_weights(const Config& config) {
  std::vector<uint32_t> weights;
  for (const PoolConfig& pool : config.pools) {
    for (const zones::MirrorDef& m : pool.def.mirrors) weights.push_back(m.weight);
  }
  return weights;
}

bool contains(const std::vector<std::string>& list, const std::string& item) {
  for (const std::string& x : list) {
    if (x == item) return true;
  }
  return false;
}

}  // namespace

Operations::Operations(Hooks hooks) : hooks_(std::move(hooks)) {}

bool Operations::open(const std::string& state_dir, std::string& error) {
  state_dir_ = state_dir;
  std::error_code ec;
  std::filesystem::create_directories(state_dir, ec);
  if (ec) {
    error = fmt::format("state_dir {}: {}", state_dir, ec.message());
    return false;
  }
  std::string load_error;
  switch (load_admin_state(state_dir, state_, load_error)) {
    case LoadStatus::ok:
    case LoadStatus::missing:
      break;
    case LoadStatus::corrupt: {
      // Keep the damaged file for inspection; the next save writes a good one.
      const std::string path = admin_state_path(state_dir);
      std::rename(path.c_str(), (path + ".corrupt").c_str());
      log(LogLevel::error,
          "{}; starting from the config file alone (the damaged file is kept as {})", load_error,
          path + ".corrupt");
      state_ = AdminState{};
      break;
    }
  }
  std::vector<std::string> warnings;
  std::vector<JournalEntry> all;
  if (!Journal::read_all(journal_path(state_dir), {}, all, warnings, error)) return false;
  // First-seen times come from the whole journal; then only the months
  // reliability looks back on stay in memory.
  const bool seen_changed = first_seen_from_journal(state_, all);
  const TimePoint keep_from = now() - kTwelveMonths;
  for (JournalEntry& e : all) {
    if (e.time >= keep_from) history_.push_back(std::move(e));
  }
  std::string save_error;
  if (seen_changed && !save_admin_state(state_dir, state_, save_error)) {
    log(LogLevel::error, "{}", save_error);
  }
  for (const std::string& w : warnings) log(LogLevel::warning, "{}", w);
  journal_ = Journal::open(journal_path(state_dir), error);
  return journal_ != nullptr;
}

void Operations::release_zone_records() {
  if (file_model_) {
    file_model_ = std::make_shared<const zones::Model>(zones::without_records(*file_model_));
  }
}

Config Operations::compute_effective(const AdminState& state,
                                     std::vector<std::string>& warnings) const {
  return apply_admin(file_config_, state, history_, now(), warnings);
}

Change Operations::set_file_config(const Config& file_config,
                                   std::shared_ptr<const zones::Model> file_model) {
  file_config_ = file_config;
  file_model_ = std::move(file_model);
  uses_reliability_ = false;
  for (const PoolConfig& pool : file_config_.pools) {
    uses_reliability_ |= pool.weight_policy == WeightPolicy::reliability;
  }
  // Before the weights are computed: imported failures count at once.
  import_notes();
  Change change;
  change.model = refresh_effective();
  change.targets = probe_targets(effective_);
  return change;
}

std::shared_ptr<const zones::Model> Operations::refresh_effective() {
  const bool seen_changed = first_seen_from_journal(state_, history_);
  const std::vector<MirrorKey> forgotten = forget_removals(state_, file_config_);
  for (const MirrorKey& key : forgotten) {
    log(LogLevel::info,
        "the run-time removal of {} from {} is forgotten: the config no longer defines it "
        "(put back in the config, it is served again)",
        key.mirror, key.pool);
  }
  if (record_first_seen(state_, file_config_, now()) || seen_changed || !forgotten.empty()) {
    std::string error;
    if (!save_admin_state(state_dir_, state_, error)) log(LogLevel::error, "{}", error);
  }
  std::vector<std::string> warnings;
  Config effective = compute_effective(state_, warnings);
  for (const std::string& w : unsaid(warnings, true)) log(LogLevel::warning, "state: {}", w);
  zones::Diagnostics diags;
  auto model = with_pools(*file_model_, effective, diags);
  if (!model) {
    // Cannot happen for state apply_admin accepted; serve the file as written.
    for (const auto& d : diags) log(LogLevel::error, "state: {}", d.to_string());
    effective = file_config_;
    model = file_model_;
  }
  effective_ = std::move(effective);
  return model;
}

void Operations::import_notes() {
  const TimePoint at = now();
  const TimePoint keep_from = at - kTwelveMonths;
  bool seen_changed = false;
  for (const PoolConfig& pool : file_config_.pools) {
    const std::string name = pool.def.name.to_text();
    for (const zones::MirrorDef& m : pool.def.mirrors) {
      if (m.notes.empty()) continue;
      const MirrorNotes notes = read_mirror_notes(m.notes);
      for (const NoteFailure& f : notes.failures) {
        // Older ones change no weight or rule; a future day is a typo.
        if (f.day < keep_from || f.day > at) continue;
        // Imported at every start and reload: once per day and mirror, even
        // when the operator rewords the reason.
        const bool known =
            std::any_of(history_.begin(), history_.end(), [&](const JournalEntry& e) {
              return e.who == kWhoNotes && e.time == f.day && e.pool == name && e.mirror == m.id;
            });
        if (known) continue;
        std::string error;  // logged and counted by append; the notes stay as text
        append(JournalEntry{f.day, std::string(kWhoNotes), JournalKind::health, name, m.id, "",
                            std::string(kHealthDown), f.reason},
               error);
      }
      if (notes.added) {
        auto [it, inserted] = state_.first_seen.emplace(MirrorKey{name, m.id}, *notes.added);
        if (!inserted && *notes.added < it->second) {
          it->second = *notes.added;
          inserted = true;
        }
        seen_changed |= inserted;
      }
    }
  }
  std::string error;
  if (seen_changed && !save_admin_state(state_dir_, state_, error)) {
    log(LogLevel::error, "{}", error);
  }
}

std::vector<std::string> Operations::unsaid(const std::vector<std::string>& warnings,
                                            bool remember) {
  std::vector<std::string> out;
  for (const std::string& w : warnings) {
    if (!said_.contains(w)) out.push_back(w);
  }
  if (remember) said_ = {warnings.begin(), warnings.end()};
  return out;
}

bool Operations::append(const JournalEntry& entry, std::string& error) {
  if (!journal_->append(entry, error)) {
    ++journal_failures_;
    log(LogLevel::error, "journal: {}", error);
    return false;
  }
  history_.push_back(entry);
  forget_old_history(entry.time);
  return true;
}

void Operations::forget_old_history(TimePoint now) {
  // Reliability looks back twelve months (reliability.hh); history reads the
  // file. Trimmed a month at a time, so the copy is rare.
  const TimePoint keep_from = now - kTwelveMonths;
  if (history_.empty() || history_.front().time >= keep_from - std::chrono::days(31)) return;
  std::erase_if(history_, [&](const JournalEntry& e) { return e.time < keep_from; });
}

bool Operations::record_event(JournalKind kind, const std::string& what, std::string& error) {
  return append(JournalEntry{now(), "daemon", kind, "", "", "", what, ""}, error);
}

Change Operations::record_transitions(const std::vector<health::Transition>& transitions) {
  std::string error;  // logged and counted by append; a probe result has no one to tell
  for (const health::Transition& t : transitions) {
    append(
        JournalEntry{t.when, std::string(kWhoHealth), JournalKind::health, t.key.pool, t.key.mirror,
                     t.key.address, std::string(t.up ? kHealthUp : kHealthDown), t.reason},
        error);
  }
  // A failure lowers a reliability weight at once; recovery does not raise it.
  Change change;
  if (!uses_reliability_ || transitions.empty()) return change;
  const std::vector<uint32_t> before = mirror_weights(effective_);
  auto model = refresh_effective();
  if (mirror_weights(effective_) != before) change.model = std::move(model);
  return change;
}

std::optional<Operations::Target> Operations::find_mirror(const ControlArgs& args,
                                                          const ControlServer::Reply& reply) const {
  const std::string& id = args.mirror;
  const std::string& pool = args.pool;
  std::optional<Target> found;
  int matches = 0;
  for (const PoolConfig& pc : effective_.pools) {
    if (!pool.empty() && !names_pool(pc, pool)) continue;
    for (const zones::MirrorDef& m : pc.def.mirrors) {
      if (m.id == id) {
        found = Target{pc.def.name.to_text(), m.id, &m};
        ++matches;
      }
    }
  }
  if (matches == 1) return found;
  reply(control_error(
      matches == 0 ? fmt::format("no mirror '{}'{}", id, pool.empty() ? "" : " in pool " + pool)
                   : fmt::format("mirror id '{}' is in several pools: name one with --pool", id)));
  return std::nullopt;
}

void Operations::commit(AdminState next, JournalEntry entry, const std::string& pool,
                        const ControlArgs& args, const std::string& message, const Served& served,
                        const ControlServer::Reply& reply) {
  std::vector<std::string> warnings;
  Config effective = compute_effective(next, warnings);
  zones::Diagnostics diags;
  auto model = with_pools(*file_model_, effective, diags);
  if (!model) {
    json details = json::array();
    for (const auto& d : diags) details.push_back(d.to_string());
    reply(control_error("the change does not validate", details));
    return;
  }
  // Addresses the change gives the prober (added mirrors) are not answered
  // before their first probes: the candidate counts them down.
  std::set<health::TargetKey> probed;
  for (const health::Target& t : probe_targets(effective_)) probed.insert(t.key);
  std::vector<health::Target> targets = probe_targets(effective);
  std::vector<health::TargetKey> unprobed;
  for (const health::Target& t : targets) {
    if (!probed.contains(t.key)) unprobed.push_back(t.key);
  }
  const auto& current = served.snapshot;
  auto candidate = build_snapshot(*model, served.health->with_unprobed_down(unprobed),
                                  current.get(), served.options);
  const ServedPool* before = find_served(*current, pool);
  const ServedPool* after = find_served(*candidate, pool);
  if (!args.force) {
    for (const ServedPool& p : served_pools(*candidate)) {
      const ServedPool* was = find_served(*current, p.name);
      for (const auto& [name, fam, old] : {std::tuple{"A", &p.v4, was ? &was->v4 : nullptr},
                                           std::tuple{"AAAA", &p.v6, was ? &was->v6 : nullptr}}) {
        if (fam->degraded && !(old && old->degraded)) {
          const auto def =
              std::find_if(model->pools.begin(), model->pools.end(),
                           [&](const zones::PoolDef& d) { return d.name.to_text() == p.name; });
          reply(control_error(fmt::format(
              "refused: pool {} would have {} healthy {} address(es), below min_healthy = {}; "
              "use --force to do it anyway",
              p.name, fam->healthy, name, def != model->pools.end() ? def->min_healthy : 1)));
          return;
        }
      }
    }
  }
  // Only what this change brings: state skipped before it was said then.
  const std::vector<std::string> fresh = unsaid(warnings, false);
  json result = {{"message", message},
                 {"pool", pool},
                 {"before", answer_sets(before)},
                 {"after", answer_sets(after)},
                 {"dry_run", args.dry_run},
                 {"warnings", fresh}};
  if (args.dry_run) {
    reply(control_ok(result));
    return;
  }
  // Both halves or neither: the journal line first, then the state; a state
  // that cannot be saved takes its journal line back. Only then is the
  // change acknowledged, so every acknowledged change survives a restart.
  std::string error;
  if (!append(entry, error)) {
    reply(control_error("not changed: journal: " + error));
    return;
  }
  if (!save_admin_state(state_dir_, next, error)) {
    std::string undo_error;
    if (journal_->undo_last(undo_error)) {
      history_.pop_back();
    } else {
      log(LogLevel::error, "journal: {}", undo_error);
    }
    reply(control_error("not changed: " + error));
    return;
  }
  state_ = std::move(next);
  effective_ = std::move(effective);
  unsaid(warnings, true);
  for (const std::string& w : fresh) log(LogLevel::warning, "state: {}", w);
  // What was checked is what is served: the candidate is not built again.
  hooks_.apply(Change{std::move(model), std::move(targets), nullptr, std::move(candidate), current,
                      std::nullopt, std::nullopt});
  log(LogLevel::info, "{} by {}{}", message, entry.who,
      entry.reason.empty() ? "" : ": " + entry.reason);
  reply(control_ok(result));
}

void Operations::handle(const ControlRequest& request, const Served& served,
                        ControlServer::Reply reply) {
  const Command command = request.call.command;
  // Changes compare answer sets before and after: there are none to compare
  // until the first probe round has been published.
  if (!served.snapshot && command != Command::status && command != Command::history &&
      command != Command::check) {
    reply(control_error("not serving yet: the first probe round is still running"));
    return;
  }
  switch (command) {
    case Command::status:
      reply(control_ok(status(served)));
      return;
    case Command::drain:
    case Command::undrain:
      cmd_drain(request, command == Command::drain, served, reply);
      return;
    case Command::set_weight:
      cmd_set_weight(request, served, reply);
      return;
    case Command::add:
      cmd_add(request, served, reply);
      return;
    case Command::remove:
      cmd_remove(request, served, reply);
      return;
    case Command::check:
      cmd_check(request, reply);
      return;
    case Command::history:
      cmd_history(request, reply);
      return;
    case Command::export_mirrors_json:
      cmd_export(request, served, reply);
      return;
    case Command::reload:
      cmd_reload(reply);
      return;
    case Command::locate: {
      std::string error;
      auto report = locate_report(request.call.args.address, request.call.args.pool,
                                  *served.snapshot, effective_.pools, *served.health, error);
      reply(report ? control_ok(std::move(*report)) : control_error(error));
      return;
    }
    case Command::dnssec_status:
    case Command::dnssec_ds:
    case Command::dnssec_rollover:
    case Command::dnssec_ds_seen:
      reply(dnssec_command(request.call, *served.snapshot, hooks_.dnssec,
                           std::chrono::system_clock::to_time_t(now())));
      return;
  }
}

void Operations::cmd_reload(const ControlServer::Reply& reply) {
  zones::Diagnostics diags;
  if (hooks_.reload(diags)) {
    reply(control_ok({{"message", fmt::format("reloaded {}", file_config_.path)}}));
    return;
  }
  json details = json::array();
  for (const auto& d : diags) details.push_back(d.to_string());
  reply(control_error(
      fmt::format("reload failed with {} error(s); still serving the previous data", diags.size()),
      details));
}

void Operations::cmd_drain(const ControlRequest& request, bool drain, const Served& served,
                           const ControlServer::Reply& reply) {
  const ControlArgs& args = request.call.args;
  const auto t = find_mirror(args, reply);
  if (!t) return;
  const auto& [pool, id, mirror] = *t;
  const std::string& note = args.note;
  AdminState next = state_;
  MirrorOverride& o = next.mirrors[{pool, id}];
  if (o.drained == drain) {
    reply(control_error(fmt::format("{} is {}", id, drain ? "already drained" : "not drained")));
    return;
  }
  o.drained = drain;
  o.note = note;
  o.who = request.who();
  o.when = now();
  if (!o.drained && !o.weight) next.mirrors.erase({pool, id});
  commit(std::move(next),
         {now(), request.who(), drain ? JournalKind::drain : JournalKind::undrain, pool, id, "",
          drain ? "drained" : "undrained", note},
         pool, args, fmt::format("{} {} in {}", drain ? "drained" : "undrained", id, pool), served,
         reply);
}

void Operations::cmd_set_weight(const ControlRequest& request, const Served& served,
                                const ControlServer::Reply& reply) {
  const ControlArgs& args = request.call.args;
  const auto t = find_mirror(args, reply);
  if (!t) return;
  const uint32_t weight = args.weight;
  const auto& [pool, id, mirror] = *t;
  AdminState next = state_;
  next.mirrors[{pool, id}].weight = weight;
  commit(std::move(next),
         {now(), request.who(), JournalKind::set_weight, pool, id, "",
          fmt::format("weight {}→{}", mirror->weight, weight), args.note},
         pool, args, fmt::format("weight of {} in {} set to {}", id, pool, weight), served, reply);
}

void Operations::cmd_add(const ControlRequest& request, const Served& served,
                         const ControlServer::Reply& reply) {
  const ControlArgs& args = request.call.args;
  const std::string& pool_arg = args.pool;
  const PoolConfig* pool = nullptr;
  for (const PoolConfig& p : effective_.pools) {
    if (names_pool(p, pool_arg)) pool = &p;
  }
  if (pool == nullptr) {
    reply(control_error(fmt::format("no pool '{}'", pool_arg)));
    return;
  }
  AddedMirror added;
  added.pool = pool->def.name.to_text();
  added.id = args.id;
  added.weight = args.weight;
  added.who = request.who();
  added.when = now();
  added.check_overrides = args.check;
  added.addresses = args.addresses;
  added.url_prefix = args.url_prefix;
  added.email = args.email;
  for (const zones::MirrorDef& m : pool->def.mirrors) {
    if (m.id == added.id) {
      reply(control_error(fmt::format("pool {} already has a mirror '{}'", added.pool, added.id)));
      return;
    }
  }
  // apply_admin would skip a mirror that cannot join the pool, with a
  // warning about the state file: for the operator it is an error of add.
  zones::MirrorDef mirror;
  health::CheckSpec check;
  if (auto why = added_mirror_problem(*pool, added, "--check:", mirror, check)) {
    reply(control_error(fmt::format("cannot add {} to {}: {}", added.id, added.pool, *why)));
    return;
  }
  AdminState next = state_;
  // A mirror of the config file removed at run time stays removed when a new
  // one takes its id: with both, the new one would be skipped at every change
  // for clashing with the file's.
  const bool replaces = next.removed.contains({added.pool, added.id});
  next.added.push_back(added);
  std::string addresses;
  for (const std::string& a : added.addresses) addresses += (addresses.empty() ? "" : " ") + a;
  commit(std::move(next),
         {now(), request.who(), JournalKind::add, added.pool, added.id, "",
          fmt::format("added {} weight {}", addresses, added.weight), args.note},
         added.pool, args,
         fmt::format("added {} to {}{}", added.id, added.pool,
                     replaces ? " in place of the config file's mirror of that id, removed at run "
                                "time"
                              : ""),
         served, reply);
}

void Operations::cmd_remove(const ControlRequest& request, const Served& served,
                            const ControlServer::Reply& reply) {
  const ControlArgs& args = request.call.args;
  const auto t = find_mirror(args, reply);
  if (!t) return;
  const auto& [pool, id, mirror] = *t;
  AdminState next = state_;
  // A mirror added at run time is simply forgotten; one from the config file
  // is remembered as removed.
  const auto before = next.added.size();
  std::erase_if(next.added, [&](const AddedMirror& a) { return a.pool == pool && a.id == id; });
  if (next.added.size() == before) next.removed.insert({pool, id});
  next.mirrors.erase({pool, id});
  commit(std::move(next),
         {now(), request.who(), JournalKind::remove, pool, id, "", "removed", args.note}, pool,
         args, fmt::format("removed {} from {}", id, pool), served, reply);
}

void Operations::cmd_check(const ControlRequest& request, const ControlServer::Reply& reply) {
  const auto t = find_mirror(request.call.args, reply);
  if (!t) return;
  const auto& [pool, id, mirror] = *t;
  const bool started =
      hooks_.check(pool, id, [reply, id](std::vector<health::CheckReport> reports) {
        json out = json::array();
        for (const health::CheckReport& r : reports) {
          json steps = json::array();
          for (const health::CheckStep& s : r.steps) {
            steps.push_back(
                {{"name", s.name}, {"ok", s.ok}, {"detail", s.detail}, {"at_ms", s.at.count()}});
          }
          out.push_back({{"address", r.key.address},
                         {"ok", r.ok},
                         {"reason", r.reason},
                         {"steps", steps},
                         {"total_ms", r.total.count()}});
        }
        reply(control_ok({{"mirror", id}, {"reports", out}}));
      });
  if (!started) {
    // Every mirror is probed, weight 0 and drained ones too; one added a
    // moment ago may not have reached the prober yet.
    reply(control_error(fmt::format("{} is not probed yet; try again in a moment", id)));
  }
}

void Operations::cmd_history(const ControlRequest& request,
                             const ControlServer::Reply& reply) const {
  const ControlArgs& args = request.call.args;
  JournalFilter filter;
  filter.mirror = args.mirror;
  if (args.since) {
    const std::string& since = *args.since;
    if (auto when = parse_utc(since)) {
      filter.since = *when;
    } else if (auto ago = parse_duration(since)) {
      filter.since = now() - *ago;
    } else {
      reply(control_error(fmt::format(
          "--since '{}': expected an RFC 3339 time (2026-11-01T00:00:00Z) or a duration (7d)",
          since)));
      return;
    }
  }
  std::vector<JournalEntry> entries;
  std::vector<std::string> warnings;
  std::string error;
  if (!Journal::read_all(journal_path(state_dir_), filter, entries, warnings, error)) {
    reply(control_error(error));
    return;
  }
  // An id with neither a mirror nor a past is a typo, not an empty history.
  const bool known =
      std::any_of(effective_.pools.begin(), effective_.pools.end(), [&](const PoolConfig& p) {
        return std::any_of(p.def.mirrors.begin(), p.def.mirrors.end(),
                           [&](const zones::MirrorDef& m) { return m.id == args.mirror; });
      });
  if (!args.mirror.empty() && entries.empty() && !known) {
    reply(control_error(fmt::format("no mirror '{}' in the configuration, and no history of one{}",
                                    args.mirror, args.since ? " in that time" : "")));
    return;
  }
  const size_t skip = entries.size() > kMaxHistoryEntries ? entries.size() - kMaxHistoryEntries : 0;
  json out = json::array();
  for (size_t i = skip; i < entries.size(); ++i) {
    const JournalEntry& e = entries[i];
    out.push_back({{"time", format_utc(e.time)},
                   {"who", e.who},
                   {"kind", std::string(to_string(e.kind))},
                   {"pool", e.pool},
                   {"mirror", e.mirror},
                   {"address", e.address},
                   {"what", e.what},
                   {"reason", e.reason}});
  }
  if (skip > 0) warnings.push_back(fmt::format("{} older entries not shown", skip));
  reply(control_ok({{"entries", out}, {"warnings", warnings}}));
}

void Operations::cmd_export(const ControlRequest& request, const Served& served,
                            const ControlServer::Reply& reply) const {
  const std::string& pool_arg = request.call.args.pool;
  const PoolConfig* pool = nullptr;
  int matches = 0;
  for (const PoolConfig& p : effective_.pools) {
    if (pool_arg.empty() || names_pool(p, pool_arg)) {
      pool = &p;
      ++matches;
    }
  }
  if (matches != 1) {
    reply(control_error(matches == 0 ? fmt::format("no pool '{}'", pool_arg)
                                     : "several pools: name one with --pool"));
    return;
  }
  std::string error;
  auto text = export_mirrors_json(*pool, *served.health, error);
  if (!text) {
    reply(control_error(error));
    return;
  }
  reply(control_ok({{"text", *text}}));
}

json Operations::uptime_json(const std::string& pool, const zones::MirrorDef& mirror) const {
  const TimePoint at = now();
  std::vector<std::string> addresses;
  for (const zones::Address& a : mirror.addresses) addresses.push_back(a.text);
  std::optional<TimePoint> first_seen;
  if (auto it = state_.first_seen.find({pool, mirror.id}); it != state_.first_seen.end()) {
    first_seen = it->second;
  }
  const MirrorTimeline timeline =
      mirror_timeline(history_, pool, mirror.id, addresses, first_seen, at);
  const auto figures = [](const Availability& a) {
    const auto percent = a.up_percent();
    return json{{"up_percent", percent ? json(*percent) : json()},
                {"observed_seconds", a.observed.count()},
                {"down_seconds", a.down.count()}};
  };
  json windows = json::object();
  for (const auto& [name, length] : kUptimeWindows) {
    windows[name] = figures(availability(timeline, at - length, at));
  }
  json days = json::array();
  for (const DayAvailability& d : daily_availability(timeline, at, kUptimeDays)) {
    json day = figures(d.availability);
    day["date"] = format_utc(d.day).substr(0, 10);
    days.push_back(std::move(day));
  }
  return {{"observed_since", format_utc(timeline.observed_since)},
          {"down_now", timeline.down_now},
          {"since", format_utc(timeline.since)},
          {"windows", windows},
          {"days", days}};
}

std::vector<JournalEntry> Operations::recent_events(size_t count) const {
  std::vector<JournalEntry> events = history_;
  // Failures imported from notes are appended with their old dates: latest by time.
  std::stable_sort(events.begin(), events.end(),
                   [](const JournalEntry& a, const JournalEntry& b) { return a.time < b.time; });
  if (events.size() > count) events.erase(events.begin(), events.end() - count);
  return events;
}

json Operations::status(const Served& served) const {
  const auto& snapshot = served.snapshot;
  const auto& health = served.health;
  json pools = json::array();
  for (const PoolConfig& pc : effective_.pools) {
    const std::string pool = pc.def.name.to_text();
    const ServedPool* served = snapshot ? find_served(*snapshot, pool) : nullptr;
    json mirrors = json::array();
    for (size_t i = 0; i < pc.def.mirrors.size(); ++i) {
      const zones::MirrorDef& m = pc.def.mirrors[i];
      json addresses = json::array();
      bool any_up = false;
      bool any_served = false;
      for (const zones::Address& a : m.addresses) {
        const health::TargetHealth* h = health->find({pool, m.id, a.text});
        const bool is_served =
            served &&
            contains(a.family == AF_INET ? served->v4.addresses : served->v6.addresses, a.text);
        const bool up = !h || h->up;
        any_up |= up;
        any_served |= is_served;
        // The address's own health, also for a disabled or drained mirror
        // (probed, never answered): the mirror's state says why it is not served.
        json entry = {{"address", a.text},
                      {"state", up ? "up" : (is_served ? "forced" : "down")},
                      {"served", is_served},
                      {"up", up},
                      {"reason", h ? h->reason : ""}};
        entry["last_check"] = h && h->last_check.time_since_epoch().count()
                                  ? json(format_utc(h->last_check))
                                  : json();
        entry["last_success"] = h && h->last_success.time_since_epoch().count()
                                    ? json(format_utc(h->last_success))
                                    : json();
        entry["latency_ms"] =
            h && h->last_check.time_since_epoch().count() ? json(h->latency.count()) : json();
        const bool tls = h && h->tls_expiry;
        entry["tls_expires"] = tls ? json(format_utc(*h->tls_expiry)) : json();
        entry["tls_days_left"] =
            tls ? json(health::days_until(*h->tls_expiry, std::chrono::system_clock::now()))
                : json();
        entry["freshness_lag_seconds"] =
            h && h->freshness_lag ? json(h->freshness_lag->count()) : json();
        addresses.push_back(entry);
      }
      std::string state = any_up ? "up" : (any_served ? "forced" : "down");
      if (m.weight == 0) state = "disabled";
      if (m.drained) state = "drained";
      const auto failures = failures_of(history_, pool, m.id);
      json failure_list = json::array();
      for (const Failure& f : failures) {
        failure_list.push_back({{"time", format_utc(f.time)}, {"reason", f.reason}});
      }
      json entry = {{"id", m.id},
                    {"state", state},
                    {"weight", m.weight},
                    {"notes", m.notes},
                    {"addresses", addresses},
                    {"email", m.email},
                    {"capacity", m.capacity == zones::Capacity::huge ? "huge" : "normal"},
                    {"failures", failure_list},
                    {"removal_candidate", removal_candidate(failures, now())}};
      if (entry["removal_candidate"].get<bool>()) {
        entry["failure_report"] = failure_report(m.id, failures, now());
      }
      entry["uptime"] = uptime_json(pool, m);
      if (snapshot && snapshot->locator() != nullptr) {
        entry["place"] = mirror_place_json(*snapshot->locator(), m);
      }
      if (auto o = state_.mirrors.find({pool, m.id}); o != state_.mirrors.end()) {
        entry["note"] = o->second.note;
        entry["changed_by"] = o->second.who;
        if (o->second.when.time_since_epoch().count() != 0) {
          entry["changed_at"] = format_utc(o->second.when);
        }
      }
      mirrors.push_back(entry);
    }
    json served_json = json::object();
    for (const auto& [name, fam] : {std::pair{"A", served ? &served->v4 : nullptr},
                                    std::pair{"AAAA", served ? &served->v6 : nullptr}}) {
      served_json[name] = {{"addresses", fam ? fam->addresses : std::vector<std::string>{}},
                           {"healthy", fam ? fam->healthy : 0},
                           {"degraded", fam && fam->degraded}};
    }
    pools.push_back({{"name", pool},
                     {"when_all_down", policy_name(pc.def.when_all_down)},
                     {"min_healthy", pc.def.min_healthy},
                     {"geo", pc.def.geo == zones::GeoMode::nearest   ? "nearest"
                             : pc.def.geo == zones::GeoMode::country ? "country"
                                                                     : "off"},
                     {"weight_policy",
                      pc.weight_policy == WeightPolicy::reliability ? "reliability" : "static"},
                     {"served", served_json},
                     {"mirrors", mirrors}});
  }
  return {{"pools", pools}};
}

}  // namespace mirrorpool::dnsd
