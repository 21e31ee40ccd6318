#include "dnsd/common/atomic_file.hh"

#include <cerrno>
#include <cstring>

#include <fcntl.h>
#include <unistd.h>

#include <fmt/core.h>

namespace mirrorpool::dnsd {

namespace {

std::string directory_of(const std::string& path) {
  const auto slash = path.rfind('/');
  if (slash == std::string::npos) return ".";
  return slash == 0 ? "/" : path.substr(0, slash);
}

}  // namespace

bool write_all(int fd, std::string_view data) {
  while (!data.empty()) {
    const ssize_t n = write(fd, data.data(), data.size());
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) return false;
    data.remove_prefix(static_cast<size_t>(n));
  }
  return true;
}

bool write_file_atomically(const std::string& path, std::string_view content, std::string& error) {
  return write_file_atomically(path, content, error, 0640);
}

bool write_file_atomically(const std::string& path, std::string_view content, std::string& error,
                           unsigned mode, int uid, int gid) {
  const std::string tmp = path + ".tmp";
  // A stale temporary file (a crash mid-write) would keep its old mode.
  unlink(tmp.c_str());
  const int fd = open(tmp.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_TRUNC | O_CLOEXEC,
                      static_cast<mode_t>(mode));
  if (fd < 0) {
    error = fmt::format("{}: {}", tmp, std::strerror(errno));
    return false;
  }
  if ((uid != -1 || gid != -1) &&
      fchown(fd, static_cast<uid_t>(uid), static_cast<gid_t>(gid)) != 0) {
    error = fmt::format("{}: cannot give it to {}:{}: {}", tmp, uid, gid, std::strerror(errno));
    close(fd);
    unlink(tmp.c_str());
    return false;
  }
  const bool written = write_all(fd, content) && fsync(fd) == 0;
  const int saved = errno;
  close(fd);
  if (!written) {
    error = fmt::format("{}: {}", tmp, std::strerror(saved));
    unlink(tmp.c_str());
    return false;
  }
  if (rename(tmp.c_str(), path.c_str()) != 0) {
    error = fmt::format("{}: {}", path, std::strerror(errno));
    unlink(tmp.c_str());
    return false;
  }
  // The rename itself is durable only once the directory entry is on disk.
  const int dir = open(directory_of(path).c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (dir >= 0) {
    fsync(dir);
    close(dir);
  }
  return true;
}

bool read_whole_file(const std::string& path, std::string& content, bool& missing,
                     std::string& error) {
  missing = false;
  const int fd = open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) {
    if (errno == ENOENT) {
      missing = true;
    } else {
      error = fmt::format("{}: {}", path, std::strerror(errno));
    }
    return false;
  }
  content.clear();
  char buf[65536];
  for (;;) {
    const ssize_t n = read(fd, buf, sizeof buf);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) {
      error = fmt::format("{}: {}", path, std::strerror(errno));
      close(fd);
      return false;
    }
    if (n == 0) break;
    content.append(buf, static_cast<size_t>(n));
  }
  close(fd);
  return true;
}

}  // namespace mirrorpool::dnsd
