#include "dnsd/server/service_notify.hh"

#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include <cerrno>
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <ctime>
#include <string>

#include <fmt/core.h>

namespace mirrorpool::dnsd {

bool notify_service(std::string_view state, std::string& error) {
  const char* target = std::getenv("NOTIFY_SOCKET");
  if (target == nullptr || *target == '\0') return true;
  const std::string_view path(target);
  sockaddr_un addr{};
  addr.sun_family = AF_UNIX;
  if ((path[0] != '/' && path[0] != '@') || path.size() >= sizeof addr.sun_path) {
    error = "NOTIFY_SOCKET is neither an absolute path nor an @abstract name that fits a socket";
    return false;
  }
  std::memcpy(addr.sun_path, path.data(), path.size());
  // An abstract name starts with a zero byte and has no terminator: its
  // length is what the address length says.
  if (path[0] == '@') addr.sun_path[0] = '\0';
  const auto length =
      static_cast<socklen_t>(offsetof(sockaddr_un, sun_path) + path.size() + (path[0] == '/'));

  const int fd = socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0);
  if (fd < 0) {
    error = std::string("NOTIFY_SOCKET: socket: ") + std::strerror(errno);
    return false;
  }
  const ssize_t sent = sendto(fd, state.data(), state.size(), MSG_NOSIGNAL,
                              reinterpret_cast<const sockaddr*>(&addr), length);
  const int saved = errno;
  close(fd);
  if (sent != static_cast<ssize_t>(state.size())) {
    error = "NOTIFY_SOCKET " + std::string(path) + ": " +
            (sent < 0 ? std::strerror(saved) : "short send");
    return false;
  }
  return true;
}

std::string reloading_state() {
  timespec now{};
  clock_gettime(CLOCK_MONOTONIC, &now);
  const uint64_t usec =
      static_cast<uint64_t>(now.tv_sec) * 1000000U + static_cast<uint64_t>(now.tv_nsec) / 1000U;
  return fmt::format("RELOADING=1\nMONOTONIC_USEC={}", usec);
}

}  // namespace mirrorpool::dnsd
