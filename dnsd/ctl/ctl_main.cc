// mirrorpoolctl: the operator's command line (mirrorpoolctl(8)). Parses flags, sends one
// request over the control socket, prints the answer. Exit codes: 0 ok,
// 1 the daemon refused or failed, 2 usage, 3 the daemon is not running.
#include <unistd.h>

#include <algorithm>
#include <iostream>
#include <string>
#include <string_view>
#include <vector>

#include <fmt/core.h>
#include <CLI/CLI.hpp>

#include "dnsd/common/atomic_file.hh"
#include "dnsd/config/control_socket_path.hh"
#include "dnsd/config/mirror_limits.hh"
#include "dnsd/ctl/control_client.hh"
#include "dnsd/ctl/ctl_format.hh"

namespace {

using nlohmann::json;
using namespace mirrorpool::dnsd;

constexpr int kOk = 0;
constexpr int kFailed = 1;
constexpr int kUsage = 2;
constexpr int kNotRunning = 3;
constexpr const char* kDefaultConfig = "/etc/mirrorpool/mirrorpool.toml";

// The socket path: -s wins; else [server] control_socket of -c (or the
// default config when it exists), read without validating the rest of the
// file; else the built-in default.
bool socket_path(const std::string& socket, const std::string& config, bool config_given,
                 std::string& path) {
  if (!socket.empty()) {
    path = socket;
    return true;
  }
  if (!config_given && access(kDefaultConfig, R_OK) != 0) {
    path = kDefaultControlSocket;
    return true;
  }
  const std::string file = config_given ? config : kDefaultConfig;
  std::string text, error;
  bool missing = false;
  if (!read_whole_file(file, text, missing, error)) {
    fmt::print(stderr, "mirrorpoolctl: cannot read {}: {}; name the socket with -s\n", file,
               missing ? "no such file" : error);
    return false;
  }
  path = control_socket_in(text);
  return true;
}

// The key of arg in a request's "args".
std::string key(Arg arg) {
  return std::string(arg_key(arg));
}

// A command's group ("dnssec" of "dnssec status"), empty for a command of one word.
std::string_view group_of(std::string_view name) {
  const auto space = name.find(' ');
  return space == std::string_view::npos ? std::string_view() : name.substr(0, space);
}

// The CLI11 command of a protocol command: a subcommand of mirrorpoolctl, or
// of its group's subcommand.
CLI::App* add_command(CLI::App& app, Command command, const std::string& description) {
  const std::string_view name = command_name(command);
  const std::string_view group = group_of(name);
  if (group.empty()) return app.add_subcommand(std::string(name), description);
  return app.get_subcommand(std::string(group))
      ->add_subcommand(std::string(name.substr(group.size() + 1)), description);
}

// The CLI11 command of `name` as add_command made it.
const CLI::App* find_command(const CLI::App& app, std::string_view name) {
  const std::string_view group = group_of(name);
  if (group.empty()) return app.get_subcommand(std::string(name));
  return app.get_subcommand(std::string(group))
      ->get_subcommand(std::string(name.substr(group.size() + 1)));
}

// Whether `word` starts a command: one's name, or its group's.
bool starts_command(std::string_view word) {
  for (const CommandSpec& spec : kCommands) {
    if (spec.name == word || group_of(spec.name) == word) return true;
  }
  return false;
}

// Hidden --list-commands: every command of the protocol, one a line, with the
// flags mirrorpoolctl gives it ("dnssec status --json": the words of a
// command before its flags). The tests of the bash completion and of the
// man page compare against this list rather than a copy of it. A command of
// the protocol that mirrorpoolctl lacks makes get_subcommand throw.
void list_commands(const CLI::App& app) {
  for (const CommandSpec& spec : kCommands) {
    const CLI::App* sub = find_command(app, spec.name);
    std::string line(spec.name);
    for (const CLI::Option* option : sub->get_options()) {
      if (option == sub->get_help_ptr()) continue;
      for (const std::string& name : option->get_lnames()) line += " --" + name;
    }
    fmt::print("{}\n", line);
  }
}

// "--check port=8080": the value as JSON when it parses (numbers, arrays,
// booleans), else as a string.
bool parse_overrides(const std::vector<std::string>& items, json& out) {
  out = json::object();
  for (const std::string& item : items) {
    const auto eq = item.find('=');
    if (eq == std::string::npos || eq == 0) {
      fmt::print(stderr, "--check expects KEY=VALUE, got '{}'\n", item);
      return false;
    }
    const std::string value = item.substr(eq + 1);
    json parsed = json::parse(value, nullptr, false);
    out[item.substr(0, eq)] = parsed.is_discarded() || parsed.is_object() ? json(value) : parsed;
  }
  return true;
}

// The number of single-letter edits between a and b (Levenshtein).
size_t edit_distance(std::string_view a, std::string_view b) {
  std::vector<size_t> row(b.size() + 1);
  for (size_t j = 0; j <= b.size(); ++j) row[j] = j;
  for (size_t i = 1; i <= a.size(); ++i) {
    size_t diagonal = row[0];
    row[0] = i;
    for (size_t j = 1; j <= b.size(); ++j) {
      const size_t above = row[j];
      row[j] = std::min({row[j] + 1, row[j - 1] + 1, diagonal + (a[i - 1] == b[j - 1] ? 0 : 1)});
      diagonal = above;
    }
  }
  return row[b.size()];
}

// The command word of argv (the first argument that is neither an option nor
// the value of -c/-s) when it names no command: CLI11 would only say that a
// command is required. Prints which word, and the nearest command.
bool unknown_command(int argc, char** argv) {
  for (int i = 1; i < argc; ++i) {
    const std::string_view word = argv[i];
    if (word == "-c" || word == "--config" || word == "-s" || word == "--socket") {
      ++i;
      continue;
    }
    if (word.starts_with("-")) continue;
    if (starts_command(word)) return false;
    std::string_view nearest;
    size_t best = word.size();
    for (const CommandSpec& spec : kCommands) {
      const std::string_view group = group_of(spec.name);
      const std::string_view first = group.empty() ? spec.name : group;
      const size_t d = edit_distance(word, first);
      if (d < best) {
        best = d;
        nearest = first;
      }
    }
    fmt::print(stderr, "mirrorpoolctl: unknown command '{}'{}; `mirrorpoolctl --help` lists them\n",
               word, best <= 2 ? fmt::format(" (did you mean '{}'?)", nearest) : "");
    return true;
  }
  return false;
}

}  // namespace

int main(int argc, char** argv) {
  if (unknown_command(argc, argv)) return kUsage;
  CLI::App app{"mirrorpoolctl: control a running mirrorpoold"};
  app.require_subcommand(1);
  std::string config = kDefaultConfig;
  std::string socket;
  auto* config_opt = app.add_option("-c,--config", config, "read the socket path from this config");
  app.add_option("-s,--socket", socket, "control socket path")->excludes(config_opt);
  app.set_version_flag("-V,--version", "mirrorpoolctl " MIRRORPOOL_VERSION);
  // Runs before the check that a command was given, so it needs none.
  app.add_flag_callback("--list-commands",
                        [&app] {
                          list_commands(app);
                          throw CLI::Success();
                        })
      ->group("");

  std::string mirror, pool, note, since, id, address, url_prefix, email, zone;
  std::vector<std::string> addresses, checks;
  unsigned weight = 1;
  bool as_json = false, dry_run = false, force = false;
  json args = json::object();

  auto* status = add_command(app, Command::status, "every mirror: state, reason, checks, weights");
  status->add_flag("--json", as_json, "machine-readable output");

  auto add_target = [&](CLI::App* sub, bool change) {
    sub->add_option("ID", mirror, "mirror id")->required();
    sub->add_option("--pool", pool, "pool name, when the id is not unique");
    if (change) {
      sub->add_flag("--dry-run", dry_run, "show the answer sets before and after, change nothing");
      sub->add_flag("--force", force, "allow a change that leaves the pool below min_healthy");
    }
  };
  auto* drain = add_command(app, Command::drain, "take a mirror out of the answers, with a note");
  add_target(drain, true);
  drain->add_option("--note", note, "why (kept in the history)")->required();
  auto* undrain = add_command(app, Command::undrain, "put a drained mirror back");
  add_target(undrain, true);
  auto* set_weight = add_command(app, Command::set_weight, "change a mirror's weight at run time");
  add_target(set_weight, true);
  set_weight->add_option("WEIGHT", weight, "0 disables")
      ->required()
      ->check(CLI::Range(0U, kMaxMirrorWeight));
  auto* add = add_command(app, Command::add, "add a mirror at run time");
  add->add_option("--pool", pool, "pool name")->required();
  add->add_option("--id", id, "mirror id")->required();
  add->add_option("--address", addresses, "an address (repeat for several)")->required();
  add->add_option("--weight", weight, "weight")->check(CLI::Range(0U, kMaxMirrorWeight));
  add->add_option("--check", checks, "a [pool.check] override KEY=VALUE (repeatable)");
  add->add_option("--url-prefix", url_prefix,
                  "its download URL, for export-mirrors-json (https://HOST/PATH/)");
  add->add_option("--email", email, "the mirror admin's address");
  add->add_option("--note", note, "why (kept in the history)");
  add->add_flag("--dry-run", dry_run, "show the answer sets before and after, change nothing");
  auto* remove = add_command(app, Command::remove, "remove a mirror at run time");
  add_target(remove, true);
  remove->add_option("--note", note, "why (kept in the history)");
  auto* check = add_command(app, Command::check, "probe a mirror now and print every step");
  add_target(check, false);
  auto* history = add_command(app, Command::history, "health changes and operator actions");
  history->add_option("ID", mirror, "only this mirror");
  history->add_option("--since", since, "RFC 3339 time or a duration ago (7d, 12h)");
  history->add_flag("--json", as_json, "machine-readable output");
  add_command(app, Command::reload, "re-read config and zones (all or nothing)");
  auto* export_json = add_command(app, Command::export_mirrors_json, "the pool as a mirrors.json");
  export_json->add_option("--pool", pool, "pool name, when there are several");
  auto* locate = add_command(app, Command::locate,
                             "where a client is placed, and each geo pool's mirrors ranked for it");
  locate->add_option("ADDRESS", address, "the client's IPv4 or IPv6 address")->required();
  locate->add_option("--pool", pool, "only this pool");
  locate->add_flag("--json", as_json, "machine-readable output");
  app.add_subcommand("dnssec", "DNSSEC keys of the signed zones: status, DS records, rollover")
      ->require_subcommand(1);
  auto* dnssec_status = add_command(app, Command::dnssec_status,
                                    "each signed zone: keys, their states, signatures and renewal");
  dnssec_status->add_option("ZONE", zone, "only this zone");
  auto* dnssec_ds =
      add_command(app, Command::dnssec_ds, "the DS and DNSKEY records to give the parent zone");
  auto* dnssec_rollover = add_command(app, Command::dnssec_rollover,
                                      "start a key rollover: a new key signs beside the old one");
  auto* dnssec_ds_seen = add_command(app, Command::dnssec_ds_seen,
                                     "the parent publishes the new key's DS: retire the old key");
  for (CLI::App* sub : {dnssec_ds, dnssec_rollover, dnssec_ds_seen}) {
    sub->add_option("ZONE", zone, "the zone's name (pool.example.)")->required();
  }
  for (CLI::App* sub : {dnssec_status, dnssec_ds, dnssec_rollover, dnssec_ds_seen}) {
    sub->add_flag("--json", as_json, "machine-readable output");
  }

  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    return app.exit(e) == 0 ? kOk : kUsage;
  }
  std::string path;
  if (!socket_path(socket, config, config_opt->count() > 0, path)) return kUsage;

  CLI::App* sub = app.get_subcommands().front();
  std::string name = sub->get_name();
  // A group's command (dnssec status): the group requires one.
  if (!sub->get_subcommands().empty()) {
    sub = sub->get_subcommands().front();
    name += " " + sub->get_name();
  }
  // Every subcommand was added by add_command under its protocol name.
  const Command command = *command_named(name);
  if (!mirror.empty()) args[key(Arg::mirror)] = mirror;
  if (!pool.empty()) args[key(Arg::pool)] = pool;
  if (sub == drain || sub == add || sub == remove) args[key(Arg::note)] = note;
  if (sub == drain || sub == undrain || sub == set_weight || sub == add || sub == remove) {
    args[key(Arg::dry_run)] = dry_run;
    args[key(Arg::force)] = force;
  }
  if (sub == set_weight || sub == add) args[key(Arg::weight)] = weight;
  if (sub == add) {
    json overrides;
    if (!parse_overrides(checks, overrides)) return kUsage;
    args[key(Arg::id)] = id;
    args[key(Arg::addresses)] = addresses;
    args[key(Arg::check)] = overrides;
    if (!url_prefix.empty()) args[key(Arg::url_prefix)] = url_prefix;
    if (!email.empty()) args[key(Arg::email)] = email;
  }
  if (sub == history && !since.empty()) args[key(Arg::since)] = since;
  if (sub == locate) args[key(Arg::address)] = address;
  if (!zone.empty()) args[key(Arg::zone)] = zone;

  json response;
  std::string error;
  switch (control_call(path, command, args, response, error)) {
    case ClientStatus::not_running:
      fmt::print(stderr, "mirrorpoolctl: daemon not running ({})\n", error);
      return kNotRunning;
    case ClientStatus::failed:
      fmt::print(stderr, "mirrorpoolctl: {}\n", error);
      return kFailed;
    case ClientStatus::ok:
      break;
  }
  if (!response.value(response_field::kOk, false)) {
    fmt::print(stderr, "mirrorpoolctl: {}\n", response.value(response_field::kError, "failed"));
    if (response.contains(response_field::kDetails)) {
      for (const auto& line : response[response_field::kDetails])
        fmt::print(stderr, "{}\n", line.get<std::string>());
    }
    return kFailed;
  }
  const json& result = response[response_field::kResult];
  std::cout << (as_json ? result.dump(2) + "\n" : format_result(command, result));
  // A check that found the mirror broken is a failure for scripts too.
  if (command == Command::check) {
    for (const auto& report : result["reports"]) {
      if (!report.value("ok", false)) return kFailed;
    }
  }
  return kOk;
}
