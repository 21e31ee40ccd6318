// load_model on a reload: when it keeps the zones being served and when it
// reads every zone file again (the served zones have released their records).
#include "dnsd/model_loader.hh"

#include <chrono>
#include <fstream>
#include <memory>
#include <string>
#include <thread>

#include <doctest/doctest.h>

#include "dnsd/config.hh"
#include "temp_dir.hh"
#include "zones/pool.hh"

namespace mirrorpool::dnsd {
namespace {

void write(const std::string& path, const std::string& text) {
  std::ofstream out(path, std::ios::trunc);
  out << text;
  REQUIRE(out.good());
}

std::string zone_text(const std::string& origin, const std::string& extra = "") {
  return "$ORIGIN " + origin + "\n$TTL 300\n@ IN SOA ns1 hostmaster 1 3600 900 604800 60\n" +
         "@ IN NS ns1\nns1 IN A 192.0.2.53\n" + extra;
}

// Two zones; `pool` names the one pool, inside the first.
std::string config_text(const std::string& pool) {
  return "[server]\nlisten = [\"127.0.0.1:5353\"]\n"
         "[[zone]]\norigin = \"a.example.\"\nfile = \"a.zone\"\n"
         "[[zone]]\norigin = \"b.example.\"\nfile = \"b.zone\"\n"
         "[[pool]]\nname = \"" +
         pool +
         "\"\n[pool.check]\ntype = \"tcp\"\nport = 80\n"
         "[[pool.mirror]]\nid = \"m1\"\naddresses = [\"127.0.1.1\"]\n";
}

std::shared_ptr<const zones::Model> load(const TempDir& dir, const zones::Model* previous) {
  zones::Diagnostics diags;
  auto config = load_config(dir.file("mirrorpool.toml"), diags);
  REQUIRE(config);
  auto model = load_model(*config, diags, previous);
  CHECK(diags.empty());
  REQUIRE(model);
  return model;
}

bool same_zones(const zones::Model& a, const zones::Model& b) {
  return a.zones == b.zones && a.zones_version == b.zones_version;
}

TEST_CASE("a reload keeps the served zones only when nothing they were encoded from changed") {
  TempDir dir;
  write(dir.file("a.zone"), zone_text("a.example."));
  write(dir.file("b.zone"), zone_text("b.example."));
  write(dir.file("mirrorpool.toml"), config_text("dl.a.example."));
  // A file written within the last second is never kept (its stamp could
  // hide a second write), so let the stamps age first.
  std::this_thread::sleep_for(std::chrono::milliseconds(1100));
  const auto first = load(dir, nullptr);
  REQUIRE(first->zones.size() == 2);
  CHECK_FALSE(first->zones[0]->records_released);
  // What the daemon keeps once the first snapshot is encoded.
  const zones::Model served = zones::without_records(*first);

  SUBCASE("nothing changed: kept, records and all left as they were") {
    const auto again = load(dir, &served);
    CHECK(same_zones(*again, served));
  }
  SUBCASE("a pool renamed: the zones are encoded anew, so every file is read again") {
    write(dir.file("mirrorpool.toml"), config_text("get.a.example."));
    const auto again = load(dir, &served);
    CHECK(again->zones_version != served.zones_version);
    for (const auto& zone : again->zones) CHECK_FALSE(zone->records_released);
    CHECK(again->pools.at(0).name.to_text() == "get.a.example.");
  }
  SUBCASE("one zone file changed: the unchanged one is read again too") {
    write(dir.file("b.zone"), zone_text("b.example.", "www IN A 192.0.2.80\n"));
    const auto again = load(dir, &served);
    CHECK(again->zones_version != served.zones_version);
    CHECK_FALSE(again->zones[0]->records_released);
    CHECK_FALSE(again->zones[1]->records_released);
    CHECK(again->zones[1]->records.size() == first->zones[1]->records.size() + 1);
  }
}

}  // namespace
}  // namespace mirrorpool::dnsd
