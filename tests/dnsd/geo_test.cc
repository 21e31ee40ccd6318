// The geo module alone: a real MMDB file compiled into ranges (data/geo.mmdb,
// written by tests/geo/write_mmdb.pl from data/geo.json), overrides, the ECS scope of each answer,
// mirror placement, and the tiers of geo answers.
#include <arpa/inet.h>
#include <doctest/doctest.h>
#include <sys/socket.h>

#include <array>
#include <cmath>
#include <string>
#include <vector>

#include "dnsd/geo/geo_pick.hh"
#include "dnsd/geo/geo_setup.hh"
#include "dnsd/geo/geo_table.hh"
#include "dnsd/geo/locator.hh"

using namespace mirrorpool;
using namespace mirrorpool::dnsd;
using namespace mirrorpool::dnsd::geo;

namespace {

const char* kDatabase = "data/geo.mmdb";

ClientAddress address(const std::string& text) {
  const auto parsed = zones::Address::parse(text);
  REQUIRE(parsed);
  const bool v6 = parsed->family == AF_INET6;
  return masked_address(parsed->bytes.data(), v6, v6 ? 128 : 32);
}

std::shared_ptr<const GeoTable> table() {
  std::string error;
  auto t = GeoTable::read(kDatabase, error);
  REQUIRE_MESSAGE(t != nullptr, error);
  return t;
}

GeoNet net(const std::string& prefix, const std::string& country,
           std::optional<zones::GeoPoint> location = std::nullopt) {
  GeoNet n;
  n.prefix = *Prefix::parse(prefix);
  n.country = country;
  n.location = location;
  return n;
}

}  // namespace

TEST_CASE("a database is compiled into ranges that place each address with its network's scope") {
  const auto t = table();
  CHECK(t->networks() >= 6);
  auto hit = t->lookup(address("192.0.2.77").bytes.data(), false);
  REQUIRE(hit.place != GeoTable::kNowhere);
  CHECK(code_text(t->place(hit.place).country) == "DE");
  CHECK(code_text(t->place(hit.place).continent) == "EU");
  CHECK(t->place(hit.place).latitude == doctest::Approx(50.11));
  CHECK(hit.prefix == 24);

  hit = t->lookup(address("203.0.113.5").bytes.data(), false);
  CHECK(code_text(t->place(hit.place).country) == "JP");
  CHECK(hit.prefix == 25);
  // The other half of 203.0.113.0/24 is in no network: unknown, and so is
  // everything up to the next network.
  hit = t->lookup(address("203.0.113.200").bytes.data(), false);
  CHECK(hit.place == GeoTable::kNowhere);
  CHECK(hit.prefix == 25);

  hit = t->lookup(address("2001:db8:1:2::1").bytes.data(), true);
  CHECK(code_text(t->place(hit.place).country) == "DE");
  CHECK(hit.prefix == 48);
  CHECK(t->lookup(address("2001:db8:2::1").bytes.data(), true).place == GeoTable::kNowhere);

  // A country's place is where its networks are; a country without
  // coordinates in the database has none.
  const auto de = t->country(to_code("DE"));
  REQUIRE(de);
  CHECK(de->has_location);
  CHECK(de->latitude == doctest::Approx(50.11).epsilon(0.01));
  CHECK(code_text(de->continent) == "EU");
  const auto xx = t->country(to_code("XX"));
  REQUIRE(xx);
  CHECK_FALSE(xx->has_location);
  CHECK_FALSE(t->country(to_code("ZZ")));
}

TEST_CASE("a file that is not a database is refused with the reason") {
  std::string error;
  CHECK(GeoTable::read("data/mirrors.json", error) == nullptr);
  CHECK(error.find("data/mirrors.json") != std::string::npos);
  error.clear();
  CHECK(GeoTable::read("data/does-not-exist.mmdb", error) == nullptr);
  CHECK(error.find("No such file") != std::string::npos);
}

TEST_CASE("overrides win, longest prefix first, and a scope never covers a longer override") {
  GeoConfig config;
  config.enabled = true;
  config.nets.push_back(net("198.51.100.0/24", "JP", zones::GeoPoint{35.68, 139.69}));
  config.nets.push_back(net("198.51.100.128/25", "DE", zones::GeoPoint{52.52, 13.40}));
  config.nets.push_back(net("192.0.2.64/26", "FR"));
  const Locator locator(config, table());

  Located c = locator.locate(address("198.51.100.200"), false);
  REQUIRE(c.place != nullptr);
  CHECK(c.by == PlacedBy::override_net);
  CHECK(code_text(c.place->country) == "DE");
  CHECK(c.scope == 25);
  CHECK(locator.override_text(c.override_index) == "198.51.100.128/25");

  // The /24's other half: scope 25, since the /24 holds the /25 that answers otherwise.
  c = locator.locate(address("198.51.100.5"), true);
  CHECK(code_text(c.place->country) == "JP");
  CHECK(c.scope == 25);

  // The database's 192.0.2.0/24 with a /26 override inside it.
  c = locator.locate(address("192.0.2.5"), true);
  CHECK(c.by == PlacedBy::ecs);
  CHECK(code_text(c.place->country) == "DE");
  CHECK(c.scope == 26);
  c = locator.locate(address("192.0.2.70"), false);
  CHECK(c.by == PlacedBy::override_net);
  CHECK(code_text(c.place->country) == "FR");
  // A country-only override takes the country's place from the database... FR
  // has one (127.0.2.0/24).
  CHECK(c.place->has_location);

  c = locator.locate(address("2001:db8:ffff::1"), false);
  CHECK(c.place == nullptr);
  CHECK(c.by == PlacedBy::unknown);
}

TEST_CASE("IPv4-mapped IPv6 clients are placed as IPv4") {
  const ClientAddress a = address("::ffff:192.0.2.9");
  CHECK_FALSE(a.v6);
  GeoConfig config;
  const Locator locator(config, table());
  const Located c = locator.locate(a, false);
  REQUIRE(c.place != nullptr);
  CHECK(code_text(c.place->country) == "DE");
}

TEST_CASE("mirrors are placed by location, then country, then address") {
  GeoConfig config;
  const Locator locator(config, table());
  zones::MirrorDef m;
  m.addresses.push_back(*zones::Address::parse("127.0.1.9"));
  std::string from;
  Place p = locator.place_mirror(m, &from);
  CHECK(code_text(p.country) == "US");
  CHECK(from == "database (127.0.1.9)");
  m.country = "DE";
  p = locator.place_mirror(m, &from);
  CHECK(from == "country");
  CHECK(p.latitude == doctest::Approx(50.11).epsilon(0.01));
  m.location = zones::GeoPoint{-33.87, 151.21};
  p = locator.place_mirror(m, &from);
  CHECK(from == "location");
  CHECK(code_text(p.country) == "DE");
  CHECK(p.latitude == doctest::Approx(-33.87));
  zones::MirrorDef nowhere;
  nowhere.addresses.push_back(*zones::Address::parse("127.0.9.9"));
  CHECK_FALSE(locator.place_mirror(nowhere, &from).placed());
  CHECK(from == "unplaced");
}

TEST_CASE("a reload reads the database again only when the file changed") {
  Config config;
  config.server.geo.enabled = true;
  config.server.geo.database = kDatabase;
  zones::Diagnostics diags;
  const auto first = load_locator(config, nullptr, diags);
  REQUIRE(first);
  REQUIRE(*first);
  const auto again = load_locator(config, first->get(), diags);
  REQUIRE(again);
  CHECK((*again)->table() == (*first)->table());
  config.server.geo.database = "data/mirrors.json";
  CHECK_FALSE(load_locator(config, first->get(), diags));
  REQUIRE(diags.size() == 1);
  CHECK(diags[0].message.find("[server.geo] database") != std::string::npos);
  config.server.geo.enabled = false;
  const auto none = load_locator(config, first->get(), diags);
  REQUIRE(none);
  CHECK(*none == nullptr);
}

TEST_CASE("distances are great-circle distances") {
  const Place frankfurt = Place::at(50.11, 8.68);
  const Place paris = Place::at(48.86, 2.35);
  const Place sf = Place::at(37.77, -122.42);
  CHECK(distance_km(frankfurt, paris) == doctest::Approx(479).epsilon(0.01));
  CHECK(distance_km(frankfurt, sf) == doctest::Approx(9140).epsilon(0.01));
  CHECK(distance_km(paris, paris) == doctest::Approx(0).epsilon(0.001));
}

namespace {

const Place kFrankfurt = Place::at(50.11, 8.68, to_code("DE"), to_code("EU"));
const Place kParis = Place::at(48.86, 2.35, to_code("FR"), to_code("EU"));
const Place kNewYork = Place::at(40.71, -74.0, to_code("US"), to_code("NA"));
const Place kTokyo = Place::at(35.68, 139.69, to_code("JP"), to_code("AS"));

std::vector<bool> tier_of(const std::vector<Place>& mirrors, zones::GeoMode mode, double margin,
                          const Place& client) {
  bool tier[kMaxGeoCandidates] = {};
  first_tier(mirrors, mode, Margin::of_km(margin), client,
             std::span<bool>(tier, kMaxGeoCandidates));
  return std::vector<bool>(tier, tier + mirrors.size());
}

}  // namespace

TEST_CASE("nearest: the nearest mirror and those within the margin of it") {
  const std::vector<Place> mirrors = {kNewYork, kParis, kFrankfurt, kTokyo, Place{}};
  const Place berlin = Place::at(52.52, 13.40, to_code("DE"), to_code("EU"));
  using M = zones::GeoMode;
  CHECK(tier_of(mirrors, M::nearest, 0, berlin) ==
        std::vector<bool>{false, false, true, false, false});
  CHECK(tier_of(mirrors, M::nearest, 700, berlin) ==
        std::vector<bool>{false, true, true, false, false});
  // A margin the size of the Earth takes every placed mirror, never the unplaced one.
  CHECK(tier_of(mirrors, M::nearest, 30000, berlin) ==
        std::vector<bool>{true, true, true, true, false});
  // A client with a country but no coordinates falls back to the country rule.
  Place german;
  german.country = to_code("DE");
  german.continent = to_code("EU");
  CHECK(tier_of(mirrors, M::nearest, 0, german) ==
        std::vector<bool>{false, false, true, false, false});
}

TEST_CASE("country: the client's country, else its continent, else everyone") {
  const std::vector<Place> mirrors = {kNewYork, kParis, kFrankfurt, kTokyo};
  using M = zones::GeoMode;
  CHECK(tier_of(mirrors, M::country, 0, Place::at(0, 0, to_code("DE"), to_code("EU"))) ==
        std::vector<bool>{false, false, true, false});
  CHECK(tier_of(mirrors, M::country, 0, Place::at(0, 0, to_code("IT"), to_code("EU"))) ==
        std::vector<bool>{false, true, true, false});
  CHECK(tier_of(mirrors, M::country, 0, Place::at(0, 0, to_code("BR"), to_code("SA"))) ==
        std::vector<bool>{true, true, true, true});
  // Nothing known about the client: no tier, the ordinary answer.
  bool tier[kMaxGeoCandidates] = {};
  CHECK(first_tier(mirrors, M::country, Margin{}, Place{},
                   std::span<bool>(tier, kMaxGeoCandidates)) == 0);
}

TEST_CASE("nearest answers draw the first tier by weight, then fill by distance") {
  const std::vector<Place> mirrors = {kTokyo, kParis, kFrankfurt, kNewYork, Place{}};
  const std::vector<uint32_t> weights = {1, 1, 3, 1, 1};
  const Place berlin = Place::at(52.52, 13.40);
  Rng rng(7);
  std::array<unsigned, 5> first{};
  constexpr unsigned kDraws = 20000;
  for (unsigned i = 0; i < kDraws; ++i) {
    std::array<uint32_t, 5> picked{};
    const size_t n = pick_for_client(weights, mirrors, zones::GeoMode::nearest, Margin::of_km(700),
                                     berlin, rng, picked);
    REQUIRE(n == 5);
    ++first[picked[0]];
    // Paris and Frankfurt first in some order, then New York, Tokyo, the unplaced one.
    CHECK(((picked[0] == 1 && picked[1] == 2) || (picked[0] == 2 && picked[1] == 1)));
    CHECK(picked[2] == 3);
    CHECK(picked[3] == 0);
    CHECK(picked[4] == 4);
  }
  CHECK(first[2] / double(kDraws) == doctest::Approx(0.75).epsilon(0.03));
  CHECK(first[1] / double(kDraws) == doctest::Approx(0.25).epsilon(0.03));
  // Country answers are never filled from outside the tier.
  std::array<uint32_t, 5> picked{};
  const std::vector<Place> placed = {kTokyo, kParis, kFrankfurt, kNewYork, kNewYork};
  CHECK(pick_for_client(weights, placed, zones::GeoMode::country, Margin{},
                        Place::at(0, 0, to_code("US"), to_code("NA")), rng, picked) == 2);
}
