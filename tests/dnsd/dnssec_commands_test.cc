// The dnssec control commands (dnssec_commands.hh) on their own: the DS and
// DNSKEY text of the RFC 6605 example key, each key state a rollover goes
// through, and status, ds, rollover and ds-seen answered through the daemon's
// real dispatch (the Operations harness) with hooks that keep keys in a
// temporary directory as SigningKeys does.
#include <fstream>
#include <memory>
#include <string>
#include <vector>

#include <doctest/doctest.h>
#include <nlohmann/json.hpp>

#include "dnsd/control/dnssec_commands.hh"
#include "temp_dir.hh"
#include "tests/dnsd/operations_harness.hh"

namespace mirrorpool::dnsd {
namespace {

using nlohmann::json;
using Keys = std::vector<std::shared_ptr<const dnssec::ZoneKey>>;

zones::Name name(std::string_view text) {
  auto n = zones::Name::from_text(text);
  REQUIRE(n);
  return *n;
}

std::shared_ptr<const dnssec::ZoneKey> make_key(const dnssec::KeyFiles& files,
                                                dnssec::KeyTiming timing) {
  std::string error;
  auto key = files.create(dnssec::Algorithm::ecdsap256sha256, timing, -1, -1, error);
  REQUIRE_MESSAGE(key, error);
  return key;
}

dnssec::KeyTiming at(int64_t t) {
  dnssec::KeyTiming timing;
  timing.created = timing.publish = timing.activate = t;
  return timing;
}

TEST_CASE("DS and DNSKEY text of the RFC 6605 example key") {
  TempDir dir;
  std::ofstream(dir.file("Kexample.net.+013+55648.private"))
      << "Private-key-format: v1.2\nAlgorithm: 13 (ECDSAP256SHA256)\n"
         "PrivateKey: GU6SnQ/Ou+xC5RumuIUIuJZteXT2z0O/ok1s38Et6mQ=\n";
  std::ofstream(dir.file("Kexample.net.+013+55648.key"))
      << "example.net. 3600 IN DNSKEY 257 3 13 "
         "GojIhhXUN/"
         "u4v54ZQqGSnyhWJwaubCvTmeexv7bR6edbkrSqQpF64cYbcB7wNcP+e+MAnLr+Wi9xMWyQLc8NAA==\n";
  Keys keys;
  std::string error;
  REQUIRE_MESSAGE(dnssec::KeyFiles(dir.path(), name("example.net.")).load(keys, error), error);
  REQUIRE(keys.size() == 1);
  CHECK(ds_text(name("example.net."), *keys[0]) ==
        "example.net. IN DS 55648 13 2 "
        "B4C8C1FE2E7477127B27115656AD6256F424625BF5C1E2770CE6D6E37DF61D17");
  CHECK(dnskey_text(name("example.net."), *keys[0]) ==
        "example.net. IN DNSKEY 257 3 13 "
        "GojIhhXUN/u4v54ZQqGSnyhWJwaubCvTmeexv7bR6edbkrSqQpF64cYbcB7wNcP+e+MAnLr+Wi9xMWyQLc8NAA==");
}

TEST_CASE("key states through a rollover") {
  TempDir dir;
  const dnssec::KeyFiles files(dir.path(), name("pool.example."));
  const int64_t t0 = 1796472000;  // 2026-12-05 12:00:00 UTC
  const auto old_key = make_key(files, at(t0));
  const std::string zone = "pool.example.";
  CHECK(key_state(*old_key, {old_key}, zone, t0 + 1).state == "active");

  // A rollover: a second live key, the newer one rolling in.
  const auto new_key = make_key(files, at(t0 + 100));
  Keys keys = {old_key, new_key};
  CHECK(key_state(*old_key, keys, zone, t0 + 101).state == "active");
  const KeyState rolling = key_state(*new_key, keys, zone, t0 + 101);
  CHECK(rolling.state == "rolling in");
  CHECK(rolling.text ==
        "rolling in: waiting for the parent's DS (mirrorpoolctl dnssec ds-seen pool.example.)");

  // ds-seen: the old key retires at t0 + 200.
  dnssec::KeyTiming retire = old_key->timing();
  retire.inactive = retire.remove = t0 + 200;
  std::string error;
  const auto retiring = files.set_timing(*old_key, retire, error);
  REQUIRE_MESSAGE(retiring, error);
  keys = {retiring, new_key};
  const KeyState r = key_state(*retiring, keys, zone, t0 + 150);
  CHECK(r.state == "retiring");
  CHECK(r.text == "retiring: stops signing and is removed at 2026-12-05T12:03:20Z");
  CHECK(key_state(*new_key, keys, zone, t0 + 150).state == "active");
  CHECK(key_state(*retiring, keys, zone, t0 + 200).state == "removed");
  CHECK(key_state(*new_key, keys, zone, t0 + 200).state == "active");

  // A key published ahead of its activation, and one not published yet.
  dnssec::KeyTiming later = at(t0 + 300);
  later.publish = t0 + 250;
  const auto pre = make_key(files, later);
  CHECK(key_state(*pre, {pre}, zone, t0 + 260).state == "published");
  CHECK(key_state(*pre, {pre}, zone, t0 + 240).state == "not yet published");
}

// Hooks over a key directory, as SigningKeys keeps one (signing_keys.cc):
// every live key published, signing and announced.
struct FakeKeys {
  explicit FakeKeys(const std::string& dir) : files(dir, name("pool.example.")) {
    keys.push_back(make_key(files, at(now)));
  }
  std::shared_ptr<const ZoneSigning> signing() const {
    auto s = std::make_shared<ZoneSigning>();
    s->config.enabled = true;
    for (const auto& key : keys) {
      if (key->timing().remove != 0 && key->timing().remove <= now) continue;
      s->published.push_back(key);
      s->signing.push_back(key);
      s->announced.push_back(key);
    }
    return s;
  }
  DnssecHooks hooks() {
    DnssecHooks h;
    h.signing = [this](const zones::Name& zone) {
      return zone == name("pool.example.") ? signing() : nullptr;
    };
    h.keys = [this](const zones::Name&) { return keys; };
    h.rollover = [this](const zones::Name&, std::string& error) {
      if (keys.size() > 1) {
        error = "under way";
        return false;
      }
      keys.push_back(make_key(files, at(now + 1)));
      return true;
    };
    h.ds_seen = [this](const zones::Name&, uint32_t ttl, std::string& error) {
      max_ttl = ttl;
      dnssec::KeyTiming t = keys[0]->timing();
      t.inactive = t.remove = now + 10;
      auto updated = files.set_timing(*keys[0], t, error);
      if (!updated) return false;
      keys[0] = updated;
      return true;
    };
    return h;
  }
  dnssec::KeyFiles files;
  Keys keys;
  int64_t now = 1796472000;
  uint32_t max_ttl = 0;
};

json call(test::OperationsHarness& harness, FakeKeys& fake, const std::string& command,
          const json& args) {
  std::string error;
  const auto parsed = parse_control_request(
      json{{"version", 1}, {"command", command}, {"args", args}}.dump(), error);
  REQUIRE_MESSAGE(parsed, error);
  return dnssec_command(*parsed, *harness.served().snapshot, fake.hooks(), fake.now + 2);
}

TEST_CASE("status, ds, rollover and ds-seen on a served snapshot") {
  test::OperationsHarness harness;
  TempDir dir;
  FakeKeys fake(dir.path());
  REQUIRE(harness.served().snapshot);

  json reply = call(harness, fake, "dnssec status", json::object());
  REQUIRE_MESSAGE(reply["ok"] == true, reply.dump());
  json zone = reply["result"]["zones"][0];
  CHECK(zone["zone"] == "pool.example.");
  CHECK(zone["algorithm"] == "ecdsap256sha256");
  CHECK(zone["denial"] == "nsec");
  CHECK(zone["signature_validity"] == "14d");
  // The harness's zone: $TTL 3600, its pool's default TTL below that.
  CHECK(zone["max_ttl_seconds"] == 3600);
  REQUIRE(zone["keys"].size() == 1);
  CHECK(zone["keys"][0]["state"] == "active");
  CHECK(zone["keys"][0]["tag"] == fake.keys[0]->tag());
  CHECK(zone["keys"][0]["files"][0] == fake.keys[0]->path() + ".key");
  CHECK(zone["keys"][0]["created"] == "2026-12-05T12:00:00Z");
  CHECK(zone["keys"][0]["inactive"].is_null());

  reply = call(harness, fake, "dnssec ds", {{"zone", "pool.example"}});
  REQUIRE_MESSAGE(reply["ok"] == true, reply.dump());
  CHECK(reply["result"]["ds"] == json::array({ds_text(name("pool.example."), *fake.keys[0])}));
  CHECK(reply["result"]["dnskey"] ==
        json::array({dnskey_text(name("pool.example."), *fake.keys[0])}));

  reply = call(harness, fake, "dnssec rollover", {{"zone", "pool.example."}});
  REQUIRE_MESSAGE(reply["ok"] == true, reply.dump());
  REQUIRE(fake.keys.size() == 2);
  CHECK(reply["result"]["new_keys"] == json::array({fake.keys[1]->tag()}));
  reply = call(harness, fake, "dnssec status", {{"zone", "pool.example."}});
  zone = reply["result"]["zones"][0];
  CHECK(zone["keys"][0]["state"] == "active");
  CHECK(zone["keys"][1]["state"] == "rolling in");
  CHECK(call(harness, fake, "dnssec ds", {{"zone", "pool.example."}})["result"]["ds"].size() == 2);
  reply = call(harness, fake, "dnssec rollover", {{"zone", "pool.example."}});
  CHECK(reply["ok"] == false);
  CHECK(reply["error"] == "under way");

  reply = call(harness, fake, "dnssec ds-seen", {{"zone", "pool.example."}});
  REQUIRE_MESSAGE(reply["ok"] == true, reply.dump());
  CHECK(fake.max_ttl == 3600);
  CHECK(reply["result"]["retiring"] ==
        json::array({{{"tag", fake.keys[0]->tag()}, {"delete", "2026-12-05T12:00:10Z"}}}));
  reply = call(harness, fake, "dnssec status", {{"zone", "pool.example."}});
  CHECK(reply["result"]["zones"][0]["keys"][0]["state"] == "retiring");

  // Zones not served, or not signed.
  reply = call(harness, fake, "dnssec ds", {{"zone", "other.example."}});
  CHECK(reply["error"] == "no zone other.example. is served here (no [[zone]] with that origin)");
  DnssecHooks unsigned_hooks = fake.hooks();
  unsigned_hooks.signing = [](const zones::Name&) { return nullptr; };
  std::string error;
  const auto status = parse_control_request(R"({"version":1,"command":"dnssec status"})", error);
  REQUIRE(status);
  reply = dnssec_command(*status, *harness.served().snapshot, unsigned_hooks, fake.now);
  CHECK(reply["error"].get<std::string>().starts_with("no zone is signed here"));
  ControlCall ds_call{Command::dnssec_ds, {}};
  ds_call.args.zone = "pool.example.";
  reply = dnssec_command(ds_call, *harness.served().snapshot, unsigned_hooks, fake.now);
  CHECK(reply["error"].get<std::string>().starts_with("zone pool.example. is not signed"));
}

}  // namespace
}  // namespace mirrorpool::dnsd
