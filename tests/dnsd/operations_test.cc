// Operations without a daemon: what each control command decides, what it
// persists (state.json and the journal) and the Change it hands over, with no
// publisher or prober behind it (operations_harness.hh serves the changes).
#include <sys/resource.h>

#include <csignal>
#include <filesystem>
#include <set>
#include <string>
#include <vector>

#include <doctest/doctest.h>
#include <nlohmann/json.hpp>

#include "dnsd/control/operations.hh"
#include "dnsd/snapshot/snapshot.hh"
#include "dnsd/state/admin_state.hh"
#include "dnsd/state/journal.hh"
#include "tests/dnsd/operations_harness.hh"

namespace mirrorpool::dnsd {
namespace {

using json = nlohmann::json;
using AddressSet = std::set<std::string>;

constexpr const char* kDl = "dl.pool.example.";
constexpr const char* kTwo = "two.pool.example.";

std::string request_line(const std::string& command, const json& args) {
  return json{{"version", 1}, {"command", command}, {"args", args}}.dump();
}

json request(test::OperationsHarness& harness, const std::string& command, const json& args) {
  const json reply = harness.request(request_line(command, args));
  CAPTURE(reply.dump());
  REQUIRE(reply.is_object());
  return reply;
}

// The result of a command that must succeed.
json ok(test::OperationsHarness& harness, const std::string& command, const json& args) {
  const json reply = request(harness, command, args);
  CAPTURE(reply.dump());
  REQUIRE(reply["ok"] == true);
  return reply["result"];
}

std::string error(test::OperationsHarness& harness, const std::string& command, const json& args) {
  const json reply = request(harness, command, args);
  CAPTURE(reply.dump());
  REQUIRE(reply["ok"] == false);
  return reply["error"].get<std::string>();
}

// What `snapshot` answers for `pool`, one family ("A" or "AAAA").
AddressSet served(const Snapshot& snapshot, const std::string& pool, const std::string& family) {
  for (const ServedPool& p : served_pools(snapshot)) {
    if (p.name == pool) {
      const auto& addresses = family == "A" ? p.v4.addresses : p.v6.addresses;
      return {addresses.begin(), addresses.end()};
    }
  }
  return {};
}

AddressSet served(const test::OperationsHarness& harness, const std::string& pool,
                  const std::string& family = "A") {
  return served(*harness.served().snapshot, pool, family);
}

AdminState saved_state(const test::OperationsHarness& harness) {
  AdminState state;
  std::string why;
  const LoadStatus status = load_admin_state(harness.state_dir(), state, why);
  CHECK_MESSAGE(status != LoadStatus::corrupt, why);
  return state;
}

std::vector<JournalEntry> journal(const test::OperationsHarness& harness) {
  std::vector<JournalEntry> entries;
  std::vector<std::string> warnings;
  std::string why;
  CHECK_MESSAGE(Journal::read_all(harness.state_dir() + "/journal.log", {}, entries, warnings, why),
                why);
  return entries;
}

const zones::MirrorDef* mirror_in(const zones::Model& model, const std::string& pool,
                                  const std::string& id) {
  for (const zones::PoolDef& p : model.pools) {
    if (p.name.to_text() != pool) continue;
    for (const zones::MirrorDef& m : p.mirrors) {
      if (m.id == id) return &m;
    }
  }
  return nullptr;
}

std::set<health::TargetKey> keys(const std::vector<health::Target>& targets) {
  std::set<health::TargetKey> out;
  for (const health::Target& t : targets) out.insert(t.key);
  return out;
}

// Nothing was handed over, persisted or published.
void unchanged(const test::OperationsHarness& harness,
               const std::shared_ptr<const Snapshot>& snapshot, const AdminState& state,
               size_t journal_lines) {
  CHECK(harness.changes().empty());
  CHECK(harness.served().snapshot == snapshot);
  CHECK(saved_state(harness) == state);
  CHECK(journal(harness).size() == journal_lines);
}

TEST_CASE("a drain is decided, persisted and handed over with the snapshot it checked") {
  test::OperationsHarness harness;
  const auto before = harness.served().snapshot;
  REQUIRE(before != nullptr);
  CHECK(served(harness, kDl) == AddressSet{"192.0.2.1", "192.0.2.2", "192.0.2.3"});

  const json result =
      ok(harness, "drain", {{"mirror", "m3"}, {"pool", "dl.pool.example"}, {"note", "disk swap"}});
  CHECK(result["message"] == "drained m3 in dl.pool.example.");
  CHECK(result["dry_run"] == false);
  CHECK(result["before"]["A"] == json{"192.0.2.1", "192.0.2.2", "192.0.2.3"});
  CHECK(result["after"]["A"] == json{"192.0.2.1", "192.0.2.2"});
  CHECK(result["after"]["AAAA"] == json{"2001:db8::2"});

  // One change: the drained model, its probe targets (a drained mirror is
  // still probed) and the snapshot the refusal check was made on, built on
  // the one served then, so that it is published without being built again.
  REQUIRE(harness.changes().size() == 1);
  const Change& change = harness.changes().front();
  REQUIRE(change.model != nullptr);
  const zones::MirrorDef* m3 = mirror_in(*change.model, kDl, "m3");
  REQUIRE(m3 != nullptr);
  CHECK(m3->drained);
  REQUIRE(change.targets.has_value());
  CHECK(keys(*change.targets).contains({kDl, "m3", "192.0.2.3"}));
  REQUIRE(change.built != nullptr);
  CHECK(change.built_on == before);
  CHECK(harness.served().snapshot == change.built);
  CHECK(served(harness, kDl) == AddressSet{"192.0.2.1", "192.0.2.2"});

  const AdminState state = saved_state(harness);
  const auto o = state.mirrors.find({kDl, "m3"});
  REQUIRE(o != state.mirrors.end());
  CHECK(o->second.drained);
  CHECK(o->second.note == "disk swap");
  const auto entries = journal(harness);
  REQUIRE(entries.size() == 1);
  CHECK(entries[0].kind == JournalKind::drain);
  CHECK(entries[0].pool == kDl);
  CHECK(entries[0].mirror == "m3");
  CHECK(entries[0].reason == "disk swap");

  // Status reads what is served, from the value handed to it.
  const json status = harness.ops().status(harness.served());
  CHECK(status["pools"][0]["mirrors"][2]["id"] == "m3");
  CHECK(status["pools"][0]["mirrors"][2]["state"] == "drained");

  CHECK(error(harness, "drain", {{"mirror", "m3"}, {"pool", "dl.pool.example"}, {"note", ""}}) ==
        "m3 is already drained");
  CHECK(harness.changes().size() == 1);

  ok(harness, "undrain", {{"mirror", "m3"}, {"pool", "dl.pool.example"}});
  REQUIRE(harness.changes().size() == 2);
  CHECK_FALSE(mirror_in(*harness.changes().back().model, kDl, "m3")->drained);
  CHECK(served(harness, kDl) == AddressSet{"192.0.2.1", "192.0.2.2", "192.0.2.3"});
  // Nothing overridden any more: the override is gone, not kept undrained.
  CHECK_FALSE(saved_state(harness).mirrors.contains({kDl, "m3"}));
  CHECK(journal(harness).back().kind == JournalKind::undrain);
  CHECK(error(harness, "undrain", {{"mirror", "m3"}, {"pool", "dl.pool.example"}}) ==
        "m3 is not drained");
}

TEST_CASE("set-weight: weight 0 disables the mirror, which stays probed") {
  test::OperationsHarness harness;
  const json result =
      ok(harness, "set-weight",
         {{"mirror", "m3"}, {"pool", "dl.pool.example"}, {"weight", 0}, {"note", ""}});
  CHECK(result["message"] == "weight of m3 in dl.pool.example. set to 0");
  REQUIRE(harness.changes().size() == 1);
  const Change& change = harness.changes().front();
  CHECK(mirror_in(*change.model, kDl, "m3")->weight == 0);
  REQUIRE(change.targets.has_value());
  CHECK(keys(*change.targets).contains({kDl, "m3", "192.0.2.3"}));
  CHECK(served(harness, kDl) == AddressSet{"192.0.2.1", "192.0.2.2"});
  CHECK(saved_state(harness).mirrors.at({kDl, "m3"}).weight == 0U);
  CHECK(journal(harness).back().what == "weight 1→0");
}

TEST_CASE("add and remove: new addresses wait for their first probes") {
  test::OperationsHarness harness;
  const json result = ok(harness, "add",
                         {{"pool", "dl.pool.example"},
                          {"id", "m9"},
                          {"addresses", {"192.0.2.9"}},
                          {"weight", 2},
                          {"note", "new sponsor"}});
  CHECK(result["message"] == "added m9 to dl.pool.example.");
  // Not answered before the prober has judged it.
  CHECK_FALSE(result["after"]["A"].contains("192.0.2.9"));
  REQUIRE(harness.changes().size() == 1);
  const Change& added = harness.changes().front();
  REQUIRE(added.targets.has_value());
  CHECK(keys(*added.targets).contains({kDl, "m9", "192.0.2.9"}));
  CHECK(mirror_in(*added.model, kDl, "m9")->weight == 2);
  CHECK(served(harness, kDl) == AddressSet{"192.0.2.1", "192.0.2.2", "192.0.2.3"});
  REQUIRE(saved_state(harness).added.size() == 1);
  CHECK(saved_state(harness).added[0].id == "m9");
  CHECK(journal(harness).back().kind == JournalKind::add);

  CHECK(error(harness, "add",
              {{"pool", "dl.pool.example"},
               {"id", "m9"},
               {"addresses", {"192.0.2.10"}},
               {"weight", 1},
               {"note", ""}}) == "pool dl.pool.example. already has a mirror 'm9'");
  CHECK(error(harness, "add",
              {{"pool", "nosuch.example"},
               {"id", "m8"},
               {"addresses", {"192.0.2.10"}},
               {"weight", 1},
               {"note", ""}}) == "no pool 'nosuch.example'");

  // A mirror added at run time is forgotten; one of the file is remembered
  // as removed.
  ok(harness, "remove", {{"mirror", "m9"}, {"note", ""}});
  CHECK(saved_state(harness).added.empty());
  CHECK(saved_state(harness).removed.empty());
  ok(harness, "remove", {{"mirror", "m3"}, {"note", "gone"}});
  CHECK(saved_state(harness).removed == std::set<MirrorKey>{{kDl, "m3"}});
  REQUIRE(harness.changes().size() == 3);
  CHECK(mirror_in(*harness.changes().back().model, kDl, "m3") == nullptr);
  CHECK_FALSE(keys(*harness.changes().back().targets).contains({kDl, "m3", "192.0.2.3"}));
  CHECK(served(harness, kDl) == AddressSet{"192.0.2.1", "192.0.2.2"});
  CHECK(journal(harness).back().kind == JournalKind::remove);
  // Its id again: the new mirror takes the removed one's place, the removal
  // stays, and nothing is skipped (no warning, now or at later changes).
  const json again = ok(harness, "add",
                        {{"pool", "dl.pool.example"},
                         {"id", "m3"},
                         {"addresses", {"192.0.2.33"}},
                         {"weight", 1},
                         {"note", ""}});
  CHECK(again["message"] ==
        "added m3 to dl.pool.example. in place of the config file's mirror of that id, removed "
        "at run time");
  CHECK(again["warnings"].empty());
  CHECK(saved_state(harness).removed == std::set<MirrorKey>{{kDl, "m3"}});
  CHECK(mirror_in(*harness.changes().back().model, kDl, "m3")->addresses.at(0).text ==
        "192.0.2.33");
  CHECK(ok(harness, "drain",
           {{"mirror", "m3"}, {"pool", "dl.pool.example"}, {"note", "x"}})["warnings"]
            .empty());
  // An address of another mirror: that mirror is named.
  CHECK(error(harness, "add",
              {{"pool", "dl.pool.example"},
               {"id", "m8"},
               {"addresses", {"192.0.2.2"}},
               {"weight", 1},
               {"note", ""}}) ==
        "cannot add m8 to dl.pool.example.: address 192.0.2.2 already belongs to mirror 'm2'");
}

TEST_CASE("--dry-run shows the answers after the change and changes nothing") {
  test::OperationsHarness harness;
  const auto snapshot = harness.served().snapshot;
  const AdminState state = saved_state(harness);
  const json result = ok(harness, "drain",
                         {{"mirror", "m3"},
                          {"pool", "dl.pool.example"},
                          {"note", "x"},
                          {"dry_run", true},
                          {"force", false}});
  CHECK(result["dry_run"] == true);
  CHECK(result["before"]["A"] == json{"192.0.2.1", "192.0.2.2", "192.0.2.3"});
  CHECK(result["after"]["A"] == json{"192.0.2.1", "192.0.2.2"});
  unchanged(harness, snapshot, state, 0);
}

TEST_CASE("draining the last mirror of a pool is refused unless forced") {
  test::OperationsHarness harness;
  const auto snapshot = harness.served().snapshot;
  const AdminState state = saved_state(harness);
  CHECK(
      error(harness, "drain", {{"mirror", "m1"}, {"pool", "two.pool.example"}, {"note", ""}}) ==
      "refused: pool two.pool.example. would have 0 healthy A address(es), below min_healthy = 1; "
      "use --force to do it anyway");
  unchanged(harness, snapshot, state, 0);

  // The preview of a forced drain says what when_all_down then serves.
  const json preview = ok(harness, "drain",
                          {{"mirror", "m1"},
                           {"pool", "two.pool.example"},
                           {"note", ""},
                           {"dry_run", true},
                           {"force", true}});
  unchanged(harness, snapshot, state, 0);
  const json result = ok(harness, "drain",
                         {{"mirror", "m1"},
                          {"pool", "two.pool.example"},
                          {"note", "forced"},
                          {"dry_run", false},
                          {"force", true}});
  CHECK(result["after"] == preview["after"]);
  REQUIRE(harness.changes().size() == 1);
  CHECK(mirror_in(*harness.changes().front().model, kTwo, "m1")->drained);
  CHECK(saved_state(harness).mirrors.at({kTwo, "m1"}).drained);
}

TEST_CASE("a change the journal cannot record changes nothing") {
  test::OperationsHarness harness;
  const auto snapshot = harness.served().snapshot;
  const AdminState state = saved_state(harness);
  CHECK(harness.ops().journal_failures() == 0);

  SUBCASE("the journal line cannot be written") {
    // As on a full disk: the journal may not grow (writes fail with EFBIG).
    rlimit was{};
    REQUIRE(getrlimit(RLIMIT_FSIZE, &was) == 0);
    const auto old_handler = std::signal(SIGXFSZ, SIG_IGN);
    rlimit none = was;
    none.rlim_cur = std::filesystem::file_size(harness.state_dir() + "/journal.log");
    REQUIRE(setrlimit(RLIMIT_FSIZE, &none) == 0);
    const std::string why =
        error(harness, "drain", {{"mirror", "m3"}, {"pool", "dl.pool.example"}, {"note", ""}});
    REQUIRE(setrlimit(RLIMIT_FSIZE, &was) == 0);
    std::signal(SIGXFSZ, old_handler);
    CHECK(why.starts_with("not changed: journal: "));
    CHECK(harness.ops().journal_failures() == 1);
  }
  SUBCASE("the state file cannot be saved: the journal line is taken back") {
    const std::string path = admin_state_path(harness.state_dir());
    std::filesystem::remove(path);
    std::filesystem::create_directories(path + "/in-the-way");
    const std::string why =
        error(harness, "drain", {{"mirror", "m3"}, {"pool", "dl.pool.example"}, {"note", ""}});
    CHECK(why.starts_with("not changed: "));
    CHECK(harness.changes().empty());
    CHECK(harness.served().snapshot == snapshot);
    CHECK(journal(harness).empty());
    std::filesystem::remove_all(path);
    std::string save_error;
    CHECK_MESSAGE(save_admin_state(harness.state_dir(), state, save_error), save_error);
  }
  unchanged(harness, snapshot, state, 0);
  // The change is still possible once the disk has room.
  ok(harness, "drain", {{"mirror", "m3"}, {"pool", "dl.pool.example"}, {"note", ""}});
  CHECK(harness.changes().size() == 1);
}

TEST_CASE("reload: the file's config again, with the operator's changes on top") {
  test::OperationsHarness harness;
  CHECK(error(harness, "reload", json::object()) ==
        "reload failed with 1 error(s); still serving the previous data");

  ok(harness, "drain", {{"mirror", "m3"}, {"pool", "dl.pool.example"}, {"note", ""}});
  bool reloaded = false;
  harness.reload = [&](zones::Diagnostics&) {
    // What the daemon does with a config that loaded: the change it returns
    // is served as it is, with every probe target.
    const Change change =
        harness.ops().set_file_config(harness.file_config(), harness.file_model());
    REQUIRE(change.model != nullptr);
    CHECK(mirror_in(*change.model, kDl, "m3")->drained);
    REQUIRE(change.targets.has_value());
    CHECK(change.targets->size() == 5);
    CHECK(change.built == nullptr);
    harness.serve(change);
    reloaded = true;
    return true;
  };
  const json result = ok(harness, "reload", json::object());
  CHECK(reloaded);
  CHECK(result["message"].get<std::string>().starts_with("reloaded "));
  CHECK(served(harness, kDl) == AddressSet{"192.0.2.1", "192.0.2.2"});

  harness.reload = [](zones::Diagnostics& diags) {
    diags.push_back({{}, "pool.example.zone:3:1: error: broken"});
    diags.push_back({{}, "pool.example.zone:4:1: error: broken too"});
    return false;
  };
  const json reply = request(harness, "reload", json::object());
  CHECK(reply["ok"] == false);
  CHECK(reply["error"] == "reload failed with 2 error(s); still serving the previous data");
  CHECK(reply["details"].size() == 2);
}

TEST_CASE("probe transitions go to the journal; reliability weights follow as a model") {
  constexpr const char* kReliability = R"(
[server]
listen = ["127.0.0.1:5353"]

[[zone]]
origin = "pool.example."
file = "pool.example.zone"

[[pool]]
name = "dl.pool.example."
weight_policy = "reliability"
[pool.check]
type = "tcp"
port = 9
[[pool.mirror]]
id = "m1"
addresses = ["192.0.2.1"]
[[pool.mirror]]
id = "m2"
addresses = ["192.0.2.2"]
)";
  test::OperationsHarness harness(kReliability);
  // New mirrors (first seen now) weigh 2.
  CHECK(harness.ops().effective().pools[0].def.mirrors[0].weight == 2);
  const auto transition = [](bool up) {
    return health::Transition{{kDl, "m1", "192.0.2.1"},
                              up,
                              up ? "ok" : "connect: refused",
                              std::chrono::system_clock::now()};
  };
  // A failure lowers m1's weight to 1 at once: the change carries the model,
  // and never probe targets (the prober that reported it is not called back).
  Change down = harness.ops().record_transitions({transition(false)});
  REQUIRE(down.model != nullptr);
  CHECK(mirror_in(*down.model, kDl, "m1")->weight == 1);
  CHECK(mirror_in(*down.model, kDl, "m2")->weight == 2);
  CHECK_FALSE(down.targets.has_value());
  CHECK(down.built == nullptr);
  // Recovery does not raise it, and a second failure cannot lower it more:
  // nothing but health to publish.
  CHECK(harness.ops().record_transitions({transition(true)}).model == nullptr);
  CHECK(harness.ops().record_transitions({transition(false)}).model == nullptr);
  CHECK(harness.ops().record_transitions({}).model == nullptr);
  const auto entries = journal(harness);
  REQUIRE(entries.size() == 3);
  CHECK(entries[0].kind == JournalKind::health);
  CHECK(entries[0].what == kHealthDown);
  CHECK(entries[0].reason == "connect: refused");
  CHECK(entries[1].what == kHealthUp);
}

TEST_CASE("with a static weight policy a transition changes only the journal") {
  test::OperationsHarness harness;
  const Change change = harness.ops().record_transitions(
      {{{kDl, "m2", "2001:db8::2"}, false, "timeout", std::chrono::system_clock::now()}});
  CHECK(change.model == nullptr);
  CHECK_FALSE(change.targets.has_value());
  REQUIRE(journal(harness).size() == 1);
  CHECK(journal(harness)[0].address == "2001:db8::2");
}

}  // namespace
}  // namespace mirrorpool::dnsd
