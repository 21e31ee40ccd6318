#include "dnsd/server/daemon.hh"

#include <malloc.h>

#include <algorithm>
#include <csignal>
#include <cstdint>
#include <ctime>
#include <functional>
#include <memory>
#include <optional>
#include <stdexcept>
#include <string>
#include <string_view>
#include <thread>
#include <vector>

#include <openssl/rand.h>
#include <unistd.h>
#include <uv.h>

#include "dnsd/alert/alerter.hh"
#include "dnsd/common/log.hh"
#include "dnsd/common/uv_cast.hh"
#include "dnsd/config/config.hh"
#include "dnsd/config/model_loader.hh"
#include "dnsd/control/control_server.hh"
#include "dnsd/control/operations.hh"
#include "dnsd/dnssec/key_check.hh"
#include "dnsd/geo/geo_setup.hh"
#include "dnsd/http/http_server.hh"
#include "dnsd/http/metrics.hh"
#include "dnsd/http/prometheus.hh"
#include "dnsd/http/status_page.hh"
#include "dnsd/primary/primary.hh"
#include "dnsd/server/dnssec_control.hh"
#include "dnsd/server/instance_lock.hh"
#include "dnsd/server/privileges.hh"
#include "dnsd/server/publisher.hh"
#include "dnsd/server/service_notify.hh"
#include "dnsd/server/signing_keys.hh"
#include "dnsd/server/sockets.hh"
#include "dnsd/server/worker.hh"
#include "dnsd/snapshot/change.hh"
#include "health/prober.hh"

namespace mirrorpool::dnsd {

namespace {

// The journal entries the status page lists.
constexpr size_t kStatusPageEvents = 20;

struct Loaded {
  Config config;
  std::shared_ptr<const zones::Model> model;
  std::shared_ptr<const geo::Locator> locator;  // null: no [server.geo]
};

// A service manager that cannot be told would time the start out or miss a
// reload; say why in the log rather than fail over it.
void notify(std::string_view state) {
  std::string error;
  if (!notify_service(state, error)) log(LogLevel::warning, "{}", error);
}

// Config, zones and geo database as one unit: either everything loads or
// nothing does. On a reload, `previous` is the model being served: each zone
// whose files and pools did not change is kept rather than read again
// (load_model); `locator` is the one serving, whose database is kept unless
// its file changed.
std::optional<Loaded> load_all(const std::string& path, zones::Diagnostics& diags,
                               const zones::Model* previous = nullptr,
                               const geo::Locator* locator = nullptr) {
  auto config = load_config(path, diags);
  if (!config) return std::nullopt;
  auto model = load_model(*config, diags, previous);
  if (!model) return std::nullopt;
  auto placed = geo::load_locator(*config, locator, diags);
  if (!placed) return std::nullopt;
  return Loaded{std::move(*config), std::move(model), std::move(*placed)};
}

// What --check-config warns about (in the log of every start and reload).
zones::Diagnostics warnings(const Loaded& loaded) {
  zones::Diagnostics all = config_warnings(loaded.config);
  if (loaded.locator) {
    for (auto& w : geo::placement_warnings(loaded.config, *loaded.locator)) {
      all.push_back(std::move(w));
    }
  }
  return all;
}

void log_warnings(const Loaded& loaded) {
  for (const zones::Diagnostic& w : warnings(loaded)) {
    log(LogLevel::warning, "{}", w.to_string());
  }
}

// A database read (not one kept from before), in the log.
void log_geo(const geo::Locator* locator, const geo::Locator* before) {
  if (locator == nullptr || locator->table() == nullptr) return;
  const geo::GeoTable& table = *locator->table();
  if (before != nullptr && before->table().get() == &table) return;
  log(LogLevel::info, "geo database {} ({}): {} networks, {} places, read in {:.2f} s, {:.1f} MiB",
      table.file().path, table.database_type(), table.networks(), table.place_count(),
      table.read_seconds(), static_cast<double>(table.memory_bytes()) / (1024.0 * 1024.0));
}

SnapshotOptions snapshot_options(const Config& config) {
  SnapshotOptions options;
  options.udp_max_size = config.server.udp_max_size;
  options.nsid = config.server.nsid;
  options.require_cookie = config.server.require_cookie;
  if (config.server.cookie_secret) {
    options.cookie_secret.bytes = *config.server.cookie_secret;
  } else {
    // Only this process needs to know it: its keys rotate (server_cookies.hh).
    if (RAND_bytes(options.cookie_secret.bytes.data(),
                   static_cast<int>(options.cookie_secret.bytes.size())) != 1) {
      throw std::runtime_error("cannot draw a random cookie secret");
    }
    options.cookie_secret.rotating = true;
  }
  options.slots = std::make_shared<MirrorSlots>();
  return options;
}

// The [server] settings that sockets and workers were built from: a reload
// cannot change them.
bool serving_settings_equal(const ServerConfig& a, const ServerConfig& b) {
  auto endpoints = [](const ServerConfig& s) {
    std::vector<std::string> texts;
    for (const Endpoint& e : s.listen) texts.push_back(e.text);
    return texts;
  };
  return endpoints(a) == endpoints(b) && a.workers == b.workers &&
         a.tcp_idle_timeout_ms == b.tcp_idle_timeout_ms &&
         a.tcp_query_timeout_ms == b.tcp_query_timeout_ms &&
         a.tcp_max_clients == b.tcp_max_clients && a.udp_max_size == b.udp_max_size &&
         a.nsid == b.nsid && a.cookie_secret == b.cookie_secret &&
         a.require_cookie == b.require_cookie && a.rrl == b.rrl;
}

const char* arrow(bool up) {
  return up ? "DOWN→UP" : "UP→DOWN";
}

class Daemon {
 public:
  explicit Daemon(Loaded loaded)
      : config_(std::move(loaded.config)),
        model_(std::move(loaded.model)),
        locator_(std::move(loaded.locator)) {
    uv_loop_init(&loop_);
    primary_.emplace(&loop_);
    publisher_.emplace(&loop_, snapshot_options(config_), &*primary_);
    prober_.emplace(&loop_, [this](std::shared_ptr<const health::HealthView> view,
                                   std::vector<health::Transition> transitions,
                                   std::vector<health::Notice> notices) {
      on_health(std::move(view), transitions, notices);
    });
    ops_.emplace(Operations::Hooks{
        [this](Change change) { apply(std::move(change)); },
        [this](zones::Diagnostics& diags) { return reload(diags); },
        [this](const std::string& pool, const std::string& mirror,
               std::function<void(std::vector<health::CheckReport>)> done) {
          return prober_->check_now(pool, mirror, std::move(done));
        },
        dnssec_hooks(keys_, [this](Change change) { serve(std::move(change)); })});
    control_.emplace(&loop_, [this](const ControlRequest& request, ControlServer::Reply reply) {
      ops_->handle(request, served(), std::move(reply));
    });
    alerter_.emplace(
        &loop_,
        Alerter::Sources{[this] { return prober_->view(); },
                         [this](const std::string& pool, const std::string& mirror) {
                           return ops_->failures(pool, mirror);
                         },
                         [this](JournalEntry entry) { ops_->record_alert(std::move(entry)); }});
    publisher_->set_degraded_listener(
        [this](const std::string& pool, std::string_view family, bool degraded, size_t healthy) {
          alerter_->on_degraded(pool, family, degraded, healthy);
        });
  }

  int run() {
    std::string error;
    // Before any socket: a second daemon on this state must change nothing.
    // Held until run returns.
    const auto lock = InstanceLock::acquire(config_.server.state_dir, error);
    if (!lock) {
      log(LogLevel::error, "{}", error);
      return kExitRuntime;
    }
    if (!bind_workers()) return kExitRuntime;
    // Everything the daemon needs to write later is set up while it may still
    // be root, and handed to the account it drops to.
    uid_t uid = static_cast<uid_t>(-1);
    gid_t gid = static_cast<gid_t>(-1);
    if (!target_account(config_.server.user, uid, gid, error) ||
        !ops_->open(config_.server.state_dir, error) ||
        !hand_over(config_.server.state_dir, uid, gid, error) ||
        !keys_.configure(config_, static_cast<int>(uid), static_cast<int>(gid), error) ||
        !make_parent_dir(config_.server.control_socket, uid, gid, error) ||
        !control_->listen(config_.server.control_socket, uid, gid, error) || !listen_http(error) ||
        !drop_privileges(config_.server.user, error)) {
      log(LogLevel::error, "{}", error);
      return kExitRuntime;
    }
    publisher_->add_listener([this](const std::shared_ptr<const Snapshot>& snapshot) {
      for (auto& w : workers_) {
        if (serving_) w->offer(snapshot);
      }
      schedule_trim();
    });
    primary_->configure(config_);
    // Serving DNS matters more than recording the start: a full disk is
    // logged (and counted) by the journal, and the daemon starts anyway.
    ops_->record_event(JournalKind::start, "daemon started", error);
    log_warnings(Loaded{config_, model_, locator_});
    log_geo(locator_.get(), nullptr);
    apply(with_locator(ops_->set_file_config(config_, model_)));
    install_signals();

    // Answers wait for the first probe round so that the first one is not a guess.
    prober_->start([this] { start_serving(); });
    uv_run(&loop_, UV_RUN_DEFAULT);
    // The parts free their handles in close callbacks: destroy them, newest
    // first, and let the loop run those callbacks before closing it.
    http_.reset();
    alerter_.reset();
    control_.reset();
    ops_.reset();
    prober_.reset();
    publisher_.reset();
    primary_.reset();
    uv_run(&loop_, UV_RUN_DEFAULT);
    uv_loop_close(&loop_);
    return kExitOk;
  }

 private:
  bool bind_workers() {
    const unsigned count = config_.server.workers != 0
                               ? config_.server.workers
                               : std::max(1U, std::thread::hardware_concurrency());
    if (config_.server.rrl.responses_per_second > 0) {
      rrl_ = std::make_unique<RateLimiter>(config_.server.rrl);
    }
    for (unsigned i = 0; i < count; ++i) {
      WorkerSockets sockets;
      for (const Endpoint& endpoint : config_.server.listen) {
        std::string error;
        const int udp = bind_udp(endpoint, error);
        const int tcp = udp >= 0 ? bind_tcp(endpoint, error) : -1;
        if (udp < 0 || tcp < 0) {
          log(LogLevel::error, "cannot listen on {}", error);
          if (udp >= 0) close(udp);
          for (int fd : sockets.udp) close(fd);
          for (int fd : sockets.tcp) close(fd);
          return false;
        }
        sockets.udp.push_back(udp);
        sockets.tcp.push_back(tcp);
      }
      const WorkerLimits limits{config_.server.tcp_idle_timeout_ms,
                                config_.server.tcp_query_timeout_ms,
                                config_.server.tcp_max_clients};
      workers_.push_back(std::make_unique<Worker>(i, std::move(sockets), limits, rrl_.get()));
    }
    return true;
  }

  // /metrics and /status.json on [server] http_listen, when set.
  bool listen_http(std::string& error) {
    if (!config_.server.http_listen) return true;
    http_.emplace(&loop_, [this](std::string_view, std::string_view path) {
      HttpResponse response;
      if (path == "/metrics") {
        MetricsInputs in;
        for (const auto& w : workers_) w->collect_stats(in.workers);
        in.effective = &ops_->effective();
        in.snapshot = publisher_->current().get();
        const auto health = prober_->view();
        in.health = health.get();
        in.degraded_episodes = publisher_->degraded_episodes();
        in.reloads_ok = reloads_ok_;
        in.reloads_failed = reloads_failed_;
        in.last_reload_ok = last_reload_ok_;
        in.journal_failures = ops_->journal_failures();
        in.alert_deliveries = alerter_->deliveries();
        in.notify_sent = primary_->notifier().sent();
        in.notify_answered = primary_->notifier().answered();
        in.notify_given_up = primary_->notifier().given_up();
        in.mirror_slots = publisher_->options().slots.get();
        response.content_type = std::string(MetricsWriter::kContentType);
        response.body = render_metrics(in);
      } else if (path == "/status.json") {
        response.content_type = "application/json";
        response.body = ops_->status(served()).dump(2) + "\n";
      } else if (path == "/" && config_.server.status_page != StatusPage::off) {
        response.content_type = "text/html; charset=utf-8";
        response.body = status_page();
      } else {
        response.status = 404;
        response.body = "not found: try /metrics or /status.json\n";
      }
      return response;
    });
    return http_->listen(*config_.server.http_listen, error);
  }

  // The page at / (status_page.hh): built here on the main loop, per request.
  std::string status_page() const {
    StatusPageInputs in;
    in.status = ops_->status(served());
    in.events = ops_->recent_events(kStatusPageEvents);
    std::vector<const Stats*> stats;
    for (const auto& w : workers_) w->collect_stats(stats);
    in.answers =
        count_answers(stats, publisher_->current().get(), publisher_->options().slots.get());
    in.now = std::chrono::system_clock::now();
    in.full = config_.server.status_page == StatusPage::full;
    return render_status_page(in);
  }

  void start_serving() {
    // Published before serving_ is set: the workers are not started yet, so
    // they take this snapshot at start rather than through their mailbox.
    publisher_->submit(Change{std::move(pending_model_), std::nullopt, prober_->view(), nullptr,
                              nullptr, locator_, keys_.signings()});
    serving_ = true;
    uv_timer_start(
        &signing_timer_, [](uv_timer_t* t) { static_cast<Daemon*>(t->data)->check_signing(); },
        SigningKeys::kCheckMs, SigningKeys::kCheckMs);
    for (auto& w : workers_) w->start(publisher_->current());
    release_zone_records();
    // Loading a large zone leaves much freed heap behind; hand it back.
    malloc_trim(0);
    std::string listen;
    for (const Endpoint& e : config_.server.listen) listen += (listen.empty() ? "" : " ") + e.text;
    log(LogLevel::info, "serving {} zone(s), {} pool(s) on {} with {} worker(s)",
        model_->zones.size(), model_->pools.size(), listen, workers_.size());
    // Type=notify: systemd counts the start as done only once answers are real.
    // A no-op without NOTIFY_SOCKET.
    notify("READY=1");
  }

  // The snapshot just published has the zones encoded: from now on the
  // parsed records would only be read again to encode them again, which
  // load_model does from the files. Every holder of the model lets them go.
  void release_zone_records() {
    model_ = std::make_shared<const zones::Model>(zones::without_records(*model_));
    ops_->release_zone_records();
    publisher_->release_zone_records();
  }

  void on_health(std::shared_ptr<const health::HealthView> view,
                 const std::vector<health::Transition>& transitions,
                 const std::vector<health::Notice>& notices) {
    for (const health::Notice& notice : notices) {
      log(LogLevel::warning, "{}", notice.text);
      if (notice.doubt_began) alerter_->on_prober_doubt(notice.pool, notice.text);
    }
    for (const health::Transition& t : transitions) {
      log(t.up ? LogLevel::info : LogLevel::warning, "{} {} {}: {}", t.key.mirror, t.key.address,
          arrow(t.up), t.reason);
    }
    // One change: the new health, with the reliability weights it moved.
    Change change = ops_->record_transitions(transitions);
    alerter_->on_transitions(transitions);
    change.health = std::move(view);
    serve(std::move(change));
  }

  // A change of the configuration's files brings the locator read with
  // them, and the keys of the signed zones.
  Change with_locator(Change change) const {
    change.locator = locator_;
    change.signings = keys_.signings();
    return change;
  }

  // Every SigningKeys::kCheckMs: a key whose timing was reached changes what
  // is published or signs, and signatures past half their validity are made again.
  void check_signing() {
    Change change;
    if (keys_.due(publisher_->current().get(), std::time(nullptr), change.signings)) {
      serve(std::move(change));
    }
  }

  // What is served now, for the control commands and /status.json.
  Operations::Served served() const {
    return {publisher_->current(), prober_->view(), publisher_->options()};
  }

  // Operations' changes (a config file loaded, an operator's command): the
  // prober takes the probe targets first, so that the health the change is
  // published with already judges them (an address new to it: down until
  // probed). Never called from inside the prober's own publication.
  void apply(Change change) {
    if (change.targets) prober_->set_targets(std::move(*change.targets));
    alerter_->configure(ops_->effective());
    change.health = prober_->view();
    serve(std::move(change));
  }

  // Every change goes to the publisher, except before the first probe round:
  // nothing is published before it, so that the first snapshot, and the
  // serial it gets, reflect real health; the latest model waits for
  // start_serving.
  void serve(Change change) {
    if (serving_) {
      publisher_->submit(std::move(change));
    } else if (change.model) {
      pending_model_ = std::move(change.model);
    }
  }

  // The snapshot a publication replaces is freed only once every worker has
  // swapped it out, after the publication returns; and a reload frees a whole
  // parsed model. The heap they leave is handed back to the system a second
  // later, at most once a second however often snapshots change.
  void schedule_trim() {
    if (uv_is_active(as_handle(&trim_timer_))) return;
    uv_timer_start(
        &trim_timer_, [](uv_timer_t*) { malloc_trim(0); }, kTrimDelayMs, 0);
  }

  void install_signals() {
    uv_timer_init(&loop_, &trim_timer_);
    uv_timer_init(&loop_, &signing_timer_);
    signing_timer_.data = this;
    auto init = [this](uv_signal_t& handle, int signum, uv_signal_cb cb) {
      uv_signal_init(&loop_, &handle);
      handle.data = this;
      uv_signal_start(&handle, cb, signum);
    };
    auto stop = [](uv_signal_t* h, int signum) {
      log(LogLevel::info, "signal {}: stopping", signum);
      static_cast<Daemon*>(h->data)->shutdown();
    };
    init(sigterm_, SIGTERM, stop);
    init(sigint_, SIGINT, stop);
    init(sighup_, SIGHUP, [](uv_signal_t* h, int) {
      zones::Diagnostics diags;
      static_cast<Daemon*>(h->data)->reload(diags);
    });
  }

  // SIGHUP and `mirrorpoolctl reload`: everything or nothing.
  bool reload(zones::Diagnostics& diags) {
    // Before the first probe round systemd still waits for READY=1 from
    // start_serving; a reload then must not announce readiness early.
    if (serving_) notify(reloading_state());
    const bool ok = reload_files(diags);
    if (serving_) notify("READY=1");
    return ok;
  }

  bool reload_files(zones::Diagnostics& diags) {
    log(LogLevel::info, "reloading {}", config_.path);
    auto loaded = load_all(config_.path, diags, model_.get(), locator_.get());
    // A reload is recorded before it takes effect: one the journal cannot
    // record (a full disk) changes nothing.
    std::string journal_error;
    if (loaded &&
        !ops_->record_event(JournalKind::reload, "configuration reloaded", journal_error)) {
      diags.emplace_back(zones::SourcePos{}, "not reloaded: journal: " + journal_error);
      loaded.reset();
    }
    last_reload_ok_ = loaded.has_value();
    ++(loaded ? reloads_ok_ : reloads_failed_);
    if (!loaded) {
      for (const zones::Diagnostic& d : diags) log(LogLevel::error, "{}", d.to_string());
      log(LogLevel::error, "reload failed with {} error(s); still serving the previous data",
          diags.size());
      return false;
    }
    if (!serving_settings_equal(loaded->config.server, config_.server)) {
      log(LogLevel::warning,
          "changes to [server] listen, workers, tcp_*, udp_max_size, nsid, cookie_secret, "
          "require_cookie and [server.rrl] take effect at restart");
    }
    log_warnings(*loaded);
    log_geo(loaded->locator.get(), locator_.get());
    config_.zones = std::move(loaded->config.zones);
    config_.pools = std::move(loaded->config.pools);
    config_.tsig = std::move(loaded->config.tsig);
    config_.server.geo = std::move(loaded->config.server.geo);
    model_ = std::move(loaded->model);
    locator_ = std::move(loaded->locator);
    primary_->configure(config_);
    std::string key_error;
    if (!keys_.configure(config_, -1, -1, key_error)) {
      // The old keys keep signing: a zone whose key cannot be read or made
      // must not go unsigned under a signed parent.
      log(LogLevel::error, "DNSSEC keys: {}; the previous keys keep signing", key_error);
    }
    apply(with_locator(ops_->set_file_config(config_, model_)));
    // Before the first probe round the new model waits, unencoded, for
    // start_serving, which releases the records itself.
    if (serving_) release_zone_records();
    log(LogLevel::info, "reloaded: {} zone(s), {} pool(s)", model_->zones.size(),
        model_->pools.size());
    return true;
  }

  void shutdown() {
    notify("STOPPING=1");
    prober_->stop();
    for (auto& w : workers_) w->stop();
    publisher_->close();
    primary_->close();
    control_->close();
    alerter_->close();
    if (http_) http_->close();
    for (uv_signal_t* s : {&sigterm_, &sigint_, &sighup_}) {
      uv_close(as_handle(s), nullptr);
    }
    uv_close(as_handle(&trim_timer_), nullptr);
    uv_close(as_handle(&signing_timer_), nullptr);
  }

  uv_loop_t loop_{};
  Config config_;
  std::shared_ptr<const zones::Model> model_;
  std::shared_ptr<const geo::Locator> locator_;  // null: no [server.geo]
  std::optional<Primary> primary_;
  SigningKeys keys_;
  std::optional<Publisher> publisher_;
  std::optional<health::Prober> prober_;
  std::optional<Operations> ops_;
  std::optional<ControlServer> control_;
  std::optional<Alerter> alerter_;  // after ops_ and prober_: it reads them
  std::optional<HttpServer> http_;
  uint64_t reloads_ok_ = 0;
  uint64_t reloads_failed_ = 0;
  bool last_reload_ok_ = true;
  std::unique_ptr<RateLimiter> rrl_;  // shared by the workers; null when off
  std::vector<std::unique_ptr<Worker>> workers_;
  bool serving_ = false;
  // The model to publish once the first probe round is in (see start_serving).
  std::shared_ptr<const zones::Model> pending_model_;
  uv_signal_t sigterm_{}, sigint_{}, sighup_{};
  static constexpr uint64_t kTrimDelayMs = 1000;
  uv_timer_t trim_timer_{};
  uv_timer_t signing_timer_{};
};

}  // namespace

int check_config(const std::string& config_path) {
  zones::Diagnostics diags;
  auto loaded = load_all(config_path, diags);
  for (const zones::Diagnostic& d : diags) fmt::print(stderr, "{}\n", d.to_string());
  if (!loaded) return kExitConfig;
  for (const zones::Diagnostic& w : warnings(*loaded)) fmt::print(stderr, "{}\n", w.to_string());
  diags.clear();
  std::vector<std::string> key_notes;
  const bool keys_ok = dnssec::check_zone_keys(loaded->config, diags, key_notes);
  for (const zones::Diagnostic& d : diags) fmt::print(stderr, "{}\n", d.to_string());
  if (!keys_ok) return kExitConfig;
  for (const std::string& note : key_notes) fmt::print("{}\n", note);
  size_t mirrors = 0;
  for (const auto& pool : loaded->model->pools) mirrors += pool.mirrors.size();
  fmt::print("{}: ok ({} zone(s), {} pool(s), {} mirror(s))\n", config_path,
             loaded->model->zones.size(), loaded->model->pools.size(), mirrors);
  return kExitOk;
}

int run_daemon(const std::string& config_path) {
  // No peer may end the process: a write to a TCP client that reset, a
  // control client that left or a scraper that hung up fails with EPIPE on
  // that one connection instead of raising SIGPIPE; a write past a file size
  // limit fails with EFBIG instead of raising SIGXFSZ.
  std::signal(SIGPIPE, SIG_IGN);
  std::signal(SIGXFSZ, SIG_IGN);
  zones::Diagnostics diags;
  auto loaded = load_all(config_path, diags);
  if (!loaded) {
    for (const zones::Diagnostic& d : diags) log(LogLevel::error, "{}", d.to_string());
    return kExitConfig;
  }
  Daemon daemon(std::move(*loaded));
  return daemon.run();
}

}  // namespace mirrorpool::dnsd
