// The real ControlServer on a real unix socket and uv loop, with clients on
// the same thread (non-blocking sockets): a client that never reads its large
// reply is dropped within the reply timeout, a reply over the size bound
// becomes an error, the 65th simultaneous client is closed at once, and a
// reply that comes after the server closed is dropped. ASan's leak check at
// exit proves that dropping a client frees everything.
#include <fcntl.h>
#include <poll.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include <cerrno>
#include <chrono>
#include <cstring>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include <doctest/doctest.h>
#include <nlohmann/json.hpp>

#include "dnsd/control/control_server.hh"
#include "tests/dnsd/temp_dir.hh"
#include "tests/health/loop_runner.hh"

namespace mirrorpool::dnsd {
namespace {

using health::test::LoopRunner;
using nlohmann::json;
using namespace std::chrono_literals;
using Clock = std::chrono::steady_clock;

const std::string kStatus = R"({"version":1,"command":"status","args":{}})"
                            "\n";

// One client socket, non-blocking once connected.
class Client {
 public:
  explicit Client(const std::string& path) {
    fd_ = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
    REQUIRE(fd_ >= 0);
    sockaddr_un addr{};
    addr.sun_family = AF_UNIX;
    std::memcpy(addr.sun_path, path.c_str(), path.size() + 1);
    REQUIRE(connect(fd_, reinterpret_cast<const sockaddr*>(&addr), sizeof addr) == 0);
    fcntl(fd_, F_SETFL, fcntl(fd_, F_GETFL) | O_NONBLOCK);
  }
  ~Client() { close(fd_); }
  Client(const Client&) = delete;
  Client& operator=(const Client&) = delete;

  void send_all(const std::string& text) {
    REQUIRE(send(fd_, text.data(), text.size(), MSG_NOSIGNAL) == static_cast<ssize_t>(text.size()));
  }

  // Reads what is there; true once the server has closed (EOF or reset).
  bool read_available() {
    char buf[65536];
    for (;;) {
      const ssize_t n = recv(fd_, buf, sizeof buf, 0);
      if (n > 0) {
        received += std::string(buf, static_cast<size_t>(n));
        continue;
      }
      return n == 0 || (errno != EAGAIN && errno != EWOULDBLOCK);
    }
  }

  json reply() const {
    return json::parse(received.substr(0, received.find('\n')), nullptr, false);
  }

  std::string received;

 private:
  int fd_ = -1;
};

struct Fixture {
  Fixture()
      : server(runner.loop(), [this](const ControlRequest& r, ControlServer::Reply reply) {
          handler(r, std::move(reply));
        }) {
    std::string error;
    REQUIRE_MESSAGE(server.listen(path, static_cast<uid_t>(-1), static_cast<gid_t>(-1), error),
                    error);
  }
  ~Fixture() {
    server.close();
    runner.settle();
  }

  // Runs the loop until the client has been closed by the server.
  bool until_closed(Client& client, std::chrono::milliseconds deadline) {
    return runner.run_until([&] { return client.read_available(); }, deadline);
  }

  TempDir dir;
  std::string path = dir.file("control.sock");
  LoopRunner runner;
  ControlServer::Handler handler = [](const ControlRequest&, ControlServer::Reply reply) {
    reply(control_ok());
  };
  ControlServer server;
};

TEST_CASE("a request gets its reply, a refused one its error, and the connection closes") {
  Fixture f;
  Client ok(f.path);
  ok.send_all(kStatus);
  REQUIRE(f.until_closed(ok, 5s));
  CHECK(ok.reply() == control_ok());

  Client bad(f.path);
  bad.send_all(R"({"version":1,"command":"drain"})"
               "\n");
  REQUIRE(f.until_closed(bad, 5s));
  CHECK(bad.reply()["error"].get<std::string>().starts_with("args.mirror: missing"));

  Client deep(f.path);
  deep.send_all(std::string(20000, '[') + "\n");
  REQUIRE(f.until_closed(deep, 5s));
  CHECK(deep.reply()["error"] == "malformed request: nested deeper than 16 levels");

  Client long_line(f.path);
  long_line.send_all(std::string(ControlServer::kMaxRequest + 1, ' '));
  REQUIRE(f.until_closed(long_line, 5s));
  CHECK(long_line.reply()["error"] == "request longer than 65536 bytes");
  CHECK(f.runner.run_until([&] { return f.server.connections() == 0; }, 1s));
}

TEST_CASE("a client that does not read its large reply is dropped within the reply timeout") {
  Fixture f;
  f.handler = [](const ControlRequest&, ControlServer::Reply reply) {
    reply(control_ok({{"text", std::string(8 << 20, 'x')}}));  // far more than a socket buffers
  };
  Client idle(f.path);
  idle.send_all(kStatus);
  REQUIRE(f.runner.run_until([&] { return f.server.connections() == 1; }, 1s));
  const auto queued = Clock::now();
  // Nothing is read meanwhile: the server must give up by itself.
  // The reply is queued after `queued`, once it is built (seconds, on a busy
  // machine under the sanitizers): the close comes a full timeout later.
  REQUIRE(f.runner.run_until([&] { return f.server.connections() == 0; },
                             ControlServer::kReplyTimeout + 10s));
  const auto waited = Clock::now() - queued;
  // The timer, not an error. libuv keeps time in whole milliseconds, so its
  // timer may fire up to a millisecond before a finer clock says.
  CHECK(waited >= ControlServer::kReplyTimeout - 1ms);
  // What the socket had buffered is readable, then the end: no full reply.
  REQUIRE(f.until_closed(idle, 1s));
  CHECK(idle.received.size() < (8u << 20));
  CHECK(idle.received.find('\n') == std::string::npos);

  // A reader of the same reply gets all of it.
  Client reader(f.path);
  reader.send_all(kStatus);
  REQUIRE(f.until_closed(reader, 5s));
  CHECK(reader.reply()["result"]["text"].get<std::string>().size() == (8u << 20));
}

TEST_CASE("a reply larger than the bound is replaced by an error") {
  Fixture f;
  f.handler = [](const ControlRequest&, ControlServer::Reply reply) {
    reply(control_ok({{"text", std::string(ControlServer::kMaxReply, 'x')}}));
  };
  Client client(f.path);
  client.send_all(kStatus);
  REQUIRE(f.until_closed(client, 5s));
  const json reply = client.reply();
  CHECK(reply["ok"] == false);
  CHECK(reply["error"].get<std::string>().starts_with("the reply would be 16777"));
}

TEST_CASE("beyond 64 simultaneous clients a new one is closed at once") {
  Fixture f;
  std::vector<std::unique_ptr<Client>> clients;
  // One at a time: the listen backlog is shorter than 64.
  for (size_t i = 0; i < ControlServer::kMaxConnections; ++i) {
    clients.push_back(std::make_unique<Client>(f.path));
    REQUIRE(f.runner.run_until([&] { return f.server.connections() == i + 1; }, 2s));
  }
  Client extra(f.path);
  const auto start = Clock::now();
  REQUIRE(f.until_closed(extra, 2s));
  CHECK(Clock::now() - start < 1s);
  CHECK(extra.reply()["error"] == "too many control clients (64); try again later");
  CHECK(f.server.connections() == ControlServer::kMaxConnections);

  // The held clients were never refused, and once one leaves there is room.
  clients.back()->send_all(kStatus);
  REQUIRE(f.until_closed(*clients.back(), 2s));
  CHECK(clients.back()->reply() == control_ok());
  Client next(f.path);
  next.send_all(kStatus);
  REQUIRE(f.until_closed(next, 2s));
  CHECK(next.reply() == control_ok());

  // Closing the server closes every client.
  f.server.close();
  for (size_t i = 0; i + 1 < clients.size(); ++i) {
    CHECK(f.until_closed(*clients[i], 2s));
  }
  CHECK(f.runner.run_until([&] { return f.server.connections() == 0; }, 2s));
}

TEST_CASE("a reply that comes after its client was closed is dropped") {
  Fixture f;
  std::optional<ControlServer::Reply> late;
  f.handler = [&](const ControlRequest&, ControlServer::Reply reply) { late = std::move(reply); };
  Client client(f.path);
  client.send_all(kStatus);
  REQUIRE(f.runner.run_until([&] { return late.has_value(); }, 2s));
  f.server.close();
  REQUIRE(f.until_closed(client, 2s));
  REQUIRE(f.runner.run_until([&] { return f.server.connections() == 0; }, 2s));
  (*late)(control_ok());  // as a `check` finishing after the client left
  f.runner.settle();
  CHECK(client.received.empty());
}

}  // namespace
}  // namespace mirrorpool::dnsd
