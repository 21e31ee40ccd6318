#include "dnsd/ctl/control_client.hh"

#include <cerrno>
#include <cstring>

#include <poll.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include <fmt/core.h>

namespace mirrorpool::dnsd {

namespace {
// A `check` probes every address with its timeout; anything slower than
// this means the daemon is stuck.
constexpr int kResponseTimeoutMs = 120000;
}  // namespace

ClientStatus control_call(const std::string& socket_path, Command command,
                          const nlohmann::json& args, nlohmann::json& response,
                          std::string& error) {
  sockaddr_un addr{};
  addr.sun_family = AF_UNIX;
  if (socket_path.size() >= sizeof addr.sun_path) {
    error = fmt::format("{}: socket path too long", socket_path);
    return ClientStatus::failed;
  }
  std::memcpy(addr.sun_path, socket_path.c_str(), socket_path.size() + 1);
  const int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (fd < 0) {
    error = fmt::format("socket: {}", std::strerror(errno));
    return ClientStatus::failed;
  }
  if (connect(fd, reinterpret_cast<const sockaddr*>(&addr), sizeof addr) != 0) {
    const int e = errno;
    close(fd);
    error = fmt::format("{}: {}", socket_path, std::strerror(e));
    return e == ENOENT || e == ECONNREFUSED ? ClientStatus::not_running : ClientStatus::failed;
  }
  const std::string request = nlohmann::json{{request_field::kVersion, kControlProtocolVersion},
                                             {request_field::kCommand, command_name(command)},
                                             {request_field::kArgs, args}}
                                  .dump() +
                              "\n";
  for (size_t sent = 0; sent < request.size();) {
    const ssize_t n = send(fd, request.data() + sent, request.size() - sent, MSG_NOSIGNAL);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) {
      error = fmt::format("{}: {}", socket_path, std::strerror(errno));
      close(fd);
      return ClientStatus::failed;
    }
    sent += static_cast<size_t>(n);
  }
  std::string in;
  char buf[65536];
  while (in.find('\n') == std::string::npos) {
    pollfd p{fd, POLLIN, 0};
    const int ready = poll(&p, 1, kResponseTimeoutMs);
    if (ready == 0) {
      error = fmt::format("{}: no answer from the daemon", socket_path);
      close(fd);
      return ClientStatus::failed;
    }
    const ssize_t n = ready < 0 ? -1 : recv(fd, buf, sizeof buf, 0);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) {
      error = fmt::format("{}: connection closed before an answer", socket_path);
      close(fd);
      return ClientStatus::failed;
    }
    in.append(buf, static_cast<size_t>(n));
  }
  close(fd);
  response = nlohmann::json::parse(in.substr(0, in.find('\n')), nullptr, false);
  if (response.is_discarded() || !response.is_object()) {
    error = "malformed answer from the daemon";
    return ClientStatus::failed;
  }
  return ClientStatus::ok;
}

}  // namespace mirrorpool::dnsd
