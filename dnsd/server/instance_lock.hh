// One daemon per state_dir: two daemons on the same state would both write
// state.json and the journal, and the second would take over the control
// socket (and, through SO_REUSEPORT, share the DNS ports) of the first. The
// lock is an flock on <state_dir>/lock, taken before any socket is touched
// and held for the life of the process; the kernel drops it when the process
// ends, however it ends, so a crash never leaves a stale lock behind.
#pragma once

#include <optional>
#include <string>

namespace mirrorpool::dnsd {

class InstanceLock {
 public:
  // Creates state_dir if needed and locks it. nullopt with `error` set when
  // another process holds the lock (naming its PID) or the file cannot be
  // opened.
  static std::optional<InstanceLock> acquire(const std::string& state_dir, std::string& error);

  InstanceLock(InstanceLock&& other) noexcept : fd_(other.fd_) { other.fd_ = -1; }
  InstanceLock& operator=(InstanceLock&&) = delete;
  InstanceLock(const InstanceLock&) = delete;
  InstanceLock& operator=(const InstanceLock&) = delete;
  ~InstanceLock();

 private:
  explicit InstanceLock(int fd) : fd_(fd) {}
  int fd_;
};

}  // namespace mirrorpool::dnsd
