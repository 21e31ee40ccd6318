// Unit tests of state.json: the save/load round trip, and that a flipped
// byte, a cut-off file or a foreign format is reported as corrupt.
#include <fstream>
#include <sstream>
#include <string>

#include <doctest/doctest.h>

#include "dnsd/common/atomic_file.hh"
#include "dnsd/state/admin_state.hh"
#include "temp_dir.hh"

namespace mirrorpool::dnsd {
namespace {

const std::string kPool = "dl.pool.example.";

TimePoint at(std::string_view text) {
  auto t = parse_utc(text);
  REQUIRE(t);
  return *t;
}

AdminState sample_state() {
  AdminState s;
  s.mirrors[{kPool, "mirror-1"}] =
      MirrorOverride{true, "No route to host, mailed admin", "uid 0 (root)",
                     at("2026-05-21T14:03:00Z"), std::nullopt};
  s.mirrors[{kPool, "mirror-2"}] =
      MirrorOverride{false, "", "uid 1000 (alice)", at("2026-05-22T08:00:00Z"), 2};
  AddedMirror added;
  added.pool = kPool;
  added.id = "mirror-9";
  added.addresses = {"192.0.2.99", "2001:db8::99"};
  added.weight = 5;
  added.check_overrides = {{"port", 8080}, {"path", "/tails/"}, {"expect_status", {200, 301}}};
  added.who = "uid 0 (root)";
  added.when = at("2026-06-01T00:00:00Z");
  s.added.push_back(added);
  s.removed.insert({kPool, "mirror-3"});
  s.first_seen[{kPool, "mirror-1"}] = at("2024-03-02T00:00:00Z");
  return s;
}

std::string read(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  std::stringstream buffer;
  buffer << in.rdbuf();
  return buffer.str();
}

void write(const std::string& path, const std::string& text) {
  std::ofstream(path, std::ios::binary | std::ios::trunc) << text;
}

TEST_CASE("a missing state file is a first start") {
  TempDir dir;
  AdminState state;
  std::string error;
  CHECK(load_admin_state(dir.path(), state, error) == LoadStatus::missing);
  CHECK(error.empty());
  CHECK(state == AdminState{});
}

TEST_CASE("state saved atomically loads back unchanged") {
  TempDir dir;
  const AdminState saved = sample_state();
  std::string error;
  REQUIRE(save_admin_state(dir.path(), saved, error));
  CHECK(admin_state_path(dir.path()) == dir.file("state.json"));
  // No temporary file is left beside it.
  CHECK_FALSE(std::filesystem::exists(dir.file("state.json.tmp")));
  AdminState loaded;
  REQUIRE(load_admin_state(dir.path(), loaded, error) == LoadStatus::ok);
  CHECK(loaded == saved);

  // Saving again replaces the file as a whole.
  AdminState changed = saved;
  changed.first_seen[{kPool, "mirror-2"}] = at("2025-01-01T00:00:00Z");
  changed.removed.clear();
  REQUIRE(save_admin_state(dir.path(), changed, error));
  REQUIRE(load_admin_state(dir.path(), loaded, error) == LoadStatus::ok);
  CHECK(loaded == changed);
}

TEST_CASE("the file states its format and checksum") {
  const std::string text = format_admin_state(sample_state());
  CHECK(text.starts_with("{\n  \"format\": 1,\n  \"sha256\": \""));
  AdminState parsed;
  std::string error;
  CHECK(parse_admin_state(text, parsed, error) == LoadStatus::ok);
  CHECK(parsed == sample_state());
}

TEST_CASE("a flipped byte is detected") {
  TempDir dir;
  std::string error;
  REQUIRE(save_admin_state(dir.path(), sample_state(), error));
  const std::string good = read(dir.file("state.json"));

  SUBCASE("inside a value: valid JSON, wrong checksum") {
    std::string bad = good;
    const size_t at = bad.find("No route");
    REQUIRE(at != std::string::npos);
    bad[at] = 'n';
    write(dir.file("state.json"), bad);
    AdminState state;
    CHECK(load_admin_state(dir.path(), state, error) == LoadStatus::corrupt);
    CHECK(error.find(dir.file("state.json") + ": checksum mismatch") == 0);
    CHECK(state == AdminState{});
  }
  SUBCASE("in a number") {
    std::string bad = good;
    const size_t at = bad.find("8080");
    REQUIRE(at != std::string::npos);
    bad[at + 3] = '1';
    write(dir.file("state.json"), bad);
    AdminState state;
    CHECK(load_admin_state(dir.path(), state, error) == LoadStatus::corrupt);
    CHECK(error.find("checksum mismatch") != std::string::npos);
  }
  SUBCASE("in the structure") {
    std::string bad = good;
    bad[bad.find(':')] = ';';
    write(dir.file("state.json"), bad);
    AdminState state;
    CHECK(load_admin_state(dir.path(), state, error) == LoadStatus::corrupt);
    CHECK(error.find("not valid JSON") != std::string::npos);
  }
}

TEST_CASE("a truncated state file is detected") {
  TempDir dir;
  std::string error;
  REQUIRE(save_admin_state(dir.path(), sample_state(), error));
  const std::string good = read(dir.file("state.json"));
  for (size_t length : {size_t{0}, size_t{1}, good.size() / 2, good.size() - 3}) {
    INFO(length);
    write(dir.file("state.json"), good.substr(0, length));
    AdminState state;
    error.clear();
    CHECK(load_admin_state(dir.path(), state, error) == LoadStatus::corrupt);
    CHECK_FALSE(error.empty());
  }
}

TEST_CASE("another format version or a malformed payload is refused") {
  AdminState state;
  std::string error;
  CHECK(parse_admin_state(R"({"format": 2, "sha256": "", "state": {}})", state, error) ==
        LoadStatus::corrupt);
  CHECK(error.find("unknown format version") != std::string::npos);
  CHECK(parse_admin_state(R"({"format": 1, "state": {}})", state, error) == LoadStatus::corrupt);
  CHECK(error.find("\"sha256\"") != std::string::npos);
  // The right checksum over a payload the writer never produces.
  CHECK(
      parse_admin_state(
          R"({"format": 1, "sha256": "44136fa355b3678a1146ad16f7e8649e94fb4fc21fe77e8310c060f61caaff8a", "state": {}})",
          state, error) == LoadStatus::corrupt);
  CHECK(error == "malformed state: missing \"mirrors\"");
}

TEST_CASE("record_first_seen adds only mirrors not seen before") {
  Config config;
  PoolConfig pool;
  pool.def.name = *zones::Name::from_text(kPool);
  pool.def.mirrors.resize(2);
  pool.def.mirrors[0].id = "mirror-1";
  pool.def.mirrors[1].id = "mirror-2";
  config.pools.push_back(pool);
  AdminState state;
  state.first_seen[{kPool, "mirror-1"}] = at("2024-01-01T00:00:00Z");
  const TimePoint now = at("2026-06-01T12:00:00Z");
  CHECK(record_first_seen(state, config, now));
  CHECK(state.first_seen.at({kPool, "mirror-1"}) == at("2024-01-01T00:00:00Z"));
  CHECK(state.first_seen.at({kPool, "mirror-2"}) == now);
  CHECK_FALSE(record_first_seen(state, config, now));
}

TEST_CASE("a removal is forgotten once the config no longer defines the mirror") {
  Config config;
  PoolConfig pool;
  pool.def.name = *zones::Name::from_text(kPool);
  pool.def.mirrors.resize(1);
  pool.def.mirrors[0].id = "mirror-1";
  config.pools.push_back(pool);
  AdminState state;
  state.removed.insert({kPool, "mirror-1"});
  state.removed.insert({kPool, "mirror-2"});
  state.removed.insert({"other.example.", "mirror-1"});
  const std::vector<MirrorKey> forgotten = forget_removals(state, config);
  CHECK(forgotten.size() == 2);
  CHECK(state.removed == std::set<MirrorKey>{{kPool, "mirror-1"}});
  // Put back in the file later, mirror-2 is served: nothing remembers it.
  CHECK(forget_removals(state, config).empty());
}

}  // namespace
}  // namespace mirrorpool::dnsd
