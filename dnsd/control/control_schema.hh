// What a control request may say (mirrorpoolctl(8)), checked before any command runs:
// the nesting depth of the line, then the JSON, then per command the args it
// takes (control_protocol.hh), each with its type, its range and whether it
// is required. Anything else (a missing, unknown, mistyped or out-of-range
// field) is refused with a message naming the field. What passes comes out
// typed as a ControlCall, so that no handler reads untrusted JSON.
#pragma once

#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include <nlohmann/json.hpp>

#include "dnsd/control/control_protocol.hh"

namespace mirrorpool::dnsd {

// A request needs 4 levels ({"args": {"check": {"freshness": {}}}}); the
// line is refused before parsing when it nests deeper than this, so that no
// recursive walk of the JSON (destructor, dump) can exhaust the stack.
constexpr size_t kMaxControlDepth = 16;
// A note is one line of the journal and of the log.
constexpr size_t kMaxNoteBytes = 1000;
// The addresses of one mirror added at run time.
constexpr size_t kMaxAddedAddresses = 64;

// The args of every command, typed and checked. An arg a command does not
// take, or that was not given, keeps its default here.
struct ControlArgs {
  std::string mirror;  // a valid mirror id (is_valid_id); empty when not given
  std::string pool;    // a pool name as given ("dl.pool.example" or with the dot)
  std::string note;    // at most kMaxNoteBytes, no control characters
  bool dry_run = false;
  bool force = false;
  uint32_t weight = 1;                 // 0 to kMaxMirrorWeight; add's default
  std::string id;                      // add: the new mirror's id, a valid one
  std::vector<std::string> addresses;  // add: 1 to kMaxAddedAddresses, checked when applied
  // add: [pool.check] keys → values, checked by parse_mirror_overrides.
  nlohmann::json check = nlohmann::json::object();
  std::optional<std::string> since;  // history: RFC 3339 time or duration, parsed by the command
  std::string address;               // locate: an IPv4 or IPv6 address, parsed
  // add: what export-mirrors-json publishes; url_prefix parses
  // (parse_url_prefix), email has an '@'. Empty when not given.
  std::string url_prefix;
  std::string email;
  // dnssec: a zone's name, checked to be a domain name and given as
  // zones::Name::to_text has it ("pool.example."); empty when not given.
  std::string zone;
};

struct ControlCall {
  Command command = Command::status;
  ControlArgs args;
};

// Whether JSON text nests deeper than `limit` ('[' and '{' outside strings),
// found by a scan that builds nothing, so that it is safe on any input.
bool nests_deeper_than(std::string_view text, size_t limit);

// Checks one request line (without its newline) from an untrusted client:
// {"version": 1, "command": NAME, "args": {...}}, "args" optional when the
// command requires none. nullopt with `error` set to the message to answer
// with otherwise. Never throws.
std::optional<ControlCall> parse_control_request(std::string_view line, std::string& error);

}  // namespace mirrorpool::dnsd
