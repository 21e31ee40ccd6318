// Unit tests of zone loading: a good zone using most master-file syntax, TTL
// rules, and a table of bad zones with the diagnostics they must produce.
#include <doctest/doctest.h>

#include <algorithm>
#include <chrono>
#include <filesystem>
#include <fstream>
#include <random>
#include <string>
#include <thread>
#include <vector>

#include "zones/master_file.hh"
#include "zones/zone.hh"

using mirrorpool::zones::Diagnostics;
using mirrorpool::zones::load_zone;
using mirrorpool::zones::MasterEntry;
using mirrorpool::zones::Name;
using mirrorpool::zones::Record;
using mirrorpool::zones::split_master_text;
using mirrorpool::zones::Zone;

namespace {

const std::string kData = ZONES_TEST_DATA;

constexpr uint16_t kA = 1, kNs = 2, kCname = 5, kSoa = 6, kMx = 15, kTxt = 16, kAaaa = 28,
                   kSrv = 33, kDname = 39, kDs = 43, kCaa = 257;

Name name(std::string_view text) {
  auto parsed = Name::from_text(text);
  REQUIRE_MESSAGE(parsed.has_value(), "cannot parse ", std::string(text));
  return *parsed;
}

std::vector<const Record*> find(const Zone& zone, std::string_view owner, uint16_t type) {
  std::vector<const Record*> out;
  Name wanted = name(owner);
  for (const Record& record : zone.records) {
    if (record.owner == wanted && record.type == type) out.push_back(&record);
  }
  return out;
}

const Record& one(const Zone& zone, std::string_view owner, uint16_t type) {
  auto found = find(zone, owner, type);
  REQUIRE_MESSAGE(found.size() == 1, std::string(owner), " type ", type, " found ", found.size());
  return *found[0];
}

std::string all(const Diagnostics& diags) {
  std::string out;
  for (const auto& diag : diags) out += diag.to_string() + "\n";
  return out;
}

// A directory of its own for zone files written by a test, removed afterwards.
class TempDir {
 public:
  TempDir() {
    std::random_device random;
    path_ = std::filesystem::temp_directory_path() /
            ("zones_test." + std::to_string(random()) + std::to_string(random()));
    std::filesystem::create_directories(path_);
  }
  ~TempDir() {
    std::error_code ignored;
    std::filesystem::remove_all(path_, ignored);
  }
  TempDir(const TempDir&) = delete;
  TempDir& operator=(const TempDir&) = delete;

  std::string write(const std::string& file, const std::string& text) const {
    std::string full = (path_ / file).string();
    std::ofstream(full) << text;
    return full;
  }

 private:
  std::filesystem::path path_;
};

const char* const kApex =
    "@ SOA ns1 hostmaster 1 7200 3600 1209600 300\n"
    "@ NS ns1\n"
    "ns1 A 192.0.2.1\n";

}  // namespace

TEST_CASE("a good zone loads with every record, line and file") {
  Diagnostics diags;
  auto zone = load_zone(kData + "/good.zone", name("pool.example."), diags);
  INFO(all(diags));
  REQUIRE(zone);
  CHECK(diags.empty());
  CHECK(zone->origin == name("pool.example."));
  CHECK(zone->files == std::vector<std::string>{kData + "/good.zone", kData + "/included.zone"});

  SUBCASE("SOA with parentheses and comments") {
    const Record& soa = zone->soa();
    CHECK(soa.line == 3);
    CHECK(soa.ttl == 3600);
    CHECK(zone->serial() == 2024010101u);
    // Embedded names are lowercased, uncompressed.
    std::string mname = name("ns1.pool.example.").wire();
    CHECK(soa.rdata.substr(0, mname.size()) == mname);
    CHECK(soa.rdata.size() == mname.size() + name("hostmaster.pool.example.").wire().size() + 20);
  }
  SUBCASE("apex NS, relative and absolute, owner carried over") {
    auto ns = find(*zone, "pool.example.", kNs);
    REQUIRE(ns.size() == 2);
    CHECK(ns[0]->rdata == name("ns1.pool.example.").wire());
    CHECK(ns[1]->rdata == name("ns2.pool.example.").wire());
    CHECK(ns[0]->line == 9);
    CHECK(ns[1]->line == 10);
  }
  SUBCASE("addresses") {
    CHECK(one(*zone, "ns1.pool.example.", kA).rdata == std::string("\xc0\x00\x02\x01", 4));
    std::string v6(16, '\0');
    v6[0] = '\x20';
    v6[1] = '\x01';
    v6[2] = '\x0d';
    v6[3] = '\xb8';
    v6[15] = '\x01';
    CHECK(one(*zone, "ns1.pool.example.", kAaaa).rdata == v6);
  }
  SUBCASE("TTLs: $TTL default, explicit, class before TTL") {
    CHECK(one(*zone, "ns1.pool.example.", kA).ttl == 3600);
    CHECK(one(*zone, "ns2.pool.example.", kA).ttl == 300);
    CHECK(one(*zone, "www.pool.example.", kA).ttl == 600);
    // With $TTL in force an explicit TTL does not become the default.
    const Record& aaaa = one(*zone, "www.pool.example.", kAaaa);
    CHECK(aaaa.ttl == 3600);
    CHECK(aaaa.line == 15);
  }
  SUBCASE("names inside RDATA are lowercased and completed") {
    CHECK(one(*zone, "pool.example.", kMx).rdata ==
          std::string("\x00\x0a", 2) + name("mail.pool.example.").wire());
    CHECK(one(*zone, "_http._tcp.pool.example.", kSrv).rdata ==
          std::string("\x00\x00\x00\x05\x00\x50", 6) + name("www.pool.example.").wire());
    CHECK(one(*zone, "ftp.pool.example.", kCname).rdata == name("www.pool.example.").wire());
    CHECK(one(*zone, "old.pool.example.", kDname).rdata == name("new.pool.example.").wire());
  }
  SUBCASE("TXT keeps case, semicolons and parentheses inside quotes") {
    CHECK(one(*zone, "pool.example.", kTxt).rdata ==
          std::string("\x0ev=spf1 mx -all\x12semi;colon (paren)"));
  }
  SUBCASE("CAA, wildcard, DS") {
    CHECK(one(*zone, "pool.example.", kCaa).rdata ==
          std::string("\x00\x05", 2) + "issueca.example.net");
    CHECK(one(*zone, "*.wild.pool.example.", kA).line == 21);
    CHECK(one(*zone, "sub.pool.example.", kDs).rdata.size() == 4 + 32);
  }
  SUBCASE("an RRset takes its first TTL; duplicates collapse") {
    auto multi = find(*zone, "multi.pool.example.", kA);
    REQUIRE(multi.size() == 2);
    CHECK(multi[0]->ttl == 100);
    CHECK(multi[1]->ttl == 100);
    auto mail = find(*zone, "mail.pool.example.", kA);
    REQUIRE(mail.size() == 1);
    CHECK(mail[0]->line == 16);
  }
  SUBCASE("delegation with glue") {
    CHECK(find(*zone, "sub.pool.example.", kNs).size() == 2);
    CHECK(one(*zone, "ns.sub.pool.example.", kA).line == 32);
  }
  SUBCASE("$ORIGIN and $INCLUDE") {
    CHECK(one(*zone, "host.deep.pool.example.", kA).line == 35);
    const Record& inc = one(*zone, "inc.deep.pool.example.", kA);
    CHECK(inc.line == 2);
    CHECK(inc.file_index == 1);
    CHECK(zone->pos_of(inc).file == kData + "/included.zone");
    CHECK(zone->pos_of(inc).line == 2);
    CHECK(one(*zone, "x.other.pool.example.", kTxt).line == 4);
    // The include's $ORIGIN ends with the include.
    const Record& after = one(*zone, "after.deep.pool.example.", kA);
    CHECK(after.line == 37);
    CHECK(after.file_index == 0);
    CHECK(zone->pos_of(after).file == kData + "/good.zone");
  }
  SUBCASE("records stay in file order") {
    CHECK(zone->records.front().type == kSoa);
    CHECK(zone->records.back().owner == name("after.deep.pool.example."));
  }
}

TEST_CASE("a zone knows whether its files changed since they were read") {
  TempDir dir;
  const std::string inc = dir.write("hosts.inc", "www A 192.0.2.80\n");
  const std::string path = dir.write("z.zone", std::string(kApex) + "$INCLUDE " + inc + "\n");
  Diagnostics diags;
  const Name origin = *Name::from_text("example.org.");
  // Just written: another write could share the timestamp, so not trusted.
  const auto fresh = load_zone(path, origin, diags);
  REQUIRE(fresh.has_value());
  CHECK_FALSE(fresh->files_unchanged());
  std::this_thread::sleep_for(std::chrono::milliseconds(1100));
  const auto zone = load_zone(path, origin, diags);
  REQUIRE(zone.has_value());
  REQUIRE(zone->stamps.size() == 2);
  CHECK(zone->files_unchanged());
  SUBCASE("rewriting an included file, even with the same bytes, counts as a change") {
    dir.write("hosts.inc", "www A 192.0.2.80\n");
    CHECK_FALSE(zone->files_unchanged());
  }
  SUBCASE("a file that is gone counts as a change") {
    std::filesystem::remove(inc);
    CHECK_FALSE(zone->files_unchanged());
  }
}

TEST_CASE("TTL defaults follow RFC 1035 without $TTL and RFC 2308 with it") {
  TempDir dir;
  Diagnostics diags;
  SUBCASE("no TTL anywhere: 3600") {
    auto zone = load_zone(dir.write("z", kApex), name("pool.example."), diags);
    INFO(all(diags));
    REQUIRE(zone);
    CHECK(zone->soa().ttl == 3600);
  }
  SUBCASE("without $TTL the last explicit TTL carries on") {
    auto zone = load_zone(dir.write("z", std::string(kApex) + "a 60 A 192.0.2.3\nb A 192.0.2.4\n"),
                          name("pool.example."), diags);
    INFO(all(diags));
    REQUIRE(zone);
    CHECK(one(*zone, "b.pool.example.", kA).ttl == 60);
    CHECK(one(*zone, "ns1.pool.example.", kA).ttl == 3600);
  }
  SUBCASE("$TTL 0 is honoured") {
    auto zone =
        load_zone(dir.write("z", "$TTL 0\n" + std::string(kApex)), name("pool.example."), diags);
    INFO(all(diags));
    REQUIRE(zone);
    CHECK(zone->soa().ttl == 0);
  }
}

TEST_CASE("the apex SOA is found wherever it is written") {
  TempDir dir;
  Diagnostics diags;
  auto zone = load_zone(dir.write("z",
                                  "@ NS ns1\n"
                                  "ns1 A 192.0.2.1\n"
                                  "@ SOA ns1 hostmaster 4294967295 1 2 3 4\n"),
                        name("pool.example."), diags);
  INFO(all(diags));
  REQUIRE(zone);
  CHECK(zone->soa().line == 3);
  CHECK(zone->serial() == 4294967295u);
}

TEST_CASE("a zone at the root loads") {
  TempDir dir;
  Diagnostics diags;
  auto zone = load_zone(dir.write("root", "@ SOA a. b. 1 2 3 4 5\n@ NS a.root-servers.net.\n"),
                        Name(), diags);
  INFO(all(diags));
  REQUIRE(zone);
  CHECK(zone->serial() == 1);
}

TEST_CASE("an unreadable file is reported with the system's reason") {
  Diagnostics diags;
  std::string path = kData + "/no-such.zone";
  CHECK_FALSE(load_zone(path, name("pool.example."), diags));
  REQUIRE(diags.size() == 1);
  CHECK(diags[0].to_string() == path + ": error: cannot open: No such file or directory");
}

namespace {

struct BadZone {
  const char* what;
  std::string text;
  // Each must occur in the diagnostics, as "bad.zone<expected>".
  std::vector<std::string> expected;
};

}  // namespace

TEST_CASE("bad zones report every error with file and line") {
  const std::string apex = kApex;
  const std::vector<BadZone> table = {
      {"rdata syntax",
       apex + "www A 192.0.2\n",
       {":4: error: invalid A record: syntax error, could not parse the RR's rdata"}},
      {"unknown type", apex + "www FOO 1\n", {":4: error: unknown record type FOO"}},
      {"missing type", apex + "www 300 IN\n", {":4: error: missing record type"}},
      {"bad TTL", apex + "www 1x A 192.0.2.9\n", {":4: error: invalid TTL 1x"}},
      {"other class",
       apex + "www CH A 192.0.2.9\n",
       {":4: error: class CH is not supported (only IN)"}},
      {"unbalanced (", apex + "www TXT ( \"a\"\n", {":4: error: unbalanced '(' (no closing ')')"}},
      {"unbalanced )", apex + "www TXT \"a\" )\n", {":4: error: unbalanced ')'"}},
      {"unterminated quote",
       apex + "www TXT \"a\nx A 192.0.2.9\n",
       {":4: error: unterminated quoted string"}},
      {"no SOA",
       "@ NS ns1\nns1 A 192.0.2.1\n",
       {": error: no SOA record at the zone apex pool.example."}},
      {"second SOA",
       apex + "@ SOA ns1 hostmaster 2 7200 3600 1209600 300\n",
       {":4: error: more than one SOA record at the zone apex (first at "}},
      {"SOA below the apex",
       apex + "sub SOA ns1 hostmaster 2 7200 3600 1209600 300\n",
       {":4: error: SOA record at sub.pool.example. is not at the zone apex pool.example."}},
      {"no NS",
       "@ SOA ns1 hostmaster 1 2 3 4 5\n",
       {": error: no NS records at the zone apex pool.example."}},
      {"out of zone",
       apex + "www.other.example. A 192.0.2.9\nexample. A 192.0.2.9\n",
       {":4: error: www.other.example. is out of zone pool.example.",
        ":5: error: example. is out of zone pool.example."}},
      {"$ORIGIN leads out of zone",
       apex + "$ORIGIN other.\nwww A 192.0.2.9\n",
       {":5: error: www.other. is out of zone pool.example."}},
      {"CNAME at apex",
       apex + "@ CNAME elsewhere.example.\n",
       {":4: error: CNAME record at the zone apex pool.example."}},
      {"CNAME and other data",
       apex + "www A 192.0.2.9\nwww CNAME elsewhere.example.\n",
       {":5: error: CNAME at www.pool.example. beside other data (A record at "}},
      {"two CNAMEs",
       apex + "www CNAME a.example.\nwww CNAME b.example.\n",
       {":5: error: more than one CNAME record at www.pool.example. (first at "}},
      {"occluded below a delegation",
       apex + "sub NS ns.elsewhere.example.\nx.sub TXT \"hidden\"\nsub MX 10 mail\n"
              "a.b.sub NS ns.elsewhere.example.\n",
       {":5: error: TXT record at x.sub.pool.example. is occluded by delegation at "
        "sub.pool.example.",
        ":6: error: MX record at sub.pool.example. is occluded by delegation at sub.pool.example.",
        ":7: error: NS record at a.b.sub.pool.example. is occluded by delegation at "
        "sub.pool.example."}},
      {"missing glue",
       apex + "sub NS ns.sub\nsub NS ns2.sub\nns2.sub AAAA 2001:db8::53\n",
       {":4: error: delegation sub.pool.example. to ns.sub.pool.example. has no glue"}},
      {"unsupported directive",
       apex + "$GENERATE 1-2 h$ A 192.0.2.$\n",
       {":4: error: unsupported directive $GENERATE"}},
      {"bad $ORIGIN", apex + "$ORIGIN a..b.\n", {":4: error: $ORIGIN needs one valid domain name"}},
      {"bad $TTL", apex + "$TTL soon\n", {":4: error: $TTL needs one valid TTL"}},
      {"missing include",
       apex + "$INCLUDE missing.inc\n",
       {":4: error: cannot open $INCLUDE file "}},
      {"every error, not just the first",
       "; starts badly\n"
       "@ SOA ns1 hostmaster 1 7200 3600 1209600 300\n"
       "www A 192.0.2.300\n"
       "ftp CNAME www\n"
       "ftp A 192.0.2.9\n"
       "elsewhere. A 192.0.2.9\n",
       {":3: error: invalid A record", ":4: error: CNAME at ftp.pool.example. beside other data",
        ":6: error: elsewhere. is out of zone pool.example."}},
  };

  for (const BadZone& bad : table) {
    CAPTURE(bad.what);
    TempDir dir;
    Diagnostics diags;
    std::string path = dir.write("bad.zone", bad.text);
    CHECK_FALSE(load_zone(path, name("pool.example."), diags));
    std::string text = all(diags);
    CAPTURE(text);
    CHECK(diags.size() == bad.expected.size());
    for (const std::string& expected : bad.expected) {
      CHECK_MESSAGE(text.find(path + expected) != std::string::npos, "missing: ", expected);
    }
  }
}

TEST_CASE("errors inside an included file name that file") {
  TempDir dir;
  Diagnostics diags;
  dir.write("inc.zone", "; included\nwww A not-an-address\n");
  std::string path = dir.write("bad.zone", std::string(kApex) + "$INCLUDE inc.zone\n");
  CHECK_FALSE(load_zone(path, name("pool.example."), diags));
  REQUIRE(diags.size() == 1);
  CHECK(diags[0].pos.file.ends_with("/inc.zone"));
  CHECK(diags[0].pos.line == 2);
}

TEST_CASE("an include loop stops") {
  TempDir dir;
  Diagnostics diags;
  std::string path = dir.write("loop.zone", std::string(kApex) + "$INCLUDE loop.zone\n");
  CHECK_FALSE(load_zone(path, name("pool.example."), diags));
  REQUIRE_FALSE(diags.empty());
  CHECK(all(diags).find("$INCLUDE loop: ") != std::string::npos);
}

// Found by zone_fuzz: each of two self-includes used to recurse to the depth
// limit, reading the file 2^16 times.
TEST_CASE("a file including itself twice is two errors, not a blow-up") {
  TempDir dir;
  Diagnostics diags;
  std::string path =
      dir.write("twice.zone", std::string(kApex) + "$INCLUDE twice.zone\n$INCLUDE ./twice.zone\n");
  CHECK_FALSE(load_zone(path, name("pool.example."), diags));
  REQUIRE(diags.size() == 2);
  for (const auto& d : diags) CHECK(d.message.starts_with("$INCLUDE loop: "));
}

TEST_CASE("an include chain deeper than the limit stops") {
  TempDir dir;
  Diagnostics diags;
  // Appended rather than "z" + to_string(): g++ 12 -O3 warns falsely (-Wrestrict) on that.
  const auto file = [](int i) {
    std::string name = "z";
    name += std::to_string(i);
    name += ".zone";
    return name;
  };
  for (int i = 0; i < 20; ++i) dir.write(file(i), "$INCLUDE " + file(i + 1) + "\n");
  dir.write("z20.zone", "");
  std::string path = dir.write("top.zone", std::string(kApex) + "$INCLUDE z0.zone\n");
  CHECK_FALSE(load_zone(path, name("pool.example."), diags));
  CHECK(all(diags).find("$INCLUDE nested too deeply") != std::string::npos);
}

TEST_CASE("master-file lexing") {
  Diagnostics diags;
  auto entries = split_master_text(
      "a A 1.2.3.4 ; comment\n"
      "\n"
      "   ; only a comment\n"
      "b TXT ( \"x;y\"\n"
      "        \"(z)\" ) ; done\n"
      "\tA 5.6.7.8\n"
      "c TXT a\\;b",
      "f", diags);
  CHECK(diags.empty());
  REQUIRE(entries.size() == 4);
  CHECK(entries[0].line == 1);
  CHECK(entries[0].text == "a A 1.2.3.4");
  CHECK(entries[1].line == 4);
  CHECK(entries[1].text == "b TXT \"x;y\" \"(z)\"");
  CHECK(entries[2].line == 6);
  CHECK(entries[2].text == " A 5.6.7.8");
  CHECK(entries[3].line == 7);
  CHECK(entries[3].text == "c TXT a\\;b");
}
