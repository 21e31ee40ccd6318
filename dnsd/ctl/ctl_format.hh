// How mirrorpoolctl prints each command's result for a person. Pure: JSON in,
// text out (the --json flag prints the JSON itself instead).
#pragma once

#include <string>

#include <nlohmann/json.hpp>

#include "dnsd/control/control_protocol.hh"

namespace mirrorpool::dnsd {

std::string format_result(Command command, const nlohmann::json& result);

}  // namespace mirrorpool::dnsd
