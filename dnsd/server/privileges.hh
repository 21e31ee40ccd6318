// Dropping root after the sockets are bound (`[server] user` in mirrorpool.toml(5)).
#pragma once

#include <string>

#include <sys/types.h>

namespace mirrorpool::dnsd {

// When running as root, switches to `user` (its uid, gid and supplementary
// groups) with no capabilities left, an empty bounding set where root may
// empty it, and no_new_privs, unless user is "root". A non-root
// process is left as it is. Returns false with `error` set on failure.
bool drop_privileges(const std::string& user, std::string& error);

// The uid and gid drop_privileges will switch to, or -1 for both when it will
// not switch (not root, or user "root"). false when the user does not exist.
bool target_account(const std::string& user, uid_t& uid, gid_t& gid, std::string& error);

// Gives a directory the daemon writes to (and the files in it) to the
// account it will run as; nothing to do when uid is -1.
bool hand_over(const std::string& dir, uid_t uid, gid_t gid, std::string& error);

// Creates the directory that will hold `path` (mode 0750, handed over like
// hand_over) when it does not exist yet, e.g. /run/mirrorpool.
bool make_parent_dir(const std::string& path, uid_t uid, gid_t gid, std::string& error);

}  // namespace mirrorpool::dnsd
