// Unit tests of mirrors.json: url_prefix parsing, import errors with
// file:line:col, merging into a pool through the config parser, the import →
// export round trip of the example file, and the 8192-byte limit.
#include <filesystem>
#include <fstream>
#include <sstream>
#include <string>

#include <doctest/doctest.h>
#include <fmt/core.h>
#include <nlohmann/json.hpp>

#include "dnsd/config/config.hh"
#include "dnsd/config/mirror_notes.hh"
#include "dnsd/config/mirrors_json.hh"
#include "dnsd/config/mirrors_json_export.hh"
#include "temp_dir.hh"

namespace mirrorpool::dnsd {
namespace {

using health::CheckType;

// Tests run in tests/dnsd.
const std::string kExample = std::filesystem::absolute("data/mirrors.json").string();

std::string read(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  std::stringstream buffer;
  buffer << in.rdbuf();
  return buffer.str();
}

std::string joined(const zones::Diagnostics& diags) {
  std::string out;
  for (const auto& d : diags) out += d.to_string() + "\n";
  return out;
}

// A config whose one pool takes its mirrors from mirrors_json; extra goes
// into the [[pool]] table (after mirrors_json, on line 8 on).
std::string config_text(const std::string& mirrors_json, std::string_view extra = "") {
  return "[server]\nlisten = [\"127.0.0.1:5353\"]\n[[zone]]\norigin = \"pool.example.\"\n"
         "file = \"pool.example.zone\"\n[[pool]]\nname = \"dl.pool.example.\"\n"
         "mirrors_json = \"" +
         mirrors_json + "\"\n" + std::string(extra);
}

// Addresses for the three mirrors of the example file.
constexpr std::string_view kExampleAddresses = R"([[pool.mirror]]
id = "mirror-a.example.org"
addresses = ["192.0.2.1", "2001:db8::1"]
capacity = "huge"
[[pool.mirror]]
id = "tails.mirror-b.example.net"
addresses = ["192.0.2.2"]
[[pool.mirror]]
id = "mirror-c.example.com"
addresses = ["192.0.2.3"]
)";

zones::Diagnostics parse_bad_json(std::string_view text) {
  zones::Diagnostics diags;
  CHECK_FALSE(parse_mirrors_json(text, "m.json", diags));
  CHECK_FALSE(diags.empty());
  return diags;
}

TEST_CASE("url_prefix gives the check's type, host, port and path") {
  auto a = parse_url_prefix("https://mirror-a.example.org/tails/");
  REQUIRE(a);
  CHECK(a->type == CheckType::https);
  CHECK(a->host == "mirror-a.example.org");
  CHECK(a->port == 443);
  CHECK_FALSE(a->explicit_port);
  CHECK(a->path == "/tails/");
  auto c = parse_url_prefix("http://Mirror-C.example.com:8080");
  REQUIRE(c);
  CHECK(c->type == CheckType::http);
  CHECK(c->host == "Mirror-C.example.com");
  CHECK(c->port == 8080);
  CHECK(c->explicit_port);
  CHECK(c->path == "/");
  for (std::string_view bad :
       {"", "ftp://x.example/", "https://", "https:///tails/", "https://x.example:0/",
        "https://x.example:65536/", "https://x.example:/", "https://user@x.example/",
        "https://x.example/?q", "https://[2001:db8::1]/", "https://x_y.example/",
        "https://x.example./"}) {
    INFO(bad);
    CHECK_FALSE(parse_url_prefix(bad));
  }
}

TEST_CASE("the example mirrors.json parses") {
  zones::Diagnostics diags;
  auto entries = parse_mirrors_json(read(kExample), kExample, diags);
  INFO(joined(diags));
  REQUIRE(entries);
  REQUIRE(entries->size() == 3);
  const MirrorsJsonEntry& a = (*entries)[0];
  CHECK(a.id == "mirror-a.example.org");
  CHECK(a.weight == 10);
  CHECK(a.email == "mirrors@mirror-a.example.org");
  CHECK(a.rsync_url == "rsync://mirror-a.example.org/tails/");
  CHECK(a.notes == "added 2024-03-02");
  CHECK_FALSE(a.addresses);
  CHECK(a.pos.line == 3);
  CHECK(a.pos.col == 5);
  CHECK((*entries)[1].id == "tails.mirror-b.example.net");
  CHECK((*entries)[1].email.empty());
  CHECK((*entries)[2].weight == 0);
  CHECK((*entries)[2].rsync_url.empty());
  CHECK((*entries)[2].url.path == "/pub/tails/");
}

TEST_CASE("JSON syntax errors point at line and column") {
  auto diags = parse_bad_json("{\n  \"mirrors\": [\n    {\"url_prefix\": x}\n  ]\n}\n");
  REQUIRE(diags.size() == 1);
  CHECK(diags[0].to_string().starts_with("m.json:3:20: error: invalid JSON: syntax error"));
  diags = parse_bad_json("{\n  \"mirrors\": [\n");
  REQUIRE(diags.size() == 1);
  CHECK(diags[0].to_string().starts_with("m.json:3:1: error: invalid JSON:"));
}

// Found by mirrors_json_fuzz: nlohmann reports this as out_of_range, not as a
// parse_error, and it used to escape parse_mirrors_json.
TEST_CASE("a number too large for a double is an error, not an exception") {
  const auto diags = parse_bad_json("{\n  \"mirrors\": [{\"weight\": 1e400}]\n}\n");
  REQUIRE(diags.size() == 1);
  CHECK(diags[0].to_string() ==
        "m.json:2:26: error: invalid JSON: number overflow parsing '1e400'");
}

TEST_CASE("entry errors name the file, the entry and its line") {
  struct Case {
    std::string text;
    std::string expected;
  };
  const auto one = [](std::string_view entry) {
    return "{\"mirrors\": [\n  {\"url_prefix\": \"https://ok.example/\", \"weight\": 1},\n  " +
           std::string(entry) + "\n]}\n";
  };
  const Case cases[] = {
      {one(R"({"weight": 5})"), "m.json:3:3: error: mirrors[1]: missing required key 'url_prefix'"},
      {one(R"({"url_prefix": "https://b.example/"})"),
       "m.json:3:3: error: mirrors[1] (https://b.example/): missing required key 'weight'"},
      {one(R"({"url_prefix": "https://b.example/", "weight": -1})"),
       "'weight' must be an integer between 0 and 1000000 (got -1)"},
      {one(R"({"url_prefix": "https://b.example/", "weight": "5"})"),
       "'weight' must be an integer between 0 and 1000000 (got \"5\")"},
      {one(R"({"url_prefix": "gopher://b.example/", "weight": 1})"),
       "m.json:3:3: error: mirrors[1] (gopher://b.example/): 'url_prefix' must be an http:// or "
       "https:// URL"},
      {one(R"({"url_prefix": "https://b.example/", "weight": 1, "mail": "x@y"})"),
       "mirrors[1] (https://b.example/): unknown key 'mail'"},
      {one(R"({"url_prefix": "https://b.example/", "weight": 1, "email": "nobody"})"),
       "'email' is not an address: \"nobody\""},
      {one(R"({"url_prefix": "https://b.example/", "weight": 1, "notes": 3})"),
       "'notes' must be a string"},
      {one(R"({"url_prefix": "https://b.example/", "weight": 1, "addresses": ["192.0.2.300"]})"),
       "'addresses' has an invalid IPv4 or IPv6 address \"192.0.2.300\""},
      {one(R"({"url_prefix": "https://b.example/", "weight": 1, "addresses": []})"),
       "'addresses' must be a non-empty array"},
      {one(R"({"url_prefix": "https://b.example/", "weight": 1, "addresses": ["192.0.2.1", "192.0.2.1"]})"),
       "address 192.0.2.1 is listed twice"},
      {one(R"({"url_prefix": "http://ok.example/other/", "weight": 1})"),
       "m.json:3:3: error: mirrors[1] (http://ok.example/other/): duplicate mirror 'ok.example' "
       "(first at line 2)"},
      {one(R"({"url_prefix": "https://b.example/", "weight": 1, "country": "Germany"})"),
       "m.json:3:3: error: mirrors[1] (https://b.example/): 'country' must be a two-letter ISO "
       "3166-1 code such as \"DE\" (got \"Germany\")"},
      {one(R"({"url_prefix": "https://b.example/", "weight": 1, "location": [50.1]})"),
       "'location' must be [latitude, longitude] in degrees with |latitude| <= 90 and |longitude| "
       "<= 180 (got [50.1])"},
      {one(R"({"url_prefix": "https://b.example/", "weight": 1, "location": [50.1, 200]})"),
       "(got [50.1,200])"},
      {one("[]"), "m.json:3:3: error: mirrors[1]: must be an object"},
      {"[]", "m.json:1:1: error: a mirrors.json must be an object with a \"mirrors\" array"},
      {"{\"mirrors\": [], \"version\": 2}", "m.json:1:1: error: unknown top-level key 'version'"},
  };
  for (const Case& c : cases) {
    INFO(c.text);
    const std::string out = joined(parse_bad_json(c.text));
    INFO(out);
    CHECK(out.find(c.expected) != std::string::npos);
  }
}

TEST_CASE("an entry may say where the mirror is; the config's [[pool.mirror]] wins") {
  const std::string text = R"({"mirrors": [
  {"url_prefix": "https://a.example/", "weight": 1, "country": "de", "location": [50.11, 8.68],
   "addresses": ["192.0.2.1"]},
  {"url_prefix": "https://b.example/", "weight": 1, "country": "US", "addresses": ["192.0.2.2"]}
]})";
  zones::Diagnostics diags;
  const auto entries = parse_mirrors_json(text, "m.json", diags);
  INFO(joined(diags));
  REQUIRE(entries);
  CHECK(entries->at(0).country == "DE");
  CHECK(*entries->at(0).location == zones::GeoPoint{50.11, 8.68});
  CHECK_FALSE(entries->at(1).location);
  TempDir dir;
  const std::string path = dir.path() + "/mirrors.json";
  std::ofstream(path) << text;
  auto config =
      parse_config(config_text(path, "[[pool.mirror]]\nid = \"b.example\"\ncountry = \"CA\"\n"),
                   "test.toml", diags);
  INFO(joined(diags));
  REQUIRE(config);
  const auto& mirrors = config->pools.at(0).def.mirrors;
  REQUIRE(mirrors.size() == 2);
  const auto by_id = [&](const std::string& id) {
    return *std::find_if(mirrors.begin(), mirrors.end(),
                         [&](const zones::MirrorDef& m) { return m.id == id; });
  };
  CHECK(by_id("a.example").country == "DE");
  CHECK(by_id("a.example").location);
  CHECK(by_id("b.example").country == "CA");
}

TEST_CASE("a missing mirrors.json fails the config, naming the file") {
  zones::Diagnostics diags;
  CHECK_FALSE(parse_config(config_text("/nonexistent/mirrors.json"), "test.toml", diags));
  CHECK(joined(diags) ==
        "/nonexistent/mirrors.json: error: cannot open mirrors.json: No such file or directory\n");
}

TEST_CASE("a pool takes its mirrors from mirrors.json and addresses from the config") {
  zones::Diagnostics diags;
  auto config = parse_config(config_text(kExample, kExampleAddresses), "test.toml", diags);
  INFO(joined(diags));
  REQUIRE(config);
  const PoolConfig& pool = config->pools.at(0);
  CHECK(pool.mirrors_json == kExample);
  REQUIRE(pool.def.mirrors.size() == 3);
  REQUIRE(pool.mirror_checks.size() == 3);
  const zones::MirrorDef& a = pool.def.mirrors[0];
  CHECK(a.id == "mirror-a.example.org");
  CHECK(a.addresses.size() == 2);
  CHECK(a.weight == 10);
  CHECK(a.capacity == zones::Capacity::huge);
  CHECK(a.email == "mirrors@mirror-a.example.org");
  CHECK(a.url_prefix == "https://mirror-a.example.org/tails/");
  CHECK(a.rsync_url == "rsync://mirror-a.example.org/tails/");
  CHECK(pool.mirror_checks[0].type == CheckType::https);
  CHECK(pool.mirror_checks[0].port == 443);
  CHECK(pool.mirror_checks[0].host == "mirror-a.example.org");
  CHECK(pool.mirror_checks[0].path == "/tails/");
  CHECK(pool.def.mirrors[2].weight == 0);
  CHECK(pool.mirror_checks[2].type == CheckType::http);
  CHECK(pool.mirror_checks[2].port == 80);
  CHECK(pool.mirror_checks[2].path == "/pub/tails/");
}

TEST_CASE("[pool.check] and [[pool.mirror]] keys win over url_prefix and the entry") {
  TempDir dir;
  const std::string json_path = dir.file("mirrors.json");
  std::ofstream(json_path) << R"({"mirrors": [
  {"url_prefix": "https://a.example:8443/tails/", "weight": 5, "notes": "from json",
   "addresses": ["192.0.2.1"]},
  {"url_prefix": "https://b.example/tails/", "weight": 5, "notes": "from json"}
]})";
  const std::string text = config_text("mirrors.json", R"([pool.check]
path = "/probe/"
[[pool.mirror]]
id = "only-in-config"
addresses = ["192.0.2.9"]
[[pool.mirror]]
id = "b.example"
addresses = ["192.0.2.2"]
weight = 2
notes = ""
port = 8080
)");
  zones::Diagnostics diags;
  auto config = parse_config(text, dir.file("mirrorpool.toml"), diags);
  INFO(joined(diags));
  REQUIRE(config);
  const PoolConfig& pool = config->pools.at(0);
  REQUIRE(pool.def.mirrors.size() == 3);
  // mirrors.json order first, then mirrors only the config defines.
  CHECK(pool.def.mirrors[0].id == "a.example");
  CHECK(pool.def.mirrors[1].id == "b.example");
  CHECK(pool.def.mirrors[2].id == "only-in-config");
  CHECK(pool.mirror_checks[0].port == 8443);
  CHECK(pool.mirror_checks[0].path == "/probe/");
  CHECK(pool.mirror_checks[0].host == "a.example");
  CHECK(pool.def.mirrors[1].weight == 2);
  CHECK(pool.def.mirrors[1].notes.empty());
  CHECK(pool.mirror_checks[1].type == CheckType::https);
  CHECK(pool.mirror_checks[1].port == 8080);
  CHECK(pool.mirror_checks[2].type == CheckType::http);
  CHECK(pool.mirror_checks[2].host == "dl.pool.example");
}

TEST_CASE("addresses must come from exactly one place, and belong to one mirror") {
  TempDir dir;
  const std::string json_path = dir.file("mirrors.json");
  std::ofstream(json_path) << R"({"mirrors": [
  {"url_prefix": "https://a.example/", "weight": 5},
  {"url_prefix": "https://b.example/", "weight": 5, "addresses": ["192.0.2.2"]},
  {"url_prefix": "https://c.example/", "weight": 5, "addresses": ["192.0.2.9"]}
]})";
  const std::string text = config_text("mirrors.json", R"([[pool.mirror]]
id = "b.example"
addresses = ["192.0.2.3"]
[[pool.mirror]]
id = "d"
addresses = ["192.0.2.9"]
)");
  zones::Diagnostics diags;
  CHECK_FALSE(parse_config(text, dir.file("mirrorpool.toml"), diags));
  const std::string out = joined(diags);
  INFO(out);
  CHECK(out.find(dir.file("mirrorpool.toml") +
                 ":11:1: error: mirror 'b.example' already has 'addresses' in " + json_path +
                 ":3: list them in one place") != std::string::npos);
  CHECK(out.find(json_path + ":2:3: error: mirror 'a.example' has no addresses: list them in "
                             "'addresses' here or in a [[pool.mirror]] with id = \"a.example\"") !=
        std::string::npos);
  CHECK(out.find(json_path + ":4:3: error: address 192.0.2.9 already belongs to mirror 'd'") !=
        std::string::npos);
  // The config file's diagnostics come first.
  CHECK(diags.at(0).pos.file == dir.file("mirrorpool.toml"));
}

TEST_CASE("notes: dated failures and the added date are read, the rest is left as text") {
  const MirrorNotes notes = read_mirror_notes(
      "2026-10-02: expired TLS certificate; 2026-07-14: No version available. ; added "
      "2023-11-10;; sponsor: Example University; 2026-02-30: no such day; 2026-05-21:  ;"
      " 2026-5-21: one digit");
  REQUIRE(notes.failures.size() == 2);
  CHECK(format_utc(notes.failures[0].day) == "2026-10-02T00:00:00Z");
  CHECK(notes.failures[0].reason == "expired TLS certificate");
  CHECK(format_utc(notes.failures[1].day) == "2026-07-14T00:00:00Z");
  CHECK(notes.failures[1].reason == "No version available");
  REQUIRE(notes.added);
  CHECK(format_utc(*notes.added) == "2023-11-10T00:00:00Z");
  CHECK(notes.unread == std::vector<std::string>{"sponsor: Example University",
                                                 "2026-02-30: no such day",
                                                 "2026-05-21:", "2026-5-21: one digit"});
  CHECK(read_mirror_notes("").failures.empty());
  CHECK(read_mirror_notes("added 2024-03-02T10:00:00Z").unread.size() == 1);
}

TEST_CASE("check-config warns about mirrors.json notes it cannot read, at the notes") {
  TempDir dir;
  const std::string json_path = dir.file("mirrors.json");
  std::ofstream(json_path) << R"({"mirrors": [
  {"url_prefix": "http://a.example/", "weight": 1, "addresses": ["192.0.2.1"],
   "notes": "2026-05-21: No route to host; added 2023-11-10"},
  {"url_prefix": "http://b.example/", "weight": 1, "addresses": ["192.0.2.2"],
    "notes": "down twice in May; 2026-06-01: http 503"}
]}
)";
  zones::Diagnostics diags;
  // c's notes are the config file's own, free text: not the record.
  auto config =
      parse_config(config_text(json_path,
                               "[[pool.mirror]]\nid = \"c\"\naddresses = [\"192.0.2.3\"]\n"
                               "notes = \"sponsor: Example University\"\n"),
                   dir.file("mirrorpool.toml"), diags);
  INFO(joined(diags));
  REQUIRE(config);
  const zones::Diagnostics warnings = config_warnings(*config);
  REQUIRE(warnings.size() == 1);
  CHECK(warnings[0].to_string() ==
        json_path +
            ":5:14: warning: notes of mirror 'b.example': \"down twice in May\" is neither a "
            "dated failure (\"YYYY-MM-DD: reason\") nor \"added YYYY-MM-DD\"; kept as text, not "
            "imported into the journal");
  // A [[pool.mirror]] that writes its own notes replaces the record.
  config = parse_config(config_text(json_path,
                                    "[[pool.mirror]]\nid = \"b.example\"\n"
                                    "notes = \"moved to a new host\"\n"),
                        dir.file("mirrorpool.toml"), diags);
  REQUIRE(config);
  CHECK(config_warnings(*config).empty());
}

TEST_CASE("import, export and import again give the same mirrors") {
  zones::Diagnostics diags;
  auto config = parse_config(config_text(kExample, kExampleAddresses), "test.toml", diags);
  INFO(joined(diags));
  REQUIRE(config);
  std::string error;
  auto out = export_mirrors_json(config->pools.at(0), health::HealthView{}, error);
  INFO(error);
  REQUIRE(out);
  // The example file, with the addresses the config gave each entry.
  nlohmann::json expected = nlohmann::json::parse(read(kExample));
  expected["mirrors"][0]["addresses"] = {"192.0.2.1", "2001:db8::1"};
  expected["mirrors"][1]["addresses"] = {"192.0.2.2"};
  expected["mirrors"][2]["addresses"] = {"192.0.2.3"};
  CHECK(nlohmann::json::parse(*out) == expected);

  // The export alone, as a pool's mirrors.json, is the same pool.
  TempDir dir;
  std::ofstream(dir.file("mirrors.json")) << *out;
  auto again = parse_config(config_text(dir.file("mirrors.json")), "test.toml", diags);
  INFO(joined(diags));
  REQUIRE(again);
  const PoolConfig& before = config->pools.at(0);
  const PoolConfig& after = again->pools.at(0);
  REQUIRE(after.def.mirrors.size() == before.def.mirrors.size());
  for (size_t i = 0; i < before.def.mirrors.size(); ++i) {
    const zones::MirrorDef& b = before.def.mirrors[i];
    const zones::MirrorDef& a = after.def.mirrors[i];
    CHECK(a.id == b.id);
    CHECK(a.weight == b.weight);
    CHECK(a.email == b.email);
    CHECK(a.notes == b.notes);
    CHECK(a.url_prefix == b.url_prefix);
    CHECK(a.rsync_url == b.rsync_url);
    REQUIRE(a.addresses.size() == b.addresses.size());
    for (size_t j = 0; j < a.addresses.size(); ++j) {
      CHECK(a.addresses[j].text == b.addresses[j].text);
    }
    CHECK(after.mirror_checks[i].host == before.mirror_checks[i].host);
    CHECK(after.mirror_checks[i].path == before.mirror_checks[i].path);
  }
  CHECK(export_mirrors_json(after, health::HealthView{}, error) == out);
}

TEST_CASE("export names the mirrors without a url_prefix; one whose id is not its host keeps it") {
  zones::Diagnostics diags;
  // m1: a TOML mirror with a url_prefix of another host; m2 and m3: none.
  auto config = parse_config(
      config_text(kExample, std::string(kExampleAddresses) +
                                "[[pool.mirror]]\nid = \"m1\"\naddresses = [\"192.0.2.4\"]\n"
                                "url_prefix = \"http://m1.example.net/tails/\"\n"
                                "[[pool.mirror]]\nid = \"m2\"\naddresses = [\"192.0.2.5\"]\n"
                                "[[pool.mirror]]\nid = \"m3\"\naddresses = [\"192.0.2.6\"]\n"),
      "test.toml", diags);
  INFO(joined(diags));
  REQUIRE(config);
  std::string error;
  CHECK_FALSE(export_mirrors_json(config->pools.at(0), health::HealthView{}, error));
  CHECK(
      error.starts_with("cannot export pool 'dl.pool.example.': every mirrors.json entry needs "
                        "a url_prefix, and these mirrors have none: m2, m3 ("));
  PoolConfig pool = config->pools.at(0);
  pool.def.mirrors.resize(4);
  pool.mirror_checks.resize(4);
  CHECK(pool.mirror_checks[3].host == "m1.example.net");  // the URL's, as from mirrors.json
  auto out = export_mirrors_json(pool, health::HealthView{}, error);
  REQUIRE(out);
  const auto m1 = nlohmann::json::parse(*out)["mirrors"][3];
  CHECK(m1["id"] == "m1");
  CHECK(m1["url_prefix"] == "http://m1.example.net/tails/");
  CHECK_FALSE(nlohmann::json::parse(*out)["mirrors"][0].contains("id"));

  config = parse_config(config_text(kExample, std::string(kExampleAddresses) +
                                                  "[[pool.mirror]]\nid = \"m1\"\naddresses = "
                                                  "[\"192.0.2.4\"]\nurl_prefix = \"ftp://x/\"\n"),
                        "test.toml", diags);
  CHECK_FALSE(config);
  CHECK(joined(diags).find("test.toml:22:14: error: 'url_prefix' in [[pool.mirror]] must be an "
                           "http:// or https:// URL") != std::string::npos);
}

TEST_CASE("export gives weight 0 to drained and down mirrors") {
  zones::Diagnostics diags;
  auto config = parse_config(config_text(kExample, kExampleAddresses), "test.toml", diags);
  REQUIRE(config);
  PoolConfig pool = config->pools.at(0);
  pool.def.mirrors[1].drained = true;
  // Only one of mirror-a's two addresses is down.
  std::map<health::TargetKey, health::TargetHealth> targets;
  targets[{"dl.pool.example.", "mirror-a.example.org", "2001:db8::1"}].up = false;
  targets[{"dl.pool.example.", "mirror-a.example.org", "192.0.2.1"}].up = true;
  std::string error;
  auto out = export_mirrors_json(pool, health::HealthView(targets), error);
  REQUIRE(out);
  const auto j = nlohmann::json::parse(*out);
  REQUIRE(j["mirrors"].size() == 3);
  CHECK(j["mirrors"][0]["weight"] == 0);
  CHECK(j["mirrors"][1]["weight"] == 0);
  CHECK(j["mirrors"][1]["notes"] == "2026-05-21: No route to host; added 2023-11-10");
  CHECK(j["mirrors"][2]["weight"] == 0);

  targets[{"dl.pool.example.", "mirror-a.example.org", "2001:db8::1"}].up = true;
  out = export_mirrors_json(pool, health::HealthView(targets), error);
  REQUIRE(out);
  CHECK(nlohmann::json::parse(*out)["mirrors"][0]["weight"] == 10);
}

TEST_CASE("export refuses output over 8192 bytes") {
  PoolConfig pool;
  pool.def.name = *zones::Name::from_text("dl.pool.example.");
  const auto add = [&](size_t i, size_t notes) {
    zones::MirrorDef m;
    m.id = fmt::format("m{:02}.example", i);
    m.url_prefix = fmt::format("https://m{:02}.example/", i);
    m.weight = 5;
    m.notes = std::string(notes, 'n');
    pool.def.mirrors.push_back(m);
  };
  std::string error;
  for (size_t i = 0; i < 40; ++i) add(i, 20);
  auto out = export_mirrors_json(pool, health::HealthView{}, error);
  REQUIRE(out);
  const size_t base = out->size();
  REQUIRE(base < kMirrorsJsonMaxBytes);
  // Grow the last note to land exactly on the limit, then one byte past it.
  pool.def.mirrors.back().notes += std::string(kMirrorsJsonMaxBytes - base, 'n');
  out = export_mirrors_json(pool, health::HealthView{}, error);
  REQUIRE(out);
  CHECK(out->size() == kMirrorsJsonMaxBytes);
  pool.def.mirrors.back().notes += "n";
  CHECK_FALSE(export_mirrors_json(pool, health::HealthView{}, error));
  CHECK(error ==
        "mirrors.json for pool 'dl.pool.example.' would be 8193 bytes, over the limit "
        "of 8192 bytes; shorten the notes or remove mirrors");
}

}  // namespace
}  // namespace mirrorpool::dnsd
