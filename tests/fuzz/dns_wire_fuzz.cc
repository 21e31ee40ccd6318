// Fuzzes the query path from its entry point (QueryProcessor::process: wire
// parsing, classification, respond() and the transfer code) over UDP and TCP
// on one fixed snapshot with a zone (delegation, CNAME, wildcard) and a
// pool. The response must fit its buffer and limit, echo the query's ID and
// be a response that the entry point itself then drops.
#include <arpa/inet.h>

#include <array>
#include <memory>
#include <span>
#include <string>
#include <vector>

#include "dnsd/query/stats.hh"
#include "dnsd/server/process_query.hh"
#include "dnsd/snapshot/snapshot.hh"
#include "dnsd/wire/wire.hh"
#include "health/health_view.hh"
#include "tests/dnsd/zone_builders.hh"
#include "tests/fuzz/fuzz_target.hh"
#include "zones/pool.hh"
#include "zones/zone.hh"

using namespace mirrorpool;
using namespace mirrorpool::dnsd;
using mirrorpool::test::nm;
using mirrorpool::test::rec;
using mirrorpool::test::u32_bytes;

namespace {

std::string address(int family, const char* text) {
  std::string out(family == AF_INET ? 4 : 16, '\0');
  inet_pton(family, text, out.data());
  return out;
}

zones::MirrorDef mirror(std::string id, uint32_t weight, std::vector<const char*> addresses) {
  zones::MirrorDef m;
  m.id = std::move(id);
  m.weight = weight;
  for (const char* a : addresses) m.addresses.push_back(*zones::Address::parse(a));
  return m;
}

std::shared_ptr<const Snapshot> make_snapshot() {
  zones::Zone zone;
  zone.origin = nm("example.org.");
  zone.file = "fuzz";
  const std::string soa = nm("ns1.example.org.").wire() + nm("hostmaster.example.org.").wire() +
                          u32_bytes(1) + u32_bytes(7200) + u32_bytes(900) + u32_bytes(1209600) +
                          u32_bytes(300);
  zone.records = {
      rec("example.org.", kTypeSoa, soa),
      rec("example.org.", kTypeNs, nm("ns1.example.org.").wire()),
      rec("example.org.", kTypeNs, nm("ns2.example.org.").wire()),
      rec("ns1.example.org.", kTypeA, address(AF_INET, "192.0.2.1")),
      rec("ns2.example.org.", kTypeAaaa, address(AF_INET6, "2001:db8::2")),
      rec("www.example.org.", kTypeA, address(AF_INET, "192.0.2.10")),
      rec("www.example.org.", kTypeTxt, std::string("\x05hello", 6)),
      rec("*.wild.example.org.", kTypeA, address(AF_INET, "192.0.2.20")),
      rec("alias.example.org.", kTypeCname, nm("www.example.org.").wire()),
      rec("loop1.example.org.", kTypeCname, nm("loop2.example.org.").wire()),
      rec("loop2.example.org.", kTypeCname, nm("loop1.example.org.").wire()),
      rec("download.example.org.", kTypeCname, nm("dl.example.org.").wire()),
      rec("sub.example.org.", kTypeNs, nm("ns.sub.example.org.").wire()),
      rec("ns.sub.example.org.", kTypeA, address(AF_INET, "192.0.2.53")),
  };
  // Enough TXT data that answers over 512 bytes get truncated over UDP.
  for (char c = 'a'; c < 'h'; ++c) {
    zone.records.push_back(
        rec("big.example.org.", kTypeTxt, std::string(1, '\x64') + std::string(100, c)));
  }
  zones::PoolDef pool;
  pool.name = nm("dl.example.org.");
  pool.ttl = 30;
  pool.max_answers = 4;
  pool.when_all_down = zones::WhenAllDown::serve_all;
  pool.min_healthy = 1;
  pool.mirrors = {mirror("m1", 5, {"192.0.2.101", "2001:db8::101"}),
                  mirror("m2", 1, {"192.0.2.102", "2001:db8::102"}),
                  mirror("m3", 0, {"192.0.2.103"})};
  zones::Model model;
  model.zones = {std::make_shared<const zones::Zone>(std::move(zone))};
  model.pools = {std::move(pool)};
  return build_snapshot(model, health::HealthView{}, nullptr, SnapshotOptions{});
}

void respond_and_check(std::span<const uint8_t> query, QueryProcessor& processor,
                       const Snapshot& snapshot, Transport transport, std::span<uint8_t> out,
                       size_t limit) {
  const size_t n = processor.process(query, transport, nullptr, snapshot, out, 0).length;
  fuzz::check(n <= limit, "response longer than its limit");
  if (n == 0) return;
  fuzz::check(n >= kHeaderSize, "response shorter than a header");
  fuzz::check(query.size() >= 2 && out[0] == query[0] && out[1] == query[1],
              "response does not echo the query ID");
  fuzz::check((out[2] & 0x80) != 0, "response without QR");
  // A response fed back in is dropped: servers must not answer answers.
  std::array<uint8_t, 512> again{};
  const QueryProcessor::Result echo =
      processor.process(out.first(n), transport, nullptr, snapshot, again, 0);
  fuzz::check(echo.length == 0 && echo.transfer.empty(), "a response was answered");
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  static const std::shared_ptr<const Snapshot> snapshot = make_snapshot();
  static Stats stats;
  static QueryProcessor processor(stats, 1, nullptr);
  static std::array<uint8_t, 65535> out;
  const std::span<const uint8_t> query(data, size);
  // UDP: at most the snapshot's EDNS size (1232 by default), never below 512.
  respond_and_check(query, processor, *snapshot, Transport::udp, out,
                    SnapshotOptions{}.udp_max_size);
  respond_and_check(query, processor, *snapshot, Transport::tcp, out, out.size());
  // The smallest buffer respond() accepts, for both transports.
  respond_and_check(query, processor, *snapshot, Transport::tcp, std::span(out).first(512), 512);
  return 0;
}
