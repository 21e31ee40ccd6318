#include "dnsd/server/privileges.hh"

#include <cerrno>
#include <cstring>
#include <filesystem>

#include <dirent.h>
#include <grp.h>
#include <linux/capability.h>
#include <pwd.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <fmt/core.h>

#include "dnsd/common/log.hh"

namespace mirrorpool::dnsd {

namespace {

// Empties the bounding set, so that no exec could bring a file capability
// back. Needs CAP_SETPCAP, which root in a restricted container may lack;
// false then, and no_new_privs alone keeps exec from granting anything.
bool drop_bounding_set() {
  for (int cap = 0; prctl(PR_CAPBSET_READ, cap, 0, 0, 0) >= 0; ++cap) {
    if (prctl(PR_CAPBSET_DROP, cap, 0, 0, 0) != 0) return false;
  }
  return true;
}

// Leaving uid 0 clears the permitted, effective and ambient sets but not the
// inheritable one; lowering every set is always allowed.
bool clear_capability_sets() {
  __user_cap_header_struct header{_LINUX_CAPABILITY_VERSION_3, 0};
  __user_cap_data_struct data[_LINUX_CAPABILITY_U32S_3]{};
  if (syscall(SYS_capset, &header, data) != 0) return false;
  if (prctl(PR_CAP_AMBIENT, PR_CAP_AMBIENT_CLEAR_ALL, 0, 0, 0) != 0) return false;
  if (syscall(SYS_capget, &header, data) != 0) return false;
  for (const auto& d : data) {
    if (d.effective != 0 || d.permitted != 0 || d.inheritable != 0) return false;
  }
  return true;
}

}  // namespace

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
  // Groups and the bounding set first: once the uid is gone we may no longer
  // change them. Leaving root's uid clears the permitted and effective
  // capabilities because PR_SET_KEEPCAPS is never set.
  if (initgroups(user.c_str(), gid) != 0 || setgid(gid) != 0) {
    error = fmt::format("cannot switch to user '{}': {}", user, std::strerror(errno));
    return false;
  }
  if (!drop_bounding_set()) {
    log(LogLevel::debug, "capability bounding set kept: {}", std::strerror(errno));
  }
  // The daemon never executes anything; should an exploit try, a set-uid or
  // file-capability binary gains nothing.
  if (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) != 0 || setuid(uid) != 0) {
    error = fmt::format("cannot switch to user '{}': {}", user, std::strerror(errno));
    return false;
  }
  if (uid != 0 && (setuid(0) == 0 || geteuid() == 0)) {
    error = fmt::format("switched to user '{}' but could regain root", user);
    return false;
  }
  if (!clear_capability_sets()) {
    error = fmt::format("switched to user '{}' but could not clear every capability", user);
    return false;
  }
  log(LogLevel::info, "running as user {} (uid {}, gid {})", user, uid, gid);
  return true;
}

bool target_account(const std::string& user, uid_t& uid, gid_t& gid, std::string& error) {
  uid = static_cast<uid_t>(-1);
  gid = static_cast<gid_t>(-1);
  if (geteuid() != 0 || user == "root") return true;
  const passwd* pw = getpwnam(user.c_str());
  if (pw == nullptr) {
    error = fmt::format("[server] user '{}' does not exist", user);
    return false;
  }
  uid = pw->pw_uid;
  gid = pw->pw_gid;
  return true;
}

bool hand_over(const std::string& dir, uid_t uid, gid_t gid, std::string& error) {
  if (uid == static_cast<uid_t>(-1)) return true;
  if (chown(dir.c_str(), uid, gid) != 0) {
    error = fmt::format("{}: chown: {}", dir, std::strerror(errno));
    return false;
  }
  DIR* d = opendir(dir.c_str());
  if (d == nullptr) {
    error = fmt::format("{}: {}", dir, std::strerror(errno));
    return false;
  }
  bool ok = true;
  while (const dirent* e = readdir(d)) {
    const std::string name = e->d_name;
    if (name == "." || name == "..") continue;
    const std::string path = dir + "/" + name;
    if (lchown(path.c_str(), uid, gid) != 0) {
      error = fmt::format("{}: chown: {}", path, std::strerror(errno));
      ok = false;
      break;
    }
  }
  closedir(d);
  return ok;
}

bool make_parent_dir(const std::string& path, uid_t uid, gid_t gid, std::string& error) {
  const auto slash = path.rfind('/');
  if (slash == std::string::npos || slash == 0) return true;
  const std::string dir = path.substr(0, slash);
  struct stat st {};
  if (stat(dir.c_str(), &st) == 0) return true;
  std::error_code ec;
  std::filesystem::create_directories(dir, ec);
  if (ec || chmod(dir.c_str(), 0750) != 0) {
    error = fmt::format("{}: {}", dir, ec ? ec.message() : std::strerror(errno));
    return false;
  }
  if (uid != static_cast<uid_t>(-1) && chown(dir.c_str(), uid, gid) != 0) {
    error = fmt::format("{}: chown: {}", dir, std::strerror(errno));
    return false;
  }
  return true;
}

}  // namespace mirrorpool::dnsd
