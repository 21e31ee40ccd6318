// mirrorpoolctl's side of the control socket: one request, one response.
#pragma once

#include <string>

#include <nlohmann/json.hpp>

#include "dnsd/control/control_protocol.hh"

namespace mirrorpool::dnsd {

enum class ClientStatus { ok, not_running, failed };

// Sends {"version": 1, "command": NAME, "args": args} to the socket and
// reads the one-line response. not_running when nothing listens at the path
// (no file, or connection refused); failed for any other I/O or protocol
// error, with `error` set.
ClientStatus control_call(const std::string& socket_path, Command command,
                          const nlohmann::json& args, nlohmann::json& response, std::string& error);

}  // namespace mirrorpool::dnsd
