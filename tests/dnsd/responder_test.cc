// Tests of build_snapshot + the query path (process_query, respond):
// hand-built zones and health, queries built byte by byte, responses decoded
// with ldns and compared as sets.
#include "dnsd/server/process_query.hh"

#include <arpa/inet.h>
#include <doctest/doctest.h>
#include <ldns/ldns.h>
#include <openssl/crypto.h>

#include <algorithm>
#include <atomic>
#include <cstdlib>
#include <map>
#include <new>
#include <optional>
#include <set>
#include <sstream>
#include <stdexcept>
#include <string>
#include <vector>

#include "dnsd/query/responder.hh"
#include "dnsd/snapshot/snapshot.hh"
#include "dnsd/wire/wire.hh"
#include "tests/dnsd/zone_builders.hh"

// Counting allocator for the no-allocation test: only counts while armed, so
// that doctest and the test's own containers are free to allocate.
namespace {
std::atomic<bool> g_count_allocations{false};
std::atomic<size_t> g_allocations{0};

void* counted_alloc(size_t size) {
  if (g_count_allocations.load(std::memory_order_relaxed)) ++g_allocations;
  if (void* p = std::malloc(size == 0 ? 1 : size)) return p;
  throw std::bad_alloc();
}

// OpenSSL's own allocations (cookies hash with its SipHash) count too. Its
// allocator can only be replaced before its first allocation: at static
// initialisation, which the test checks took.
void* counted_crypto_malloc(size_t size, const char*, int) {
  if (g_count_allocations.load(std::memory_order_relaxed)) ++g_allocations;
  return std::malloc(size);
}
void* counted_crypto_realloc(void* p, size_t size, const char*, int) {
  if (g_count_allocations.load(std::memory_order_relaxed)) ++g_allocations;
  return std::realloc(p, size);
}
void crypto_free(void* p, const char*, int) {
  std::free(p);
}
const bool g_crypto_counted =
    CRYPTO_set_mem_functions(counted_crypto_malloc, counted_crypto_realloc, crypto_free) == 1;
}  // namespace

void* operator new(size_t size) {
  return counted_alloc(size);
}
void* operator new[](size_t size) {
  return counted_alloc(size);
}
void* operator new(size_t size, const std::nothrow_t&) noexcept {
  try {
    return counted_alloc(size);
  } catch (...) {
    return nullptr;
  }
}
void* operator new[](size_t size, const std::nothrow_t&) noexcept {
  try {
    return counted_alloc(size);
  } catch (...) {
    return nullptr;
  }
}
void operator delete(void* p) noexcept {
  std::free(p);
}
void operator delete[](void* p) noexcept {
  std::free(p);
}
void operator delete(void* p, size_t) noexcept {
  std::free(p);
}
void operator delete[](void* p, size_t) noexcept {
  std::free(p);
}

using namespace mirrorpool;
using namespace mirrorpool::dnsd;
using mirrorpool::test::nm;
using mirrorpool::test::rec;
using mirrorpool::test::set_load_id;
using mirrorpool::test::u32_bytes;

namespace {

using Bytes = std::vector<uint8_t>;

std::string a_rdata(const char* text) {
  std::string out(4, '\0');
  REQUIRE(inet_pton(AF_INET, text, out.data()) == 1);
  return out;
}

std::string aaaa_rdata(const char* text) {
  std::string out(16, '\0');
  REQUIRE(inet_pton(AF_INET6, text, out.data()) == 1);
  return out;
}

std::string txt_rdata(const std::string& text) {
  return std::string(1, static_cast<char>(text.size())) + text;
}

std::string soa_rdata(std::string_view mname, uint32_t minimum) {
  return nm(mname).wire() + nm("hostmaster.example.org.").wire() + u32_bytes(1) + u32_bytes(7200) +
         u32_bytes(900) + u32_bytes(1209600) + u32_bytes(minimum);
}

zones::Zone zone_of(std::string_view origin, std::vector<zones::Record> records) {
  zones::Zone z;
  z.origin = nm(origin);
  z.file = "test";
  z.records = std::move(records);
  return z;
}

zones::Zone example_zone() {
  std::vector<zones::Record> r = {
      rec("example.org.", kTypeSoa, 3600, soa_rdata("ns1.example.org.", 300)),
      rec("example.org.", kTypeNs, 3600, nm("ns1.example.org.").wire()),
      rec("example.org.", kTypeNs, 3600, nm("ns2.example.org.").wire()),
      rec("ns1.example.org.", kTypeA, 3600, a_rdata("192.0.2.1")),
      rec("ns2.example.org.", kTypeAaaa, 3600, aaaa_rdata("2001:db8::2")),
      rec("www.example.org.", kTypeA, 300, a_rdata("192.0.2.10")),
      rec("www.example.org.", kTypeTxt, 600, txt_rdata("hello")),
      rec("a.b.c.example.org.", kTypeTxt, 300, txt_rdata("deep")),
      rec("*.wild.example.org.", kTypeA, 60, a_rdata("192.0.2.20")),
      rec("alias.example.org.", kTypeCname, 120, nm("www.example.org.").wire()),
      rec("alias2.example.org.", kTypeCname, 120, nm("alias.example.org.").wire()),
      rec("loop1.example.org.", kTypeCname, 120, nm("loop2.example.org.").wire()),
      rec("loop2.example.org.", kTypeCname, 120, nm("loop1.example.org.").wire()),
      rec("out.example.org.", kTypeCname, 120, nm("www.elsewhere.net.").wire()),
      rec("dangling.example.org.", kTypeCname, 120, nm("nothere.example.org.").wire()),
      rec("download.example.org.", kTypeCname, 120, nm("dl.example.org.").wire()),
      rec("sub.example.org.", kTypeNs, 86400, nm("ns.sub.example.org.").wire()),
      rec("sub.example.org.", kTypeDs, 86400,
          std::string("\x30\x39\x08\x02", 4) + std::string(32, 'k')),
      rec("ns.sub.example.org.", kTypeA, 86400, a_rdata("192.0.2.53")),
      rec("nods.example.org.", kTypeNs, 86400, nm("ns.other.net.").wire()),
      rec("child.example.org.", kTypeNs, 86400, nm("ns1.example.org.").wire()),
  };
  for (int i = 0; i < 8; ++i) {
    r.push_back(rec("big.example.org.", kTypeTxt, 300, txt_rdata(std::string(100, char('a' + i)))));
  }
  return zone_of("example.org.", std::move(r));
}

zones::Zone child_zone() {
  return zone_of("child.example.org.",
                 {rec("child.example.org.", kTypeSoa, 600, soa_rdata("ns1.example.org.", 900)),
                  rec("child.example.org.", kTypeNs, 600, nm("ns1.example.org.").wire()),
                  rec("www.child.example.org.", kTypeA, 600, a_rdata("192.0.2.77"))});
}

// A zone whose apex NS glue and one referral do not fit in 512 bytes.
zones::Zone glue_zone() {
  std::vector<zones::Record> r = {
      rec("glue.test.", kTypeSoa, 3600, soa_rdata("ns00.glue.test.", 60))};
  for (int i = 0; i < 12; ++i) {
    const std::string target = "ns" + std::to_string(10 + i) + ".glue.test.";
    r.push_back(rec("glue.test.", kTypeNs, 3600, nm(target).wire()));
    r.push_back(rec(target, kTypeA, 3600, a_rdata("192.0.2.1")));
    r.push_back(rec(target, kTypeAaaa, 3600, aaaa_rdata("2001:db8::1")));
    const std::string deleg = "a-long-name-server-" + std::to_string(10 + i) + ".deleg.glue.test.";
    r.push_back(rec("deleg.glue.test.", kTypeNs, 3600, nm(deleg).wire()));
    r.push_back(rec(deleg, kTypeAaaa, 3600, aaaa_rdata("2001:db8::1")));
  }
  return zone_of("glue.test.", std::move(r));
}

zones::MirrorDef mirror(std::string id, uint32_t weight,
                        const std::vector<const char*>& addresses) {
  zones::MirrorDef m;
  m.id = std::move(id);
  m.weight = weight;
  for (const char* a : addresses) m.addresses.push_back(*zones::Address::parse(a));
  return m;
}

zones::PoolDef pool(std::string_view name, zones::WhenAllDown mode,
                    std::vector<zones::MirrorDef> mirrors, unsigned max_answers = 4) {
  zones::PoolDef p;
  p.name = nm(name);
  p.ttl = 30;
  p.max_answers = max_answers;
  p.when_all_down = mode;
  p.min_healthy = 1;
  p.mirrors = std::move(mirrors);
  return p;
}

std::shared_ptr<const zones::Zone> shared(zones::Zone zone) {
  return std::make_shared<const zones::Zone>(std::move(zone));
}

zones::Model example_model() {
  zones::Model model;
  model.zones = {shared(example_zone()), shared(child_zone()), shared(glue_zone())};
  using W = zones::WhenAllDown;
  model.pools = {
      pool("dl.example.org.", W::serve_all,
           {mirror("m1", 5, {"192.0.2.101", "2001:db8::101"}),
            mirror("m2", 1, {"192.0.2.102", "2001:db8::102"}), mirror("m3", 0, {"192.0.2.103"})}),
      pool("v4only.example.org.", W::servfail, {mirror("m1", 1, {"198.51.100.1"})}),
  };
  std::vector<zones::MirrorDef> many;
  for (int i = 0; i < 40; ++i) {
    // Appended rather than "m" + to_string(): g++ 12 -O3 warns falsely (-Wrestrict) on that.
    std::string id = "m";
    id += std::to_string(i);
    std::string v6 = "2001:db8:1::";
    v6 += std::to_string(i + 1);
    zones::MirrorDef m;
    m.id = id;
    m.weight = 1;
    m.addresses.push_back(*zones::Address::parse(v6));
    many.push_back(m);
  }
  model.pools.push_back(pool("many.example.org.", W::serve_all, many, 40));
  return model;
}

health::HealthView view(const std::vector<health::TargetKey>& down) {
  std::map<health::TargetKey, health::TargetHealth> targets;
  for (const auto& key : down) targets[key].up = false;
  return health::HealthView(std::move(targets));
}

std::shared_ptr<const Snapshot> snapshot_of(const zones::Model& model,
                                            const health::HealthView& health = {},
                                            const Snapshot* previous = nullptr,
                                            const SnapshotOptions& options = {}) {
  return build_snapshot(model, health, previous, options);
}

struct QueryOptions {
  uint16_t id = 0x4242;
  uint16_t flags = kFlagRd;
  uint16_t qclass = kClassIn;
  bool edns = false;
  uint16_t udp_size = 4096;
  uint8_t version = 0;
  bool dnssec_ok = false;
  Bytes options{};  // the OPT record's RDATA, as is
};

// Builds a query; the name keeps its case.
Bytes make_query(std::string_view name, uint16_t qtype, const QueryOptions& o = {}) {
  Bytes q = {static_cast<uint8_t>(o.id >> 8),
             static_cast<uint8_t>(o.id),
             static_cast<uint8_t>(o.flags >> 8),
             static_cast<uint8_t>(o.flags),
             0,
             1,
             0,
             0,
             0,
             0,
             0,
             static_cast<uint8_t>(o.edns ? 1 : 0)};
  size_t start = 0;
  while (start < name.size()) {
    size_t dot = name.find('.', start);
    if (dot == std::string_view::npos) dot = name.size();
    q.push_back(static_cast<uint8_t>(dot - start));
    q.insert(q.end(), name.begin() + static_cast<long>(start),
             name.begin() + static_cast<long>(dot));
    start = dot + 1;
  }
  q.push_back(0);
  q.insert(q.end(), {static_cast<uint8_t>(qtype >> 8), static_cast<uint8_t>(qtype),
                     static_cast<uint8_t>(o.qclass >> 8), static_cast<uint8_t>(o.qclass)});
  if (o.edns) {
    q.insert(q.end(),
             {0, 0, 41, static_cast<uint8_t>(o.udp_size >> 8), static_cast<uint8_t>(o.udp_size), 0,
              o.version, static_cast<uint8_t>(o.dnssec_ok ? 0x80 : 0), 0,
              static_cast<uint8_t>(o.options.size() >> 8), static_cast<uint8_t>(o.options.size())});
    q.insert(q.end(), o.options.begin(), o.options.end());
  }
  return q;
}

struct Rr {
  std::string owner;
  uint32_t ttl = 0;
  uint16_t type = 0;
  std::string rdata;
};

struct Reply {
  Bytes raw;
  uint16_t id = 0;
  bool aa = false, tc = false, rd = false, ra = false;
  unsigned rcode = 0;  // extended
  unsigned opcode = 0;
  size_t qdcount = 0;
  std::vector<Rr> answer, authority, additional;
  bool edns = false;
  uint16_t edns_size = 0;
  uint8_t edns_version = 0;
  bool dnssec_ok = false;
  Bytes edns_options;  // the OPT record's RDATA

  std::set<std::string> rdatas(uint16_t type) const {
    std::set<std::string> out;
    for (const Rr& r : answer) {
      if (r.type == type) out.insert(r.rdata);
    }
    return out;
  }
};

std::string take(char* s) {
  std::string out = s ? s : "";
  free(s);
  return out;
}

std::vector<Rr> decode_list(const ldns_rr_list* list) {
  std::vector<Rr> out;
  for (size_t i = 0; list != nullptr && i < ldns_rr_list_rr_count(list); ++i) {
    const ldns_rr* rr = ldns_rr_list_rr(list, i);
    Rr r;
    r.owner = take(ldns_rdf2str(ldns_rr_owner(rr)));
    r.ttl = ldns_rr_ttl(rr);
    r.type = static_cast<uint16_t>(ldns_rr_get_type(rr));
    for (size_t j = 0; j < ldns_rr_rd_count(rr); ++j) {
      if (j > 0) r.rdata += ' ';
      r.rdata += take(ldns_rdf2str(ldns_rr_rdf(rr, j)));
    }
    out.push_back(r);
  }
  return out;
}

Reply decode(const uint8_t* data, size_t size) {
  Reply reply;
  reply.raw.assign(data, data + size);
  ldns_pkt* pkt = nullptr;
  REQUIRE(ldns_wire2pkt(&pkt, data, size) == LDNS_STATUS_OK);
  CHECK(ldns_pkt_qr(pkt));
  reply.id = ldns_pkt_id(pkt);
  reply.aa = ldns_pkt_aa(pkt);
  reply.tc = ldns_pkt_tc(pkt);
  reply.rd = ldns_pkt_rd(pkt);
  reply.ra = ldns_pkt_ra(pkt);
  reply.opcode = ldns_pkt_get_opcode(pkt);
  reply.qdcount = ldns_pkt_qdcount(pkt);
  reply.answer = decode_list(ldns_pkt_answer(pkt));
  reply.authority = decode_list(ldns_pkt_authority(pkt));
  reply.additional = decode_list(ldns_pkt_additional(pkt));
  // ldns takes the OPT record out of the additional section.
  reply.edns = ldns_pkt_edns_udp_size(pkt) != 0;
  reply.edns_size = ldns_pkt_edns_udp_size(pkt);
  reply.edns_version = ldns_pkt_edns_version(pkt);
  reply.dnssec_ok = ldns_pkt_edns_do(pkt);
  if (const ldns_rdf* data = ldns_pkt_edns_data(pkt)) {
    reply.edns_options.assign(ldns_rdf_data(data), ldns_rdf_data(data) + ldns_rdf_size(data));
  }
  reply.rcode = (unsigned{ldns_pkt_edns_extended_rcode(pkt)} << 4) | ldns_pkt_get_rcode(pkt);
  ldns_pkt_free(pkt);
  return reply;
}

// Queries go in by the servers' own entry point, QueryProcessor::process.
struct Server {
  std::shared_ptr<const Snapshot> snapshot;
  Stats stats;
  QueryProcessor processor{stats, 12345, nullptr};
  uint8_t out[65535];

  explicit Server(std::shared_ptr<const Snapshot> s) : snapshot(std::move(s)) {}
  // The processor counts into `stats`: a copy would count into the original's.
  Server(const Server&) = delete;
  Server& operator=(const Server&) = delete;

  size_t raw(const Bytes& query, Transport transport = Transport::udp,
             const sockaddr* client = nullptr) {
    return processor.process(query, transport, client, *snapshot, out, 0).length;
  }
  Reply ask(const Bytes& query, Transport transport = Transport::udp) {
    const size_t n = raw(query, transport);
    REQUIRE(n > 0);
    return decode(out, n);
  }
  Reply ask(std::string_view name, uint16_t qtype, const QueryOptions& o = {}) {
    return ask(make_query(name, qtype, o));
  }
};

Server example_server() {
  return Server(snapshot_of(example_model()));
}

void check_negative(const Reply& r, const char* apex, uint32_t ttl) {
  REQUIRE(r.authority.size() == 1);
  CHECK(r.authority[0].type == kTypeSoa);
  CHECK(r.authority[0].owner == apex);
  CHECK(r.authority[0].ttl == ttl);
}

}  // namespace

TEST_CASE("apex SOA and NS with glue") {
  Server s = example_server();
  Reply r = s.ask("example.org.", kTypeSoa);
  CHECK(r.id == 0x4242);
  CHECK(r.aa);
  CHECK(r.rd);
  CHECK_FALSE(r.ra);
  CHECK(r.rcode == kRcodeNoError);
  REQUIRE(r.answer.size() == 1);
  CHECK(r.answer[0].type == kTypeSoa);
  CHECK(r.answer[0].ttl == 3600);
  CHECK(r.answer[0].owner == "example.org.");

  r = s.ask("example.org.", kTypeNs);
  CHECK(r.aa);
  CHECK(r.rdatas(kTypeNs) == std::set<std::string>{"ns1.example.org.", "ns2.example.org."});
  REQUIRE(r.additional.size() == 2);
  std::set<std::string> glue;
  for (const Rr& g : r.additional) glue.insert(g.owner + " " + g.rdata);
  CHECK(glue ==
        std::set<std::string>{"ns1.example.org. 192.0.2.1", "ns2.example.org. 2001:db8::2"});
}

TEST_CASE("exact answers, case preserved and owner compressed") {
  Server s = example_server();
  const Bytes query = make_query("WwW.ExAmple.ORG", kTypeA);
  Reply r = s.ask(query);
  CHECK(r.aa);
  REQUIRE(r.answer.size() == 1);
  CHECK(r.answer[0].rdata == "192.0.2.10");
  CHECK(r.answer[0].ttl == 300);
  CHECK(r.answer[0].owner == "WwW.ExAmple.ORG.");
  // The question is copied byte for byte, and the owner points at it.
  const size_t question_end = query.size();
  REQUIRE(r.raw.size() > question_end + 2);
  CHECK(std::equal(query.begin() + 12, query.end(), r.raw.begin() + 12));
  CHECK(r.raw[question_end] == 0xc0);
  CHECK(r.raw[question_end + 1] == 0x0c);
}

TEST_CASE("NODATA, NXDOMAIN and empty non-terminals") {
  Server s = example_server();
  SUBCASE("NODATA") {
    Reply r = s.ask("www.example.org.", kTypeMx);
    CHECK(r.aa);
    CHECK(r.rcode == kRcodeNoError);
    CHECK(r.answer.empty());
    check_negative(r, "example.org.", 300);  // min(SOA TTL 3600, MINIMUM 300)
  }
  SUBCASE("NXDOMAIN") {
    Reply r = s.ask("nothere.example.org.", kTypeA);
    CHECK(r.aa);
    CHECK(r.rcode == kRcodeNxDomain);
    CHECK(r.answer.empty());
    check_negative(r, "example.org.", 300);
  }
  SUBCASE("empty non-terminals are NODATA") {
    for (const char* name : {"c.example.org.", "b.c.example.org."}) {
      Reply r = s.ask(name, kTypeA);
      CHECK(r.rcode == kRcodeNoError);
      CHECK(r.answer.empty());
      check_negative(r, "example.org.", 300);
    }
    Reply r = s.ask("x.b.c.example.org.", kTypeA);
    CHECK(r.rcode == kRcodeNxDomain);
    r = s.ask("a.b.c.example.org.", kTypeTxt);
    CHECK(r.rdatas(kTypeTxt) == std::set<std::string>{"\"deep\""});
  }
  SUBCASE("negative TTL is the SOA TTL when that is lower") {
    Reply r = s.ask("nothere.child.example.org.", kTypeA);
    CHECK(r.rcode == kRcodeNxDomain);
    check_negative(r, "child.example.org.", 600);
  }
}

TEST_CASE("wildcards (RFC 4592)") {
  Server s = example_server();
  Reply r = s.ask("Foo.wild.example.org.", kTypeA);
  CHECK(r.aa);
  CHECK(r.rcode == kRcodeNoError);
  REQUIRE(r.answer.size() == 1);
  CHECK(r.answer[0].owner == "Foo.wild.example.org.");
  CHECK(r.answer[0].rdata == "192.0.2.20");
  CHECK(r.answer[0].ttl == 60);

  r = s.ask("a.b.wild.example.org.", kTypeA);  // closest encloser is wild.example.org
  REQUIRE(r.answer.size() == 1);
  CHECK(r.answer[0].owner == "a.b.wild.example.org.");

  r = s.ask("foo.wild.example.org.", kTypeTxt);
  CHECK(r.rcode == kRcodeNoError);
  CHECK(r.answer.empty());
  check_negative(r, "example.org.", 300);

  r = s.ask("wild.example.org.", kTypeA);  // the parent exists (ENT): no synthesis
  CHECK(r.rcode == kRcodeNoError);
  CHECK(r.answer.empty());

  r = s.ask("foo.www.example.org.", kTypeA);  // no wildcard below www
  CHECK(r.rcode == kRcodeNxDomain);
}

TEST_CASE("CNAME chains") {
  Server s = example_server();
  SUBCASE("followed inside the zone") {
    Reply r = s.ask("alias2.example.org.", kTypeA);
    CHECK(r.aa);
    CHECK(r.rcode == kRcodeNoError);
    REQUIRE(r.answer.size() == 3);
    CHECK(r.answer[0].owner == "alias2.example.org.");
    CHECK(r.answer[0].rdata == "alias.example.org.");
    CHECK(r.answer[1].owner == "alias.example.org.");
    CHECK(r.answer[1].rdata == "www.example.org.");
    CHECK(r.answer[2].owner == "www.example.org.");
    CHECK(r.answer[2].rdata == "192.0.2.10");
  }
  SUBCASE("a CNAME query gets only the CNAME") {
    Reply r = s.ask("alias.example.org.", kTypeCname);
    REQUIRE(r.answer.size() == 1);
    CHECK(r.answer[0].type == kTypeCname);
  }
  SUBCASE("the target's NODATA and NXDOMAIN carry the SOA") {
    Reply r = s.ask("alias.example.org.", kTypeMx);
    CHECK(r.rcode == kRcodeNoError);
    CHECK(r.answer.size() == 1);
    check_negative(r, "example.org.", 300);
    r = s.ask("dangling.example.org.", kTypeA);
    CHECK(r.rcode == kRcodeNxDomain);
    CHECK(r.answer.size() == 1);
    check_negative(r, "example.org.", 300);
  }
  SUBCASE("out of zone targets are left to the resolver") {
    Reply r = s.ask("out.example.org.", kTypeA);
    CHECK(r.rcode == kRcodeNoError);
    REQUIRE(r.answer.size() == 1);
    CHECK(r.answer[0].rdata == "www.elsewhere.net.");
    CHECK(r.authority.empty());
  }
  SUBCASE("loops are bounded") {
    Reply r = s.ask("loop1.example.org.", kTypeA);
    CHECK(r.rcode == kRcodeNoError);
    CHECK(r.answer.size() >= 2);
    CHECK(r.answer.size() <= 8);
    for (const Rr& rr : r.answer) CHECK(rr.type == kTypeCname);
  }
  SUBCASE("a CNAME to a pool gets pool addresses") {
    Reply r = s.ask("download.example.org.", kTypeA);
    REQUIRE(r.answer.size() == 3);
    CHECK(r.answer[0].type == kTypeCname);
    for (size_t i = 1; i < r.answer.size(); ++i) {
      CHECK(r.answer[i].owner == "dl.example.org.");
      CHECK(r.answer[i].type == kTypeA);
    }
  }
  SUBCASE("ANY at a CNAME is answered minimally") {
    Reply r = s.ask("alias.example.org.", kTypeAny);
    REQUIRE(r.answer.size() == 1);
    CHECK(r.answer[0].type == kTypeHinfo);
  }
}

TEST_CASE("referrals and DS at the cut") {
  Server s = example_server();
  SUBCASE("below a cut") {
    for (const char* name : {"www.sub.example.org.", "sub.example.org."}) {
      Reply r = s.ask(name, kTypeA);
      CHECK_FALSE(r.aa);
      CHECK(r.rcode == kRcodeNoError);
      CHECK(r.answer.empty());
      REQUIRE(r.authority.size() == 1);
      CHECK(r.authority[0].type == kTypeNs);
      CHECK(r.authority[0].owner == "sub.example.org.");
      CHECK(r.authority[0].rdata == "ns.sub.example.org.");
      REQUIRE(r.additional.size() == 1);
      CHECK(r.additional[0].owner == "ns.sub.example.org.");
      CHECK(r.additional[0].rdata == "192.0.2.53");
    }
  }
  SUBCASE("glue names are not answered authoritatively") {
    Reply r = s.ask("ns.sub.example.org.", kTypeA);
    CHECK_FALSE(r.aa);
    CHECK(r.answer.empty());
    CHECK(r.authority.size() == 1);
  }
  SUBCASE("DS exactly at the cut is the parent's") {
    Reply r = s.ask("sub.example.org.", kTypeDs);
    CHECK(r.aa);
    REQUIRE(r.answer.size() == 1);
    CHECK(r.answer[0].type == kTypeDs);
    r = s.ask("nods.example.org.", kTypeDs);
    CHECK(r.aa);
    CHECK(r.rcode == kRcodeNoError);
    CHECK(r.answer.empty());
    check_negative(r, "example.org.", 300);
    r = s.ask("www.sub.example.org.", kTypeDs);  // below the cut: referral
    CHECK_FALSE(r.aa);
    CHECK(r.authority.size() == 1);
  }
  SUBCASE("a hosted child zone answers for itself, its parent for its DS") {
    Reply r = s.ask("www.child.example.org.", kTypeA);
    CHECK(r.aa);
    CHECK(r.rdatas(kTypeA) == std::set<std::string>{"192.0.2.77"});
    r = s.ask("child.example.org.", kTypeSoa);
    CHECK(r.aa);
    REQUIRE(r.answer.size() == 1);
    CHECK(r.answer[0].owner == "child.example.org.");
    r = s.ask("child.example.org.", kTypeDs);
    CHECK(r.aa);
    check_negative(r, "example.org.", 300);
  }
  SUBCASE("ANY below a cut is a referral") {
    Reply r = s.ask("www.sub.example.org.", kTypeAny);
    CHECK_FALSE(r.aa);
    CHECK(r.answer.empty());
    CHECK(r.authority.size() == 1);
  }
}

TEST_CASE("REFUSED outside our zones and for other classes") {
  Server s = example_server();
  for (const char* name : {"www.example.com.", "org.", ".", "example.org.evil."}) {
    Reply r = s.ask(name, kTypeA);
    CHECK(r.rcode == kRcodeRefused);
    CHECK_FALSE(r.aa);
    CHECK(r.answer.empty());
    CHECK(r.authority.empty());
    CHECK(r.qdcount == 1);
  }
  QueryOptions chaos;
  chaos.qclass = 3;
  Reply r = s.ask("www.example.org.", kTypeTxt, chaos);
  CHECK(r.rcode == kRcodeRefused);
  QueryOptions any_class;
  any_class.qclass = kClassAny;
  r = s.ask("www.example.org.", kTypeA, any_class);
  CHECK(r.rcode == kRcodeNoError);
  CHECK(r.answer.size() == 1);
  // A zone transfer is not answered from the zone: process_query hands it to
  // the transfer code, which refuses it where transfers are not set up.
  const QueryProcessor::Result transfer = s.processor.process(
      make_query("example.org.", kTypeAxfr), Transport::tcp, nullptr, *s.snapshot, s.out, 0);
  CHECK(transfer.length == 0);
  REQUIRE(transfer.transfer.size() == 1);
  CHECK((transfer.transfer[0][3] & 0xf) == kRcodeNotAuth);
}

TEST_CASE("ANY gets the RFC 8482 minimal answer") {
  Server s = example_server();
  Reply r = s.ask("www.example.org.", kTypeAny);
  CHECK(r.aa);
  REQUIRE(r.answer.size() == 1);
  CHECK(r.answer[0].type == kTypeHinfo);
  CHECK(r.answer[0].rdata == "\"RFC8482\" \"\"");
  CHECK(r.answer[0].ttl == 300);  // of www's first RRset (A)

  r = s.ask("nothere.example.org.", kTypeAny);
  CHECK(r.rcode == kRcodeNxDomain);
  r = s.ask("c.example.org.", kTypeAny);
  CHECK(r.rcode == kRcodeNoError);
  CHECK(r.answer.empty());
  check_negative(r, "example.org.", 300);
  r = s.ask("any.wild.example.org.", kTypeAny);
  REQUIRE(r.answer.size() == 1);
  CHECK(r.answer[0].ttl == 60);
  r = s.ask("dl.example.org.", kTypeAny);
  REQUIRE(r.answer.size() == 1);
  CHECK(r.answer[0].type == kTypeHinfo);
  CHECK(r.answer[0].ttl == 30);
}

TEST_CASE("EDNS: OPT echoed, BADVERS, FORMERR on two OPTs") {
  Server s = example_server();
  QueryOptions o;
  o.edns = true;
  o.dnssec_ok = true;
  Reply r = s.ask("www.example.org.", kTypeA, o);
  CHECK(r.edns);
  CHECK(r.edns_size == 1232);
  CHECK(r.edns_version == 0);
  CHECK(r.dnssec_ok);
  CHECK(r.answer.size() == 1);

  r = s.ask("www.example.org.", kTypeA);
  CHECK_FALSE(r.edns);

  o.version = 1;
  r = s.ask("www.example.org.", kTypeA, o);
  CHECK(r.rcode == kRcodeBadVers);
  CHECK(r.edns);
  CHECK(r.edns_version == 0);
  CHECK(r.answer.empty());
  CHECK(r.qdcount == 1);
  // Header RCODE 0, OPT TTL upper byte 1.
  CHECK((r.raw[3] & 0xf) == 0);

  Bytes two = make_query("www.example.org.", kTypeA, QueryOptions{.edns = true});
  const Bytes opt(two.end() - 11, two.end());
  two.insert(two.end(), opt.begin(), opt.end());
  two[11] = 2;
  r = s.ask(two);
  CHECK(r.rcode == kRcodeFormErr);
  CHECK(r.qdcount == 1);
}

TEST_CASE("size limits and truncation") {
  Server s = example_server();
  SUBCASE("too big for 512 without EDNS: TC with the question only") {
    Reply r = s.ask("big.example.org.", kTypeTxt);
    CHECK(r.tc);
    CHECK(r.aa);
    CHECK(r.qdcount == 1);
    CHECK(r.answer.empty());
    CHECK(r.authority.empty());
    CHECK(r.additional.empty());
    CHECK(s.stats.truncated.get() == 1);
  }
  SUBCASE("fits the EDNS size, capped by udp_max_size") {
    QueryOptions o;
    o.edns = true;
    o.udp_size = 4096;
    Reply r = s.ask("big.example.org.", kTypeTxt, o);
    CHECK_FALSE(r.tc);
    CHECK(r.answer.size() == 8);
    CHECK(r.raw.size() <= 1232);
    o.udp_size = 600;
    r = s.ask("big.example.org.", kTypeTxt, o);
    CHECK(r.tc);
    CHECK(r.edns);
    CHECK(r.answer.empty());
    CHECK(r.raw.size() <= 600);
    o.udp_size = 100;  // below 512 counts as 512
    r = s.ask("big.example.org.", kTypeTxt, o);
    CHECK(r.tc);
  }
  SUBCASE("TCP gets everything") {
    Reply r = s.ask(make_query("big.example.org.", kTypeTxt), Transport::tcp);
    CHECK_FALSE(r.tc);
    CHECK(r.answer.size() == 8);
    CHECK(s.stats.tcp_queries.get() == 1);
  }
  SUBCASE("pool answers too big for UDP") {
    Reply r = s.ask("many.example.org.", kTypeAaaa);
    CHECK(r.tc);
    r = s.ask(make_query("many.example.org.", kTypeAaaa), Transport::tcp);
    CHECK_FALSE(r.tc);
    CHECK(r.rdatas(kTypeAaaa).size() == 40);
  }
  SUBCASE("glue that does not fit a non-referral is dropped without TC") {
    Reply r = s.ask("glue.test.", kTypeNs);
    CHECK_FALSE(r.tc);
    CHECK(r.answer.size() == 12);
    CHECK(r.additional.empty());
    r = s.ask(make_query("glue.test.", kTypeNs), Transport::tcp);
    CHECK(r.additional.size() == 24);
  }
  SUBCASE("a referral whose glue does not fit is truncated") {
    Reply r = s.ask("www.deleg.glue.test.", kTypeA);
    CHECK(r.tc);
    CHECK_FALSE(r.aa);
    CHECK(r.authority.empty());
    r = s.ask(make_query("www.deleg.glue.test.", kTypeA), Transport::tcp);
    CHECK_FALSE(r.tc);
    CHECK(r.authority.size() == 12);
    CHECK(r.additional.size() == 12);
  }
}

TEST_CASE("the rate limiter's slip answer: header and question with TC") {
  Server s = example_server();
  QueryOptions o;
  o.edns = true;
  const size_t n = s.raw(make_query("WWW.example.org.", kTypeA, o));
  REQUIRE(n > 0);
  REQUIRE(decode(s.out, n).answer.size() > 0);
  const size_t cut = truncate_to_question({s.out, n});
  REQUIRE(cut > 0);
  const Reply r = decode(s.out, cut);
  CHECK(r.tc);
  CHECK(r.aa);
  CHECK(r.qdcount == 1);
  CHECK(r.answer.empty());
  CHECK(r.authority.empty());
  CHECK(r.additional.empty());
  CHECK_FALSE(r.edns);
  CHECK(cut == kHeaderSize + std::string_view("\3WWW\7example\3org").size() + 1 + 4);
  // A query, or bytes that are not a message, are left alone.
  Bytes query = make_query("www.example.org.", kTypeA);
  CHECK(truncate_to_question(query) == 0);
  uint8_t junk[5] = {};
  CHECK(truncate_to_question(junk) == 0);
}

TEST_CASE("opcode, QDCOUNT, QR and malformed packets") {
  Server s = example_server();
  SUBCASE("NOTIMP echoes the question") {
    Reply r = s.ask(make_query("www.example.org.", kTypeA, QueryOptions{.flags = 2 << 11}));
    CHECK(r.rcode == kRcodeNotImp);
    CHECK(r.opcode == 2);
    CHECK(r.qdcount == 1);
    CHECK_FALSE(r.aa);
    Bytes garbage = {0, 1, 0x28, 0, 0, 1, 0, 0, 0, 0, 0, 0, 0xc0};  // opcode 5, broken name
    r = s.ask(garbage);
    CHECK(r.rcode == kRcodeNotImp);
    CHECK(r.qdcount == 0);
  }
  SUBCASE("QDCOUNT other than 1 is FORMERR") {
    Bytes q = make_query("www.example.org.", kTypeA);
    q[5] = 0;
    Reply r = s.ask(Bytes(q.begin(), q.begin() + 12));
    CHECK(r.rcode == kRcodeFormErr);
    CHECK(r.qdcount == 0);
    q[5] = 2;
    r = s.ask(q);
    CHECK(r.rcode == kRcodeFormErr);
    CHECK(r.id == 0x4242);
  }
  SUBCASE("QR set is dropped") {
    Bytes q = make_query("www.example.org.", kTypeA, QueryOptions{.flags = kFlagQr});
    CHECK(s.raw(q) == 0);
    CHECK(s.stats.qr_set.get() == 1);
  }
  SUBCASE("truncated packets are dropped") {
    const Bytes q = make_query("www.example.org.", kTypeA);
    const size_t question_end = q.size();
    for (size_t n = 0; n < question_end; ++n) {
      CHECK(s.raw(Bytes(q.begin(), q.begin() + static_cast<long>(n))) == 0);
    }
    CHECK(s.stats.malformed.get() == question_end);
  }
  SUBCASE("a compression loop in the question is dropped") {
    Bytes q = {0, 1, 1, 0, 0, 1, 0, 0, 0, 0, 0, 0, 0xc0, 12, 0, 1, 0, 1};
    CHECK(s.raw(q) == 0);
  }
  SUBCASE("random bytes never crash the responder") {
    Rng noise(3);
    Bytes q;
    for (int i = 0; i < 20000; ++i) {
      q.resize(noise.below(80));
      for (auto& b : q) b = static_cast<uint8_t>(noise.next());
      if (q.size() > 5 && noise.below(2) == 0) {
        q[2] &= 0x07;  // mostly plain queries, so that parsing goes deep
        q[4] = 0;
        q[5] = 1;
      }
      const size_t n = s.raw(q);
      if (n > 0) {
        ldns_pkt* pkt = nullptr;
        CHECK(ldns_wire2pkt(&pkt, s.out, n) == LDNS_STATUS_OK);
        ldns_pkt_free(pkt);
      }
    }
  }
}

TEST_CASE("pool answers: weights, families, max_answers") {
  Server s = example_server();
  SUBCASE("A and AAAA from healthy, enabled addresses") {
    for (int i = 0; i < 50; ++i) {
      Reply r = s.ask("dl.example.org.", kTypeA);
      CHECK(r.aa);
      CHECK(r.rdatas(kTypeA) == std::set<std::string>{"192.0.2.101", "192.0.2.102"});
      REQUIRE(r.answer.size() == 2);
      CHECK(r.answer[0].ttl == 30);
      CHECK(r.answer[0].owner == "dl.example.org.");
    }
    Reply r = s.ask("dl.example.org.", kTypeAaaa);
    CHECK(r.rdatas(kTypeAaaa) == std::set<std::string>{"2001:db8::101", "2001:db8::102"});
    CHECK(s.stats.pool_answers[0].get() == 51);
  }
  SUBCASE("other types are NODATA") {
    Reply r = s.ask("dl.example.org.", kTypeTxt);
    CHECK(r.rcode == kRcodeNoError);
    CHECK(r.answer.empty());
    check_negative(r, "example.org.", 300);
  }
  SUBCASE("a family without addresses is NODATA, even in servfail mode") {
    Reply r = s.ask("v4only.example.org.", kTypeAaaa);
    CHECK(r.rcode == kRcodeNoError);
    CHECK(r.answer.empty());
    check_negative(r, "example.org.", 300);
    CHECK_FALSE(served_pools(*s.snapshot)[1].v6.degraded);
  }
  SUBCASE("the first answer follows the weights") {
    unsigned heavy_first = 0;
    constexpr unsigned kRounds = 20000;
    for (unsigned i = 0; i < kRounds; ++i) {
      const size_t n = s.raw(make_query("dl.example.org.", kTypeA));
      Reply r = decode(s.out, n);
      if (r.answer[0].rdata == "192.0.2.101") ++heavy_first;
    }
    CHECK(std::abs(static_cast<double>(heavy_first) / kRounds - 5.0 / 6.0) < 0.02);
  }
  SUBCASE("max_answers bounds the answer; picks are distinct") {
    zones::Model model = example_model();
    model.pools[2].max_answers = 3;
    Server small(snapshot_of(model));
    for (int i = 0; i < 100; ++i) {
      Reply r = small.ask("many.example.org.", kTypeAaaa);
      CHECK(r.answer.size() == 3);
      CHECK(r.rdatas(kTypeAaaa).size() == 3);
    }
  }
}

TEST_CASE("a pool at its zone's apex: addresses from the pool, SOA and NS from the file") {
  // The delegated-subzone case (operator guide, section 3): dl.example.net is a zone of its own.
  zones::Model model;
  model.zones = {
      shared(zone_of("dl.example.net.",
                     {rec("dl.example.net.", kTypeSoa, 3600, soa_rdata("ns1.dl.example.net.", 60)),
                      rec("dl.example.net.", kTypeNs, 3600, nm("ns1.dl.example.net.").wire()),
                      rec("dl.example.net.", kTypeMx, 3600,
                          std::string("\0\12", 2) + nm("mx.example.net.").wire()),
                      rec("ns1.dl.example.net.", kTypeA, 3600, a_rdata("192.0.2.53"))}))};
  model.pools = {pool("dl.example.net.", zones::WhenAllDown::serve_all,
                      {mirror("m1", 10, {"192.0.2.1"}), mirror("m2", 5, {"192.0.2.2"})})};
  Server s(snapshot_of(model));
  Reply a = s.ask("dl.example.net.", kTypeA);
  CHECK(a.aa);
  CHECK(a.rdatas(kTypeA) == std::set<std::string>{"192.0.2.1", "192.0.2.2"});
  CHECK(a.answer[0].ttl == 30);
  Reply soa = s.ask("dl.example.net.", kTypeSoa);
  REQUIRE(soa.answer.size() == 1);
  CHECK(soa.answer[0].type == kTypeSoa);
  Reply ns = s.ask("dl.example.net.", kTypeNs);
  REQUIRE(ns.answer.size() == 1);
  CHECK(ns.additional.size() == 1);  // the glue
  CHECK(s.ask("dl.example.net.", kTypeMx).answer.size() == 1);
  Reply txt = s.ask("dl.example.net.", kTypeTxt);
  CHECK(txt.rcode == kRcodeNoError);
  CHECK(txt.answer.empty());
  check_negative(txt, "dl.example.net.", 60);
  Reply aaaa = s.ask("dl.example.net.", kTypeAaaa);  // no IPv6 mirrors: NODATA
  CHECK(aaaa.answer.empty());
  check_negative(aaaa, "dl.example.net.", 60);
}

TEST_CASE("a health change reuses the previous snapshot's encoded zones") {
  zones::Model model = example_model();
  set_load_id(model, 7);
  const auto first = snapshot_of(model);
  const auto second =
      snapshot_of(model, view({{"dl.example.org.", "m1", "192.0.2.101"}}), first.get());
  REQUIRE(second->zone_count() == first->zone_count());
  CHECK(second->encoded_zones()[0] == first->encoded_zones()[0]);  // shared, not copied
  Server s(second);
  CHECK(s.ask("dl.example.org.", kTypeA).rdatas(kTypeA) == std::set<std::string>{"192.0.2.102"});
  CHECK(s.ask("www.example.org.", kTypeA).rdatas(kTypeA) == std::set<std::string>{"192.0.2.10"});

  // A zone read again is encoded afresh; the others are still shared.
  zones::Model reloaded = model;
  zones::Zone changed = *reloaded.zones[0];
  changed.load_id = 8;
  changed.records.push_back(rec("new.example.org.", kTypeA, 60, a_rdata("192.0.2.99")));
  reloaded.zones[0] = shared(std::move(changed));
  const auto third = snapshot_of(reloaded, {}, second.get());
  CHECK(third->encoded_zones()[0] != second->encoded_zones()[0]);
  CHECK(third->encoded_zones()[1] == second->encoded_zones()[1]);
  CHECK(third->encoded_zones()[2] == second->encoded_zones()[2]);
  Server t(third);
  CHECK(t.ask("new.example.org.", kTypeA).rdatas(kTypeA) == std::set<std::string>{"192.0.2.99"});
  // So is a zone whose pools moved about (the zone refers to them by place);
  // the zones without pools are shared.
  zones::Model moved = model;
  std::swap(moved.pools[0], moved.pools[1]);
  const auto fourth = snapshot_of(moved, {}, second.get());
  CHECK(fourth->encoded_zones()[0] != second->encoded_zones()[0]);
  CHECK(fourth->encoded_zones()[2] == second->encoded_zones()[2]);
  Server u(fourth);
  CHECK(u.ask("dl.example.org.", kTypeA).rdatas(kTypeA) ==
        std::set<std::string>{"192.0.2.101", "192.0.2.102"});
  CHECK(u.ask("v4only.example.org.", kTypeA).rdatas(kTypeA) ==
        std::set<std::string>{"198.51.100.1"});
}

TEST_CASE("encoded zones keep no spare capacity") {
  // A served zone stays in memory for as long as it is served; after a
  // reload its vectors land on heap pages that are already resident, so any
  // spare capacity would count in full.
  const auto snapshot = snapshot_of(example_model());
  for (const auto& zone : snapshot->encoded_zones()) {
    CHECK(zone->nodes.capacity() == zone->nodes.size());
    CHECK(zone->rrsets.capacity() == zone->rrsets.size());
    CHECK(zone->records.capacity() == zone->records.size());
  }
}

TEST_CASE("a model without zone records answers from the encoded zones it shares") {
  zones::Model model = example_model();
  set_load_id(model, 7);
  const auto first = snapshot_of(model);
  const zones::Model lean = zones::without_records(model);
  REQUIRE(lean.zones.size() == model.zones.size());
  CHECK(lean.pools.size() == model.pools.size());
  for (size_t z = 0; z < lean.zones.size(); ++z) {
    CHECK(lean.zones[z]->load_id == 7);
    CHECK(lean.zones[z]->records_released);
    CHECK(lean.zones[z]->records.empty());
    CHECK(lean.zones[z]->origin == model.zones[z]->origin);
  }
  // A health change: the encoded zones are shared, the records not needed.
  const auto second =
      snapshot_of(lean, view({{"dl.example.org.", "m1", "192.0.2.101"}}), first.get());
  CHECK(second->encoded_zones() == first->encoded_zones());
  Server s(second);
  CHECK(s.ask("dl.example.org.", kTypeA).rdatas(kTypeA) == std::set<std::string>{"192.0.2.102"});
  CHECK(s.ask("www.example.org.", kTypeA).rdatas(kTypeA) == std::set<std::string>{"192.0.2.10"});
  // Nothing to share (another load, or moved pools): encoding would need the
  // records, and an empty zone must never be served in their place.
  CHECK_THROWS_AS(snapshot_of(lean), std::logic_error);
  zones::Model moved = lean;
  std::swap(moved.pools[0], moved.pools[1]);
  CHECK_THROWS_AS(snapshot_of(moved, {}, second.get()), std::logic_error);
}

TEST_CASE("snapshots sharing encoded zones each answer their own SOA serial") {
  zones::Model model = example_model();
  set_load_id(model, 7);
  const std::shared_ptr<Snapshot> first =
      build_snapshot(model, health::HealthView{}, nullptr, SnapshotOptions{});
  first->set_serial(0, 100);
  const std::shared_ptr<Snapshot> second = build_snapshot(
      model, view({{"dl.example.org.", "m1", "192.0.2.101"}}), first.get(), SnapshotOptions{});
  second->set_serial(0, 101);
  REQUIRE(second->encoded_zones()[0] == first->encoded_zones()[0]);
  CHECK(first->serial(0) == 100);
  CHECK(second->serial(0) == 101);
  Server a(first);
  Server b(second);
  // The serial is the third field of the SOA RDATA as ldns prints it.
  const auto serial_of = [](const Rr& soa) {
    std::istringstream fields(soa.rdata);
    std::string mname, rname, serial;
    fields >> mname >> rname >> serial;
    return serial;
  };
  const Reply soa_a = a.ask("example.org.", kTypeSoa);
  const Reply soa_b = b.ask("example.org.", kTypeSoa);
  REQUIRE(soa_a.answer.size() == 1);
  REQUIRE(soa_b.answer.size() == 1);
  CHECK(serial_of(soa_a.answer[0]) == "100");
  CHECK(serial_of(soa_b.answer[0]) == "101");
  const Reply nx_a = a.ask("nothere.example.org.", kTypeA);
  const Reply nx_b = b.ask("nothere.example.org.", kTypeA);
  REQUIRE(nx_a.authority.size() == 1);
  REQUIRE(nx_b.authority.size() == 1);
  CHECK(serial_of(nx_a.authority[0]) == "100");
  CHECK(serial_of(nx_b.authority[0]) == "101");
  // The other zones keep their files' serial (1).
  CHECK(serial_of(b.ask("child.example.org.", kTypeSoa).answer.at(0)) == "1");
}

TEST_CASE("per-address health and when_all_down") {
  zones::Model model = example_model();
  using W = zones::WhenAllDown;
  using health::TargetKey;
  SUBCASE("per-family health") {
    Server s(snapshot_of(model, view({{"dl.example.org.", "m2", "2001:db8::102"}})));
    CHECK(s.ask("dl.example.org.", kTypeA).rdatas(kTypeA) ==
          std::set<std::string>{"192.0.2.101", "192.0.2.102"});
    CHECK(s.ask("dl.example.org.", kTypeAaaa).rdatas(kTypeAaaa) ==
          std::set<std::string>{"2001:db8::101"});
    const ServedPool& served = served_pools(*s.snapshot)[0];
    CHECK(served.name == "dl.example.org.");
    CHECK(served.v6.healthy == 1);
    CHECK_FALSE(served.v6.degraded);
    CHECK(served.v4.healthy == 2);
  }
  const auto all_v4_down =
      view({{"dl.example.org.", "m1", "192.0.2.101"}, {"dl.example.org.", "m2", "192.0.2.102"}});
  SUBCASE("serve-all fails open") {
    Server s(snapshot_of(model, all_v4_down));
    CHECK(s.ask("dl.example.org.", kTypeA).rdatas(kTypeA) ==
          std::set<std::string>{"192.0.2.101", "192.0.2.102"});
    CHECK(served_pools(*s.snapshot)[0].v4.degraded);
    CHECK_FALSE(served_pools(*s.snapshot)[0].v6.degraded);
  }
  SUBCASE("min_healthy above the healthy count degrades") {
    model.pools[0].min_healthy = 2;
    model.pools[0].when_all_down = W::nodata;
    Server s(snapshot_of(model, view({{"dl.example.org.", "m1", "192.0.2.101"}})));
    Reply r = s.ask("dl.example.org.", kTypeA);
    CHECK(r.rcode == kRcodeNoError);
    CHECK(r.answer.empty());
    check_negative(r, "example.org.", 300);
    CHECK(s.ask("dl.example.org.", kTypeAaaa).answer.size() == 2);
  }
  SUBCASE("servfail") {
    model.pools[0].when_all_down = W::servfail;
    Server s(snapshot_of(model, all_v4_down));
    Reply r = s.ask("dl.example.org.", kTypeA);
    CHECK(r.rcode == kRcodeServFail);
    CHECK(r.answer.empty());
    CHECK(s.ask("dl.example.org.", kTypeAaaa).answer.size() == 2);
    CHECK(s.stats.by_rcode[kRcodeServFail].get() == 1);
  }
  SUBCASE("nodata") {
    model.pools[0].when_all_down = W::nodata;
    Server s(snapshot_of(model, all_v4_down));
    Reply r = s.ask("dl.example.org.", kTypeA);
    CHECK(r.rcode == kRcodeNoError);
    CHECK(r.answer.empty());
    CHECK(r.authority.size() == 1);
  }
  SUBCASE("serve-last-good keeps the previous set") {
    model.pools[0].when_all_down = W::serve_last_good;
    auto first = snapshot_of(model, view({{"dl.example.org.", "m2", "192.0.2.102"}}));
    CHECK(served_pools(*first)[0].v4.addresses == std::vector<std::string>{"192.0.2.101"});
    auto second = snapshot_of(model, all_v4_down, first.get());
    CHECK(served_pools(*second)[0].v4.degraded);
    CHECK(served_pools(*second)[0].v4.addresses == std::vector<std::string>{"192.0.2.101"});
    // Still degraded: the last good set carries over again.
    auto third = snapshot_of(model, all_v4_down, second.get());
    Server s(third);
    CHECK(s.ask("dl.example.org.", kTypeA).rdatas(kTypeA) == std::set<std::string>{"192.0.2.101"});
    // Without history, every enabled address.
    auto fresh = snapshot_of(model, all_v4_down);
    CHECK(served_pools(*fresh)[0].v4.addresses ==
          std::vector<std::string>{"192.0.2.101", "192.0.2.102"});
    // An address disabled since then is not served.
    model.pools[0].mirrors[0].weight = 0;
    auto disabled = snapshot_of(model, all_v4_down, second.get());
    CHECK(served_pools(*disabled)[0].v4.addresses == std::vector<std::string>{"192.0.2.102"});
  }
  SUBCASE("weight 0 is never served, even failing open") {
    Server s(snapshot_of(model, all_v4_down));
    for (int i = 0; i < 50; ++i) {
      CHECK(s.ask("dl.example.org.", kTypeA).rdatas(kTypeA).count("192.0.2.103") == 0);
    }
  }
  SUBCASE("no enabled mirror left is below min_healthy") {
    // Drained and weight 0 count like none healthy: when_all_down applies,
    // and failing open still answers no disabled address.
    for (const W mode : {W::serve_all, W::serve_last_good, W::servfail, W::nodata}) {
      const int policy = static_cast<int>(mode);
      CAPTURE(policy);
      model.pools[0].when_all_down = mode;
      model.pools[0].mirrors[0].drained = true;
      model.pools[0].mirrors[1].weight = 0;
      const auto last_good = snapshot_of(example_model());
      Server s(snapshot_of(model, {}, last_good.get()));
      const ServedPool& served = served_pools(*s.snapshot)[0];
      CHECK(served.v4.degraded);
      CHECK(served.v6.degraded);
      CHECK(served.v4.addresses.empty());
      const Reply r = s.ask("dl.example.org.", kTypeA);
      CHECK(r.answer.empty());
      if (mode == W::servfail) {
        CHECK(r.rcode == kRcodeServFail);
      } else {
        CHECK(r.rcode == kRcodeNoError);
        check_negative(r, "example.org.", 300);
      }
    }
  }
  SUBCASE("a family no mirror has is plain NODATA, not degraded") {
    Server s(snapshot_of(model));
    CHECK_FALSE(served_pools(*s.snapshot)[1].v6.degraded);
    const Reply r = s.ask("v4only.example.org.", kTypeAaaa);
    CHECK(r.rcode == kRcodeNoError);
    CHECK(r.answer.empty());
  }
}

TEST_CASE("stats") {
  Server s = example_server();
  s.ask("www.example.org.", kTypeA);
  s.ask("www.example.org.", kTypeAaaa);
  s.ask("nothere.example.org.", kTypeA);
  s.ask("www.example.com.", kTypeMx);
  s.ask(make_query("www.example.org.", 99), Transport::tcp);
  CHECK(s.stats.udp_queries.get() == 4);
  CHECK(s.stats.tcp_queries.get() == 1);
  CHECK(s.stats.by_qtype[static_cast<size_t>(QtypeSlot::a)].get() == 2);
  CHECK(s.stats.by_qtype[static_cast<size_t>(QtypeSlot::aaaa)].get() == 1);
  CHECK(s.stats.by_qtype[static_cast<size_t>(QtypeSlot::mx)].get() == 1);
  CHECK(s.stats.by_qtype[static_cast<size_t>(QtypeSlot::other)].get() == 1);
  CHECK(s.stats.by_rcode[kRcodeNoError].get() == 3);
  CHECK(s.stats.by_rcode[kRcodeNxDomain].get() == 1);
  CHECK(s.stats.by_rcode[kRcodeRefused].get() == 1);
}

TEST_CASE("the query path does not allocate") {
  Server s = example_server();
  QueryOptions edns;
  edns.edns = true;
  const std::vector<Bytes> queries = {
      make_query("www.example.org.", kTypeA),
      make_query("dl.example.org.", kTypeA),
      make_query("DL.example.org.", kTypeAaaa, edns),
      make_query("download.example.org.", kTypeA),
      make_query("alias2.example.org.", kTypeA),
      make_query("loop1.example.org.", kTypeA),
      make_query("x.wild.example.org.", kTypeA),
      make_query("nothere.example.org.", kTypeA),
      make_query("c.example.org.", kTypeA),
      make_query("www.sub.example.org.", kTypeA),
      make_query("example.org.", kTypeNs),
      make_query("glue.test.", kTypeNs),
      make_query("big.example.org.", kTypeTxt),
      make_query("www.example.org.", kTypeAny),
      make_query("www.example.com.", kTypeA),
      make_query("www.example.org.", kTypeA, QueryOptions{.edns = true, .version = 1}),
      make_query("www.example.org.", kTypeA, QueryOptions{.flags = 4 << 11}),
      make_query("www.example.org.", kTypeA, QueryOptions{.flags = kFlagQr}),
      make_query("www.example.org.", kTypeA, QueryOptions{.flags = 2 << 11}),
      make_query("many.example.org.", kTypeAaaa),
      Bytes(12, 0),  // no question: FORMERR
      Bytes(5, 0),   // no header: dropped
  };
  size_t total = 0;
  g_allocations = 0;
  g_count_allocations = true;
  for (int round = 0; round < 1000; ++round) {
    for (const Bytes& q : queries) {
      total += s.raw(q, round % 2 == 0 ? Transport::udp : Transport::tcp);
    }
  }
  g_count_allocations = false;
  CHECK(g_allocations.load() == 0);
  CHECK(total > 0);
}

namespace {

// An ECS option (RFC 7871) as a query carries it: code 8, the length, FAMILY,
// SOURCE and SCOPE PREFIX-LENGTH, then the address cut to the source prefix.
Bytes ecs_option(const char* address, uint8_t source, uint8_t scope = 0) {
  const bool v6 = std::string_view(address).find(':') != std::string_view::npos;
  uint8_t bytes[16] = {};
  REQUIRE(inet_pton(v6 ? AF_INET6 : AF_INET, address, bytes) == 1);
  const size_t n = (source + 7u) / 8u;
  Bytes o = {0,      8,    0, static_cast<uint8_t>(4 + n), 0, static_cast<uint8_t>(v6 ? 2 : 1),
             source, scope};
  o.insert(o.end(), bytes, bytes + n);
  return o;
}

QueryOptions with_ecs(const char* address, uint8_t source) {
  QueryOptions o;
  o.edns = true;
  o.options = ecs_option(address, source);
  return o;
}

// A pool of mirrors in Frankfurt, San Francisco and Tokyo placed by the
// config, and one placed by the test database (127.0.1.9: New York), under
// data/geo.mmdb's clients (192.0.2.0/24 Frankfurt, 198.51.100.0/24 San
// Francisco, 203.0.113.0/25 Tokyo, 127.0.2.0/24 Paris).
std::shared_ptr<const Snapshot> geo_snapshot(zones::GeoMode mode, bool ecs = true,
                                             const health::HealthView& health = {}) {
  zones::Model model;
  model.zones = {shared(example_zone())};
  auto placed = [](const char* id, const char* address, double lat, double lon,
                   const char* country) {
    zones::MirrorDef m = mirror(id, 1, {address});
    m.location = zones::GeoPoint{lat, lon};
    m.country = country;
    return m;
  };
  zones::PoolDef p =
      pool("dl.example.org.", zones::WhenAllDown::serve_all,
           {placed("fra", "192.0.2.201", 50.11, 8.68, "DE"),
            placed("sfo", "192.0.2.202", 37.77, -122.42, "US"),
            placed("tyo", "192.0.2.203", 35.68, 139.69, "JP"), mirror("nyc", 1, {"127.0.1.9"})},
           1);
  p.geo = mode;
  model.pools = {p};
  GeoConfig config;
  config.enabled = true;
  config.ecs = ecs;
  std::string error;
  auto table = geo::GeoTable::read("data/geo.mmdb", error);
  REQUIRE_MESSAGE(table != nullptr, error);
  SnapshotOptions options;
  options.locator = std::make_shared<const geo::Locator>(config, std::move(table));
  options.slots = std::make_shared<MirrorSlots>();
  return build_snapshot(model, health, nullptr, options);
}

// The reply's ECS option: {family, source, scope, address bytes}; empty when none.
Bytes reply_ecs(const Reply& r) {
  const Bytes& o = r.edns_options;
  for (size_t at = 0; at + 4 <= o.size();) {
    const size_t length = size_t{o[at + 2]} << 8 | o[at + 3];
    if (o[at] == 0 && o[at + 1] == 8)
      return Bytes(o.begin() + long(at) + 4, o.begin() + long(at + 4 + length));
    at += 4 + length;
  }
  return {};
}

}  // namespace

TEST_CASE("geo nearest: ECS places the client and the reply echoes it with the network's scope") {
  Server s(geo_snapshot(zones::GeoMode::nearest));
  Reply r = s.ask("dl.example.org.", kTypeA, with_ecs("192.0.2.0", 24));
  CHECK(r.rdatas(kTypeA) == std::set<std::string>{"192.0.2.201"});
  CHECK(reply_ecs(r) == Bytes{0, 1, 24, 24, 192, 0, 2});
  r = s.ask("dl.example.org.", kTypeA, with_ecs("198.51.100.0", 24));
  CHECK(r.rdatas(kTypeA) == std::set<std::string>{"192.0.2.202"});
  r = s.ask("dl.example.org.", kTypeA, with_ecs("203.0.113.0", 24));
  CHECK(r.rdatas(kTypeA) == std::set<std::string>{"192.0.2.203"});
  // The database has 203.0.113.0/25 only: the answer holds for that /25,
  // which is longer than the /24 sent, so the scope says 24.
  CHECK(reply_ecs(r) == Bytes{0, 1, 24, 24, 203, 0, 113});
  // A /32 is cut to ecs_max_prefix_v4 (24) before it is looked up; the echo
  // keeps what was sent.
  r = s.ask("dl.example.org.", kTypeA, with_ecs("192.0.2.77", 32));
  CHECK(r.rdatas(kTypeA) == std::set<std::string>{"192.0.2.201"});
  CHECK(reply_ecs(r) == Bytes{0, 1, 32, 24, 192, 0, 2, 77});
  CHECK(s.stats.geo_answers[static_cast<size_t>(geo::PlacedBy::ecs)].get() == 4);
}

TEST_CASE("geo: answers that do not depend on the client have scope 0, and no ECS in, none out") {
  Server s(geo_snapshot(zones::GeoMode::nearest));
  Reply r = s.ask("www.example.org.", kTypeA, with_ecs("192.0.2.0", 24));
  CHECK(r.rdatas(kTypeA) == std::set<std::string>{"192.0.2.10"});
  CHECK(reply_ecs(r) == Bytes{0, 1, 24, 0, 192, 0, 2});
  r = s.ask("nothere.example.org.", kTypeA, with_ecs("192.0.2.0", 24));
  CHECK(r.rcode == kRcodeNxDomain);
  CHECK(reply_ecs(r) == Bytes{0, 1, 24, 0, 192, 0, 2});
  r = s.ask("dl.example.org.", kTypeTxt, with_ecs("2001:db8:1::", 48));
  CHECK(reply_ecs(r) == Bytes{0, 2, 48, 0, 0x20, 0x01, 0x0d, 0xb8, 0, 1});
  // SOURCE PREFIX-LENGTH 0: an answer for everyone.
  r = s.ask("dl.example.org.", kTypeA, with_ecs("0.0.0.0", 0));
  CHECK(reply_ecs(r) == Bytes{0, 1, 0, 0});
  QueryOptions plain;
  plain.edns = true;
  r = s.ask("dl.example.org.", kTypeA, plain);
  CHECK(r.edns);
  CHECK(reply_ecs(r).empty());
  // With ecs = false the option is ignored: no echo, and the source places.
  Server off(geo_snapshot(zones::GeoMode::nearest, false));
  r = off.ask("dl.example.org.", kTypeA, with_ecs("192.0.2.0", 24));
  CHECK(reply_ecs(r).empty());
  // A pool with geo off answers everyone alike: scope 0.
  Server plain_pool(geo_snapshot(zones::GeoMode::off));
  r = plain_pool.ask("dl.example.org.", kTypeA, with_ecs("192.0.2.0", 24));
  CHECK(reply_ecs(r) == Bytes{0, 1, 24, 0, 192, 0, 2});
}

TEST_CASE("geo: a malformed ECS option gets FORMERR") {
  Server s(geo_snapshot(zones::GeoMode::nearest));
  for (const Bytes& bad : {ecs_option("192.0.2.0", 24, 8), ecs_option("192.0.2.0", 33),
                           Bytes{0, 8, 0, 7, 0, 1, 22, 0, 192, 0, 3},  // bits past /22 set
                           Bytes{0, 8, 0, 4, 0, 3, 0, 0}}) {
    QueryOptions o;
    o.edns = true;
    o.options = bad;
    const Reply r = s.ask("dl.example.org.", kTypeA, o);
    CHECK(r.rcode == kRcodeFormErr);
  }
}

TEST_CASE(
    "geo: without ECS the source address places the client; unknown clients get the plain answer") {
  Server s(geo_snapshot(zones::GeoMode::nearest));
  sockaddr_in paris{};
  paris.sin_family = AF_INET;
  REQUIRE(inet_pton(AF_INET, "127.0.2.5", &paris.sin_addr) == 1);
  const Bytes query = make_query("dl.example.org.", kTypeA);
  REQUIRE(s.raw(query, Transport::udp, reinterpret_cast<const sockaddr*>(&paris)) > 0);
  // Paris: Frankfurt is nearest.
  CHECK(decode(s.out, s.raw(query, Transport::tcp, reinterpret_cast<const sockaddr*>(&paris)))
            .rdatas(kTypeA) == std::set<std::string>{"192.0.2.201"});
  // The mirror the database places (New York, 127.0.1.8/29) is nearest to a
  // client in that network.
  sockaddr_in new_york = paris;
  REQUIRE(inet_pton(AF_INET, "127.0.1.10", &new_york.sin_addr) == 1);
  CHECK(decode(s.out, s.raw(query, Transport::udp, reinterpret_cast<const sockaddr*>(&new_york)))
            .rdatas(kTypeA) == std::set<std::string>{"127.0.1.9"});
  CHECK(s.stats.geo_answers[static_cast<size_t>(geo::PlacedBy::source)].get() == 3);
  // 172.16.0.1 is in no network: every mirror comes up.
  sockaddr_in nowhere = paris;
  REQUIRE(inet_pton(AF_INET, "172.16.0.1", &nowhere.sin_addr) == 1);
  std::set<std::string> seen;
  for (int i = 0; i < 400; ++i) {
    for (const auto& a :
         decode(s.out, s.raw(query, Transport::udp, reinterpret_cast<const sockaddr*>(&nowhere)))
             .rdatas(kTypeA)) {
      seen.insert(a);
    }
  }
  CHECK(seen.size() == 4);
  CHECK(s.stats.geo_answers[static_cast<size_t>(geo::PlacedBy::unknown)].get() == 400);
}

TEST_CASE("geo: health still rules, and country mode falls back to the continent") {
  // Frankfurt down: a client in its network gets the next nearest (New York).
  Server s(geo_snapshot(zones::GeoMode::nearest, true,
                        view({{"dl.example.org.", "fra", "192.0.2.201"}})));
  Reply r = s.ask("dl.example.org.", kTypeA, with_ecs("192.0.2.0", 24));
  CHECK(r.rdatas(kTypeA) == std::set<std::string>{"127.0.1.9"});
  // Country: a client in FR (Paris) has no FR mirror: the EU one.
  Server c(geo_snapshot(zones::GeoMode::country));
  r = c.ask("dl.example.org.", kTypeA, with_ecs("127.0.2.0", 24));
  CHECK(r.rdatas(kTypeA) == std::set<std::string>{"192.0.2.201"});
  r = c.ask("dl.example.org.", kTypeA, with_ecs("203.0.113.0", 25));
  CHECK(r.rdatas(kTypeA) == std::set<std::string>{"192.0.2.203"});
}

TEST_CASE("geo answers do not allocate") {
  Server s(geo_snapshot(zones::GeoMode::nearest));
  sockaddr_in6 client{};
  client.sin6_family = AF_INET6;
  REQUIRE(inet_pton(AF_INET6, "2001:db8:1::7", &client.sin6_addr) == 1);
  const std::vector<Bytes> queries = {
      make_query("dl.example.org.", kTypeA, with_ecs("192.0.2.0", 24)),
      make_query("dl.example.org.", kTypeA, with_ecs("2001:db8:1::", 56)),
      make_query("dl.example.org.", kTypeA, with_ecs("10.0.0.0", 8)),
      make_query("www.example.org.", kTypeA, with_ecs("192.0.2.0", 24)),
      make_query("dl.example.org.", kTypeA),
  };
  size_t total = 0;
  g_allocations = 0;
  g_count_allocations = true;
  for (int round = 0; round < 500; ++round) {
    for (const Bytes& q : queries) {
      total += s.raw(q, round % 2 == 0 ? Transport::udp : Transport::tcp,
                     reinterpret_cast<const sockaddr*>(&client));
    }
  }
  g_count_allocations = false;
  CHECK(g_allocations.load() == 0);
  CHECK(total > 0);
}

namespace {

Bytes cookie_option(const Bytes& cookie) {
  Bytes o = {0, kEdnsOptionCookie, 0, static_cast<uint8_t>(cookie.size())};
  o.insert(o.end(), cookie.begin(), cookie.end());
  return o;
}

QueryOptions with_cookie(const Bytes& cookie) {
  return QueryOptions{.edns = true, .options = cookie_option(cookie)};
}

// The data of option `code` in a reply's OPT record; nullopt when absent.
std::optional<Bytes> reply_option(const Reply& r, uint16_t code) {
  const Bytes& o = r.edns_options;
  for (size_t at = 0; at + 4 <= o.size();) {
    const uint16_t c = get16(o.data() + at);
    const size_t length = get16(o.data() + at + 2);
    if (c == code)
      return Bytes(o.begin() + static_cast<long>(at) + 4,
                   o.begin() + static_cast<long>(at + 4 + length));
    at += 4 + length;
  }
  return std::nullopt;
}

const Bytes kClientCookie = {1, 2, 3, 4, 5, 6, 7, 8};

}  // namespace

TEST_CASE("DNS cookies: a client cookie gets a server cookie, which is then valid") {
  SnapshotOptions options;
  options.cookie_secret.bytes[0] = 42;
  Server s(snapshot_of(example_model(), {}, nullptr, options));
  const Reply first = s.ask("www.example.org.", kTypeA, with_cookie(kClientCookie));
  CHECK(first.rcode == kRcodeNoError);
  CHECK_FALSE(first.answer.empty());
  const auto cookie = reply_option(first, kEdnsOptionCookie);
  REQUIRE(cookie);
  REQUIRE(cookie->size() == kReplyCookieSize);
  CHECK(Bytes(cookie->begin(), cookie->begin() + 8) == kClientCookie);
  CHECK((*cookie)[8] == 1);  // RFC 9018 version 1
  CHECK(s.stats.cookies[static_cast<size_t>(CookieVerdict::client_only)].get() == 1);

  const Reply second = s.ask("www.example.org.", kTypeA, with_cookie(*cookie));
  CHECK(second.rcode == kRcodeNoError);
  CHECK(reply_option(second, kEdnsOptionCookie));
  CHECK(s.stats.cookies[static_cast<size_t>(CookieVerdict::valid)].get() == 1);

  Bytes forged = *cookie;
  forged.back() ^= 0xff;
  const Reply third = s.ask("www.example.org.", kTypeA, with_cookie(forged));
  CHECK(third.rcode == kRcodeNoError);  // never required unless require_cookie
  CHECK(reply_option(third, kEdnsOptionCookie));
  CHECK(s.stats.cookies[static_cast<size_t>(CookieVerdict::bad)].get() == 1);

  // No cookie, no cookie back.
  const Reply plain = s.ask("www.example.org.", kTypeA, QueryOptions{.edns = true});
  CHECK_FALSE(reply_option(plain, kEdnsOptionCookie));
}

TEST_CASE("DNS cookies: malformed options are FORMERR (RFC 7873 5.2.2)") {
  Server s = example_server();
  for (size_t size : {0, 1, 5, 7, 9, 12, 15, 41, 48}) {
    CAPTURE(size);
    const Reply r = s.ask("www.example.org.", kTypeA, with_cookie(Bytes(size, 7)));
    CHECK(r.rcode == kRcodeFormErr);
    CHECK(r.answer.empty());
  }
  for (size_t size : {8, 16, 24, 40}) {
    CAPTURE(size);
    CHECK(s.ask("www.example.org.", kTypeA, with_cookie(Bytes(size, 7))).rcode == kRcodeNoError);
  }
  QueryOptions twice = with_cookie(kClientCookie);
  const Bytes again = cookie_option(kClientCookie);
  twice.options.insert(twice.options.end(), again.begin(), again.end());
  CHECK(s.ask("www.example.org.", kTypeA, twice).rcode == kRcodeFormErr);
}

TEST_CASE("require_cookie: BADCOOKIE over UDP until the client shows our cookie") {
  SnapshotOptions options;
  options.require_cookie = true;
  Server s(snapshot_of(example_model(), {}, nullptr, options));
  const Reply refused = s.ask("www.example.org.", kTypeA, with_cookie(kClientCookie));
  CHECK(refused.rcode == kRcodeBadCookie);
  CHECK(refused.answer.empty());
  const auto cookie = reply_option(refused, kEdnsOptionCookie);
  REQUIRE(cookie);
  const Reply answered = s.ask("www.example.org.", kTypeA, with_cookie(*cookie));
  CHECK(answered.rcode == kRcodeNoError);
  CHECK_FALSE(answered.answer.empty());
  // TCP proves the address already; a client without cookies is answered.
  CHECK(s.ask(make_query("www.example.org.", kTypeA, with_cookie(kClientCookie)), Transport::tcp)
            .rcode == kRcodeNoError);
  CHECK(s.ask("www.example.org.", kTypeA, QueryOptions{.edns = true}).rcode == kRcodeNoError);
}

TEST_CASE("NSID: answered only when asked, and only when configured") {
  SnapshotOptions options;
  options.nsid = "mp-1";
  Server s(snapshot_of(example_model(), {}, nullptr, options));
  const Bytes nsid_option = {0, kEdnsOptionNsid, 0, 0};
  const Reply asked =
      s.ask("www.example.org.", kTypeA, QueryOptions{.edns = true, .options = nsid_option});
  CHECK(reply_option(asked, kEdnsOptionNsid) == Bytes{'m', 'p', '-', '1'});
  CHECK(s.stats.nsid_requests.get() == 1);
  CHECK_FALSE(
      reply_option(s.ask("www.example.org.", kTypeA, QueryOptions{.edns = true}), kEdnsOptionNsid));
  Server off = example_server();
  CHECK_FALSE(reply_option(
      off.ask("www.example.org.", kTypeA, QueryOptions{.edns = true, .options = nsid_option}),
      kEdnsOptionNsid));
}

TEST_CASE("cookies and NSID do not allocate, OpenSSL's SipHash included") {
  REQUIRE(g_crypto_counted);
  // The count sees OpenSSL's allocations: setting up SipHash makes some.
  g_allocations = 0;
  g_count_allocations = true;
  { const ServerCookies setup; }
  g_count_allocations = false;
  REQUIRE(g_allocations.load() > 0);
  SnapshotOptions options;
  options.nsid = "mp-1";
  options.cookie_secret.rotating = true;
  Server s(snapshot_of(example_model(), {}, nullptr, options));
  sockaddr_in client{};
  client.sin_family = AF_INET;
  client.sin_addr.s_addr = htonl(0x7f000001);
  const auto* from = reinterpret_cast<const sockaddr*>(&client);
  // A first cookie query sets up the thread's key of the day.
  REQUIRE(s.raw(make_query("www.example.org.", kTypeA, with_cookie(kClientCookie)), Transport::udp,
                from) > 0);
  const Reply first =
      decode(s.out, s.raw(make_query("www.example.org.", kTypeA, with_cookie(kClientCookie)),
                          Transport::udp, from));
  const Bytes ours = *reply_option(first, kEdnsOptionCookie);
  Bytes forged = ours;
  forged.back() ^= 1;
  QueryOptions all = with_cookie(ours);
  all.options.insert(all.options.end(), {0, kEdnsOptionNsid, 0, 0});
  const std::vector<Bytes> queries = {
      make_query("www.example.org.", kTypeA, with_cookie(kClientCookie)),
      make_query("dl.example.org.", kTypeA, with_cookie(ours)),
      make_query("dl.example.org.", kTypeAaaa, with_cookie(forged)),
      make_query("nothere.example.org.", kTypeA, all),
      make_query("www.example.org.", kTypeA, with_cookie(Bytes(12, 1))),  // FORMERR
  };
  size_t total = 0;
  g_allocations = 0;
  g_count_allocations = true;
  for (int round = 0; round < 500; ++round) {
    for (const Bytes& q : queries) {
      total += s.raw(q, round % 2 == 0 ? Transport::udp : Transport::tcp, from);
    }
  }
  g_count_allocations = false;
  CHECK(g_allocations.load() == 0);
  CHECK(total > 0);
  CHECK(s.stats.cookies[static_cast<size_t>(CookieVerdict::valid)].get() >= 500);
}
