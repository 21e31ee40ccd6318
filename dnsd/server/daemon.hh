// The daemon's life cycle: load, bind, drop privileges, first probe round,
// serve, reload on SIGHUP, stop on SIGTERM/SIGINT. main() only parses flags.
#pragma once

#include <string>

namespace mirrorpool::dnsd {

// Exit codes: mirrorpoold(8), EXIT STATUS.
constexpr int kExitOk = 0;
constexpr int kExitRuntime = 1;
constexpr int kExitConfig = 2;

// Runs the real loaders on `config_path` and prints every diagnostic to
// stderr. Returns kExitOk or kExitConfig.
int check_config(const std::string& config_path);

// Serves until SIGTERM/SIGINT. Returns an exit code.
int run_daemon(const std::string& config_path);

}  // namespace mirrorpool::dnsd
