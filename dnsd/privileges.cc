#include "dnsd/privileges.hh"

#include <cerrno>
#include <cstring>
#include <filesystem>

#include <dirent.h>
#include <grp.h>
#include <pwd.h>
#include <sys/stat.h>
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
