// The operator's side of the daemon (mirrorpoolctl(8)): run-time changes (drain,
// weights, added and removed mirrors) persisted in state_dir, the journal of
// health changes and admin actions, and every control command. It decides
// what configuration is served — the file's, with the run-time changes and
// reliability weights applied — and says so as a Change (change.hh): returned
// for a config file and for probe transitions, handed to Hooks::apply for a
// control command. It reads what is served as a value (Served) and never
// holds the publisher or the prober. Main loop only.
#pragma once

#include <functional>
#include <memory>
#include <optional>
#include <set>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "dnsd/config/config.hh"
#include "dnsd/control/control_server.hh"
#include "dnsd/control/dnssec_commands.hh"
#include "dnsd/snapshot/change.hh"
#include "dnsd/snapshot/snapshot.hh"
#include "dnsd/state/admin_state.hh"
#include "dnsd/state/journal.hh"
#include "dnsd/state/reliability.hh"
#include "health/health_view.hh"
#include "health/prober.hh"
#include "zones/pool.hh"

namespace mirrorpool::dnsd {

class Operations {
 public:
  // What is served now: the commands that compare answers before and after
  // a change, and status, read it.
  struct Served {
    std::shared_ptr<const Snapshot> snapshot;  // null until the first publication
    std::shared_ptr<const health::HealthView> health = std::make_shared<health::HealthView>();
    SnapshotOptions options;
  };
  struct Hooks {
    // Serve this change from now on: an operator's change, acknowledged once
    // apply returns. It carries the probe targets and the snapshot checked.
    std::function<void(Change change)> apply;
    // Re-read config and zones, all or nothing; diagnostics on failure.
    std::function<bool(zones::Diagnostics& diags)> reload;
    // Probes a mirror now (health::Prober::check_now); false when it is not probed.
    std::function<bool(const std::string& pool, const std::string& mirror,
                       std::function<void(std::vector<health::CheckReport>)> done)>
        check;
    // The keys of the signed zones, for the dnssec commands; unset, they
    // answer that DNSSEC is not available.
    DnssecHooks dnssec = {};
  };

  explicit Operations(Hooks hooks);

  // Start-up, before serving: loads state.json (a corrupt file is reported,
  // kept aside as state.json.corrupt, and the daemon starts from config) and
  // opens the journal. false only when state_dir or the journal is unusable.
  bool open(const std::string& state_dir, std::string& error);

  // A config file was loaded (start or reload): computes the effective
  // config. Returns its model and probe targets, to be served.
  Change set_file_config(const Config& file_config, std::shared_ptr<const zones::Model> file_model);
  // Keeps the file model without its zone records (zones::without_records),
  // once a published snapshot has them encoded.
  void release_zone_records();

  // Health transitions go to the journal; reliability weights follow them.
  // Returns the model with the new weights when some weight moved, else an
  // empty change. Never probe targets: a reliability weight is never 0, so
  // the probed addresses stay, and the prober that reported the transitions
  // need not be called back.
  Change record_transitions(const std::vector<health::Transition>& transitions);
  // false with `error` set when the journal could not be written: a command
  // that needs its entry (reload) then fails.
  bool record_event(JournalKind kind, const std::string& what, std::string& error);
  // An alert sent (or given up on): its journal line, for `history`.
  void record_alert(JournalEntry entry) {
    std::string error;  // logged and counted by append
    append(std::move(entry), error);
  }
  // The failures of a mirror in the journal's last twelve months.
  std::vector<Failure> failures(const std::string& pool, const std::string& mirror) const {
    return failures_of(history_, pool, mirror);
  }
  // Journal writes that failed (full disk, I/O error), for /metrics.
  uint64_t journal_failures() const { return journal_failures_; }

  void handle(const ControlRequest& request, const Served& served, ControlServer::Reply reply);

  // What `status --json` and /status.json show.
  nlohmann::json status(const Served& served) const;
  // The latest `count` journal entries (transitions and operator actions),
  // oldest first, from the months kept in memory: for the status page.
  std::vector<JournalEntry> recent_events(size_t count) const;
  const Config& effective() const { return effective_; }

 private:
  struct Target {
    std::string pool;                          // pool name as text
    std::string id;                            // the mirror's
    const zones::MirrorDef* mirror = nullptr;  // in effective_
  };
  // The mirror args name (mirror, optional pool), or nullopt after replying
  // with why there is none.
  std::optional<Target> find_mirror(const ControlArgs& args,
                                    const ControlServer::Reply& reply) const;
  // A mirror's "uptime" in status (state/uptime.hh): its windows, its
  // days, and since when its health is what it is.
  nlohmann::json uptime_json(const std::string& pool, const zones::MirrorDef& mirror) const;
  Config compute_effective(const AdminState& state, std::vector<std::string>& warnings) const;
  // Settles the state against the file config and the journal (first-seen
  // times, forgotten removals; saved when they changed), then computes the
  // effective config into effective_. Returns its model (the file's own when
  // the state does not validate).
  std::shared_ptr<const zones::Model> refresh_effective();
  // The dated failures of the file config's notes that the journal lacks
  // are appended to it (those within the twelve months reliability looks
  // back on), and an "added" date moves a mirror's first-seen time back.
  void import_notes();
  // Validates, optionally refuses (unless args.force), persists and applies
  // (unless args.dry_run) a changed state. The snapshot built to check it is
  // the one applied.
  void commit(AdminState next, JournalEntry entry, const std::string& pool, const ControlArgs& args,
              const std::string& message, const Served& served, const ControlServer::Reply& reply);
  // The warnings about skipped state (apply_admin) that are not already
  // said; remember: they are now said, and only they, so that one that goes
  // away and comes back is said again. Each is said once, not at every change.
  std::vector<std::string> unsaid(const std::vector<std::string>& warnings, bool remember);
  bool append(const JournalEntry& entry, std::string& error);
  void forget_old_history(TimePoint now);

  void cmd_drain(const ControlRequest& request, bool drain, const Served& served,
                 const ControlServer::Reply& reply);
  void cmd_set_weight(const ControlRequest& request, const Served& served,
                      const ControlServer::Reply& reply);
  void cmd_add(const ControlRequest& request, const Served& served,
               const ControlServer::Reply& reply);
  void cmd_remove(const ControlRequest& request, const Served& served,
                  const ControlServer::Reply& reply);
  void cmd_check(const ControlRequest& request, const ControlServer::Reply& reply);
  void cmd_history(const ControlRequest& request, const ControlServer::Reply& reply) const;
  void cmd_export(const ControlRequest& request, const Served& served,
                  const ControlServer::Reply& reply) const;
  void cmd_reload(const ControlServer::Reply& reply);

  Hooks hooks_;
  std::string state_dir_;
  AdminState state_;
  std::unique_ptr<Journal> journal_;
  // The journal's last twelve months (at most a month more), for reliability
  // weights and failure lists.
  std::vector<JournalEntry> history_;
  uint64_t journal_failures_ = 0;
  Config file_config_;
  std::shared_ptr<const zones::Model> file_model_;
  Config effective_;
  bool uses_reliability_ = false;
  std::set<std::string> said_;  // see unsaid
};

}  // namespace mirrorpool::dnsd
