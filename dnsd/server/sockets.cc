#include "dnsd/server/sockets.hh"

#include <cerrno>
#include <cstring>

#include <fcntl.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <fmt/core.h>

namespace mirrorpool::dnsd {

namespace {

int open_socket(const Endpoint& endpoint, int type, std::string& error) {
  const sockaddr_storage addr = endpoint.sockaddr();
  const int fd = socket(addr.ss_family, type | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
  if (fd < 0) {
    error = fmt::format("{}: socket: {}", endpoint.text, std::strerror(errno));
    return -1;
  }
  const int one = 1;
  bool ok = setsockopt(fd, SOL_SOCKET, SO_REUSEPORT, &one, sizeof one) == 0 &&
            setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one) == 0;
  // An IPv6 listener serves IPv6 only; IPv4 has its own listen entry.
  if (ok && addr.ss_family == AF_INET6) {
    ok = setsockopt(fd, IPPROTO_IPV6, IPV6_V6ONLY, &one, sizeof one) == 0;
  }
  if (!ok) {
    error = fmt::format("{}: setsockopt: {}", endpoint.text, std::strerror(errno));
    close(fd);
    return -1;
  }
  if (bind(fd, reinterpret_cast<const sockaddr*>(&addr), endpoint.sockaddr_len()) != 0) {
    error = fmt::format("{}: bind ({}): {}", endpoint.text, type == SOCK_DGRAM ? "udp" : "tcp",
                        std::strerror(errno));
    close(fd);
    return -1;
  }
  return fd;
}

}  // namespace

int bind_udp(const Endpoint& endpoint, std::string& error) {
  return open_socket(endpoint, SOCK_DGRAM, error);
}

int bind_tcp(const Endpoint& endpoint, std::string& error) {
  const int fd = open_socket(endpoint, SOCK_STREAM, error);
  if (fd >= 0 && listen(fd, 1024) != 0) {
    error = fmt::format("{}: listen: {}", endpoint.text, std::strerror(errno));
    close(fd);
    return -1;
  }
  return fd;
}

}  // namespace mirrorpool::dnsd
