// The words of the control protocol (see mirrorpoolctl(8)), written here and
// nowhere else: the fields of a request and of a response, every command, and
// the args each command takes. The daemon checks requests against this table
// (control_schema.cc) and answers with these fields (control_server.cc);
// mirrorpoolctl builds its commands and requests from it (ctl_main.cc) and
// prints results by command (ctl_format.cc); `mirrorpoolctl --list-commands`
// prints it, so that the tests of the bash completion and of the man page
// compare against the binary rather than a copy of the names.
#pragma once

#include <array>
#include <cstddef>
#include <optional>
#include <span>
#include <string_view>

namespace mirrorpool::dnsd {

constexpr int kControlProtocolVersion = 1;

// A request line: {"version": 1, "command": NAME, "args": {...}}.
namespace request_field {
inline constexpr std::string_view kVersion = "version";
inline constexpr std::string_view kCommand = "command";
inline constexpr std::string_view kArgs = "args";
}  // namespace request_field

// A response line: {"version": 1, "ok": true, "result": {...}}, or
// {"version": 1, "ok": false, "error": MESSAGE, "details": [LINE, ...]}.
namespace response_field {
inline constexpr std::string_view kVersion = "version";
inline constexpr std::string_view kOk = "ok";
inline constexpr std::string_view kResult = "result";
inline constexpr std::string_view kError = "error";
inline constexpr std::string_view kDetails = "details";
}  // namespace response_field

enum class Command {
  status,
  drain,
  undrain,
  set_weight,
  add,
  remove,
  check,
  history,
  reload,
  export_mirrors_json,
  locate,
  dnssec_status,
  dnssec_ds,
  dnssec_rollover,
  dnssec_ds_seen,
};

// The args of a request, by the key they have in "args".
enum class Arg {
  mirror,
  pool,
  note,
  dry_run,
  force,
  weight,
  id,
  addresses,
  check,
  since,
  address,
  url_prefix,
  email,
  zone,
};

constexpr std::string_view arg_key(Arg arg) {
  switch (arg) {
    case Arg::mirror:
      return "mirror";
    case Arg::pool:
      return "pool";
    case Arg::note:
      return "note";
    case Arg::dry_run:
      return "dry_run";
    case Arg::force:
      return "force";
    case Arg::weight:
      return "weight";
    case Arg::id:
      return "id";
    case Arg::addresses:
      return "addresses";
    case Arg::check:
      return "check";
    case Arg::since:
      return "since";
    case Arg::address:
      return "address";
    case Arg::url_prefix:
      return "url_prefix";
    case Arg::email:
      return "email";
    case Arg::zone:
      return "zone";
  }
  return {};
}

// An arg a command takes; one that is not required may be left out.
struct ArgUse {
  Arg arg;
  bool required;
};

struct CommandSpec {
  Command command;
  // As typed after mirrorpoolctl: one word, or a group and a word
  // ("dnssec status"), which mirrorpoolctl makes a command of its group.
  std::string_view name;
  // What mirrorpoolctl sends for the command, and nothing else is accepted.
  std::span<const ArgUse> args;
};

namespace command_args {
inline constexpr ArgUse kDrain[] = {{Arg::mirror, true},
                                    {Arg::pool, false},
                                    {Arg::note, true},
                                    {Arg::dry_run, false},
                                    {Arg::force, false}};
inline constexpr ArgUse kUndrain[] = {
    {Arg::mirror, true}, {Arg::pool, false}, {Arg::dry_run, false}, {Arg::force, false}};
inline constexpr ArgUse kSetWeight[] = {{Arg::mirror, true},   {Arg::weight, true},
                                        {Arg::pool, false},    {Arg::note, false},
                                        {Arg::dry_run, false}, {Arg::force, false}};
inline constexpr ArgUse kAdd[] = {
    {Arg::pool, true},        {Arg::id, true},    {Arg::addresses, true}, {Arg::weight, false},
    {Arg::check, false},      {Arg::note, false}, {Arg::dry_run, false},  {Arg::force, false},
    {Arg::url_prefix, false}, {Arg::email, false}};
inline constexpr ArgUse kRemove[] = {{Arg::mirror, true},
                                     {Arg::pool, false},
                                     {Arg::note, false},
                                     {Arg::dry_run, false},
                                     {Arg::force, false}};
inline constexpr ArgUse kCheck[] = {{Arg::mirror, true}, {Arg::pool, false}};
inline constexpr ArgUse kHistory[] = {{Arg::mirror, false}, {Arg::since, false}};
inline constexpr ArgUse kExport[] = {{Arg::pool, false}};
inline constexpr ArgUse kLocate[] = {{Arg::address, true}, {Arg::pool, false}};
inline constexpr ArgUse kZoneOptional[] = {{Arg::zone, false}};
inline constexpr ArgUse kZone[] = {{Arg::zone, true}};
}  // namespace command_args

// Every command, in the order of Command; messages and --list-commands list
// them in this order.
inline constexpr std::array<CommandSpec, 15> kCommands = {{
    {Command::status, "status", {}},
    {Command::drain, "drain", command_args::kDrain},
    {Command::undrain, "undrain", command_args::kUndrain},
    {Command::set_weight, "set-weight", command_args::kSetWeight},
    {Command::add, "add", command_args::kAdd},
    {Command::remove, "remove", command_args::kRemove},
    {Command::check, "check", command_args::kCheck},
    {Command::history, "history", command_args::kHistory},
    {Command::reload, "reload", {}},
    {Command::export_mirrors_json, "export-mirrors-json", command_args::kExport},
    {Command::locate, "locate", command_args::kLocate},
    {Command::dnssec_status, "dnssec status", command_args::kZoneOptional},
    {Command::dnssec_ds, "dnssec ds", command_args::kZone},
    {Command::dnssec_rollover, "dnssec rollover", command_args::kZone},
    {Command::dnssec_ds_seen, "dnssec ds-seen", command_args::kZone},
}};

// kCommands is indexed by Command, so a command cannot be left out.
constexpr bool indexed_by_command() {
  for (size_t i = 0; i < kCommands.size(); ++i) {
    if (kCommands[i].command != static_cast<Command>(i)) return false;
  }
  return kCommands.size() == static_cast<size_t>(Command::dnssec_ds_seen) + 1;
}
static_assert(indexed_by_command(), "kCommands lists every Command once, in enum order");

constexpr const CommandSpec& command_spec(Command command) {
  return kCommands[static_cast<size_t>(command)];
}

constexpr std::string_view command_name(Command command) {
  return command_spec(command).name;
}

constexpr std::optional<Command> command_named(std::string_view name) {
  for (const CommandSpec& spec : kCommands) {
    if (spec.name == name) return spec.command;
  }
  return std::nullopt;
}

}  // namespace mirrorpool::dnsd
