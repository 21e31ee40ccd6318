// One daemon per state_dir: the second acquire of a held lock fails naming the
// holder's PID, and the lock is free again once its holder lets go.
#include "dnsd/server/instance_lock.hh"

#include <string>

#include <unistd.h>

#include <doctest/doctest.h>

#include "temp_dir.hh"

namespace mirrorpool::dnsd {
namespace {

TEST_CASE("a state_dir is locked by one holder at a time") {
  TempDir dir;
  const std::string state_dir = dir.file("state");  // created by acquire
  std::string error;
  {
    auto first = InstanceLock::acquire(state_dir, error);
    REQUIRE(first);
    // flock locks belong to the open file, so a second open in this process
    // conflicts just as another daemon's would.
    auto second = InstanceLock::acquire(state_dir, error);
    CHECK_FALSE(second);
    CHECK(error == "another mirrorpoold (pid " + std::to_string(getpid()) +
                       ") is running on state_dir " + state_dir + "; not starting a second one");
  }
  CHECK(InstanceLock::acquire(state_dir, error));
}

TEST_CASE("an unusable state_dir is an error, not a lock") {
  std::string error;
  CHECK_FALSE(InstanceLock::acquire("/proc/no-such-state-dir", error));
  CHECK(error.starts_with("state_dir /proc/no-such-state-dir: "));
}

}  // namespace
}  // namespace mirrorpool::dnsd
