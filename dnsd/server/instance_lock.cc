#include "dnsd/server/instance_lock.hh"

#include <cerrno>
#include <cstring>
#include <filesystem>

#include <fcntl.h>
#include <sys/file.h>
#include <unistd.h>

#include <fmt/core.h>

namespace mirrorpool::dnsd {

std::optional<InstanceLock> InstanceLock::acquire(const std::string& state_dir,
                                                  std::string& error) {
  std::error_code ec;
  std::filesystem::create_directories(state_dir, ec);
  if (ec) {
    error = fmt::format("state_dir {}: {}", state_dir, ec.message());
    return std::nullopt;
  }
  const std::string path = state_dir + "/lock";
  const int fd = open(path.c_str(), O_RDWR | O_CREAT | O_CLOEXEC | O_NOFOLLOW, 0644);
  if (fd < 0) {
    error = fmt::format("{}: {}", path, std::strerror(errno));
    return std::nullopt;
  }
  if (flock(fd, LOCK_EX | LOCK_NB) != 0) {
    const int err = errno;
    // The holder wrote its PID into the file once it had the lock.
    char pid[32] = {};
    const ssize_t n = pread(fd, pid, sizeof pid - 1, 0);
    close(fd);
    std::string holder = n > 0 ? std::string(pid, static_cast<size_t>(n)) : "";
    while (!holder.empty() && (holder.back() == '\n' || holder.back() == ' ')) holder.pop_back();
    error = err == EWOULDBLOCK ? fmt::format(
                                     "another mirrorpoold (pid {}) is running on state_dir {}; "
                                     "not starting a second one",
                                     holder.empty() ? "unknown" : holder, state_dir)
                               : fmt::format("{}: lock: {}", path, std::strerror(err));
    return std::nullopt;
  }
  // The PID only goes into a second instance's message: a full disk must not
  // stop the daemon from starting, so a failed write is not an error.
  const std::string text = fmt::format("{}\n", getpid());
  if (ftruncate(fd, 0) == 0) {
    [[maybe_unused]] const ssize_t written = pwrite(fd, text.data(), text.size(), 0);
  }
  return InstanceLock(fd);
}

InstanceLock::~InstanceLock() {
  if (fd_ >= 0) close(fd_);
}

}  // namespace mirrorpool::dnsd
