// Workers serving on their own threads while the publisher swaps snapshots
// under them, as in the daemon: the concurrent part of dnsd, and what the
// ThreadSanitizer build of tests/run runs. Clients on two more threads query
// over UDP and TCP throughout; the main thread publishes flapping health and
// reads the workers' counters the way /metrics does.
#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstdint>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <random>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include <doctest/doctest.h>

#include "dnsd/server/publisher.hh"
#include "dnsd/server/sockets.hh"
#include "dnsd/server/worker.hh"
#include "dnsd/wire/wire.hh"
#include "health/health_view.hh"
#include "tests/dnsd/zone_builders.hh"
#include "zones/pool.hh"
#include "zones/zone.hh"

using namespace mirrorpool;
using namespace mirrorpool::dnsd;
using mirrorpool::test::nm;
using mirrorpool::test::rec;
using mirrorpool::test::u32_bytes;
using namespace std::chrono_literals;

namespace {

using Clock = std::chrono::steady_clock;
using AddressSet = std::set<std::string>;

const char* const kPool = "dl.pool.example.";
const std::vector<std::pair<std::string, std::string>> kMirrors = {
    {"m1", "192.0.2.101"}, {"m2", "192.0.2.102"}, {"m3", "192.0.2.103"}, {"m4", "192.0.2.104"}};

std::shared_ptr<const zones::Model> make_model() {
  zones::Zone zone;
  zone.origin = nm("pool.example.");
  zone.file = "publish_test";
  zone.records = {
      rec("pool.example.", kTypeSoa,
          nm("ns1.pool.example.").wire() + nm("hostmaster.pool.example.").wire() + u32_bytes(1) +
              u32_bytes(3600) + u32_bytes(900) + u32_bytes(604800) + u32_bytes(300)),
      rec("pool.example.", kTypeNs, nm("ns1.pool.example.").wire()),
  };
  zones::PoolDef pool;
  pool.name = nm(kPool);
  pool.ttl = 5;
  pool.max_answers = 4;
  pool.when_all_down = zones::WhenAllDown::serve_all;
  pool.min_healthy = 1;
  for (const auto& [id, address] : kMirrors) {
    zones::MirrorDef m;
    m.id = id;
    m.weight = 1;
    m.addresses.push_back(*zones::Address::parse(address));
    pool.mirrors.push_back(std::move(m));
  }
  auto model = std::make_shared<zones::Model>();
  model->zones = {std::make_shared<const zones::Zone>(std::move(zone))};
  model->pools = {std::move(pool)};
  return model;
}

// Health with exactly the mirrors of `up` up.
std::shared_ptr<const health::HealthView> health_with(const std::vector<bool>& up) {
  std::map<health::TargetKey, health::TargetHealth> targets;
  for (size_t i = 0; i < kMirrors.size(); ++i) {
    health::TargetHealth h;
    h.up = up[i];
    h.reason = up[i] ? "ok" : "http 503";
    targets[{kPool, kMirrors[i].first, kMirrors[i].second}] = h;
  }
  return std::make_shared<health::HealthView>(std::move(targets));
}

std::vector<uint8_t> a_query(uint16_t id) {
  std::vector<uint8_t> q = {
      static_cast<uint8_t>(id >> 8), static_cast<uint8_t>(id), 0, 0, 0, 1, 0, 0, 0, 0, 0, 0};
  const std::string name = nm(kPool).wire();
  q.insert(q.end(), name.begin(), name.end());
  q.insert(q.end(), {0, 1, 0, 1});  // A, IN
  return q;
}

// The A addresses of a NOERROR answer to a_query(id); nullopt for anything else.
std::optional<AddressSet> a_addresses(const uint8_t* p, size_t n, uint16_t id) {
  if (n < 12 || p[0] != (id >> 8) || p[1] != (id & 0xff) || (p[2] & 0x80) == 0 ||
      (p[3] & 0x0f) != 0) {
    return std::nullopt;
  }
  const size_t answers = (p[6] << 8) | p[7];
  size_t at = 12;
  auto skip_name = [&]() -> bool {
    while (at < n) {
      if ((p[at] & 0xc0) == 0xc0) return (at += 2) <= n;
      if (p[at] == 0) return ++at <= n;
      at += 1 + p[at];
    }
    return false;
  };
  if (!skip_name() || (at += 4) > n) return std::nullopt;
  AddressSet out;
  for (size_t i = 0; i < answers; ++i) {
    if (!skip_name() || at + 10 > n) return std::nullopt;
    const uint16_t type = (p[at] << 8) | p[at + 1];
    const size_t length = (p[at + 8] << 8) | p[at + 9];
    at += 10;
    if (at + length > n) return std::nullopt;
    if (type == kTypeA && length == 4) {
      char text[INET_ADDRSTRLEN];
      inet_ntop(AF_INET, p + at, text, sizeof(text));
      out.insert(text);
    }
    at += length;
  }
  return out;
}

bool wait_readable(int fd, std::chrono::milliseconds timeout) {
  pollfd pfd{fd, POLLIN, 0};
  return poll(&pfd, 1, static_cast<int>(timeout.count())) == 1;
}

std::optional<AddressSet> query_udp(uint16_t port, uint16_t id) {
  const int fd = socket(AF_INET, SOCK_DGRAM, 0);
  sockaddr_in to{};
  to.sin_family = AF_INET;
  to.sin_port = htons(port);
  to.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  const auto q = a_query(id);
  std::optional<AddressSet> out;
  uint8_t buf[1500];
  if (sendto(fd, q.data(), q.size(), 0, reinterpret_cast<sockaddr*>(&to), sizeof(to)) ==
          static_cast<ssize_t>(q.size()) &&
      wait_readable(fd, 2s)) {
    const ssize_t n = recv(fd, buf, sizeof(buf), 0);
    if (n > 0) out = a_addresses(buf, static_cast<size_t>(n), id);
  }
  close(fd);
  return out;
}

bool read_exactly(int fd, uint8_t* buf, size_t n) {
  for (size_t got = 0; got < n;) {
    if (!wait_readable(fd, 2s)) return false;
    const ssize_t r = recv(fd, buf + got, n - got, 0);
    if (r <= 0) return false;
    got += static_cast<size_t>(r);
  }
  return true;
}

// One query on an open TCP connection.
std::optional<AddressSet> query_tcp(int fd, uint16_t id) {
  auto q = a_query(id);
  const uint16_t length = static_cast<uint16_t>(q.size());
  q.insert(q.begin(), {static_cast<uint8_t>(length >> 8), static_cast<uint8_t>(length)});
  if (send(fd, q.data(), q.size(), MSG_NOSIGNAL) != static_cast<ssize_t>(q.size())) {
    return std::nullopt;
  }
  uint8_t buf[65535];
  if (!read_exactly(fd, buf, 2)) return std::nullopt;
  const size_t n = (buf[0] << 8) | buf[1];
  if (!read_exactly(fd, buf, n)) return std::nullopt;
  return a_addresses(buf, n, id);
}

int connect_tcp(uint16_t port) {
  const int fd = socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in to{};
  to.sin_family = AF_INET;
  to.sin_port = htons(port);
  to.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  if (connect(fd, reinterpret_cast<sockaddr*>(&to), sizeof(to)) != 0) {
    close(fd);
    return -1;
  }
  return fd;
}

// Queries on its own thread until stopped; every answer must be a non-empty
// subset of the pool.
class Client {
 public:
  Client(uint16_t port, bool tcp) : thread_([this, port, tcp] { run(port, tcp); }) {}
  ~Client() { stop(); }
  void stop() {
    stop_ = true;
    if (thread_.joinable()) thread_.join();
  }
  uint64_t answered() const { return answered_; }
  std::vector<std::string> problems() {
    std::lock_guard lock(mutex_);
    return problems_;
  }

 private:
  void run(uint16_t port, bool tcp) {
    const AddressSet pool = [] {
      AddressSet all;
      for (const auto& m : kMirrors) all.insert(m.second);
      return all;
    }();
    int fd = -1;
    for (uint16_t id = 1; !stop_; ++id) {
      if (tcp && fd < 0 && (fd = connect_tcp(port)) < 0) {
        problem("tcp connect failed");
        break;
      }
      const auto got = tcp ? query_tcp(fd, id) : query_udp(port, id);
      if (!got || got->empty() ||
          !std::includes(pool.begin(), pool.end(), got->begin(), got->end())) {
        problem(got ? "addresses outside the pool" : "no valid answer");
        if (tcp) {
          close(fd);
          fd = -1;
        }
        continue;
      }
      ++answered_;
    }
    if (fd >= 0) close(fd);
  }
  void problem(std::string what) {
    std::lock_guard lock(mutex_);
    problems_.push_back(std::move(what));
  }

  std::atomic<bool> stop_{false};
  std::atomic<uint64_t> answered_{0};
  std::mutex mutex_;
  std::vector<std::string> problems_;
  std::thread thread_;
};

// A probe result: new health, nothing else.
Change health_change(const std::vector<bool>& up) {
  Change change;
  change.health = health_with(up);
  return change;
}

// Runs the loop until the publisher has a snapshot other than `before`.
bool run_until_published(uv_loop_t* loop, const Publisher& publisher, const Snapshot* before) {
  const auto deadline = Clock::now() + 5s;
  while (publisher.current().get() == before && Clock::now() < deadline) {
    uv_run(loop, UV_RUN_ONCE);
  }
  return publisher.current().get() != before;
}

}  // namespace

TEST_CASE("a change publishes the snapshot its decider built, unless another came first") {
  uv_loop_t loop;
  REQUIRE(uv_loop_init(&loop) == 0);
  Publisher publisher(&loop, SnapshotOptions{});
  std::vector<const Snapshot*> published;
  publisher.add_listener(
      [&published](const std::shared_ptr<const Snapshot>& s) { published.push_back(s.get()); });
  const auto model = make_model();
  const auto down = health_with({false, true, true, true});

  // Nothing to build before the first model: health alone waits for it.
  publisher.submit(health_change({true, true, true, true}));
  CHECK(publisher.current() == nullptr);
  Change start;
  start.model = model;
  publisher.submit(std::move(start));
  REQUIRE(published.size() == 1);
  const auto first = publisher.current();

  // Built on the current snapshot: published as it is, at once.
  Change decided;
  decided.model = model;
  decided.health = down;
  decided.built = build_snapshot(*model, *down, first.get(), publisher.options());
  decided.built_on = first;
  const Snapshot* built = decided.built.get();
  publisher.submit(std::move(decided));
  CHECK(publisher.current().get() == built);
  CHECK(published.size() == 2);

  // Built on a snapshot that is no longer current: built again.
  Change stale;
  stale.model = model;
  stale.built = build_snapshot(*model, *down, first.get(), publisher.options());
  stale.built_on = first;
  const Snapshot* stale_built = stale.built.get();
  publisher.submit(std::move(stale));
  CHECK(publisher.current() != nullptr);
  CHECK(publisher.current().get() != stale_built);
  CHECK(published.size() == 3);

  publisher.close();
  uv_run(&loop, UV_RUN_DEFAULT);
  CHECK(uv_loop_close(&loop) == 0);
}

TEST_CASE("workers answer from every snapshot the publisher swaps in under load") {
  uv_loop_t loop;
  REQUIRE(uv_loop_init(&loop) == 0);
  Publisher publisher(&loop, SnapshotOptions{});
  std::vector<std::unique_ptr<Worker>> workers;
  publisher.add_listener([&workers](const std::shared_ptr<const Snapshot>& snapshot) {
    for (auto& w : workers) w->offer(snapshot);
  });
  Change start;
  start.model = make_model();
  publisher.submit(std::move(start));
  REQUIRE(publisher.current() != nullptr);

  // Two workers on one port, as the daemon binds them (SO_REUSEPORT).
  // Port 0 (any free one) is not a valid `listen` port, so it is set by hand.
  const auto parsed = Endpoint::parse("127.0.0.1:53");
  REQUIRE(parsed.has_value());
  Endpoint endpoint = *parsed;
  endpoint.port = 0;
  for (unsigned i = 0; i < 2; ++i) {
    std::string error;
    WorkerSockets sockets;
    const int udp = bind_udp(endpoint, error);
    REQUIRE_MESSAGE(udp >= 0, error);
    if (endpoint.port == 0) {
      sockaddr_in bound{};
      socklen_t length = sizeof(bound);
      REQUIRE(getsockname(udp, reinterpret_cast<sockaddr*>(&bound), &length) == 0);
      endpoint.port = ntohs(bound.sin_port);
    }
    const int tcp = bind_tcp(endpoint, error);
    REQUIRE_MESSAGE(tcp >= 0, error);
    sockets.udp.push_back(udp);
    sockets.tcp.push_back(tcp);
    workers.push_back(std::make_unique<Worker>(i, std::move(sockets), WorkerLimits{}, nullptr));
  }
  for (auto& w : workers) w->start(publisher.current());

  std::vector<std::unique_ptr<Client>> clients;
  clients.push_back(std::make_unique<Client>(endpoint.port, false));
  clients.push_back(std::make_unique<Client>(endpoint.port, true));

  // Flapping health: a new snapshot per round, each offered to both workers
  // while they answer. The counters are read meanwhile, as /metrics does.
  std::mt19937 rng(7);
  uint64_t queries_seen = 0;
  for (int round = 0; round < 40; ++round) {
    std::vector<bool> up(kMirrors.size());
    for (size_t i = 0; i < up.size(); ++i) up[i] = (rng() % 2) == 0;
    const Snapshot* before = publisher.current().get();
    publisher.submit(health_change(up));
    REQUIRE(run_until_published(&loop, publisher, before));
    std::vector<const Stats*> stats;
    for (const auto& w : workers) w->collect_stats(stats);
    uint64_t queries = 0;
    for (const Stats* st : stats) queries += st->udp_queries.get();
    CHECK(queries >= queries_seen);
    queries_seen = queries;
  }

  // The last snapshot reaches every worker: only m2 is answered, over UDP
  // from many source ports (spread over both workers) and over TCP.
  const Snapshot* before = publisher.current().get();
  publisher.submit(health_change({false, true, false, false}));
  REQUIRE(run_until_published(&loop, publisher, before));
  const AddressSet only_m2 = {"192.0.2.102"};
  int consecutive = 0;
  const auto deadline = Clock::now() + 10s;
  for (uint16_t id = 1; consecutive < 20 && Clock::now() < deadline; ++id) {
    consecutive = query_udp(endpoint.port, id) == only_m2 ? consecutive + 1 : 0;
  }
  CHECK(consecutive == 20);
  const int fd = connect_tcp(endpoint.port);
  REQUIRE(fd >= 0);
  CHECK(query_tcp(fd, 1) == only_m2);
  close(fd);

  for (auto& c : clients) c->stop();
  for (auto& c : clients) {
    CHECK(c->answered() > 0);
    CHECK(c->problems().empty());
  }
  for (auto& w : workers) w->stop();
  publisher.close();
  uv_run(&loop, UV_RUN_DEFAULT);
  CHECK(uv_loop_close(&loop) == 0);
}
