// Where mirrorpoolctl finds the daemon: the control socket a config file
// names, read without validating the rest of the file. A typo elsewhere in
// the config must not keep the operator from the daemon — least of all from
// `reload`, which is how the daemon reports that very typo.
#pragma once

#include <string>
#include <string_view>

namespace mirrorpool::dnsd {

// [server] control_socket when the config file names none.
inline constexpr std::string_view kDefaultControlSocket = "/run/mirrorpool/control.sock";

// [server] control_socket of the TOML text: from the parsed document when
// the text parses, else from the first `control_socket = "..."` line inside
// [server]; the built-in default when neither names one.
std::string control_socket_in(std::string_view config_text);

}  // namespace mirrorpool::dnsd
