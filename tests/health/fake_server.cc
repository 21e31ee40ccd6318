// A tiny threaded HTTP/HTTPS server on loopback for the probe tests.
#include "fake_server.hh"

#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <csignal>
#include <stdexcept>
#include <system_error>

#include <fmt/format.h>

namespace mirrorpool::health::test {

namespace {

sockaddr_storage make_addr(const std::string& address, uint16_t port, socklen_t& len) {
  sockaddr_storage storage{};
  if (address.find(':') != std::string::npos) {
    auto* in6 = reinterpret_cast<sockaddr_in6*>(&storage);
    in6->sin6_family = AF_INET6;
    in6->sin6_port = htons(port);
    if (inet_pton(AF_INET6, address.c_str(), &in6->sin6_addr) != 1)
      throw std::runtime_error("bad address " + address);
    len = sizeof(sockaddr_in6);
  } else {
    auto* in4 = reinterpret_cast<sockaddr_in*>(&storage);
    in4->sin_family = AF_INET;
    in4->sin_port = htons(port);
    if (inet_pton(AF_INET, address.c_str(), &in4->sin_addr) != 1)
      throw std::runtime_error("bad address " + address);
    len = sizeof(sockaddr_in);
  }
  return storage;
}

uint16_t bound_port(int fd) {
  sockaddr_storage storage{};
  socklen_t len = sizeof(storage);
  if (getsockname(fd, reinterpret_cast<sockaddr*>(&storage), &len) != 0)
    throw std::runtime_error("getsockname failed");
  if (storage.ss_family == AF_INET6)
    return ntohs(reinterpret_cast<sockaddr_in6*>(&storage)->sin6_port);
  return ntohs(reinterpret_cast<sockaddr_in*>(&storage)->sin_port);
}

int bound_socket(const std::string& address) {
  socklen_t len = 0;
  sockaddr_storage addr = make_addr(address, 0, len);
  const int fd = socket(addr.ss_family, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (fd < 0) throw std::runtime_error("socket failed");
  if (bind(fd, reinterpret_cast<sockaddr*>(&addr), len) != 0) {
    const int error = errno;
    close(fd);
    throw std::runtime_error(
        fmt::format("bind {} failed: {}", address, std::generic_category().message(error)));
  }
  return fd;
}

std::string header_value(const std::string& request, const std::string& name) {
  const std::string needle = "\r\n" + name + ":";
  auto at = request.find(needle);
  if (at == std::string::npos) return {};
  at += needle.size();
  while (at < request.size() && request[at] == ' ') ++at;
  return request.substr(at, request.find("\r\n", at) - at);
}

}  // namespace

FakeServer::FakeServer(const std::string& address, const TlsFiles* tls) {
  // A probe that stops reading (body limit, timeout) must not kill the test
  // binary through SIGPIPE on the server's next write.
  std::signal(SIGPIPE, SIG_IGN);
  listen_fd_ = bound_socket(address);
  if (listen(listen_fd_, 16) != 0) throw std::runtime_error("listen failed");
  port_ = bound_port(listen_fd_);
  if (pipe2(wake_, O_CLOEXEC) != 0) throw std::runtime_error("pipe failed");
  if (tls) {
    tls_ = SSL_CTX_new(TLS_server_method());
    if (!tls_ || SSL_CTX_use_certificate_file(tls_, tls->cert.c_str(), SSL_FILETYPE_PEM) != 1 ||
        SSL_CTX_use_PrivateKey_file(tls_, tls->key.c_str(), SSL_FILETYPE_PEM) != 1)
      throw std::runtime_error("cannot load test certificate");
  }
  thread_ = std::thread([this] { run(); });
}

FakeServer::~FakeServer() {
  const char byte = 'x';
  if (write(wake_[1], &byte, 1) != 1) std::abort();  // the thread would never end
  thread_.join();
  for (SSL* ssl : hung_tls_) SSL_free(ssl);
  for (int fd : hung_) close(fd);
  close(listen_fd_);
  close(wake_[0]);
  close(wake_[1]);
  SSL_CTX_free(tls_);
}

void FakeServer::reply(Reply reply) {
  std::lock_guard lock(mutex_);
  reply_ = std::move(reply);
}

void FakeServer::reply_at(const std::string& path, Reply reply) {
  std::lock_guard lock(mutex_);
  by_path_[path] = std::move(reply);
}

std::string FakeServer::last_host() const {
  std::lock_guard lock(mutex_);
  return last_host_;
}

void FakeServer::run() {
  for (;;) {
    pollfd fds[2] = {{listen_fd_, POLLIN, 0}, {wake_[0], POLLIN, 0}};
    if (poll(fds, 2, 1000) < 0 && errno != EINTR) return;
    if (fds[1].revents) return;
    if (!(fds[0].revents & POLLIN)) continue;
    const int fd = accept4(listen_fd_, nullptr, nullptr, SOCK_CLOEXEC);
    if (fd >= 0) serve(fd);
  }
}

void FakeServer::serve(int fd) {
  // Bounded reads: a client that connects and sends nothing (the tcp probe)
  // must not hold the server up.
  timeval tv{2, 0};
  setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
  setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof(tv));
  SSL* ssl = nullptr;
  if (tls_) {
    ssl = SSL_new(tls_);
    if (!ssl || SSL_set_fd(ssl, fd) != 1 || SSL_accept(ssl) != 1) {
      SSL_free(ssl);
      close(fd);
      return;
    }
  }
  auto recv_some = [&](char* buf, int len) {
    return ssl ? SSL_read(ssl, buf, len) : static_cast<int>(read(fd, buf, len));
  };
  std::string request;
  char buf[4096];
  while (request.find("\r\n\r\n") == std::string::npos && request.size() < 65536) {
    const int n = recv_some(buf, sizeof(buf));
    if (n <= 0) break;
    request.append(buf, static_cast<size_t>(n));
  }
  if (request.find("\r\n\r\n") == std::string::npos) {
    SSL_free(ssl);
    close(fd);
    return;
  }
  ++requests_;
  const auto first_space = request.find(' ');
  const std::string path =
      request.substr(first_space + 1, request.find(' ', first_space + 1) - first_space - 1);
  Reply reply;
  {
    std::lock_guard lock(mutex_);
    last_host_ = header_value(request, "Host");
    auto it = by_path_.find(path);
    reply = it != by_path_.end() ? it->second : reply_;
  }
  if (reply.hang) {
    hung_.push_back(fd);
    if (ssl) hung_tls_.push_back(ssl);
    return;
  }
  const std::string response =
      fmt::format("HTTP/1.1 {} Test\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{}",
                  reply.status, reply.body.size(), reply.body);
  size_t sent = 0;
  while (sent < response.size()) {
    const int n =
        ssl ? SSL_write(ssl, response.data() + sent, static_cast<int>(response.size() - sent))
            : static_cast<int>(write(fd, response.data() + sent, response.size() - sent));
    if (n <= 0) break;
    sent += static_cast<size_t>(n);
  }
  if (ssl) {
    SSL_shutdown(ssl);
    SSL_free(ssl);
  }
  close(fd);
}

RefusingPort::RefusingPort() : fd_(bound_socket("127.0.0.1")), port_(bound_port(fd_)) {}

RefusingPort::~RefusingPort() {
  close(fd_);
}

}  // namespace mirrorpool::health::test
