// The query path alone: its entry point, QueryProcessor::process (parse,
// classify, respond()), on the benchmark's zone and pool (the same data
// query_bench.py serves), without sockets. Prints the user-space
// cost per query in nanoseconds, which the socket benchmark cannot separate
// from the kernel's UDP path. The pool also with DNS cookies: a client's
// first query (client cookie only) and the next ones (our server cookie
// checked, a new one made). With --geo-db, also the pool with geo =
// "nearest" on that database, placed by ECS and by the source address
// (clients rotating over 4096 /24s), against the same pool with geo off and
// the same EDNS query, and what reading the database cost.
//
//   responder_bench [--names N] [--count QUERIES] [--geo-db FILE.mmdb]
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <string>
#include <string_view>
#include <vector>

#include <netinet/in.h>
#include <sys/resource.h>

#include "dnsd/geo/geo_table.hh"
#include "dnsd/geo/locator.hh"
#include "dnsd/server/process_query.hh"
#include "dnsd/snapshot/snapshot.hh"
#include "dnsd/wire/wire.hh"
#include "zones/zone.hh"

using namespace mirrorpool;
using namespace mirrorpool::dnsd;

namespace {

// query_bench.py's zone, pool weights and max_answers.
constexpr unsigned kWeights[8] = {10, 10, 10, 10, 5, 5, 2, 1};
constexpr unsigned kMaxAnswers = 4;

std::string zone_text(unsigned names) {
  std::string text =
      "$ORIGIN pool.example.\n$TTL 3600\n"
      "@ IN SOA ns1.pool.example. hostmaster.pool.example. 1 3600 900 604800 300\n"
      "@ IN NS ns1\n@ IN NS ns2\nns1 IN A 127.0.0.53\nns2 IN A 127.0.0.54\n"
      "www IN A 192.0.2.80\nwww IN AAAA 2001:db8::80\nftp IN CNAME www\n";
  char line[64];
  for (unsigned i = 0; i < names; ++i) {
    std::snprintf(line, sizeof line, "h%06u IN A 198.18.%u.%u\n", i, (i >> 8) & 0xff, i & 0xff);
    text += line;
  }
  return text;
}

zones::Model bench_model(unsigned names) {
  const std::string path = "/tmp/responder_bench." + std::to_string(getpid()) + ".zone";
  std::ofstream(path) << zone_text(names);
  zones::Diagnostics diags;
  const zones::Name origin = *zones::Name::from_text("pool.example.");
  std::optional<zones::Zone> zone = zones::load_zone(path, origin, diags);
  std::remove(path.c_str());
  if (!zone) {
    std::fprintf(stderr, "responder_bench: the zone did not load\n");
    std::exit(1);
  }
  zones::Model model;
  model.zones.push_back(std::make_shared<const zones::Zone>(std::move(*zone)));
  zones::PoolDef pool;
  pool.name = *zones::Name::from_text("dl.pool.example.");
  pool.max_answers = kMaxAnswers;
  for (unsigned i = 0; i < 8; ++i) {
    zones::MirrorDef mirror;
    char text[32];
    std::snprintf(text, sizeof text, "m%u", i + 1);
    mirror.id = text;
    mirror.weight = kWeights[i];
    std::snprintf(text, sizeof text, "127.0.1.%u", i + 1);
    mirror.addresses.push_back(*zones::Address::parse(text));
    pool.mirrors.push_back(std::move(mirror));
  }
  model.pools.push_back(std::move(pool));
  return model;
}

// A query as load_generator sends it: RD, no EDNS.
std::vector<uint8_t> query(std::string_view name, uint16_t qtype) {
  std::vector<uint8_t> q = {0x12, 0x34, 0x01, 0x00, 0, 1, 0, 0, 0, 0, 0, 0};
  const std::string wire = zones::Name::from_text(name)->wire();
  q.insert(q.end(), wire.begin(), wire.end());
  q.insert(q.end(), {static_cast<uint8_t>(qtype >> 8), static_cast<uint8_t>(qtype), 0, 1});
  return q;
}

// The same with an OPT record, and an ECS option for `subnet` (/24) when given.
std::vector<uint8_t> edns_query(std::string_view name, uint16_t qtype, const uint8_t* subnet) {
  std::vector<uint8_t> q = query(name, qtype);
  q[11] = 1;  // ARCOUNT
  const uint8_t opt_len = subnet != nullptr ? 11 : 0;
  q.insert(q.end(), {0, 0, 41, 0x04, 0xd0, 0, 0, 0, 0, 0, opt_len});
  if (subnet != nullptr)
    q.insert(q.end(), {0, 8, 0, 7, 0, 1, 24, 0, subnet[0], subnet[1], subnet[2]});
  return q;
}

// An EDNS query with a COOKIE option: a client cookie, or one with our
// server cookie after it.
std::vector<uint8_t> cookie_query(std::string_view name, uint16_t qtype,
                                  const std::vector<uint8_t>& cookie) {
  std::vector<uint8_t> q = edns_query(name, qtype, nullptr);
  q.back() = static_cast<uint8_t>(4 + cookie.size());  // the OPT RDLENGTH
  q.insert(q.end(), {0, 10, 0, static_cast<uint8_t>(cookie.size())});
  q.insert(q.end(), cookie.begin(), cookie.end());
  return q;
}

struct Row {
  const char* title;
  std::vector<std::vector<uint8_t>> packets;  // sent in turn
  uint8_t rcode;                              // expected
  uint16_t answers;                           // expected ANCOUNT
  std::vector<sockaddr_in> clients = {};      // sources in turn; none: no client
  const Snapshot* snapshot = nullptr;         // null: the plain one
};

// The fastest of five runs of count/5 queries: other load on the machine
// only ever adds time. Exits non-zero if an answer is not the expected one.
double ns_per_query(const Row& row, const Snapshot& plain, unsigned count) {
  const Snapshot& snapshot = row.snapshot != nullptr ? *row.snapshot : plain;
  Stats stats;
  QueryProcessor processor(stats, 1, nullptr);
  uint8_t out[1232];
  const unsigned per_run = std::max(1u, count / 5);
  double best = 0;
  for (int run = 0; run < 5; ++run) {
    size_t bad = 0;
    const auto start = std::chrono::steady_clock::now();
    for (unsigned i = 0; i < per_run; ++i) {
      const sockaddr* client =
          row.clients.empty()
              ? nullptr
              : reinterpret_cast<const sockaddr*>(&row.clients[i % row.clients.size()]);
      const size_t n = processor
                           .process(row.packets[i % row.packets.size()], Transport::udp, client,
                                    snapshot, out, 0)
                           .length;
      bad += n < kHeaderSize || (out[3] & 0xf) != row.rcode || out[6] != 0 || out[7] != row.answers;
    }
    const std::chrono::duration<double, std::nano> took = std::chrono::steady_clock::now() - start;
    if (bad != 0) {
      std::fprintf(stderr, "responder_bench: %s: %zu wrong answers\n", row.title, bad);
      std::exit(1);
    }
    const double ns = took.count() / per_run;
    if (run == 0 || ns < best) best = ns;
  }
  return best;
}

long max_rss_kib() {
  rusage usage{};
  getrusage(RUSAGE_SELF, &usage);
  return usage.ru_maxrss;
}

// The bench pool with geo = "nearest", its mirrors spread over four
// continents (two each), on the database at `path`.
std::shared_ptr<Snapshot> geo_snapshot(zones::Model model, const char* path) {
  const long rss_before = max_rss_kib();
  const auto start = std::chrono::steady_clock::now();
  std::string error;
  auto table = geo::GeoTable::read(path, error);
  const std::chrono::duration<double> took = std::chrono::steady_clock::now() - start;
  if (table == nullptr) {
    std::fprintf(stderr, "responder_bench: %s\n", error.c_str());
    std::exit(1);
  }
  std::printf(
      "geo database %s: %zu networks, %zu places, read in %.2f s, %.1f MiB compiled "
      "(peak RSS +%.1f MiB while reading)\n",
      path, table->networks(), table->place_count(), took.count(),
      static_cast<double>(table->memory_bytes()) / (1 << 20),
      static_cast<double>(max_rss_kib() - rss_before) / 1024);
  constexpr double kPlaces[8][2] = {{50.11, 8.68},    {48.86, 2.35},   {40.71, -74.0},
                                    {37.77, -122.4},  {35.68, 139.69}, {1.35, 103.82},
                                    {-23.55, -46.63}, {-33.87, 151.21}};
  zones::PoolDef& pool = model.pools.at(0);
  pool.geo = zones::GeoMode::nearest;
  pool.geo_margin_km = 1000;
  for (size_t i = 0; i < pool.mirrors.size(); ++i) {
    pool.mirrors[i].location = zones::GeoPoint{kPlaces[i % 8][0], kPlaces[i % 8][1]};
  }
  GeoConfig config;
  config.enabled = true;
  SnapshotOptions options;
  options.locator = std::make_shared<const geo::Locator>(config, std::move(table));
  return build_snapshot(model, health::HealthView{}, nullptr, options);
}

}  // namespace

int main(int argc, char** argv) {
  unsigned names = 0;
  unsigned count = 5'000'000;
  const char* geo_db = nullptr;
  for (int i = 1; i + 1 < argc; i += 2) {
    if (std::strcmp(argv[i], "--names") == 0) names = static_cast<unsigned>(std::atoi(argv[i + 1]));
    if (std::strcmp(argv[i], "--count") == 0) count = static_cast<unsigned>(std::atoi(argv[i + 1]));
    if (std::strcmp(argv[i], "--geo-db") == 0) geo_db = argv[i + 1];
  }
  const zones::Model model = bench_model(names);
  SnapshotOptions options;
  options.cookie_secret.bytes.fill(7);
  const auto snapshot = build_snapshot(model, health::HealthView{}, nullptr, options);
  std::vector<Row> rows = {
      {"dl.pool.example A (pool)", {query("dl.pool.example.", kTypeA)}, kRcodeNoError, kMaxAnswers},
      {"www.pool.example A (static)", {query("www.pool.example.", kTypeA)}, kRcodeNoError, 1},
      {"ftp.pool.example A (CNAME)", {query("ftp.pool.example.", kTypeA)}, kRcodeNoError, 2},
      {"nx.pool.example A (NXDOMAIN)", {query("nx.pool.example.", kTypeA)}, kRcodeNxDomain, 0}};
  // DNS cookies from one client: its first query (a client cookie), and
  // the rest (with the server cookie it was given: checked, then renewed).
  sockaddr_in cookie_client{};
  cookie_client.sin_family = AF_INET;
  cookie_client.sin_addr.s_addr = htonl(0xc0000201);
  const std::vector<uint8_t> client_cookie = {1, 2, 3, 4, 5, 6, 7, 8};
  const std::vector<uint8_t> first = cookie_query("dl.pool.example.", kTypeA, client_cookie);
  {
    Stats stats;
    QueryProcessor processor(stats, 1, nullptr);
    uint8_t out[1232];
    const size_t n =
        processor
            .process(first, Transport::udp, reinterpret_cast<const sockaddr*>(&cookie_client),
                     *snapshot, out, 0)
            .length;
    // The COOKIE option closes the reply: 24 bytes, client and server cookie.
    const std::vector<uint8_t> full(out + n - 24, out + n);
    rows.push_back({"dl.pool.example A (client cookie)",
                    {first},
                    kRcodeNoError,
                    kMaxAnswers,
                    {cookie_client}});
    rows.push_back({"dl.pool.example A (server cookie)",
                    {cookie_query("dl.pool.example.", kTypeA, full)},
                    kRcodeNoError,
                    kMaxAnswers,
                    {cookie_client}});
  }
  std::shared_ptr<Snapshot> geo;
  if (geo_db != nullptr) {
    geo = geo_snapshot(model, geo_db);
    // Clients spread over the IPv4 space, the same ones for every row.
    std::vector<std::vector<uint8_t>> ecs;
    std::vector<sockaddr_in> sources;
    uint32_t x = 12345;
    for (int i = 0; i < 4096; ++i) {
      x = x * 1103515245u + 12345u;
      const uint8_t subnet[3] = {static_cast<uint8_t>(1 + (x >> 24) % 223),
                                 static_cast<uint8_t>(x >> 16), static_cast<uint8_t>(x >> 8)};
      ecs.push_back(edns_query("dl.pool.example.", kTypeA, subnet));
      sockaddr_in sa{};
      sa.sin_family = AF_INET;
      std::memcpy(&sa.sin_addr, subnet, 3);
      sources.push_back(sa);
    }
    const std::vector<uint8_t> edns = edns_query("dl.pool.example.", kTypeA, nullptr);
    rows.push_back({"dl.pool.example A (pool, EDNS)", {edns}, kRcodeNoError, kMaxAnswers, sources});
    rows.push_back(
        {"dl.pool.example A (geo, ECS)", ecs, kRcodeNoError, kMaxAnswers, {}, geo.get()});
    rows.push_back({"dl.pool.example A (geo, source)",
                    {edns},
                    kRcodeNoError,
                    kMaxAnswers,
                    sources,
                    geo.get()});
  }
  std::printf("query path per query (fastest of 5 runs), %u extra names, %u queries per row\n",
              names, count);
  for (const Row& row : rows) {
    std::printf("  %-32s %7.1f ns\n", row.title, ns_per_query(row, *snapshot, count));
  }
  return 0;
}
