// A tiny HTTP/HTTPS server on a loopback address for the probe tests. Runs
// in its own thread, answers one connection at a time, and its reply can be
// switched while it runs. Test support only.
#pragma once

#include <atomic>
#include <cstdint>
#include <map>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include <openssl/ssl.h>

namespace mirrorpool::health::test {

struct Reply {
  int status = 200;
  std::string body = "ok";
  bool hang = false;  // read the request, then never answer
};

struct TlsFiles {
  std::string cert;  // PEM paths
  std::string key;
};

class FakeServer {
 public:
  // Listens on an ephemeral port of `address`; speaks TLS when `tls` is set.
  explicit FakeServer(const std::string& address = "127.0.0.1", const TlsFiles* tls = nullptr);
  ~FakeServer();
  FakeServer(const FakeServer&) = delete;
  FakeServer& operator=(const FakeServer&) = delete;

  uint16_t port() const { return port_; }
  void reply(Reply reply);                              // for every path
  void reply_at(const std::string& path, Reply reply);  // overrides one path
  std::string last_host() const;
  int requests() const { return requests_; }

 private:
  void run();
  void serve(int fd);

  int listen_fd_ = -1;
  int wake_[2] = {-1, -1};
  uint16_t port_ = 0;
  SSL_CTX* tls_ = nullptr;
  mutable std::mutex mutex_;
  Reply reply_;
  std::map<std::string, Reply> by_path_;
  std::string last_host_;
  std::vector<int> hung_;  // connections left unanswered, closed at the end
  std::vector<SSL*> hung_tls_;
  std::atomic<int> requests_{0};
  std::thread thread_;
};

// A loopback port where nothing listens: a bound socket that never listens
// refuses connections for as long as it is held.
class RefusingPort {
 public:
  RefusingPort();
  ~RefusingPort();
  RefusingPort(const RefusingPort&) = delete;
  RefusingPort& operator=(const RefusingPort&) = delete;
  uint16_t port() const { return port_; }

 private:
  int fd_ = -1;
  uint16_t port_ = 0;
};

}  // namespace mirrorpool::health::test
