// mirrorpoold: flags only; everything else is in dnsd/daemon.cc.
#include <string>

#include <CLI/CLI.hpp>

#include "dnsd/common/log.hh"
#include "dnsd/server/daemon.hh"

int main(int argc, char** argv) {
  using namespace mirrorpool::dnsd;
  CLI::App app{"mirrorpoold: authoritative DNS for download-mirror pools"};
  std::string config = "/etc/mirrorpool/mirrorpool.toml";
  bool check = false;
  std::string level = "info";
  app.add_option("-c,--config", config, "configuration file")->capture_default_str();
  app.add_flag("--check-config", check, "load the configuration and zones, report, exit");
  app.add_option("--log-level", level, "debug, info, warning or error")
      ->check(CLI::IsMember({"debug", "info", "warning", "error"}))
      ->capture_default_str();
  app.set_version_flag("-V,--version", "mirrorpoold " MIRRORPOOL_VERSION);
  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    // Help and version are "errors" with code 0; every real one is a usage error.
    return app.exit(e) == 0 ? kExitOk : kExitConfig;
  }
  LogLevel parsed = LogLevel::info;
  parse_log_level(level, parsed);
  set_log_level(parsed);
  return check ? check_config(config) : run_daemon(config);
}
