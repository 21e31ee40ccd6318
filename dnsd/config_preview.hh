// Parsing with the keys of not-yet-built features accepted instead of
// reported. It lets tests prove those keys are already parsed and validated in
// full, so building a feature only means deleting its kNotYetSupported entry in
// config.cc. The daemon never calls this.
#pragma once

#include <optional>
#include <string>
#include <string_view>

#include "dnsd/config.hh"

namespace mirrorpool::dnsd {

std::optional<Config> parse_config_preview(std::string_view text, const std::string& path,
                                           zones::Diagnostics& diags);

}  // namespace mirrorpool::dnsd
