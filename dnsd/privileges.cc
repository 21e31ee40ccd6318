#include "dnsd/privileges.hh"

#include <cerrno>
#include <cstring>

#include <grp.h>
#include <pwd.h>
#include <unistd.h>

#include <fmt/core.h>

#include "dnsd/log.hh"

namespace mirrorpool::dnsd {

bool drop_privileges(const std::string& user, std::string& error) {
  if (geteuid() != 0) return true;
  if (user == "root") {
    log(LogLevel::warning, "running as root because [server] user = \"root\"");
    return true;
  }
  errno = 0;
  const passwd* pw = getpwnam(user.c_str());
  if (pw == nullptr) {
    error = errno != 0 ? fmt::format("[server] user '{}': {}", user, std::strerror(errno))
                       : fmt::format("[server] user '{}' does not exist", user);
    return false;
  }
  const uid_t uid = pw->pw_uid;
  const gid_t gid = pw->pw_gid;
  // Groups first: once the uid is gone we may no longer change them. Leaving
  // root's uid clears every capability because PR_SET_KEEPCAPS is never set.
  if (initgroups(user.c_str(), gid) != 0 || setgid(gid) != 0 || setuid(uid) != 0) {
    error = fmt::format("cannot switch to user '{}': {}", user, std::strerror(errno));
    return false;
  }
  if (uid != 0 && (setuid(0) == 0 || geteuid() == 0)) {
    error = fmt::format("switched to user '{}' but could regain root", user);
    return false;
  }
  log(LogLevel::info, "running as user {} (uid {}, gid {})", user, uid, gid);
  return true;
}

}  // namespace mirrorpool::dnsd
