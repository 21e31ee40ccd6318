// HttpServer against plain loopback sockets: the server runs in a libuv loop
// on its own thread, the test is the client. Waits are "until X, with a
// deadline", never sleeps.
#include "dnsd/http/http_server.hh"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cctype>
#include <cerrno>
#include <chrono>
#include <functional>
#include <future>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <stdexcept>
#include <string>
#include <thread>
#include <vector>

#include <doctest/doctest.h>

using mirrorpool::dnsd::Endpoint;
using mirrorpool::dnsd::HttpLimits;
using mirrorpool::dnsd::HttpResponse;
using mirrorpool::dnsd::HttpServer;
using namespace std::chrono_literals;

namespace {

using Clock = std::chrono::steady_clock;
constexpr auto kDeadline = 5s;
const std::string kMetricsBody = "# HELP up Whether up.\n# TYPE up gauge\nup 1\n";

Endpoint loopback(const char* address) {
  Endpoint endpoint;
  endpoint.address = *mirrorpool::zones::Address::parse(address);
  endpoint.port = 0;
  endpoint.text = address;
  return endpoint;
}

// An HttpServer on its own loop thread. Everything that touches the server
// runs on that thread through on_loop().
class ServerThread {
 public:
  explicit ServerThread(HttpLimits limits = {}, const char* address = "127.0.0.1") {
    std::promise<std::string> started;
    auto ready = started.get_future();
    thread_ = std::thread([this, limits, address, &started] {
      uv_loop_init(&loop_);
      async_.data = this;
      uv_async_init(&loop_, &async_,
                    [](uv_async_t* a) { static_cast<ServerThread*>(a->data)->run_tasks(); });
      server_.emplace(
          &loop_, [this](auto method, auto path) { return handle(method, path); }, limits);
      std::string error;
      if (server_->listen(loopback(address), error)) {
        port_ = server_->port();
      } else {
        server_->close();
        uv_close(reinterpret_cast<uv_handle_t*>(&async_), nullptr);
      }
      started.set_value(error);
      uv_run(&loop_, UV_RUN_DEFAULT);
      server_.reset();
      uv_loop_close(&loop_);
    });
    error_ = ready.get();
  }

  ~ServerThread() {
    if (error_.empty()) {
      on_loop([this] {
        server_->close();
        uv_close(reinterpret_cast<uv_handle_t*>(&async_), nullptr);
      });
    }
    thread_.join();
  }

  const std::string& error() const { return error_; }
  uint16_t port() const { return port_; }

  // Runs `fn` on the loop thread and waits for it.
  void on_loop(std::function<void()> fn) {
    std::promise<void> done;
    {
      std::lock_guard lock(mutex_);
      tasks_.emplace_back([&] {
        fn();
        done.set_value();
      });
    }
    uv_async_send(&async_);
    done.get_future().get();
  }

  size_t connections() {
    size_t n = 0;
    on_loop([&] { n = server_->connection_count(); });
    return n;
  }

  bool wait_for_connections(size_t n) {
    const auto deadline = Clock::now() + kDeadline;
    while (Clock::now() < deadline) {
      if (connections() == n) return true;
      std::this_thread::yield();
    }
    return false;
  }

  // Only on the loop thread.
  void close() { server_->close(); }

  std::vector<std::string> calls() {
    std::lock_guard lock(mutex_);
    return calls_;
  }

 private:
  HttpResponse handle(std::string_view method, std::string_view path) {
    {
      std::lock_guard lock(mutex_);
      calls_.push_back(std::string(method) + " " + std::string(path));
    }
    if (path == "/metrics") return {200, "text/plain; version=0.0.4", kMetricsBody};
    if (path == "/status.json") return {200, "application/json", "{\"mirrors\":[]}"};
    if (path == "/throw") throw std::runtime_error("handler failed");
    if (path == "/bad-type") return {200, "text/plain\r\nX-Injected: 1", ""};
    return {404, "text/plain", "not found\n"};
  }

  void run_tasks() {
    std::vector<std::function<void()>> tasks;
    {
      std::lock_guard lock(mutex_);
      tasks.swap(tasks_);
    }
    for (auto& task : tasks) task();
  }

  uv_loop_t loop_{};
  uv_async_t async_{};
  std::optional<HttpServer> server_;
  std::thread thread_;
  std::string error_;
  uint16_t port_ = 0;
  std::mutex mutex_;
  std::vector<std::function<void()>> tasks_;
  std::vector<std::string> calls_;
};

// A blocking client socket, closed on destruction.
class Client {
 public:
  explicit Client(uint16_t port, int family = AF_INET) {
    fd_ = ::socket(family, SOCK_STREAM | SOCK_CLOEXEC, 0);
    REQUIRE(fd_ >= 0);
    sockaddr_storage address{};
    socklen_t length = 0;
    if (family == AF_INET6) {
      auto* sin6 = reinterpret_cast<sockaddr_in6*>(&address);
      sin6->sin6_family = AF_INET6;
      sin6->sin6_port = htons(port);
      sin6->sin6_addr = in6addr_loopback;
      length = sizeof(sockaddr_in6);
    } else {
      auto* sin = reinterpret_cast<sockaddr_in*>(&address);
      sin->sin_family = AF_INET;
      sin->sin_port = htons(port);
      sin->sin_addr.s_addr = htonl(INADDR_LOOPBACK);
      length = sizeof(sockaddr_in);
    }
    connected_ = ::connect(fd_, reinterpret_cast<sockaddr*>(&address), length) == 0;
  }
  ~Client() { ::close(fd_); }
  Client(const Client&) = delete;
  Client& operator=(const Client&) = delete;

  bool connected() const { return connected_; }

  bool send(std::string_view data) {
    while (!data.empty()) {
      const ssize_t n = ::send(fd_, data.data(), data.size(), MSG_NOSIGNAL);
      if (n < 0 && errno == EINTR) continue;
      if (n <= 0) return false;
      data.remove_prefix(static_cast<size_t>(n));
    }
    return true;
  }

  // Everything the server sends until it closes (EOF or reset); nullopt if
  // it is still open at the deadline.
  std::optional<std::string> read_to_close(Clock::time_point deadline = Clock::now() + kDeadline) {
    std::string data;
    while (true) {
      const auto left =
          std::chrono::duration_cast<std::chrono::milliseconds>(deadline - Clock::now());
      if (left <= 0ms) return std::nullopt;
      pollfd p{fd_, POLLIN, 0};
      const int ready = ::poll(&p, 1, static_cast<int>(left.count()));
      if (ready < 0 && errno == EINTR) continue;
      if (ready <= 0) return std::nullopt;
      char buffer[4096];
      const ssize_t n = ::recv(fd_, buffer, sizeof(buffer), 0);
      if (n < 0 && errno == EINTR) continue;
      if (n <= 0) return data;
      data.append(buffer, static_cast<size_t>(n));
    }
  }

 private:
  int fd_ = -1;
  bool connected_ = false;
};

struct Response {
  int status = 0;
  std::map<std::string, std::string> headers;  // names lower-cased
  std::string body;
  std::string header(const std::string& name) const {
    const auto it = headers.find(name);
    return it == headers.end() ? std::string() : it->second;
  }
};

// Parses a whole response as the server sends it (CRLF line ends).
std::optional<Response> parse(const std::string& raw) {
  const size_t end = raw.find("\r\n\r\n");
  if (end == std::string::npos || !raw.starts_with("HTTP/1.1 ") || raw.size() < 12) {
    return std::nullopt;
  }
  Response response;
  response.status = std::stoi(raw.substr(9, 3));
  size_t pos = raw.find("\r\n") + 2;
  while (pos < end) {
    const size_t eol = raw.find("\r\n", pos);
    const std::string line = raw.substr(pos, eol - pos);
    const size_t colon = line.find(": ");
    if (colon == std::string::npos) return std::nullopt;
    std::string name = line.substr(0, colon);
    for (char& c : name) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
    response.headers[name] = line.substr(colon + 2);
    pos = eol + 2;
  }
  response.body = raw.substr(end + 4);
  return response;
}

std::optional<Response> http_exchange(uint16_t port, std::string_view request,
                                      int family = AF_INET) {
  Client client(port, family);
  if (!client.connected() || !client.send(request)) return std::nullopt;
  const auto raw = client.read_to_close();
  if (!raw) return std::nullopt;
  return parse(*raw);
}

std::optional<Response> get(uint16_t port, std::string_view path) {
  return http_exchange(port, "GET " + std::string(path) + " HTTP/1.1\r\nHost: localhost\r\n\r\n");
}

}  // namespace

TEST_CASE("GET answers with Content-Length and Connection: close, then closes") {
  ServerThread server;
  REQUIRE(server.error().empty());
  REQUIRE(server.port() != 0);
  const auto r = get(server.port(), "/metrics");
  REQUIRE(r);
  CHECK(r->status == 200);
  CHECK(r->body == kMetricsBody);
  CHECK(r->header("content-length") == std::to_string(kMetricsBody.size()));
  CHECK(r->header("content-type") == "text/plain; version=0.0.4");
  CHECK(r->header("connection") == "close");

  const auto status = get(server.port(), "/status.json?pretty=1#top");
  REQUIRE(status);
  CHECK(status->status == 200);
  CHECK(status->body == "{\"mirrors\":[]}");
  CHECK(server.calls() == std::vector<std::string>{"GET /metrics", "GET /status.json"});
  CHECK(server.wait_for_connections(0));
}

TEST_CASE("HTTP/1.0, bare LF line ends and a request in many pieces") {
  ServerThread server;
  REQUIRE(server.error().empty());
  const auto old = http_exchange(server.port(), "GET /metrics HTTP/1.0\n\n");
  REQUIRE(old);
  CHECK(old->status == 200);

  Client client(server.port());
  REQUIRE(client.connected());
  for (char c : std::string("GET /metrics HTTP/1.1\r\nHost: x\r\n\r\n")) {
    REQUIRE(client.send(std::string_view(&c, 1)));
  }
  const auto raw = client.read_to_close();
  REQUIRE(raw);
  const auto r = parse(*raw);
  REQUIRE(r);
  CHECK(r->status == 200);
  CHECK(r->body == kMetricsBody);
}

TEST_CASE("HEAD sends the headers of GET without the body") {
  ServerThread server;
  REQUIRE(server.error().empty());
  const auto r = http_exchange(server.port(), "HEAD /metrics HTTP/1.1\r\nHost: x\r\n\r\n");
  REQUIRE(r);
  CHECK(r->status == 200);
  CHECK(r->header("content-length") == std::to_string(kMetricsBody.size()));
  CHECK(r->body.empty());
  CHECK(server.calls() == std::vector<std::string>{"HEAD /metrics"});
}

TEST_CASE("unknown path: the handler's 404") {
  ServerThread server;
  REQUIRE(server.error().empty());
  const auto r = get(server.port(), "/nope");
  REQUIRE(r);
  CHECK(r->status == 404);
  CHECK(r->body == "not found\n");
  CHECK(r->header("content-length") == "10");
}

TEST_CASE("methods other than GET and HEAD: 405 with Allow, handler not called") {
  ServerThread server;
  REQUIRE(server.error().empty());
  for (const char* method : {"POST", "PUT", "DELETE", "OPTIONS"}) {
    CAPTURE(method);
    const auto r =
        http_exchange(server.port(),
                      std::string(method) + " /metrics HTTP/1.1\r\nContent-Length: 5\r\n\r\nhello");
    REQUIRE(r);
    CHECK(r->status == 405);
    CHECK(r->header("allow") == "GET, HEAD");
    CHECK(r->headers.count("content-length") == 1);
  }
  CHECK(server.calls().empty());
}

TEST_CASE("a header over the limit gets 431") {
  ServerThread server;
  REQUIRE(server.error().empty());
  const std::string big =
      "GET /metrics HTTP/1.1\r\nX-Big: " + std::string(10 * 1024, 'a') + "\r\n\r\n";
  const auto complete = http_exchange(server.port(), big);
  REQUIRE(complete);
  CHECK(complete->status == 431);
  // Without an end in sight the server does not wait for one.
  const auto endless =
      http_exchange(server.port(), "GET /metrics HTTP/1.1\r\nX-Big: " + std::string(9000, 'a'));
  REQUIRE(endless);
  CHECK(endless->status == 431);
  // Just under the limit is fine.
  std::string fits = "GET /metrics HTTP/1.1\r\nX-Fill: ";
  fits += std::string(8192 - fits.size() - 4, 'b') + "\r\n\r\n";
  REQUIRE(fits.size() == 8192);
  const auto ok = http_exchange(server.port(), fits);
  REQUIRE(ok);
  CHECK(ok->status == 200);
  CHECK(server.calls().size() == 1);
}

TEST_CASE("garbage and broken requests never bring the server down") {
  ServerThread server;
  REQUIRE(server.error().empty());
  struct Case {
    std::string request;
    int status;
  };
  const std::vector<Case> cases = {
      {"\r\n\r\n", 400},
      {"GET\r\n\r\n", 400},
      {"GET /metrics\r\n\r\n", 400},
      {"GET  /metrics HTTP/1.1\r\n\r\n", 400},
      {"GET /metrics HTTP/1.1 extra\r\n\r\n", 400},
      {"GET metrics HTTP/1.1\r\n\r\n", 400},
      {"G(T /metrics HTTP/1.1\r\n\r\n", 400},
      {"GET /metrics FTP/1.1\r\n\r\n", 400},
      {"GET /metrics HTTP/2.0\r\n\r\n", 505},
      {"PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n", 505},
      {std::string("\x16\x03\x01\x00\xa5\x01\x00\x00\r\n\r\n", 12), 400},
      {std::string("GET /\0 HTTP/1.1\r\n\r\n", 19), 400},  // control bytes never reach the handler
      {std::string(20000, '\xff'), 431},
  };
  for (const Case& c : cases) {
    CAPTURE(c.request.substr(0, 40));
    const auto r = http_exchange(server.port(), c.request);
    REQUIRE(r);
    CHECK(r->status == (c.status == 200 ? 404 : c.status));
  }
  // Clients that vanish mid-request or connect and leave.
  for (int i = 0; i < 20; ++i) {
    Client client(server.port());
    REQUIRE(client.connected());
    if (i % 2 == 0) REQUIRE(client.send("GET /metr"));
  }
  CHECK(server.wait_for_connections(0));
  const auto r = get(server.port(), "/metrics");
  REQUIRE(r);
  CHECK(r->status == 200);
}

TEST_CASE("handler failures become 500") {
  ServerThread server;
  REQUIRE(server.error().empty());
  const auto thrown = get(server.port(), "/throw");
  REQUIRE(thrown);
  CHECK(thrown->status == 500);
  const auto injected = get(server.port(), "/bad-type");
  REQUIRE(injected);
  CHECK(injected->status == 500);
  CHECK(injected->headers.count("x-injected") == 0);
  const auto r = get(server.port(), "/metrics");
  REQUIRE(r);
  CHECK(r->status == 200);
}

TEST_CASE("a slow client is dropped at the deadline, however it trickles") {
  HttpLimits limits;
  limits.timeout = 300ms;
  ServerThread server(limits);
  REQUIRE(server.error().empty());

  const auto silent_start = Clock::now();
  Client silent(server.port());
  REQUIRE(silent.connected());
  REQUIRE(silent.send("GET /metrics HTTP/1.1\r\n"));
  const auto nothing = silent.read_to_close();
  REQUIRE(nothing);
  CHECK(nothing->empty());
  CHECK(Clock::now() - silent_start >= 250ms);

  // One byte every 50 ms would never end an idle timer; the deadline does.
  const auto trickle_start = Clock::now();
  Client trickle(server.port());
  REQUIRE(trickle.connected());
  const std::string request = "GET /metrics HTTP/1.1\r\nX-Slow: " + std::string(1000, 'z');
  std::optional<std::string> closed;
  for (char c : request) {
    if (!trickle.send(std::string_view(&c, 1))) break;
    closed = trickle.read_to_close(Clock::now() + 50ms);
    if (closed) break;
  }
  REQUIRE(closed);
  CHECK(closed->empty());
  const auto held = Clock::now() - trickle_start;
  CHECK(held >= 250ms);
  CHECK(held < 3s);
  CHECK(server.wait_for_connections(0));
}

TEST_CASE("connections beyond the limit are closed at once") {
  HttpLimits limits;
  limits.max_connections = 8;
  ServerThread server(limits);
  REQUIRE(server.error().empty());
  std::vector<std::unique_ptr<Client>> idle;
  for (int i = 0; i < 8; ++i) {
    idle.push_back(std::make_unique<Client>(server.port()));
    REQUIRE(idle.back()->connected());
  }
  REQUIRE(server.wait_for_connections(8));
  Client extra(server.port());
  REQUIRE(extra.connected());
  const auto refused = extra.read_to_close();
  REQUIRE(refused);
  CHECK(refused->empty());

  idle.pop_back();
  REQUIRE(server.wait_for_connections(7));
  const auto r = get(server.port(), "/metrics");
  REQUIRE(r);
  CHECK(r->status == 200);
}

TEST_CASE("many clients at once are all answered") {
  ServerThread server;
  REQUIRE(server.error().empty());
  // Up to the default limit of 64, every client connects before any reads.
  std::vector<std::unique_ptr<Client>> clients;
  for (int i = 0; i < 64; ++i) {
    clients.push_back(std::make_unique<Client>(server.port()));
    REQUIRE(clients.back()->connected());
    REQUIRE(clients.back()->send("GET /metrics HTTP/1.1\r\n\r\n"));
  }
  for (auto& client : clients) {
    const auto raw = client->read_to_close();
    REQUIRE(raw);
    const auto r = parse(*raw);
    REQUIRE(r);
    CHECK(r->status == 200);
  }
  CHECK(server.calls().size() == 64);
  // The server keeps a connection until its client closes, so that unread
  // request bytes cannot turn its close into a reset that eats the response.
  clients.clear();
  CHECK(server.wait_for_connections(0));
  // And many in a row: nothing leaks, the count returns to zero.
  for (int i = 0; i < 200; ++i) {
    const auto r = get(server.port(), "/status.json");
    REQUIRE(r);
    REQUIRE(r->status == 200);
  }
  CHECK(server.wait_for_connections(0));
}

TEST_CASE("IPv6 loopback") {
  ServerThread server({}, "::1");
  if (!server.error().empty()) {
    MESSAGE("no IPv6 loopback here: " << server.error());
    return;
  }
  const auto r = http_exchange(server.port(), "GET /metrics HTTP/1.1\r\n\r\n", AF_INET6);
  REQUIRE(r);
  CHECK(r->status == 200);
}

TEST_CASE("listen reports a busy port; close stops accepting") {
  ServerThread server;
  REQUIRE(server.error().empty());
  uv_loop_t loop;
  REQUIRE(uv_loop_init(&loop) == 0);
  {
    HttpServer second(&loop, [](auto, auto) { return HttpResponse{}; });
    Endpoint busy = loopback("127.0.0.1");
    busy.port = server.port();
    busy.text = "127.0.0.1:" + std::to_string(server.port());
    std::string error;
    CHECK_FALSE(second.listen(busy, error));
    CHECK(error.find(busy.text) != std::string::npos);
    CHECK(error.find("address already in use") != std::string::npos);
    CHECK(second.port() == 0);
  }
  CHECK(uv_run(&loop, UV_RUN_DEFAULT) == 0);
  CHECK(uv_loop_close(&loop) == 0);

  Client before(server.port());
  REQUIRE(before.connected());
  REQUIRE(server.wait_for_connections(1));
  server.on_loop([&] { server.close(); });
  const auto dropped = before.read_to_close();
  REQUIRE(dropped);
  CHECK(dropped->empty());
  Client after(server.port());
  CHECK_FALSE(after.connected());
}
