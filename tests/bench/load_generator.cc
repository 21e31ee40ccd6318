// A batched UDP DNS load generator for the query benchmark
// (tests/bench/query_bench.py). It keeps a window of queries outstanding,
// sends them in sendmmsg batches and reads replies with recvmmsg, so that one
// generator core can outrun one server core (dnsperf cannot on this kind of
// machine: it saturates its own core first). Every reply is matched to its
// query by ID and checked: QR set, NOERROR, not truncated, the same question,
// and the expected number of answer records of the query type without
// duplicate addresses. Queries without a reply within --timeout-ms are lost.
//
// Throughput mode (default) prints one JSON line:
//   {"mode":"throughput","qps":...,"sent":...,"received":...,"valid":...,
//    "invalid":...,"lost":...,"unexpected":...,"answer_sets":...,...}
// Latency mode (--latency) sends one query at a time (unloaded server) and
// prints RTT percentiles in microseconds.
//
//   load_generator --server 127.0.0.1:5353 --query "dl.pool.example A 4"
//       --query "www.pool.example A 1" --duration 5 [--window 128] [--batch 32]
//   load_generator --server 127.0.0.1:5353 --query "dl.pool.example A 4" --latency
//
// --ecs PREFIX (repeatable, e.g. 192.0.2.0/24) sends every query with an EDNS
// Client Subnet option (RFC 7871) for each prefix in turn, as a resolver
// would for its clients; replies are checked as without.
//
// --edns sends every query with an OPT record (UDP size 1232, DO clear);
// --dnssec with the DO bit set (RFC 3225), and then a correct reply must also
// carry at least one RRSIG covering the query type in its answer section.
// Without --dnssec an RRSIG in the answer is wrong (DO=0 gets no DNSSEC).
#include <arpa/inet.h>
#include <netinet/udp.h>
#include <poll.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include <algorithm>
#include <cctype>
#include <cerrno>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <optional>
#include <string>
#include <string_view>
#include <unordered_set>
#include <vector>

#include "bench_net.hh"

namespace {

using bench::get16;
using bench::put16;

constexpr size_t kMaxBatch = 256;
constexpr size_t kMaxGsoSegments = 64;  // UDP_MAX_SEGMENTS of older kernels
constexpr size_t kReplyBuffer = 4096;
// Distinct answer sets remembered (to report whether answers vary at all);
// bounded so a long run does not grow without limit.
constexpr size_t kMaxAnswerSets = 4096;

uint64_t now_ns() {
  timespec ts{};
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return static_cast<uint64_t>(ts.tv_sec) * 1000000000ull + static_cast<uint64_t>(ts.tv_nsec);
}

struct Query {
  std::string text;             // as given, for messages
  std::vector<uint8_t> packet;  // header (ID 0) + question (+ OPT with --ecs)
  size_t question_end = 0;      // where the question ends in `packet`
  uint16_t qtype = 0;
  unsigned min_answers = 0;
  unsigned max_answers = 0;
  bool check_answers = false;
  bool want_rrsig = false;  // DO set: the answer must carry an RRSIG of qtype
};

std::optional<uint16_t> parse_type(std::string_view t) {
  static constexpr std::pair<std::string_view, uint16_t> kTypes[] = {
      {"A", 1},   {"NS", 2},   {"CNAME", 5}, {"SOA", 6},  {"PTR", 12},
      {"MX", 15}, {"TXT", 16}, {"AAAA", 28}, {"SRV", 33}, {"ANY", 255}};
  for (const auto& [name, value] : kTypes) {
    if (t.size() == name.size() && std::equal(t.begin(), t.end(), name.begin(), [](char a, char b) {
          return std::toupper(static_cast<unsigned char>(a)) == b;
        }))
      return value;
  }
  if (t.size() > 4 && (t.substr(0, 4) == "TYPE" || t.substr(0, 4) == "type")) {
    const long v = std::strtol(std::string(t.substr(4)).c_str(), nullptr, 10);
    if (v > 0 && v < 65536) return static_cast<uint16_t>(v);
  }
  return std::nullopt;
}

// "NAME TYPE [N|LO-HI]": the expected number of answer records of TYPE.
std::optional<Query> parse_query(const std::string& spec, bool rd) {
  std::vector<std::string> words;
  size_t pos = 0;
  while (pos < spec.size()) {
    const size_t start = spec.find_first_not_of(' ', pos);
    if (start == std::string::npos) break;
    const size_t end = spec.find(' ', start);
    words.push_back(spec.substr(start, end == std::string::npos ? std::string::npos : end - start));
    pos = end == std::string::npos ? spec.size() : end;
  }
  if (words.size() < 2 || words.size() > 3) return std::nullopt;
  const auto name = bench::encode_name(words[0]);
  const auto type = parse_type(words[1]);
  if (!name || !type) return std::nullopt;
  Query q;
  q.text = spec;
  q.qtype = *type;
  if (words.size() == 3) {
    const std::string& n = words[2];
    const auto dash = n.find('-');
    // strtol's end pointer points into these, so they outlive the checks.
    const std::string lo_text = n.substr(0, dash);
    const std::string hi_text = dash == std::string::npos ? lo_text : n.substr(dash + 1);
    char* end = nullptr;
    const long lo = std::strtol(lo_text.c_str(), &end, 10);
    if (lo_text.empty() || *end != '\0' || lo < 0) return std::nullopt;
    const long hi = std::strtol(hi_text.c_str(), &end, 10);
    if (hi_text.empty() || *end != '\0' || hi < lo) return std::nullopt;
    q.check_answers = true;
    q.min_answers = static_cast<unsigned>(lo);
    q.max_answers = static_cast<unsigned>(hi);
  }
  q.packet.assign(12, 0);
  q.packet[2] = rd ? 0x01 : 0x00;  // opcode QUERY; RD as asked
  put16(&q.packet[4], 1);          // QDCOUNT
  q.packet.insert(q.packet.end(), name->begin(), name->end());
  q.packet.resize(q.packet.size() + 4);
  put16(&q.packet[q.packet.size() - 4], q.qtype);
  put16(&q.packet[q.packet.size() - 2], 1);  // class IN
  q.question_end = q.packet.size();
  return q;
}

// `q` with an OPT record carrying an ECS option for `prefix` ("192.0.2.0/24",
// "2001:db8::/56"); nullopt when the prefix does not parse.
std::optional<Query> with_ecs(const Query& q, const std::string& prefix) {
  const size_t slash = prefix.find('/');
  if (slash == std::string::npos) return std::nullopt;
  const std::string address = prefix.substr(0, slash);
  const long bits = std::strtol(prefix.c_str() + slash + 1, nullptr, 10);
  uint8_t bytes[16] = {};
  const bool v6 = address.find(':') != std::string::npos;
  if (inet_pton(v6 ? AF_INET6 : AF_INET, address.c_str(), bytes) != 1 || bits < 0 ||
      bits > (v6 ? 128 : 32)) {
    return std::nullopt;
  }
  const size_t n = static_cast<size_t>(bits + 7) / 8;
  Query out = q;
  put16(&out.packet[10], 1);  // ARCOUNT
  const uint8_t opt[] = {0,
                         0,
                         41,
                         0x04,
                         0xd0,
                         0,
                         0,
                         0,
                         0,
                         0,
                         static_cast<uint8_t>(8 + n),
                         0,
                         8,
                         0,
                         static_cast<uint8_t>(4 + n),
                         0,
                         static_cast<uint8_t>(v6 ? 2 : 1),
                         static_cast<uint8_t>(bits),
                         0};
  out.packet.insert(out.packet.end(), opt, opt + sizeof opt);
  out.packet.insert(out.packet.end(), bytes, bytes + n);
  out.text = q.text + " ECS " + prefix;
  return out;
}

// `q` with an OPT record (UDP size 1232) unless it has one (from --ecs), and
// with the DO bit set in it when `dnssec_ok`.
Query with_edns(const Query& q, bool dnssec_ok) {
  Query out = q;
  if (out.packet.size() == out.question_end) {
    put16(&out.packet[10], 1);  // ARCOUNT
    const uint8_t opt[] = {0, 0, 41, 0x04, 0xd0, 0, 0, 0, 0, 0, 0};
    out.packet.insert(out.packet.end(), opt, opt + sizeof opt);
    out.text += " EDNS";
  }
  if (dnssec_ok) {
    // OPT: root name (1), type (2), class (2), extended rcode (1), version
    // (1), then the flags, whose top bit is DO.
    out.packet[out.question_end + 7] |= 0x80;
    out.want_rrsig = true;
    out.text += " DO";
  }
  return out;
}

struct Counters {
  uint64_t sent = 0;
  uint64_t received = 0;  // replies to queries sent while measuring
  uint64_t valid = 0;
  uint64_t invalid = 0;
  uint64_t lost = 0;
  uint64_t unexpected = 0;  // replies whose ID is not outstanding (late or duplicate)
  uint64_t send_errors = 0;
};

struct Checker {
  const std::vector<Query>& queries;
  std::string first_error;
  std::unordered_set<uint64_t> answer_sets;

  // True when the reply is a correct answer to queries[qi].
  bool check(const uint8_t* p, size_t len, size_t qi) {
    const Query& q = queries[qi];
    auto fail = [&](std::string why) {
      if (first_error.empty()) first_error = q.text + ": " + why;
      return false;
    };
    const uint16_t flags = get16(p + 2);
    if (!(flags & 0x8000)) return fail("QR not set");
    if (flags & 0x0200) return fail("truncated (TC)");
    if ((flags & 0x000F) != 0) return fail("rcode " + std::to_string(flags & 0x000F));
    if (get16(p + 4) != 1) return fail("QDCOUNT " + std::to_string(get16(p + 4)));
    const size_t qlen = q.question_end - 12;
    if (len < 12 + qlen) return fail("short reply");
    for (size_t i = 0; i < qlen; ++i) {
      // Names compare case-insensitively; servers should preserve case anyway.
      if (std::tolower(p[12 + i]) != std::tolower(q.packet[12 + i])) {
        return fail("question differs");
      }
    }
    const unsigned ancount = get16(p + 6);
    size_t pos = 12 + qlen;
    unsigned matching = 0;
    unsigned rrsigs = 0;  // RRSIGs covering qtype
    uint32_t addrs[64];
    unsigned naddrs = 0;
    uint64_t hash = 1469598103934665603ull;  // FNV-1a over the answer rdata, in order
    for (unsigned i = 0; i < ancount; ++i) {
      pos = bench::skip_name(p, len, pos);
      if (pos == 0 || pos + 10 > len) return fail("malformed answer");
      const uint16_t type = get16(p + pos);
      const size_t rdlen = get16(p + pos + 8);
      pos += 10;
      if (pos + rdlen > len) return fail("malformed answer");
      if (type == q.qtype) {
        ++matching;
        for (size_t k = 0; k < rdlen; ++k) hash = (hash ^ p[pos + k]) * 1099511628211ull;
        if (type == 1 && rdlen == 4) {
          uint32_t a;
          std::memcpy(&a, p + pos, 4);
          for (unsigned k = 0; k < naddrs; ++k) {
            if (addrs[k] == a) return fail("duplicate address");
          }
          if (naddrs < 64) addrs[naddrs++] = a;
        }
      } else if (type == 46 && rdlen >= 2 && get16(p + pos) == q.qtype) {
        ++rrsigs;
      }
      pos += rdlen;
    }
    if (q.check_answers && (matching < q.min_answers || matching > q.max_answers)) {
      return fail(std::to_string(matching) + " answer records");
    }
    if (q.want_rrsig && rrsigs == 0) return fail("no RRSIG in the answer (DO set)");
    if (!q.want_rrsig && rrsigs != 0) return fail("RRSIG in the answer with DO clear");
    if (answer_sets.size() < kMaxAnswerSets) answer_sets.insert(hash);
    return true;
  }
};

struct Options {
  std::string server;
  std::vector<std::string> query_specs;
  double duration = 5.0;
  double warmup = 0.5;
  size_t window = 128;
  size_t batch = 32;
  size_t sockets = 1;
  uint64_t timeout_ms = 500;
  bool latency = false;
  uint64_t count = 2000;
  uint64_t interval_us = 200;
  bool rd = false;
  bool edns = false;
  bool dnssec = false;
  bool gso = true;
  std::vector<std::string> ecs;
  std::string label;
};

[[noreturn]] void usage(const char* why) {
  std::fprintf(stderr,
               "load_generator: %s\n"
               "usage: load_generator --server ADDR:PORT --query \"NAME TYPE [N|LO-HI]\" ...\n"
               "  [--duration S] [--warmup S] [--window N] [--batch N] [--sockets N]\n"
               "  [--timeout-ms N] [--rd] [--no-gso] [--label TEXT] [--ecs PREFIX ...]\n"
               "  [--edns] [--dnssec]\n"
               "  [--latency [--count N] [--interval-us N]]\n",
               why);
  std::exit(2);
}

Options parse_args(int argc, char** argv) {
  Options o;
  for (int i = 1; i < argc; ++i) {
    const std::string_view a = argv[i];
    auto value = [&]() -> std::string {
      if (i + 1 >= argc) usage(("missing value for " + std::string(a)).c_str());
      return argv[++i];
    };
    auto number = [&]() -> double {
      const std::string v = value();
      char* end = nullptr;
      const double d = std::strtod(v.c_str(), &end);
      if (v.empty() || *end != '\0' || d < 0) usage(("bad number for " + std::string(a)).c_str());
      return d;
    };
    if (a == "--server") {
      o.server = value();
    } else if (a == "--query") {
      o.query_specs.push_back(value());
    } else if (a == "--duration") {
      o.duration = number();
    } else if (a == "--warmup") {
      o.warmup = number();
    } else if (a == "--window") {
      o.window = static_cast<size_t>(number());
    } else if (a == "--batch") {
      o.batch = static_cast<size_t>(number());
    } else if (a == "--sockets") {
      o.sockets = static_cast<size_t>(number());
    } else if (a == "--timeout-ms") {
      o.timeout_ms = static_cast<uint64_t>(number());
    } else if (a == "--latency") {
      o.latency = true;
    } else if (a == "--count") {
      o.count = static_cast<uint64_t>(number());
    } else if (a == "--interval-us") {
      o.interval_us = static_cast<uint64_t>(number());
    } else if (a == "--no-gso") {
      o.gso = false;
    } else if (a == "--ecs") {
      o.ecs.emplace_back(value());
    } else if (a == "--rd") {
      o.rd = true;
    } else if (a == "--edns") {
      o.edns = true;
    } else if (a == "--dnssec") {
      o.dnssec = true;
    } else if (a == "--label") {
      o.label = value();
    } else {
      usage(("unknown argument " + std::string(a)).c_str());
    }
  }
  if (o.server.empty()) usage("--server is required");
  if (o.query_specs.empty()) usage("at least one --query is required");
  if (o.batch < 1 || o.batch > kMaxBatch) usage("--batch must be 1..256");
  // The window must stay below the 16-bit ID space of one socket.
  if (o.window < 1 || o.window > 30000) usage("--window must be 1..30000");
  if (o.sockets < 1 || o.sockets > 64) usage("--sockets must be 1..64");
  if (o.timeout_ms < 1) usage("--timeout-ms must be positive");
  if (o.count < 1) usage("--count must be positive");
  return o;
}

int open_socket(const bench::Endpoint& server) {
  const int fd = socket(server.addr.ss_family, SOCK_DGRAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
  if (fd < 0) {
    std::perror("socket");
    std::exit(1);
  }
  // Room for a full window of replies even when we fall behind for a moment.
  const int buf = 4 << 20;
  setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &buf, sizeof buf);
  setsockopt(fd, SOL_SOCKET, SO_SNDBUF, &buf, sizeof buf);
  if (connect(fd, reinterpret_cast<const sockaddr*>(&server.addr), server.len) != 0) {
    std::perror("connect");
    std::exit(1);
  }
  return fd;
}

std::string json_escape(const std::string& s) {
  std::string out;
  for (const char ch : s) {
    if (ch == '"' || ch == '\\') {
      out += '\\';
      out += ch;
    } else if (static_cast<unsigned char>(ch) < 0x20) {
      out += ' ';
    } else {
      out += ch;
    }
  }
  return out;
}

// One socket's outstanding queries. IDs are handed out in sequence order
// (scrambled by an odd multiplier), so the oldest outstanding query is always
// at `tail`: timeouts are found in O(1) without scanning.
struct Flow {
  struct Slot {
    uint64_t sent_ns = 0;
    uint32_t query = 0;
    bool busy = false;
    bool counted = false;  // sent while measuring
  };
  int fd = -1;
  std::vector<Slot> slots = std::vector<Slot>(65536);
  uint64_t head = 0;  // next sequence number
  uint64_t tail = 0;  // oldest sequence number that may still be outstanding
  uint16_t salt = 0;

  uint16_t id_of(uint64_t seq) const { return static_cast<uint16_t>(seq * 40503u + salt); }
};

int run_throughput(const Options& o, const bench::Endpoint& server,
                   const std::vector<Query>& queries) {
  Counters c;
  Checker checker{queries, {}, {}};
  std::vector<Flow> flows(o.sockets);
  for (size_t i = 0; i < flows.size(); ++i) {
    flows[i].fd = open_socket(server);
    flows[i].salt = static_cast<uint16_t>(now_ns() * (i + 7));
  }
  std::vector<std::vector<uint8_t>> out_bufs(o.batch, std::vector<uint8_t>(512));
  std::vector<mmsghdr> out_msgs(o.batch);
  std::vector<iovec> out_iov(o.batch);
  std::vector<std::vector<uint8_t>> in_bufs(o.batch, std::vector<uint8_t>(kReplyBuffer));
  std::vector<mmsghdr> in_msgs(o.batch);
  std::vector<iovec> in_iov(o.batch);
  std::vector<pollfd> pfds(flows.size());
  // UDP GSO (one send call and one trip through the IP stack per batch)
  // makes the generator's side cheaper; the server still receives ordinary
  // datagrams, split before they reach its socket. Needs equal-length queries.
  bool gso = o.gso && o.batch <= kMaxGsoSegments;
  for (const Query& q : queries) gso = gso && q.packet.size() == queries[0].packet.size();
  for (Flow& f : flows) {
    const int size = static_cast<int>(queries[0].packet.size());
    if (gso && setsockopt(f.fd, SOL_UDP, UDP_SEGMENT, &size, sizeof size) != 0) gso = false;
  }
  std::vector<uint8_t> gso_buf(o.batch * 512);

  const uint64_t timeout_ns = o.timeout_ms * 1000000ull;
  const uint64_t start = now_ns();
  const uint64_t measure_from = start + static_cast<uint64_t>(o.warmup * 1e9);
  const uint64_t send_until = measure_from + static_cast<uint64_t>(o.duration * 1e9);
  bool measuring = false;
  uint64_t valid_in_window = 0;  // correct replies received inside [measure_from, send_until)
  size_t outstanding = 0;
  uint64_t next_query = 0;
  size_t rr = 0;  // which flow sends next

  auto expire = [&](Flow& f, uint64_t now, bool all) {
    while (f.tail < f.head) {
      Flow::Slot& s = f.slots[f.id_of(f.tail)];
      if (s.busy) {
        if (!all && now - s.sent_ns < timeout_ns) break;
        s.busy = false;
        --outstanding;
        if (s.counted) ++c.lost;
      }
      ++f.tail;
    }
  };

  for (;;) {
    const uint64_t now = now_ns();
    if (!measuring && now >= measure_from) measuring = true;
    const bool sending = now < send_until;
    if (!sending && (outstanding == 0 || now >= send_until + timeout_ns)) break;
    bool progress = false;

    if (sending) {
      for (size_t tries = 0; tries < flows.size() && outstanding < o.window; ++tries) {
        Flow& f = flows[rr];
        rr = (rr + 1) % flows.size();
        // Do not reuse an ID whose query is still outstanding.
        const size_t room = std::min<uint64_t>(o.window - outstanding, 65536 - (f.head - f.tail));
        const size_t n = std::min(room, o.batch);
        if (n == 0) continue;
        int r;
        if (gso) {
          // All queries have the same length: one buffer, cut into datagrams
          // by the kernel (UDP_SEGMENT is set on the socket).
          size_t off = 0;
          for (size_t k = 0; k < n; ++k) {
            const auto& pkt = queries[(next_query + k) % queries.size()].packet;
            std::memcpy(gso_buf.data() + off, pkt.data(), pkt.size());
            put16(gso_buf.data() + off, f.id_of(f.head + k));
            off += pkt.size();
          }
          iovec iov{gso_buf.data(), off};
          msghdr msg{};
          msg.msg_iov = &iov;
          msg.msg_iovlen = 1;
          r = sendmsg(f.fd, &msg, 0) == static_cast<ssize_t>(off) ? static_cast<int>(n) : -1;
          if (r < 0 && errno != EAGAIN && errno != EWOULDBLOCK && errno != ECONNREFUSED) {
            // GSO refused (an old kernel): go on without it.
            gso = false;
            for (Flow& g : flows) {
              const int zero = 0;
              setsockopt(g.fd, SOL_UDP, UDP_SEGMENT, &zero, sizeof zero);
            }
            continue;
          }
        } else {
          for (size_t k = 0; k < n; ++k) {
            const size_t qi = (next_query + k) % queries.size();
            const auto& pkt = queries[qi].packet;
            std::memcpy(out_bufs[k].data(), pkt.data(), pkt.size());
            put16(out_bufs[k].data(), f.id_of(f.head + k));
            out_iov[k] = {out_bufs[k].data(), pkt.size()};
            out_msgs[k] = {};
            out_msgs[k].msg_hdr.msg_iov = &out_iov[k];
            out_msgs[k].msg_hdr.msg_iovlen = 1;
          }
          r = sendmmsg(f.fd, out_msgs.data(), static_cast<unsigned>(n), 0);
        }
        if (r < 0) {
          if (errno != EAGAIN && errno != EWOULDBLOCK && errno != ECONNREFUSED) ++c.send_errors;
          continue;
        }
        const uint64_t t = now_ns();
        for (int k = 0; k < r; ++k) {
          Flow::Slot& s = f.slots[f.id_of(f.head)];
          s = {t, static_cast<uint32_t>((next_query + static_cast<size_t>(k)) % queries.size()),
               true, measuring};
          ++f.head;
        }
        next_query += static_cast<size_t>(r);
        outstanding += static_cast<size_t>(r);
        if (measuring) c.sent += static_cast<uint64_t>(r);
        progress = progress || r > 0;
      }
    }

    for (Flow& f : flows) {
      for (int rounds = 0; rounds < 4; ++rounds) {
        for (size_t k = 0; k < o.batch; ++k) {
          in_iov[k] = {in_bufs[k].data(), kReplyBuffer};
          in_msgs[k] = {};
          in_msgs[k].msg_hdr.msg_iov = &in_iov[k];
          in_msgs[k].msg_hdr.msg_iovlen = 1;
        }
        const int r =
            recvmmsg(f.fd, in_msgs.data(), static_cast<unsigned>(o.batch), MSG_DONTWAIT, nullptr);
        if (r <= 0) break;
        progress = true;
        const uint64_t t = now_ns();
        const bool in_window = t < send_until;
        for (int k = 0; k < r; ++k) {
          const uint8_t* p = in_bufs[static_cast<size_t>(k)].data();
          const size_t len = in_msgs[static_cast<size_t>(k)].msg_len;
          if (len < 12) {
            ++c.unexpected;
            continue;
          }
          Flow::Slot& s = f.slots[get16(p)];
          if (!s.busy) {
            ++c.unexpected;
            continue;
          }
          s.busy = false;
          --outstanding;
          const bool truncated = (in_msgs[static_cast<size_t>(k)].msg_hdr.msg_flags & MSG_TRUNC);
          const bool ok = !truncated && checker.check(p, len, s.query);
          if (s.counted) {
            ++c.received;
            ok ? ++c.valid : ++c.invalid;
          }
          if (ok && in_window && measuring) ++valid_in_window;
        }
        if (static_cast<size_t>(r) < o.batch) break;
      }
      expire(f, now_ns(), false);
    }

    if (!progress) {
      // Window full (or the socket buffer): wait for replies, at most 1 ms so
      // that timeouts and the end of the run are noticed.
      for (size_t i = 0; i < flows.size(); ++i) {
        const bool can_send = sending && outstanding < o.window;
        pfds[i] = {flows[i].fd, static_cast<short>(POLLIN | (can_send ? POLLOUT : 0)), 0};
      }
      poll(pfds.data(), pfds.size(), 1);
    }
  }
  for (Flow& f : flows) {
    expire(f, now_ns(), true);
    close(f.fd);
  }
  const double qps = static_cast<double>(valid_in_window) / o.duration;
  std::printf(
      "{\"mode\":\"throughput\",\"label\":\"%s\",\"server\":\"%s\",\"duration_s\":%.3f,"
      "\"window\":%zu,\"batch\":%zu,\"sockets\":%zu,\"gso\":%s,\"qps\":%.1f,\"sent\":%llu,"
      "\"received\":%llu,\"valid\":%llu,\"invalid\":%llu,\"lost\":%llu,\"unexpected\":%llu,"
      "\"send_errors\":%llu,\"answer_sets\":%zu,\"first_error\":\"%s\"}\n",
      json_escape(o.label).c_str(), json_escape(o.server).c_str(), o.duration, o.window, o.batch,
      o.sockets, gso ? "true" : "false", qps, static_cast<unsigned long long>(c.sent),
      static_cast<unsigned long long>(c.received), static_cast<unsigned long long>(c.valid),
      static_cast<unsigned long long>(c.invalid), static_cast<unsigned long long>(c.lost),
      static_cast<unsigned long long>(c.unexpected), static_cast<unsigned long long>(c.send_errors),
      checker.answer_sets.size(), json_escape(checker.first_error).c_str());
  return 0;
}

double percentile(const std::vector<uint64_t>& sorted, double p) {
  if (sorted.empty()) return 0;
  // Nearest-rank: the smallest value with at least p of the samples at or below it.
  size_t rank = static_cast<size_t>(p * static_cast<double>(sorted.size()) + 0.999999);
  rank = std::clamp<size_t>(rank, 1, sorted.size());
  return static_cast<double>(sorted[rank - 1]) / 1000.0;
}

int run_latency(const Options& o, const bench::Endpoint& server,
                const std::vector<Query>& queries) {
  Counters c;
  Checker checker{queries, {}, {}};
  const int fd = open_socket(server);
  std::vector<uint64_t> rtts;
  rtts.reserve(o.count);
  std::vector<uint8_t> out(512);
  std::vector<uint8_t> in(kReplyBuffer);
  const uint64_t timeout_ns = o.timeout_ms * 1000000ull;
  const uint64_t end = now_ns() + static_cast<uint64_t>((o.warmup + o.duration) * 1e9);
  uint16_t id = static_cast<uint16_t>(now_ns());
  for (uint64_t i = 0; i < o.count && now_ns() < end; ++i) {
    const size_t qi = i % queries.size();
    const auto& pkt = queries[qi].packet;
    ++id;
    std::memcpy(out.data(), pkt.data(), pkt.size());
    put16(out.data(), id);
    const uint64_t t0 = now_ns();
    ++c.sent;
    if (send(fd, out.data(), pkt.size(), 0) != static_cast<ssize_t>(pkt.size())) {
      ++c.send_errors;
      continue;
    }
    bool done = false;
    while (!done) {
      const uint64_t t = now_ns();
      if (t - t0 >= timeout_ns) {
        ++c.lost;
        break;
      }
      pollfd pfd{fd, POLLIN, 0};
      const int wait_ms = static_cast<int>((timeout_ns - (t - t0)) / 1000000ull) + 1;
      if (poll(&pfd, 1, wait_ms) <= 0) continue;
      const ssize_t n = recv(fd, in.data(), in.size(), MSG_DONTWAIT | MSG_TRUNC);
      const uint64_t t1 = now_ns();
      if (n < 12) continue;
      if (get16(in.data()) != id) {
        ++c.unexpected;  // a late reply to an earlier, timed-out query
        continue;
      }
      ++c.received;
      const bool ok = static_cast<size_t>(n) <= in.size() &&
                      checker.check(in.data(), static_cast<size_t>(n), qi);
      if (ok) {
        ++c.valid;
        rtts.push_back(t1 - t0);
      } else {
        ++c.invalid;
      }
      done = true;
    }
    if (o.interval_us > 0) {
      const timespec gap{static_cast<time_t>(o.interval_us / 1000000),
                         static_cast<long>((o.interval_us % 1000000) * 1000)};
      nanosleep(&gap, nullptr);
    }
  }
  close(fd);
  std::sort(rtts.begin(), rtts.end());
  std::printf(
      "{\"mode\":\"latency\",\"label\":\"%s\",\"server\":\"%s\",\"sent\":%llu,\"received\":%llu,"
      "\"valid\":%llu,\"invalid\":%llu,\"lost\":%llu,\"unexpected\":%llu,\"send_errors\":%llu,"
      "\"p50_us\":%.1f,\"p90_us\":%.1f,\"p99_us\":%.1f,\"p999_us\":%.1f,\"min_us\":%.1f,"
      "\"max_us\":%.1f,\"answer_sets\":%zu,\"first_error\":\"%s\"}\n",
      json_escape(o.label).c_str(), json_escape(o.server).c_str(),
      static_cast<unsigned long long>(c.sent), static_cast<unsigned long long>(c.received),
      static_cast<unsigned long long>(c.valid), static_cast<unsigned long long>(c.invalid),
      static_cast<unsigned long long>(c.lost), static_cast<unsigned long long>(c.unexpected),
      static_cast<unsigned long long>(c.send_errors), percentile(rtts, 0.50),
      percentile(rtts, 0.90), percentile(rtts, 0.99), percentile(rtts, 0.999),
      rtts.empty() ? 0.0 : static_cast<double>(rtts.front()) / 1000.0,
      rtts.empty() ? 0.0 : static_cast<double>(rtts.back()) / 1000.0, checker.answer_sets.size(),
      json_escape(checker.first_error).c_str());
  return 0;
}

}  // namespace

int main(int argc, char** argv) {
  const Options o = parse_args(argc, argv);
  const auto server = bench::parse_endpoint(o.server);
  if (!server) usage("bad --server address (ADDR:PORT or [ADDR]:PORT)");
  std::vector<Query> queries;
  for (const auto& spec : o.query_specs) {
    auto q = parse_query(spec, o.rd);
    if (!q) usage(("bad --query: " + spec).c_str());
    queries.push_back(std::move(*q));
  }
  if (!o.ecs.empty()) {
    std::vector<Query> expanded;
    for (const std::string& prefix : o.ecs) {
      for (const Query& q : queries) {
        auto with = with_ecs(q, prefix);
        if (!with) usage(("bad --ecs: " + prefix).c_str());
        expanded.push_back(std::move(*with));
      }
    }
    queries = std::move(expanded);
  }
  if (o.edns || o.dnssec) {
    for (Query& q : queries) q = with_edns(q, o.dnssec);
  }
  return o.latency ? run_latency(o, *server, queries) : run_throughput(o, *server, queries);
}
