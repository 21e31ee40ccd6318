// Unit tests of Address parsing and of the checks between pools and zones.
#include <doctest/doctest.h>

#include <arpa/inet.h>
#include <sys/socket.h>

#include <string>
#include <vector>

#include "zones/pool.hh"

using mirrorpool::zones::Address;
using mirrorpool::zones::Diagnostics;
using mirrorpool::zones::load_zone;
using mirrorpool::zones::MirrorDef;
using mirrorpool::zones::Name;
using mirrorpool::zones::PoolDef;
using mirrorpool::zones::validate_pools;
using mirrorpool::zones::Zone;
using mirrorpool::zones::ZoneList;

namespace {

const std::string kData = ZONES_TEST_DATA;
const std::string kConfig = "mirrorpool.toml";

Name name(std::string_view text) {
  auto parsed = Name::from_text(text);
  REQUIRE_MESSAGE(parsed.has_value(), "cannot parse ", std::string(text));
  return *parsed;
}

std::shared_ptr<const Zone> zone(const std::string& file, std::string_view origin) {
  Diagnostics diags;
  auto loaded = load_zone(kData + "/" + file, name(origin), diags);
  REQUIRE_MESSAGE(loaded.has_value(), file, " does not load");
  return std::make_shared<const Zone>(std::move(*loaded));
}

MirrorDef mirror(const std::string& id, int line) {
  MirrorDef def;
  def.id = id;
  def.addresses.push_back(*Address::parse("192.0.2.10"));
  def.pos = {kConfig, line, 1};
  return def;
}

PoolDef pool(std::string_view pool_name, int line, std::vector<MirrorDef> mirrors = {}) {
  PoolDef def;
  def.name = name(pool_name);
  def.pos = {kConfig, line, 1};
  def.mirrors = std::move(mirrors);
  return def;
}

std::string all(const Diagnostics& diags) {
  std::string out;
  for (const auto& diag : diags) out += diag.to_string() + "\n";
  return out;
}

}  // namespace

TEST_CASE("IPv4 addresses") {
  auto a = Address::parse("192.0.2.10");
  REQUIRE(a);
  CHECK(a->family == AF_INET);
  CHECK(a->text == "192.0.2.10");
  CHECK(a->bytes[0] == 192);
  CHECK(a->bytes[1] == 0);
  CHECK(a->bytes[2] == 2);
  CHECK(a->bytes[3] == 10);
  CHECK(a->bytes[4] == 0);
}

TEST_CASE("IPv6 addresses take their canonical text form") {
  auto a = Address::parse("2001:DB8:0:0:0:0:0:10");
  REQUIRE(a);
  CHECK(a->family == AF_INET6);
  CHECK(a->text == "2001:db8::10");
  CHECK(a->bytes[0] == 0x20);
  CHECK(a->bytes[1] == 0x01);
  CHECK(a->bytes[2] == 0x0d);
  CHECK(a->bytes[3] == 0xb8);
  CHECK(a->bytes[15] == 0x10);
  auto mapped = Address::parse("::ffff:192.0.2.1");
  REQUIRE(mapped);
  CHECK(mapped->family == AF_INET6);
  CHECK(mapped->text == "::ffff:192.0.2.1");
}

TEST_CASE("invalid addresses") {
  for (const char* text :
       {"", "192.0.2", "256.0.0.1", "192.0.2.1 ", " 192.0.2.1", "::g", "fe80::1%eth0",
        "2001:db8::1::2", "dl.pool.example.", "1111:2222:3333:4444:5555:6666:7777:8888:9999"}) {
    CAPTURE(text);
    CHECK_FALSE(Address::parse(text));
  }
}

TEST_CASE("a pool inside a zone with no records of its own is valid") {
  ZoneList zones = {zone("pools.zone", "pool.example.")};
  Diagnostics diags;
  CHECK(validate_pools(zones, {pool("dl.pool.example.", 10, {mirror("m1", 20), mirror("m2", 30)})},
                       diags));
  CHECK_MESSAGE(diags.empty(), all(diags));
}

TEST_CASE("the deepest containing zone is the pool's zone") {
  ZoneList zones = {zone("pools.zone", "pool.example."), zone("inner.zone", "inner.pool.example.")};
  Diagnostics diags;
  // In pools.zone the name is below the delegation to inner; in inner.zone,
  // the zone that serves it, it is fine.
  CHECK(validate_pools(zones, {pool("dl.inner.pool.example.", 10)}, diags));
  CHECK_MESSAGE(diags.empty(), all(diags));
  // Without the child zone configured, the delegation is in the way.
  CHECK_FALSE(validate_pools({zones[0]}, {pool("dl.inner.pool.example.", 10)}, diags));
  REQUIRE(diags.size() == 1);
  CHECK(diags[0].to_string().starts_with(
      "mirrorpool.toml:10:1: error: pool dl.inner.pool.example. is at or below the delegation at "
      "inner.pool.example. in zone file " +
      kData + "/pools.zone:10"));
}

TEST_CASE("pool errors, each at the pool's or mirror's position") {
  ZoneList zones = {zone("pools.zone", "pool.example."), zone("inner.zone", "inner.pool.example.")};
  struct Case {
    const char* what;
    std::vector<PoolDef> pools;
    std::vector<std::string> expected;
  };
  const std::vector<Case> table = {
      {"outside every zone",
       {pool("dl.other.example.", 7)},
       {"mirrorpool.toml:7:1: error: pool dl.other.example. is not inside any [[zone]]"}},
      {"below a delegation",
       {pool("dl.sub.pool.example.", 7)},
       {"mirrorpool.toml:7:1: error: pool dl.sub.pool.example. is at or below the delegation at "
        "sub.pool.example. in zone file " +
        kData + "/pools.zone:8"}},
      {"at a delegation",
       {pool("sub.pool.example.", 7)},
       {"mirrorpool.toml:7:1: error: pool sub.pool.example. is at or below the delegation at "
        "sub.pool.example."}},
      {"addresses at the pool name",
       {pool("www.pool.example.", 7)},
       {"mirrorpool.toml:7:1: error: pool name www.pool.example. has A records in zone file " +
        kData + "/pools.zone:6"}},
      {"other types at the pool name are answered from the file",
       {pool("static.inner.pool.example.", 7)},
       {}},
      {"at a zone apex, beside its SOA and NS (a delegated dl.example.org)",
       {pool("pool.example.", 7)},
       {}},
      {"duplicate pool names",
       {pool("dl.pool.example.", 7), pool("DL.pool.example.", 17)},
       {"mirrorpool.toml:17:1: error: duplicate pool dl.pool.example. (first defined at "
        "mirrorpool.toml:7)"}},
      {"duplicate mirror ids",
       {pool("dl.pool.example.", 7, {mirror("m1", 8), mirror("m2", 9), mirror("m1", 10)})},
       {"mirrorpool.toml:10:1: error: duplicate mirror id m1 in pool dl.pool.example. (first "
        "defined at mirrorpool.toml:8)"}},
      {"the same mirror id in two pools is fine",
       {pool("dl.pool.example.", 7, {mirror("m1", 8)}),
        pool("dl.inner.pool.example.", 17, {mirror("m1", 18)})},
       {}},
      {"every error, not just the first",
       {pool("dl.other.example.", 7),
        pool("www.pool.example.", 17, {mirror("a", 18), mirror("a", 19)})},
       {"mirrorpool.toml:7:1: error: pool dl.other.example. is not inside any [[zone]]",
        "mirrorpool.toml:19:1: error: duplicate mirror id a",
        "mirrorpool.toml:17:1: error: pool name www.pool.example. has A records"}},
  };
  for (const Case& c : table) {
    CAPTURE(c.what);
    Diagnostics diags;
    CHECK(validate_pools(zones, c.pools, diags) == c.expected.empty());
    std::string text = all(diags);
    CAPTURE(text);
    CHECK(diags.size() == c.expected.size());
    for (const std::string& expected : c.expected) {
      CHECK_MESSAGE(text.find(expected) != std::string::npos, "missing: ", expected);
    }
  }
}

TEST_CASE("diagnostics are appended, earlier ones kept") {
  Diagnostics diags = {{{"earlier", 1, 0}, "kept"}};
  CHECK_FALSE(validate_pools({}, {pool("dl.pool.example.", 3)}, diags));
  REQUIRE(diags.size() == 2);
  CHECK(diags[0].message == "kept");
  // The result is about this call only.
  Diagnostics more = diags;
  ZoneList zones = {zone("pools.zone", "pool.example.")};
  CHECK(validate_pools(zones, {pool("dl.pool.example.", 3)}, more));
  CHECK(more.size() == 2);
}
