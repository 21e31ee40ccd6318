// Unit tests of apply_admin (removed, added, weights, drains, reliability
// weights, warnings for stale state) and of parse_mirror_overrides.
#include <string>
#include <vector>

#include <doctest/doctest.h>
#include <nlohmann/json.hpp>

#include "dnsd/state/effective_config.hh"

namespace mirrorpool::dnsd {
namespace {

using health::CheckType;
using std::chrono::days;

const std::string kPool = "dl.pool.example.";
const TimePoint kNow = *parse_utc("2026-12-01T12:00:00Z");

std::string joined(const zones::Diagnostics& diags) {
  std::string out;
  for (const auto& d : diags) out += d.to_string() + "\n";
  return out;
}

Config parse(std::string_view pool_extra) {
  const std::string text =
      "[server]\nlisten = [\"127.0.0.1:5353\"]\n[[zone]]\norigin = \"pool.example.\"\n"
      "file = \"pool.example.zone\"\n[[pool]]\nname = \"dl.pool.example.\"\n" +
      std::string(pool_extra) + R"(
[[pool.mirror]]
id = "mirror-1"
addresses = ["192.0.2.1"]
weight = 5
[[pool.mirror]]
id = "mirror-2"
addresses = ["192.0.2.2", "2001:db8::2"]
weight = 5
capacity = "huge"
[[pool.mirror]]
id = "mirror-3"
addresses = ["192.0.2.3"]
weight = 0
)";
  zones::Diagnostics diags;
  auto config = parse_config(text, "test.toml", diags);
  INFO(joined(diags));
  REQUIRE(config);
  return *config;
}

const zones::MirrorDef* find(const PoolConfig& pool, std::string_view id) {
  for (const auto& m : pool.def.mirrors) {
    if (m.id == id) return &m;
  }
  return nullptr;
}

AddedMirror added(std::string id, std::vector<std::string> addresses,
                  nlohmann::json overrides = nlohmann::json::object()) {
  AddedMirror a;
  a.pool = kPool;
  a.id = std::move(id);
  a.addresses = std::move(addresses);
  a.weight = 3;
  a.check_overrides = std::move(overrides);
  a.who = "uid 0 (root)";
  a.when = kNow - days(1);
  return a;
}

JournalEntry down(std::string mirror, days ago) {
  return JournalEntry{
      kNow - ago,  std::string(kWhoHealth),  JournalKind::health, kPool, std::move(mirror),
      "192.0.2.1", std::string(kHealthDown), "http 503"};
}

TEST_CASE("no state: the config file as it is") {
  const Config file = parse("");
  std::vector<std::string> warnings;
  const Config effective = apply_admin(file, AdminState{}, {}, kNow, warnings);
  CHECK(warnings.empty());
  REQUIRE(effective.pools.at(0).def.mirrors.size() == 3);
  CHECK(effective.pools.at(0).def.mirrors[0].weight == 5);
  CHECK_FALSE(effective.pools.at(0).def.mirrors[0].drained);
}

TEST_CASE("removals, additions, weights and drains are applied") {
  const Config file = parse("[pool.check]\ntype = \"https\"\n");
  AdminState state;
  state.removed.insert({kPool, "mirror-3"});
  state.added.push_back(added("mirror-9", {"192.0.2.9"}, {{"path", "/t/"}, {"type", "http"}}));
  state.mirrors[{kPool, "mirror-1"}].drained = true;
  state.mirrors[{kPool, "mirror-2"}].weight = 1;
  state.mirrors[{kPool, "mirror-9"}].weight = 7;
  std::vector<std::string> warnings;
  const Config effective = apply_admin(file, state, {}, kNow, warnings);
  CHECK(warnings.empty());
  const PoolConfig& pool = effective.pools.at(0);
  REQUIRE(pool.def.mirrors.size() == 3);
  REQUIRE(pool.mirror_checks.size() == 3);
  CHECK_FALSE(find(pool, "mirror-3"));
  CHECK(find(pool, "mirror-1")->drained);
  CHECK(find(pool, "mirror-1")->weight == 5);
  CHECK(find(pool, "mirror-2")->weight == 1);
  CHECK_FALSE(find(pool, "mirror-2")->drained);
  CHECK(pool.def.mirrors[2].id == "mirror-9");
  CHECK(pool.def.mirrors[2].weight == 7);
  CHECK(pool.def.mirrors[2].addresses.at(0).text == "192.0.2.9");
  CHECK(pool.mirror_checks[2].type == CheckType::http);
  CHECK(pool.mirror_checks[2].port == 80);
  CHECK(pool.mirror_checks[2].path == "/t/");
  CHECK(pool.mirror_checks[0].port == 443);
  // The config file itself is untouched.
  CHECK(file.pools.at(0).def.mirrors.size() == 3);
}

TEST_CASE("state that no longer fits the config is skipped with a warning") {
  const Config file = parse("");
  AdminState state;
  state.mirrors[{kPool, "gone"}].drained = true;
  state.mirrors[{"other.example.", "mirror-1"}].weight = 2;
  state.added.push_back(added("mirror-1", {"192.0.2.50"}));
  state.added.push_back(added("mirror-8", {"192.0.2.2"}));
  state.added.push_back(added("mirror-7", {"not-an-address"}));
  state.added.push_back(added("mirror-6", {"192.0.2.60"}, {{"interval", "1s"}, {"timeout", "5s"}}));
  state.added.push_back(added("mirror-5", {"192.0.2.70"}, {{"port", 8080}}));
  AddedMirror elsewhere = added("mirror-4", {"192.0.2.80"});
  elsewhere.pool = "other.example.";
  state.added.push_back(elsewhere);
  std::vector<std::string> warnings;
  const Config effective = apply_admin(file, state, {}, kNow, warnings);
  const PoolConfig& pool = effective.pools.at(0);
  REQUIRE(pool.def.mirrors.size() == 4);
  CHECK(pool.def.mirrors[3].id == "mirror-5");
  CHECK(pool.mirror_checks[3].port == 8080);
  std::string all;
  for (const auto& w : warnings) all += w + "\n";
  INFO(all);
  CHECK(warnings.size() == 7);
  for (std::string_view expected : {
           "state.json: mirror 'mirror-1' added to pool 'dl.pool.example.' by uid 0 (root) at "
           "2026-11-30T12:00:00Z is ignored: the config file now defines a mirror with that id",
           "mirror 'mirror-8' added to pool 'dl.pool.example.' by uid 0 (root) at "
           "2026-11-30T12:00:00Z is ignored: address 192.0.2.2 already belongs to mirror "
           "'mirror-2'",
           "'mirror-7' added to pool 'dl.pool.example.' by uid 0 (root) at 2026-11-30T12:00:00Z "
           "is ignored: \"not-an-address\" is not an IPv4 or IPv6 address",
           "is ignored: its check overrides no longer validate: 'timeout' (5s) must be shorter "
           "than 'interval' (1s)",
           "state.json: mirror 'mirror-4' added to pool 'other.example.' is ignored: no such "
           "pool in the config",
           "state.json: drain of mirror 'gone' in pool 'dl.pool.example.' is ignored: no such "
           "mirror",
           "state.json: weight 2 of mirror 'mirror-1' in pool 'other.example.' is ignored",
       }) {
    CHECK(all.find(expected) != std::string::npos);
  }
}

TEST_CASE("reliability weights come from the journal; the operator's weight wins") {
  const Config file = parse("weight_policy = \"reliability\"\n");
  AdminState state;
  state.first_seen[{kPool, "mirror-1"}] = kNow - days(1000);
  state.first_seen[{kPool, "mirror-2"}] = kNow - days(1000);
  state.added.push_back(added("mirror-9", {"192.0.2.9"}));
  const std::vector<JournalEntry> journal = {down("mirror-1", days(30))};
  std::vector<std::string> warnings;
  Config effective = apply_admin(file, state, journal, kNow, warnings);
  CHECK(warnings.empty());
  const PoolConfig* pool = &effective.pools.at(0);
  CHECK(find(*pool, "mirror-1")->weight == 1);
  CHECK(find(*pool, "mirror-2")->weight == 10);  // huge, no failure
  CHECK(find(*pool, "mirror-3")->weight == 0);   // disabled in the config
  CHECK(find(*pool, "mirror-9")->weight == 2);   // new: never seen before

  // Without a first-seen record, the oldest journal entry dates the mirror.
  state.first_seen.erase({kPool, "mirror-1"});
  effective = apply_admin(file, state, {down("mirror-1", days(400))}, kNow, warnings);
  pool = &effective.pools.at(0);
  CHECK(find(*pool, "mirror-1")->weight == 5);

  state.mirrors[{kPool, "mirror-2"}].weight = 4;
  effective = apply_admin(file, state, journal, kNow, warnings);
  CHECK(find(effective.pools.at(0), "mirror-2")->weight == 4);
}

TEST_CASE("parse_mirror_overrides validates like a [[pool.mirror]] table") {
  const Config file = parse("[pool.check]\nport = 8000\n");
  const PoolConfig& explicit_port = file.pools.at(0);
  const Config https_file = parse("[pool.check]\ntype = \"https\"\n");
  const PoolConfig& https_pool = https_file.pools.at(0);
  zones::Diagnostics diags;

  auto spec = parse_mirror_overrides(nlohmann::json::object(), https_pool, "m", "ctl", diags);
  REQUIRE(spec);
  CHECK(spec->port == 443);
  // Switching type picks that type's default port unless [pool.check] wrote one.
  spec = parse_mirror_overrides({{"type", "http"}}, https_pool, "m", "ctl", diags);
  REQUIRE(spec);
  CHECK(spec->port == 80);
  spec = parse_mirror_overrides({{"type", "https"}}, explicit_port, "m", "ctl", diags);
  REQUIRE(spec);
  CHECK(spec->port == 8000);
  spec = parse_mirror_overrides(
      {{"host", "m.example"},
       {"expect_status", {200, 302}},
       {"freshness", {{"path", "/latest.json"}, {"reference", "https://p.example/latest.json"}}}},
      https_pool, "m", "ctl", diags);
  INFO(joined(diags));
  REQUIRE(spec);
  CHECK(spec->host == "m.example");
  CHECK(spec->expect_status == std::vector<int>{200, 302});
  CHECK(spec->freshness.path == "/latest.json");
  CHECK(diags.empty());

  struct Case {
    nlohmann::json overrides;
    std::string expected;
  };
  const Case cases[] = {
      {{{"port", 0}},
       "ctl: error: 'port' in the check overrides of mirror 'm' must be between 1 "
       "and 65535 (got 0)"},
      {{{"weight", 5}}, "ctl: error: unknown key 'weight' in the check overrides of mirror 'm'"},
      {{{"path", "tails"}}, "'path' in the check overrides of mirror 'm' must start with '/'"},
      {{{"interval", "5 s"}}, "is not a valid duration: \"5 s\""},
      {{{"timeout", "10s"}}, "'timeout' (10s) must be shorter than 'interval' (5s)"},
      {{{"type", "ftp"}}, "must be one of \"tcp\", \"http\", \"https\" (got \"ftp\")"},
      {{{"port", nullptr}}, "ctl: error: mirror 'm' 'port' has a value that no check key takes"},
      {{{"freshness", {{"path", "/x"}}}}, "freshness needs both 'path'"},
      {nlohmann::json::array(), "must be a JSON object of [pool.check] keys"},
  };
  for (const Case& c : cases) {
    INFO(c.overrides.dump());
    zones::Diagnostics bad;
    CHECK_FALSE(parse_mirror_overrides(c.overrides, https_pool, "m", "ctl", bad));
    const std::string out = joined(bad);
    INFO(out);
    CHECK(out.find(c.expected) != std::string::npos);
  }
}

}  // namespace
}  // namespace mirrorpool::dnsd
