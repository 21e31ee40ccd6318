// An Operations as daemon.cc wires it, without the daemon, for tests and the
// control fuzz target: state_dir in a fresh temporary directory and a small
// config (two pools, m1 in both) read by the real loaders. The changes it
// decides are kept (changes()) and served the way the Publisher serves them
// (the snapshot that comes with a change, else one built from it), under a
// health the test sets. Nothing is probed: `check` answers that the mirror is
// not probed, and `reload` fails unless the test says how it goes.
// Test support only; no doctest here, so that the fuzz target can use it.
#pragma once

#include <unistd.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <functional>
#include <memory>
#include <optional>
#include <stdexcept>
#include <string>
#include <string_view>
#include <vector>

#include <nlohmann/json.hpp>

#include "dnsd/snapshot/change.hh"
#include "dnsd/config/config.hh"
#include "dnsd/control/control_server.hh"
#include "dnsd/config/model_loader.hh"
#include "dnsd/control/operations.hh"
#include "dnsd/snapshot/snapshot.hh"
#include "health/health_view.hh"

namespace mirrorpool::test {

class OperationsHarness {
 public:
  // `config_text` is a mirrorpool.toml beside the harness's pool.example.zone.
  explicit OperationsHarness(std::string_view config_text = kConfig) {
    std::string pattern =
        (std::filesystem::temp_directory_path() / "mirrorpool-ops-XXXXXX").string();
    if (mkdtemp(pattern.data()) == nullptr) throw std::runtime_error("mkdtemp failed");
    dir_ = pattern;
    write("pool.example.zone", kZone);
    write("mirrorpool.toml", config_text);
    ops_.emplace(dnsd::Operations::Hooks{
        [this](dnsd::Change change) {
          serve(change);
          changes_.push_back(std::move(change));
        },
        [this](zones::Diagnostics& diags) {
          if (!reload) {
            diags.push_back({{}, "this harness does not reload"});
            return false;
          }
          return reload(diags);
        },
        [](const std::string&, const std::string&, auto&&) { return false; }});
    zones::Diagnostics diags;
    auto config = dnsd::load_config(dir_ + "/mirrorpool.toml", diags);
    auto model = config ? dnsd::load_model(*config, diags) : nullptr;
    std::string error;
    if (!model || !ops_->open(dir_ + "/state", error)) {
      throw std::runtime_error("operations harness: " +
                               (diags.empty() ? error : diags.front().to_string()));
    }
    config_ = *config;
    model_ = model;
    serve(ops_->set_file_config(*config, model));
  }

  ~OperationsHarness() {
    ops_.reset();
    std::error_code ignored;
    std::filesystem::remove_all(dir_, ignored);
  }

  OperationsHarness(const OperationsHarness&) = delete;
  OperationsHarness& operator=(const OperationsHarness&) = delete;

  // Answers one request line as the daemon does: answer_control_line, then
  // Operations::handle. Every command here replies at once; null if not.
  nlohmann::json request(std::string_view line) {
    nlohmann::json out;
    dnsd::ControlRequest caller;
    caller.uid = getuid();
    caller.pid = getpid();
    dnsd::answer_control_line(
        line, caller,
        [this](const dnsd::ControlRequest& request, dnsd::ControlServer::Reply reply) {
          ops_->handle(request, served_, std::move(reply));
        },
        [&out](nlohmann::json response) { out = std::move(response); });
    return out;
  }

  dnsd::Operations& ops() { return *ops_; }
  // What Operations handed to Hooks::apply, oldest first.
  const std::vector<dnsd::Change>& changes() const { return changes_; }
  // What is served: the last change's snapshot, under health().
  const dnsd::Operations::Served& served() const { return served_; }
  // The health the next changes are served under (as if the prober judged so).
  void set_health(health::HealthView view) {
    served_.health = std::make_shared<const health::HealthView>(std::move(view));
  }
  // Serves `change` as the daemon does (Publisher::submit).
  void serve(const dnsd::Change& change) {
    if (change.health) served_.health = change.health;
    if (!change.model) return;
    served_.snapshot = change.built && change.built_on == served_.snapshot
                           ? change.built
                           : dnsd::build_snapshot(*change.model, *served_.health,
                                                  served_.snapshot.get(), served_.options);
  }
  const std::string& dir() const { return dir_; }
  std::string state_dir() const { return dir_ + "/state"; }
  // The config and model as loaded from the files.
  const dnsd::Config& file_config() const { return config_; }
  const std::shared_ptr<const zones::Model>& file_model() const { return model_; }
  // How `reload` goes (Hooks::reload); unset, it fails with one diagnostic.
  std::function<bool(zones::Diagnostics&)> reload;

  static constexpr const char* kConfig = R"(
[server]
listen = ["127.0.0.1:5353"]

[[zone]]
origin = "pool.example."
file = "pool.example.zone"

[[pool]]
name = "dl.pool.example."
min_healthy = 1
[pool.check]
type = "tcp"
port = 9
[[pool.mirror]]
id = "m1"
addresses = ["192.0.2.1"]
[[pool.mirror]]
id = "m2"
addresses = ["192.0.2.2", "2001:db8::2"]
[[pool.mirror]]
id = "m3"
addresses = ["192.0.2.3"]

[[pool]]
name = "two.pool.example."
[pool.check]
type = "tcp"
port = 9
[[pool.mirror]]
id = "m1"
addresses = ["192.0.2.11"]
)";

 private:
  static constexpr const char* kZone = R"($ORIGIN pool.example.
$TTL 3600
@   IN SOA ns1 hostmaster 1 3600 900 604800 300
@   IN NS  ns1
ns1 IN A   192.0.2.53
)";

  void write(const std::string& name, std::string_view text) {
    std::ofstream(dir_ + "/" + name) << text;
  }

  std::string dir_;
  dnsd::Config config_;
  std::shared_ptr<const zones::Model> model_;
  dnsd::Operations::Served served_;
  std::vector<dnsd::Change> changes_;
  std::optional<dnsd::Operations> ops_;
};

}  // namespace mirrorpool::test
