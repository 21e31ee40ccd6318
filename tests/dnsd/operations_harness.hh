// An Operations wired as daemon.cc wires it, for tests and the control fuzz
// target: a Publisher and a Prober on a private uv loop, state_dir in a fresh
// temporary directory, and a small config (two pools, m1 in both) read by the
// real loaders. Nothing leaves the process: the prober has no targets, so
// `check` answers that the mirror is not probed, and `reload` is refused.
// Test support only; no doctest here, so that the fuzz target can use it.
#pragma once

#include <unistd.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <memory>
#include <optional>
#include <stdexcept>
#include <string>
#include <string_view>

#include <uv.h>
#include <nlohmann/json.hpp>

#include "dnsd/config.hh"
#include "dnsd/control_server.hh"
#include "dnsd/model_loader.hh"
#include "dnsd/operations.hh"
#include "dnsd/publisher.hh"
#include "health/prober.hh"

namespace mirrorpool::test {

class OperationsHarness {
 public:
  OperationsHarness() {
    std::string pattern =
        (std::filesystem::temp_directory_path() / "mirrorpool-ops-XXXXXX").string();
    if (mkdtemp(pattern.data()) == nullptr) throw std::runtime_error("mkdtemp failed");
    dir_ = pattern;
    write("pool.example.zone", kZone);
    write("mirrorpool.toml", kConfig);
    uv_loop_init(&loop_);
    publisher_.emplace(&loop_);
    prober_.emplace(&loop_, [](auto&&...) {});
    ops_.emplace(*publisher_, *prober_,
                 dnsd::Operations::Hooks{
                     [this](const dnsd::Config&, std::shared_ptr<const zones::Model> model) {
                       publisher_->set_model(std::move(model), {}, prober_->view());
                     },
                     [](zones::Diagnostics& diags) {
                       diags.push_back({{}, "this harness does not reload"});
                       return false;
                     }});
    zones::Diagnostics diags;
    auto config = dnsd::load_config(dir_ + "/mirrorpool.toml", diags);
    auto model = config ? dnsd::load_model(*config, diags) : nullptr;
    std::string error;
    if (!model || !ops_->open(dir_ + "/state", error)) {
      throw std::runtime_error("operations harness: " +
                               (diags.empty() ? error : diags.front().to_string()));
    }
    ops_->set_file_config(*config, model);
  }

  ~OperationsHarness() {
    // Newest first, then the close callbacks, as daemon.cc does.
    ops_.reset();
    prober_->stop();
    publisher_->close();
    prober_.reset();
    publisher_.reset();
    uv_run(&loop_, UV_RUN_DEFAULT);
    uv_loop_close(&loop_);
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
          ops_->handle(request, std::move(reply));
        },
        [&out](nlohmann::json response) { out = std::move(response); });
    return out;
  }

 private:
  static constexpr const char* kZone = R"($ORIGIN pool.example.
$TTL 3600
@   IN SOA ns1 hostmaster 1 3600 900 604800 300
@   IN NS  ns1
ns1 IN A   192.0.2.53
)";
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

  void write(const std::string& name, std::string_view text) {
    std::ofstream(dir_ + "/" + name) << text;
  }

  std::string dir_;
  uv_loop_t loop_{};
  std::optional<dnsd::Publisher> publisher_;
  std::optional<health::Prober> prober_;
  std::optional<dnsd::Operations> ops_;
};

}  // namespace mirrorpool::test
