// Dropping root after the sockets are bound (SPEC §3 `[server] user`).
#pragma once

#include <string>

namespace mirrorpool::dnsd {

// When running as root, switches to `user` (its uid, gid and supplementary
// groups) with no capabilities left, unless user is "root". A non-root
// process is left as it is. Returns false with `error` set on failure.
bool drop_privileges(const std::string& user, std::string& error);

}  // namespace mirrorpool::dnsd
