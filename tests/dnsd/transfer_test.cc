// Tests of the primary's parts without sockets: RFC 1982 serials and their
// file, TSIG sign/verify, and AXFR/IXFR answers built from hand-made
// snapshots, decoded message by message.
#include "dnsd/primary/transfer.hh"

#include <doctest/doctest.h>
#include <unistd.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <set>
#include <string>
#include <vector>

#include "dnsd/primary/serials.hh"
#include "dnsd/primary/transfer_state.hh"
#include "dnsd/server/signed_answer.hh"
#include "dnsd/snapshot/snapshot.hh"
#include "dnsd/wire/query.hh"
#include "dnsd/wire/tsig.hh"
#include "dnsd/wire/wire.hh"
#include "tests/dnsd/zone_builders.hh"

using namespace mirrorpool;
using namespace mirrorpool::dnsd;
using mirrorpool::test::nm;
using mirrorpool::test::rec;
using mirrorpool::test::set_load_id;
using mirrorpool::test::u32_bytes;

namespace {

using Bytes = std::vector<uint8_t>;

// pool.test with a pool of `mirrors` IPv6 mirrors (2001:db8::1, ::2, ...) and one IPv4 mirror.
zones::Model model(uint32_t file_serial, int mirrors) {
  zones::Zone z;
  z.origin = nm("pool.test.");
  z.records = {
      rec("pool.test.", kTypeSoa,
          nm("ns1.pool.test.").wire() + nm("h.pool.test.").wire() + u32_bytes(file_serial) +
              u32_bytes(3600) + u32_bytes(900) + u32_bytes(604800) + u32_bytes(300)),
      rec("pool.test.", kTypeNs, nm("ns1.pool.test.").wire()),
      rec("ns1.pool.test.", kTypeA, std::string("\xc0\x00\x02\x35", 4)),
  };
  zones::PoolDef pool;
  pool.name = nm("dl.pool.test.");
  pool.ttl = 30;
  zones::MirrorDef v4;
  v4.id = "v4";
  v4.addresses = {*zones::Address::parse("192.0.2.1")};
  pool.mirrors.push_back(v4);
  for (int i = 1; i <= mirrors; ++i) {
    zones::MirrorDef m;
    m.id = "m" + std::to_string(i);
    m.addresses = {*zones::Address::parse("2001:db8::" + std::to_string(i))};
    pool.mirrors.push_back(m);
  }
  zones::Model out;
  out.zones.push_back(std::make_shared<const zones::Zone>(std::move(z)));
  out.pools.push_back(std::move(pool));
  return out;
}

health::HealthView down(const std::vector<std::string>& mirrors) {
  std::map<health::TargetKey, health::TargetHealth> targets;
  for (const std::string& m : mirrors) {
    targets[{"dl.pool.test.", m, m == "v4" ? "192.0.2.1" : "2001:db8::" + m.substr(1)}].up = false;
  }
  return health::HealthView(std::move(targets));
}

Config config(std::vector<std::string> allow, std::string key = "") {
  Config c;
  ZoneConfig z;
  z.origin = nm("pool.test.");
  for (const std::string& a : allow) z.allow_transfer.push_back(*Prefix::parse(a));
  z.tsig = key;
  c.zones.push_back(z);
  c.tsig["k256"] = {"k256", "hmac-sha256", "c2VjcmV0LXNlY3JldC1zZWNyZXQ="};
  c.tsig["k512"] = {"k512", "hmac-sha512", "b3RoZXItc2VjcmV0"};
  return c;
}

// A snapshot with `serial` and transfer data from `history`.
std::shared_ptr<const Snapshot> publish(TransferHistory& history, const zones::Model& m,
                                        const health::HealthView& health, uint32_t serial) {
  auto s = build_snapshot(m, health, nullptr, SnapshotOptions{});
  s->set_serial(0, serial);
  s->set_transfers(history.advance(*s, {zone_version(*s, 0)}));
  return s;
}

Bytes query(uint16_t qtype, std::optional<uint32_t> ixfr_serial = std::nullopt) {
  Bytes q = {0x12, 0x34, 0, 0, 0, 1, 0, 0, 0, ixfr_serial ? uint8_t{1} : uint8_t{0}, 0, 0};
  const std::string name = nm("pool.test.").wire();
  q.insert(q.end(), name.begin(), name.end());
  for (uint16_t v : {qtype, kClassIn}) {
    q.push_back(static_cast<uint8_t>(v >> 8));
    q.push_back(static_cast<uint8_t>(v));
  }
  if (ixfr_serial) {
    const std::string rr = name + std::string("\x00\x06\x00\x01\x00\x00\x00\x00\x00\x16", 10) +
                           std::string(2, '\0') + u32_bytes(*ixfr_serial) + std::string(16, '\0');
    q.insert(q.end(), rr.begin(), rr.end());
  }
  return q;
}

// The transfer code and TSIG take a parsed query: these parse the test's
// bytes first, as process_query does.
TransferAnswer answer_transfer(const Bytes& bytes, const zones::Address& client,
                               Transport transport, const Snapshot& snapshot, uint64_t now) {
  Query q;
  parse_query(bytes, transport, nullptr, q);
  return dnsd::answer_transfer(q, client, snapshot, now);
}

TsigCheck tsig_check(const Bytes& bytes, const std::vector<TsigKeyMaterial>& keys, uint64_t now) {
  Query q;
  parse_query(bytes, Transport::tcp, nullptr, q);
  return dnsd::tsig_check(q, keys, now);
}

struct Rr {
  uint16_t type;
  std::string rdata;
};

// Every answer record of every message, in order; checks each header.
std::vector<Rr> records(const TransferAnswer& a) {
  std::vector<Rr> out;
  for (const Bytes& m : a.messages) {
    Header h;
    REQUIRE(parse_header(m, h));
    CHECK(h.id == 0x1234);
    CHECK(h.qr());
    size_t pos = kHeaderSize;
    Question q;
    REQUIRE(parse_question(m, pos, q));
    for (unsigned i = 0; i < h.ancount; ++i) {
      WireName owner;
      REQUIRE(read_name(m, pos, owner));
      const uint16_t type = static_cast<uint16_t>(m[pos] << 8 | m[pos + 1]);
      const size_t len = static_cast<size_t>(m[pos + 8] << 8 | m[pos + 9]);
      out.push_back({type, std::string(reinterpret_cast<const char*>(&m[pos + 10]), len)});
      pos += 10 + len;
    }
  }
  return out;
}

uint32_t soa_serial(const Rr& r) {
  const auto* p = reinterpret_cast<const uint8_t*>(r.rdata.data() + r.rdata.size() - 20);
  return uint32_t{p[0]} << 24 | uint32_t{p[1]} << 16 | uint32_t{p[2]} << 8 | p[3];
}

zones::Address addr(const char* text) {
  return *zones::Address::parse(text);
}

struct TempDir {
  std::filesystem::path path;
  TempDir() {
    char tmpl[] = "/tmp/transfer-test-XXXXXX";
    path = mkdtemp(tmpl);
  }
  ~TempDir() { std::filesystem::remove_all(path); }
};

}  // namespace

TEST_CASE("RFC 1982 serial comparison") {
  CHECK(serial_gt(1, 0));
  CHECK_FALSE(serial_gt(0, 1));
  CHECK_FALSE(serial_gt(5, 5));
  CHECK(serial_gt(0, 0xffffffff));  // wraps
  CHECK(serial_gt(0x7fffffff, 0));
  CHECK_FALSE(serial_gt(0x80000000, 0));  // exactly half apart: undefined, never greater
  CHECK_FALSE(serial_gt(0, 0x80000000));
}

TEST_CASE("the serial rule and its file") {
  TempDir dir;
  const std::string path = (dir.path / "state" / "serials.json").string();
  std::string error;
  {
    SerialBook book(path);
    CHECK(book.load(error));                   // missing: empty
    CHECK(book.next("a.", 100, "d1") == 100);  // new zone: the file's serial
    CHECK(book.next("a.", 100, "d1") == 100);  // same data: same serial
    CHECK(book.next("a.", 100, "d2") == 101);  // new data: +1
    CHECK(book.next("a.", 90, "d2") == 101);   // a lower file serial is ignored
    CHECK(book.next("a.", 500, "d2") == 500);  // a higher one is taken
    CHECK(book.save(error));                   // creates the state directory
  }
  {
    SerialBook book(path);
    REQUIRE(book.load(error));
    CHECK(book.next("a.", 100, "d2") == 500);  // after a restart, same data: unchanged
    CHECK(book.next("a.", 100, "d3") == 501);  // changed data: never back to the file's
    CHECK(book.save(error));
  }
  {
    SerialBook book(path);
    REQUIRE(book.load(error));
    CHECK(book.next("a.", 1, "d3") == 501);
  }
  SUBCASE("wrap-around follows RFC 1982") {
    SerialBook book(path);
    CHECK(book.next("w.", 0xffffffff, "x") == 0xffffffff);
    CHECK(book.next("w.", 0xffffffff, "y") == 0);
    CHECK(book.next("w.", 0xffffffff, "y") == 0);  // 0xffffffff is behind 0 now
  }
  SUBCASE("a damaged file is reported") {
    std::ofstream(path) << "{\"zones\": {\"a.\": {\"serial\": \"x\"}}}";
    SerialBook book(path);
    CHECK_FALSE(book.load(error));
    CHECK(error.find("a.") != std::string::npos);
  }
}

TEST_CASE("TSIG sign and verify") {
  const Config c = config({});
  const auto k256 = *TsigKeyMaterial::from_config(c.tsig.at("k256"));
  const auto k512 = *TsigKeyMaterial::from_config(c.tsig.at("k512"));
  CHECK(k256.secret == "secret-secret-secret");
  CHECK(k512.secret == "other-secret");
  const std::vector<TsigKeyMaterial> keys = {k256, k512};
  for (const TsigKeyMaterial* key : {&k256, &k512}) {
    Bytes q = query(kTypeAxfr);
    TsigSigner(*key, std::nullopt, 1000000).sign(q);
    CHECK(q[11] == 1);  // ARCOUNT
    TsigCheck check = tsig_check(q, keys, 1000100);
    CHECK(check.status == TsigCheck::Status::ok);
    REQUIRE(check.key != nullptr);
    CHECK(check.key->name == key->name);
    CHECK(check.mac.size() == key->mac_size());
    CHECK(tsig_check(q, keys, 1000000 + kTsigFudge + 1).status == TsigCheck::Status::bad_time);
    CHECK(tsig_check(q, {}, 1000000).status == TsigCheck::Status::bad_key);
    Bytes tampered = q;
    tampered[13] ^= 0x20;  // a letter of the name changes case
    CHECK(tsig_check(tampered, keys, 1000000).status == TsigCheck::Status::bad_sig);
    Bytes cut(q.begin(), q.end() - 1);
    CHECK(tsig_check(cut, keys, 1000000).status == TsigCheck::Status::malformed);
  }
  CHECK(tsig_check(query(kTypeAxfr), keys, 0).status == TsigCheck::Status::unsigned_message);
}

TEST_CASE("AXFR: the zone and every served address, SOA first and last") {
  TransferHistory history;
  history.configure(config({"127.0.0.0/8"}));
  const auto m = model(7, 2);
  const auto s = publish(history, m, down({"m2"}), 42);
  CHECK(s->serial(0) == 42);
  const TransferAnswer a =
      answer_transfer(query(kTypeAxfr), addr("127.0.0.1"), Transport::tcp, *s, 0);
  REQUIRE(a.kind == TransferAnswer::Kind::axfr);
  const auto rrs = records(a);
  REQUIRE(rrs.size() == 6);  // SOA NS A(ns1) A(v4) AAAA(m1) SOA
  CHECK(rrs.front().type == kTypeSoa);
  CHECK(rrs.back().type == kTypeSoa);
  CHECK(soa_serial(rrs.front()) == 42);
  std::multiset<uint16_t> types;
  for (const Rr& r : rrs) types.insert(r.type);
  CHECK(types.count(kTypeAaaa) == 1);  // m2 is down
  CHECK(types.count(kTypeA) == 2);

  SUBCASE("a large zone spans several messages, each within the size") {
    TransferHistory h;
    h.configure(config({"127.0.0.0/8"}));
    const auto big = publish(h, model(7, 2000), {}, 1);
    const TransferAnswer b =
        answer_transfer(query(kTypeAxfr), addr("127.0.0.1"), Transport::tcp, *big, 0);
    CHECK(b.messages.size() > 3);
    for (const Bytes& msg : b.messages) CHECK(msg.size() <= kTransferMessageSize);
    const auto all = records(b);
    CHECK(all.size() == 2000 + 5);
    CHECK(all.front().type == kTypeSoa);
    CHECK(all.back().type == kTypeSoa);
  }
}

TEST_CASE("IXFR: differences, fallback to the whole zone, SOA alone") {
  TransferHistory history;
  history.configure(config({"127.0.0.0/8"}));
  const auto m = model(7, 3);
  publish(history, m, {}, 10);
  publish(history, m, down({"m1"}), 11);
  const auto s = publish(history, m, down({"m1", "m2"}), 12);
  const auto client = addr("127.0.0.1");

  const TransferAnswer inc = answer_transfer(query(kTypeIxfr, 10), client, Transport::tcp, *s, 0);
  REQUIRE(inc.kind == TransferAnswer::Kind::ixfr);
  const auto rrs = records(inc);
  std::vector<uint32_t> soas;
  for (const Rr& r : rrs) {
    if (r.type == kTypeSoa) soas.push_back(soa_serial(r));
  }
  CHECK(soas == std::vector<uint32_t>{12, 10, 11, 11, 12, 12});
  CHECK(rrs.size() == 8);  // 6 SOAs, AAAA m1 removed, AAAA m2 removed

  const TransferAnswer full = answer_transfer(query(kTypeIxfr, 3), client, Transport::tcp, *s, 0);
  CHECK(full.kind == TransferAnswer::Kind::ixfr_full);
  CHECK(records(full).size() == 6);  // SOA NS A(ns1) A(v4) AAAA(m3) SOA

  const TransferAnswer current =
      answer_transfer(query(kTypeIxfr, 12), client, Transport::tcp, *s, 0);
  CHECK(current.kind == TransferAnswer::Kind::ixfr_current);
  CHECK(records(current).size() == 1);

  const TransferAnswer udp = answer_transfer(query(kTypeIxfr, 11), client, Transport::udp, *s, 0);
  CHECK(udp.kind == TransferAnswer::Kind::ixfr);  // fits in one datagram
  CHECK(udp.messages.size() == 1);
  const TransferAnswer udp_full =
      answer_transfer(query(kTypeIxfr, 3), client, Transport::udp, *s, 0);
  CHECK(udp_full.kind == TransferAnswer::Kind::ixfr_current);  // the SOA: use TCP

  SUBCASE("the history is bounded") {
    TransferHistory h;
    h.configure(config({"127.0.0.0/8"}));
    std::shared_ptr<const Snapshot> last;
    for (uint32_t i = 0; i < TransferHistory::kMaxDiffs + 5; ++i) {
      last = publish(h, m, i % 2 ? down({"m1"}) : health::HealthView{}, 100 + i);
    }
    CHECK(h.current()->zones[0].diffs.size() == TransferHistory::kMaxDiffs);
    CHECK(answer_transfer(query(kTypeIxfr, 100), client, Transport::tcp, *last, 0).kind ==
          TransferAnswer::Kind::ixfr_full);
    CHECK(answer_transfer(query(kTypeIxfr, 110), client, Transport::tcp, *last, 0).kind ==
          TransferAnswer::Kind::ixfr);
  }
}

TEST_CASE("a health change shares the zone file's records; another load reads them again") {
  zones::Model m = model(7, 3);
  set_load_id(m, 41);
  const auto a = build_snapshot(m, {}, nullptr, SnapshotOptions{});
  const ZoneVersion va = zone_version(*a, 0);
  CHECK(va.size() == 7);  // SOA NS A(ns1) A(v4) AAAA(m1..m3)
  CHECK(va.file->size() == 2);
  CHECK(va.pooled.size() == 4);

  const auto b = build_snapshot(m, down({"m2"}), a.get(), SnapshotOptions{});
  const ZoneVersion vb = zone_version(*b, 0, &va);
  CHECK(vb.file == va.file);  // not read out of the snapshot again
  CHECK_FALSE(vb.same_content(va));
  CHECK(content_digest(vb) != content_digest(va));
  const ZoneDiff health_diff = diff_versions(va, vb);
  REQUIRE(health_diff.removed.size() == 1);
  CHECK(health_diff.removed[0].type == kTypeAaaa);
  CHECK(health_diff.added.empty());

  // A reload is another load of the files: their records are read again,
  // and equal content still digests equal.
  set_load_id(m, 42);
  const auto c = build_snapshot(m, down({"m2"}), b.get(), SnapshotOptions{});
  const ZoneVersion vc = zone_version(*c, 0, &vb);
  CHECK(vc.file != vb.file);
  CHECK(vc.same_content(vb));
  CHECK(content_digest(vc) == content_digest(vb));

  // A record added to the file and an address back in the pool: one diff.
  set_load_id(m, 43);
  zones::Zone changed = *m.zones[0];
  changed.records.push_back(rec("www.pool.test.", kTypeA, std::string("\xc0\x00\x02\x50", 4)));
  m.zones[0] = std::make_shared<const zones::Zone>(std::move(changed));
  const auto d = build_snapshot(m, {}, c.get(), SnapshotOptions{});
  const ZoneVersion vd = zone_version(*d, 0, &vc);
  const ZoneDiff reload_diff = diff_versions(vc, vd);
  CHECK(reload_diff.removed.empty());
  REQUIRE(reload_diff.added.size() == 2);
  CHECK(reload_diff.added[0].type != reload_diff.added[1].type);  // A www, AAAA m2
}

TEST_CASE("a zone nobody may transfer keeps only its records' digest") {
  zones::Model m = model(7, 3);
  set_load_id(m, 41);
  const auto a = build_snapshot(m, {}, nullptr, SnapshotOptions{});
  const ZoneVersion full = zone_version(*a, 0, nullptr, true);
  const ZoneVersion lite = zone_version(*a, 0, nullptr, false);
  CHECK(full.file->has_records());
  CHECK_FALSE(lite.file->has_records());
  // The same count and digest, so the serial rule sees the same content.
  CHECK(lite.file->size() == full.file->size());
  CHECK(lite.file->digest() == full.file->digest());
  CHECK(content_digest(lite) == content_digest(full));
  CHECK(lite.same_content(full));
  CHECK_FALSE(lite.file->each([](const ZoneRecord&) { return true; }));
  // A digest of another content differs.
  set_load_id(m, 42);
  zones::Zone changed = *m.zones[0];
  changed.records.push_back(rec("www.pool.test.", kTypeA, std::string("\xc0\x00\x02\x50", 4)));
  m.zones[0] = std::make_shared<const zones::Zone>(std::move(changed));
  const auto b = build_snapshot(m, {}, a.get(), SnapshotOptions{});
  const ZoneVersion lite_b = zone_version(*b, 0, &lite, false);
  CHECK(lite_b.file->digest() != lite.file->digest());

  // A health change shares the digest-only records and can still be diffed;
  // once transfers are enabled the records are read, and a digest-only
  // version cannot be compared with them.
  const auto c = build_snapshot(m, down({"m2"}), b.get(), SnapshotOptions{});
  const ZoneVersion lite_c = zone_version(*c, 0, &lite_b, false);
  CHECK(lite_c.file == lite_b.file);
  CHECK(can_diff(lite_b, lite_c));
  const ZoneVersion full_c = zone_version(*c, 0, &lite_c, true);
  CHECK(full_c.file->has_records());
  CHECK_FALSE(can_diff(lite_c, full_c));
  CHECK(full_c.same_content(lite_c));
}

TEST_CASE("enabling transfers on a reload: whole zone, history restarted, serial kept") {
  TransferHistory history;
  const auto m = model(7, 2);
  const auto client = addr("127.0.0.1");
  // No access: the version keeps no records, and transfers are refused.
  history.configure(config({}));
  auto s1 = build_snapshot(m, {}, nullptr, SnapshotOptions{});
  s1->set_serial(0, 10);
  s1->set_transfers(history.advance(*s1, {zone_version(*s1, 0, nullptr, false)}));
  CHECK(answer_transfer(query(kTypeAxfr), client, Transport::tcp, *s1, 0).kind ==
        TransferAnswer::Kind::refused);
  // A health change while transfers are still off.
  auto s2 = build_snapshot(m, down({"m2"}), s1.get(), SnapshotOptions{});
  s2->set_serial(0, 11);
  s2->set_transfers(history.advance(
      *s2, {zone_version(*s2, 0, history.current()->zones[0].current.get(), false)}));
  // The reload allows transfers: the next version has the records, also
  // when nothing else changed (same content, same serial).
  history.configure(config({"127.0.0.0/8"}));
  auto same = build_snapshot(m, down({"m2"}), s2.get(), SnapshotOptions{});
  same->set_serial(0, 11);
  same->set_transfers(history.advance(
      *same, {zone_version(*same, 0, history.current()->zones[0].current.get(), true)}));
  const TransferAnswer first = answer_transfer(query(kTypeAxfr), client, Transport::tcp, *same, 0);
  REQUIRE(first.kind == TransferAnswer::Kind::axfr);
  CHECK(records(first).size() == 6);                 // SOA NS A(ns1) A(v4) AAAA(m1) SOA
  CHECK(history.current()->zones[0].diffs.empty());  // nothing to diff against
  // A later change is a difference from there on; older serials get the whole zone.
  auto s3 = build_snapshot(m, {}, same.get(), SnapshotOptions{});
  s3->set_serial(0, 12);
  s3->set_transfers(history.advance(
      *s3, {zone_version(*s3, 0, history.current()->zones[0].current.get(), true)}));
  CHECK(history.current()->zones[0].diffs.size() == 1);
  const TransferAnswer axfr = answer_transfer(query(kTypeAxfr), client, Transport::tcp, *s3, 0);
  REQUIRE(axfr.kind == TransferAnswer::Kind::axfr);
  CHECK(records(axfr).size() == 7);  // SOA NS A(ns1) A(v4) AAAA(m1 m2) SOA
  CHECK(answer_transfer(query(kTypeIxfr, 11), client, Transport::tcp, *s3, 0).kind ==
        TransferAnswer::Kind::ixfr);
  CHECK(answer_transfer(query(kTypeIxfr, 10), client, Transport::tcp, *s3, 0).kind ==
        TransferAnswer::Kind::ixfr_full);
}

TEST_CASE("transfer access: allow_transfer and the zone's key") {
  const auto m = model(7, 1);
  SUBCASE("address outside allow_transfer: REFUSED") {
    TransferHistory h;
    h.configure(config({"127.0.0.0/8"}));
    const auto s = publish(h, m, {}, 1);
    const auto a = answer_transfer(query(kTypeAxfr), addr("192.0.2.1"), Transport::tcp, *s, 0);
    CHECK(a.kind == TransferAnswer::Kind::refused);
    REQUIRE(a.messages.size() == 1);
    CHECK((a.messages[0][3] & 0xf) == kRcodeRefused);
  }
  SUBCASE("neither allow_transfer nor tsig: no transfers") {
    TransferHistory h;
    h.configure(config({}));
    const auto s = publish(h, m, {}, 1);
    CHECK(answer_transfer(query(kTypeAxfr), addr("127.0.0.1"), Transport::tcp, *s, 0).kind ==
          TransferAnswer::Kind::refused);
  }
  SUBCASE("the zone's key is required; a good signature gets a signed answer") {
    TransferHistory h;
    const Config c = config({}, "k512");
    h.configure(c);
    const auto s = publish(h, m, {}, 1);
    CHECK(answer_transfer(query(kTypeAxfr), addr("127.0.0.1"), Transport::tcp, *s, 0).kind ==
          TransferAnswer::Kind::refused);
    const auto k256 = *TsigKeyMaterial::from_config(c.tsig.at("k256"));
    const auto k512 = *TsigKeyMaterial::from_config(c.tsig.at("k512"));
    Bytes other = query(kTypeAxfr);
    TsigSigner(k256, std::nullopt, 5000).sign(other);
    CHECK(answer_transfer(other, addr("127.0.0.1"), Transport::tcp, *s, 5000).kind ==
          TransferAnswer::Kind::refused);
    Bytes good = query(kTypeAxfr);
    TsigSigner(k512, std::nullopt, 5000).sign(good);
    const auto a = answer_transfer(good, addr("127.0.0.1"), Transport::tcp, *s, 5000);
    CHECK(a.kind == TransferAnswer::Kind::axfr);
    REQUIRE(a.messages.size() == 1);
    CHECK(a.messages[0][11] == 1);  // the TSIG record
    Bytes bad = good;
    bad[bad.size() - 20] ^= 1;  // inside the MAC
    const auto n = answer_transfer(bad, addr("127.0.0.1"), Transport::tcp, *s, 5000);
    CHECK(n.kind == TransferAnswer::Kind::notauth);
    CHECK((n.messages[0][3] & 0xf) == kRcodeNotAuth);
  }
}

TEST_CASE("a signed ordinary query: a signed answer, or NOTAUTH with the TSIG error") {
  TransferHistory h;
  const Config c = config({});
  h.configure(c);
  const auto s = publish(h, model(7, 1), {}, 1);
  const auto k256 = *TsigKeyMaterial::from_config(c.tsig.at("k256"));
  Stats stats;
  Rng rng(1);
  std::vector<uint8_t> out(kMaxMessageSize);
  // The reply's rcode, TSIG error, MAC size and answer count.
  struct Signed {
    uint8_t rcode;
    uint16_t error;
    size_t mac_size;
    uint16_t ancount;
  };
  auto ask = [&](const Bytes& request, uint64_t now) {
    Query q;
    parse_query(request, Transport::udp, nullptr, q);
    const size_t n = answer_signed(q, *s, rng, out, stats, {}, now);
    REQUIRE(n > 0);
    const Bytes reply(out.begin(), out.begin() + static_cast<std::ptrdiff_t>(n));
    Header hdr;
    REQUIRE(parse_header(reply, hdr));
    size_t pos = kHeaderSize;
    Question question;
    REQUIRE(parse_question(reply, pos, question));
    Edns edns;
    size_t tsig_at = 0;
    parse_edns(reply, pos, hdr, edns, tsig_at);
    REQUIRE(tsig_at != 0);  // the TSIG record is last
    pos = tsig_at;
    WireName owner, algorithm;
    REQUIRE(read_name(reply, pos, owner));
    pos += kRrFixedSize;
    REQUIRE(read_name(reply, pos, algorithm));
    const size_t mac_size = get16(reply.data() + pos + 8);
    const uint16_t error = get16(reply.data() + pos + 10 + mac_size + 2);
    return Signed{static_cast<uint8_t>(hdr.flags & 0xf), error, mac_size, hdr.ancount};
  };
  Bytes request = query(kTypeSoa);
  TsigSigner(k256, std::nullopt, 5000).sign(request);

  const Signed good = ask(request, 5000);
  CHECK(good.rcode == kRcodeNoError);
  CHECK(good.ancount == 1);
  CHECK(good.mac_size == 32);
  CHECK(stats.tsig_queries[static_cast<size_t>(TsigCheck::Status::ok)].get() == 1);

  const Signed late = ask(request, 5000 + kTsigFudge + 1);
  CHECK(late.rcode == kRcodeNotAuth);
  CHECK(late.error == kTsigBadTime);
  CHECK(late.mac_size == 32);  // BADTIME is signed
  CHECK(late.ancount == 0);

  Bytes forged = request;
  forged[forged.size() - 20] ^= 1;  // inside the MAC
  const Signed bad_sig = ask(forged, 5000);
  CHECK(bad_sig.rcode == kRcodeNotAuth);
  CHECK(bad_sig.error == kTsigBadSig);
  CHECK(bad_sig.mac_size == 0);

  TsigKeyMaterial unknown = k256;
  unknown.name = nm("nobody.").wire();
  Bytes stranger = query(kTypeSoa);
  TsigSigner(unknown, std::nullopt, 5000).sign(stranger);
  const Signed bad_key = ask(stranger, 5000);
  CHECK(bad_key.rcode == kRcodeNotAuth);
  CHECK(bad_key.error == kTsigBadKey);
  CHECK(bad_key.mac_size == 0);
  CHECK(stats.by_rcode[kRcodeNotAuth].get() == 3);
}
