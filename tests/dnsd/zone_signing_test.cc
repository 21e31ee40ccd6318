// Signing in the snapshot builder (dnsd/snapshot/zone_signing.hh): when a
// signed zone is shared and when it is signed again, what a health change
// costs, and that the SOA and pool signatures verify with the zone's key.
#include "dnsd/snapshot/zone_signing.hh"

#include <doctest/doctest.h>

#include <ctime>
#include <memory>
#include <string>
#include <vector>

#include "dnsd/snapshot/snapshot.hh"
#include "dnsd/wire/wire.hh"
#include "temp_dir.hh"
#include "tests/dnsd/zone_builders.hh"

namespace mirrorpool::dnsd {
namespace {

using test::nm;
using test::rec;
using test::u32_bytes;

zones::Model signed_model() {
  zones::Zone z;
  z.origin = nm("example.org.");
  z.file = "test";
  z.load_id = 1;
  z.records = {
      rec("example.org.", kTypeSoa, 3600,
          nm("ns1.example.org.").wire() + nm("hostmaster.example.org.").wire() + u32_bytes(1) +
              u32_bytes(7200) + u32_bytes(900) + u32_bytes(1209600) + u32_bytes(300)),
      rec("example.org.", kTypeNs, 3600, nm("ns1.example.org.").wire()),
      rec("ns1.example.org.", kTypeA, 3600, std::string("\xc0\x00\x02\x01", 4)),
  };
  zones::Model model;
  model.zones = {std::make_shared<const zones::Zone>(std::move(z))};
  zones::PoolDef pool;
  pool.name = nm("dl.example.org.");
  pool.max_answers = 2;
  for (int i = 1; i <= 6; ++i) {
    zones::MirrorDef m;
    m.id = "m" + std::to_string(i);
    m.weight = static_cast<uint32_t>(i);
    m.addresses.push_back(*zones::Address::parse("192.0.2." + std::to_string(100 + i)));
    pool.mirrors.push_back(std::move(m));
  }
  model.pools = {std::move(pool)};
  return model;
}

// The signed data of an RRSIG over one record (RFC 4034 3.1.8.1).
std::string signed_data(std::string_view rrsig_rdata, std::string_view owner, uint16_t type,
                        uint32_t ttl, std::string_view rdata) {
  // The RRSIG RDATA up to its signature: 18 fixed bytes and the signer.
  const auto signer = nm("example.org.").wire();
  std::string data(rrsig_rdata.substr(0, 18 + signer.size()));
  data.append(owner);
  put16(data, type);
  put16(data, kClassIn);
  put32(data, ttl);
  put16(data, static_cast<uint16_t>(rdata.size()));
  data.append(rdata);
  return data;
}

TEST_CASE("a signed zone is shared while its signatures are fresh and signed again after") {
  TempDir dir;
  std::string error;
  const dnssec::KeyFiles files(dir.path() + "/keys", nm("example.org."));
  const auto key = files.create(dnssec::Algorithm::ecdsap256sha256, {}, -1, -1, error);
  REQUIRE_MESSAGE(key, error);
  auto signing = std::make_shared<ZoneSigning>();
  signing->apex = nm("example.org.").wire();
  signing->config.enabled = true;
  signing->config.signature_validity_s = 7200;
  signing->published = signing->signing = signing->announced = {key};
  signing->generation = 1;
  SnapshotOptions options;
  options.signings = std::make_shared<ZoneSignings>(ZoneSignings{{signing->apex, signing}});
  const zones::Model model = signed_model();

  const int64_t now = std::time(nullptr);
  const auto first = build_snapshot(model, {}, nullptr, options);
  const EncodedZone& zone = first->zone(0);
  REQUIRE(zone.is_signed());
  // An hour back for slow clocks, the validity ahead.
  CHECK(std::abs(static_cast<int64_t>(zone.sig_inception) - (now - 3600)) <= 5);
  CHECK(std::abs(static_cast<int64_t>(zone.sig_expiration) - (now + 7200)) <= 5);
  // Made again once half the validity has passed, well before it ends.
  CHECK(signatures_fresh(zone, *signing, now + 3600 - 60));
  CHECK_FALSE(signatures_fresh(zone, *signing, now + 3600 + 60));

  SUBCASE("the SOA's and a pool set's RRSIGs verify with the key") {
    const ZoneSoa& soa = first->soa(0);
    REQUIRE(soa.rrsig.size() > kRrFixedSize);
    const std::string_view rrsig = std::string_view(soa.rrsig).substr(kRrFixedSize);
    const std::string_view signature = rrsig.substr(18 + signing->apex.size());
    CHECK(key->verify(signed_data(rrsig, signing->apex, kTypeSoa, 3600,
                                  std::string_view(soa.record).substr(kRrFixedSize)),
                      signature));
    const EncodedFamily& v4 = first->pools()[0].v4;
    // Six addresses, two per answer: sets drawn with the weights.
    CHECK(v4.plain_variants > 1);
    CHECK(v4.variants.size() == v4.plain_variants);
  }

  SUBCASE("fresh: the next build shares it and signs nothing new") {
    const auto second = build_snapshot(model, {}, first.get(), options);
    CHECK(&second->zone(0) == &zone);
    const uint64_t made = signing->stats->signatures;
    const auto third = build_snapshot(model, {}, second.get(), options);
    CHECK(signing->stats->signatures == made);
  }

  SUBCASE("a health change signs only the sets that changed") {
    const uint64_t made = signing->stats->signatures;
    std::map<health::TargetKey, health::TargetHealth> targets;
    targets[{"dl.example.org.", "m6", "192.0.2.106"}].up = false;
    const auto down = build_snapshot(model, health::HealthView(targets), first.get(), options);
    CHECK(&down->zone(0) == &zone);
    const uint64_t after_down = signing->stats->signatures;
    CHECK(after_down > made);
    CHECK(after_down - made <= 1 + signing->config.variants);
    // Back up: every set was signed before, so none is signed again.
    const auto up = build_snapshot(model, {}, down.get(), options);
    CHECK(signing->stats->signatures == after_down);
    CHECK(up->pools()[0].v4.sigs == first->pools()[0].v4.sigs);
  }

  SUBCASE("new keys (a rollover step): signed again") {
    auto next = std::make_shared<ZoneSigning>(*signing);
    next->generation = 2;
    next->cache = std::make_shared<SignatureCache>();
    options.signings = std::make_shared<ZoneSignings>(ZoneSignings{{next->apex, next}});
    const auto again = build_snapshot(model, {}, first.get(), options);
    CHECK(&again->zone(0) != &zone);
    CHECK(again->zone(0).signing_generation == 2);
    // The unsigned encoding under it is the same.
    CHECK(again->zone(0).source == zone.source);
  }
}

}  // namespace
}  // namespace mirrorpool::dnsd
