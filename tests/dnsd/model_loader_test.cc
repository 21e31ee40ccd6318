// load_model on a reload: which of the zones being served it keeps and which
// it reads again (the served zones have released their records).
#include "dnsd/config/model_loader.hh"

#include <chrono>
#include <fstream>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include <doctest/doctest.h>

#include "dnsd/config/config.hh"
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

// Two zones, a.example. and b.example., and these pools.
std::string config_text(const std::vector<std::string>& pools) {
  std::string text =
      "[server]\nlisten = [\"127.0.0.1:5353\"]\n"
      "[[zone]]\norigin = \"a.example.\"\nfile = \"a.zone\"\n"
      "[[zone]]\norigin = \"b.example.\"\nfile = \"b.zone\"\n";
  for (const std::string& pool : pools) {
    text += "[[pool]]\nname = \"";
    text += pool;
    text +=
        "\"\n[pool.check]\ntype = \"tcp\"\nport = 80\n"
        "[[pool.mirror]]\nid = \"m1\"\naddresses = [\"127.0.1.1\"]\n";
  }
  return text;
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

// The zone was read afresh rather than kept from `served`.
bool read_again(const zones::Zone& zone, const zones::Zone& served) {
  return !zone.records_released && zone.load_id != 0 && zone.load_id != served.load_id;
}

TEST_CASE("a reload reads again only the zones whose files or pools changed") {
  TempDir dir;
  write(dir.file("a.zone"), zone_text("a.example."));
  write(dir.file("b.zone"), zone_text("b.example."));
  write(dir.file("mirrorpool.toml"), config_text({"dl.a.example."}));
  // A file written within the last second is never kept (its stamp could
  // hide a second write), so let the stamps age first.
  std::this_thread::sleep_for(std::chrono::milliseconds(1100));
  const auto first = load(dir, nullptr);
  REQUIRE(first->zones.size() == 2);
  CHECK_FALSE(first->zones[0]->records_released);
  CHECK(first->zones[0]->load_id != 0);
  CHECK(first->zones[0]->load_id != first->zones[1]->load_id);
  // What the daemon keeps once the first snapshot is encoded.
  const zones::Model served = zones::without_records(*first);

  SUBCASE("nothing changed: both kept, as they were") {
    const auto again = load(dir, &served);
    CHECK(again->zones == served.zones);
  }
  SUBCASE("a pool renamed: its zone is read again, the other kept") {
    write(dir.file("mirrorpool.toml"), config_text({"get.a.example."}));
    const auto again = load(dir, &served);
    CHECK(read_again(*again->zones[0], *served.zones[0]));
    CHECK(again->zones[1] == served.zones[1]);
    CHECK(again->pools.at(0).name.to_text() == "get.a.example.");
  }
  SUBCASE("a pool added to the other zone: that zone is read again") {
    write(dir.file("mirrorpool.toml"), config_text({"dl.a.example.", "dl.b.example."}));
    const auto again = load(dir, &served);
    CHECK(again->zones[0] == served.zones[0]);
    CHECK(read_again(*again->zones[1], *served.zones[1]));
  }
  SUBCASE("a pool added before the others: every zone with pools is read again") {
    // The encoded zone refers to its pools by their place in the list.
    write(dir.file("mirrorpool.toml"), config_text({"dl.b.example.", "dl.a.example."}));
    const auto again = load(dir, &served);
    CHECK(read_again(*again->zones[0], *served.zones[0]));
    CHECK(read_again(*again->zones[1], *served.zones[1]));
  }
  SUBCASE("one zone file changed: only that zone is read again") {
    write(dir.file("b.zone"), zone_text("b.example.", "www IN A 192.0.2.80\n"));
    const auto again = load(dir, &served);
    CHECK(again->zones[0] == served.zones[0]);
    CHECK(read_again(*again->zones[1], *served.zones[1]));
    CHECK(again->zones[1]->records.size() == first->zones[1]->records.size() + 1);
  }
}

}  // namespace
}  // namespace mirrorpool::dnsd
