// How mirrorpoolctl prints each command's result for a person. Pure: JSON in,
// text out (the --json flag prints the JSON itself instead).
#pragma once

#include <string>

#include <nlohmann/json.hpp>

namespace mirrorpool::dnsd {

std::string format_result(const std::string& command, const nlohmann::json& result);

}  // namespace mirrorpool::dnsd
