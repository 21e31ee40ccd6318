// notify_service against a socket bound here, as systemd binds its own: a
// path, an abstract name, and the ways NOTIFY_SOCKET can be wrong.
#include "dnsd/server/service_notify.hh"

#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include <cstddef>
#include <cstdlib>
#include <cstring>
#include <string>

#include <doctest/doctest.h>

#include "temp_dir.hh"

namespace mirrorpool::dnsd {
namespace {

// A bound AF_UNIX datagram socket; `name` is a path, or "@..." for an
// abstract name.
class Listener {
 public:
  explicit Listener(const std::string& name) {
    fd_ = socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0);
    REQUIRE(fd_ >= 0);
    sockaddr_un addr{};
    addr.sun_family = AF_UNIX;
    std::memcpy(addr.sun_path, name.data(), name.size());
    if (name[0] == '@') addr.sun_path[0] = '\0';
    const auto length = static_cast<socklen_t>(offsetof(sockaddr_un, sun_path) + name.size() +
                                               (name[0] == '@' ? 0 : 1));
    REQUIRE(bind(fd_, reinterpret_cast<const sockaddr*>(&addr), length) == 0);
  }
  ~Listener() { close(fd_); }
  Listener(const Listener&) = delete;
  Listener& operator=(const Listener&) = delete;

  // The next datagram, or "" when none is waiting.
  std::string receive() {
    char buffer[512];
    const ssize_t n = recv(fd_, buffer, sizeof buffer, MSG_DONTWAIT);
    return n < 0 ? std::string() : std::string(buffer, static_cast<size_t>(n));
  }

 private:
  int fd_ = -1;
};

// Sets NOTIFY_SOCKET for one test case and restores "unset" after it.
struct NotifyEnv {
  explicit NotifyEnv(const std::string& value) { setenv("NOTIFY_SOCKET", value.c_str(), 1); }
  ~NotifyEnv() { unsetenv("NOTIFY_SOCKET"); }
};

TEST_CASE("notify_service sends one datagram to a path socket") {
  TempDir dir;
  Listener listener(dir.file("notify"));
  NotifyEnv env(dir.file("notify"));
  std::string error;
  CHECK(notify_service("READY=1", error));
  CHECK(error.empty());
  CHECK(listener.receive() == "READY=1");
  CHECK(notify_service("RELOADING=1\nMONOTONIC_USEC=5", error));
  CHECK(listener.receive() == "RELOADING=1\nMONOTONIC_USEC=5");
}

TEST_CASE("notify_service reaches an abstract socket written with @") {
  const std::string name = "@mirrorpool-notify-test-" + std::to_string(getpid());
  Listener listener(name);
  NotifyEnv env(name);
  std::string error;
  CHECK(notify_service("STOPPING=1", error));
  CHECK(listener.receive() == "STOPPING=1");
}

TEST_CASE("notify_service is a no-op without NOTIFY_SOCKET") {
  unsetenv("NOTIFY_SOCKET");
  std::string error;
  CHECK(notify_service("READY=1", error));
  CHECK(error.empty());
}

TEST_CASE("notify_service reports an unusable NOTIFY_SOCKET") {
  std::string error;
  SUBCASE("relative path") {
    NotifyEnv env("notify");
    CHECK_FALSE(notify_service("READY=1", error));
    CHECK(error.find("NOTIFY_SOCKET") != std::string::npos);
  }
  SUBCASE("too long for a socket address") {
    NotifyEnv env("/" + std::string(200, 'x'));
    CHECK_FALSE(notify_service("READY=1", error));
  }
  SUBCASE("nobody listening") {
    TempDir dir;
    NotifyEnv env(dir.file("absent"));
    CHECK_FALSE(notify_service("READY=1", error));
    CHECK(error.find(dir.file("absent")) != std::string::npos);
  }
}

}  // namespace
}  // namespace mirrorpool::dnsd
