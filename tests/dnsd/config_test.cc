// Unit tests of the configuration layer: durations, endpoints, prefixes, every
// key of mirrorpool.toml(5) with its defaults and overrides, located diagnostics, and the
// example configs shipped in packaging/.
#include <netinet/in.h>

#include <string>
#include <vector>

#include <doctest/doctest.h>

#include "dnsd/common/duration.hh"
#include "dnsd/config/config.hh"
#include "zones/pool.hh"
#include "zones/zone.hh"

namespace mirrorpool::dnsd {
namespace {

using health::CheckType;
using health::Duration;
using std::chrono::hours;
using std::chrono::milliseconds;
using std::chrono::minutes;
using std::chrono::seconds;

// Lines 1-5 of most test configs: the smallest valid one.
constexpr std::string_view kBase = R"([server]
listen = ["127.0.0.1:5353"]
[[zone]]
origin = "pool.example."
file = "pool.example.zone"
)";

// kBase plus a pool on lines 6-7; extra starts on line 8.
std::string with_pool(std::string_view extra) {
  return std::string(kBase) + "[[pool]]\nname = \"dl.pool.example.\"\n" + std::string(extra);
}

std::string joined(const zones::Diagnostics& diags) {
  std::string out;
  for (const auto& d : diags) out += d.to_string() + "\n";
  return out;
}

Config parse_ok(std::string_view text, const std::string& path = "test.toml") {
  zones::Diagnostics diags;
  auto config = parse_config(text, path, diags);
  INFO(joined(diags));
  REQUIRE(config);
  REQUIRE(diags.empty());
  return *config;
}

zones::Diagnostics parse_bad(std::string_view text) {
  zones::Diagnostics diags;
  CHECK_FALSE(parse_config(text, "test.toml", diags));
  CHECK_FALSE(diags.empty());
  return diags;
}

TEST_CASE("durations") {
  CHECK(parse_duration("250ms") == milliseconds(250));
  CHECK(parse_duration("5s") == seconds(5));
  CHECK(parse_duration("2m") == minutes(2));
  CHECK(parse_duration("1h") == hours(1));
  CHECK(parse_duration("1d") == hours(24));
  CHECK(parse_duration("0s") == milliseconds(0));
  CHECK(parse_duration("1m30s") == seconds(90));
  CHECK(parse_duration("1d2h3m4s5ms") == milliseconds(93'784'005));
  CHECK(parse_duration("90s") == seconds(90));
  for (std::string_view bad :
       {"", "5", "s", "ms", "5x", "5S", "1s1m", "1m1m", "1ms1s", "-5s", "+5s", " 5s", "5s ", "5 s",
        "1.5s", "5sec", "99999999999999999999s", "9223372036854775807d"}) {
    INFO(bad);
    CHECK_FALSE(parse_duration(bad));
  }
  CHECK(format_duration(seconds(90)) == "1m30s");
  CHECK(format_duration(milliseconds(100)) == "100ms");
  CHECK(format_duration(milliseconds(0)) == "0ms");
  for (auto d : {milliseconds(1), milliseconds(93'784'005), milliseconds(86'400'000)}) {
    CHECK(parse_duration(format_duration(d)) == d);
  }
}

TEST_CASE("endpoints") {
  auto v4 = Endpoint::parse("127.0.0.1:5353");
  REQUIRE(v4);
  CHECK(v4->address.family == AF_INET);
  CHECK(v4->port == 5353);
  CHECK(v4->text == "127.0.0.1:5353");
  const sockaddr_storage ss4 = v4->sockaddr();
  const auto* sin = reinterpret_cast<const sockaddr_in*>(&ss4);
  CHECK(sin->sin_family == AF_INET);
  CHECK(ntohs(sin->sin_port) == 5353);
  CHECK(ntohl(sin->sin_addr.s_addr) == 0x7f000001);
  CHECK(v4->sockaddr_len() == sizeof(sockaddr_in));

  auto v6 = Endpoint::parse("[::1]:53");
  REQUIRE(v6);
  CHECK(v6->address.family == AF_INET6);
  CHECK(v6->port == 53);
  const sockaddr_storage ss6 = v6->sockaddr();
  const auto* sin6 = reinterpret_cast<const sockaddr_in6*>(&ss6);
  CHECK(sin6->sin6_family == AF_INET6);
  CHECK(ntohs(sin6->sin6_port) == 53);
  CHECK(sin6->sin6_addr.s6_addr[15] == 1);
  CHECK(v6->sockaddr_len() == sizeof(sockaddr_in6));

  for (std::string_view bad :
       {"", "127.0.0.1", "127.0.0.1:", "127.0.0.1:0", "127.0.0.1:65536", "127.0.0.1:5x", "::1:53",
        "[::1]", "[::1]53", "[127.0.0.1]:53", "localhost:53", "[::1:53", "127.0.0.1:-1"}) {
    INFO(bad);
    CHECK_FALSE(Endpoint::parse(bad));
  }
}

TEST_CASE("prefixes") {
  auto net = Prefix::parse("192.0.2.0/24");
  REQUIRE(net);
  CHECK(net->length == 24);
  CHECK(net->contains(*zones::Address::parse("192.0.2.77")));
  CHECK_FALSE(net->contains(*zones::Address::parse("192.0.3.1")));
  CHECK_FALSE(net->contains(*zones::Address::parse("2001:db8::1")));

  auto host = Prefix::parse("127.0.0.1");
  REQUIRE(host);
  CHECK(host->length == 32);
  CHECK(host->contains(*zones::Address::parse("127.0.0.1")));
  CHECK_FALSE(host->contains(*zones::Address::parse("127.0.0.2")));

  auto v6 = Prefix::parse("2001:db8::/32");
  REQUIRE(v6);
  CHECK(v6->contains(*zones::Address::parse("2001:db8:ffff::1")));
  CHECK_FALSE(v6->contains(*zones::Address::parse("2001:db9::1")));

  auto all = Prefix::parse("0.0.0.0/0");
  REQUIRE(all);
  CHECK(all->contains(*zones::Address::parse("203.0.113.9")));

  for (std::string_view bad : {"", "192.0.2.0/", "192.0.2.0/33", "2001:db8::/129", "192.0.2.1/24",
                               "192.0.2.0/2x", "example.org/24"}) {
    INFO(bad);
    CHECK_FALSE(Prefix::parse(bad));
  }
}

TEST_CASE("defaults") {
  const Config c = parse_ok(with_pool(R"([[pool.mirror]]
id = "m1"
addresses = ["192.0.2.1"]
)"));
  CHECK(c.path == "test.toml");
  REQUIRE(c.server.listen.size() == 1);
  CHECK(c.server.listen[0].text == "127.0.0.1:5353");
  CHECK(c.server.workers == 0);
  CHECK(c.server.control_socket == "/run/mirrorpool/control.sock");
  CHECK(c.server.state_dir == "/var/lib/mirrorpool");
  CHECK_FALSE(c.server.http_listen);
  CHECK(c.server.status_page == StatusPage::public_page);
  CHECK(c.server.user == "nobody");
  CHECK(c.server.tcp_idle_timeout_ms == 10000);
  CHECK(c.server.tcp_query_timeout_ms == 2000);
  CHECK(c.server.tcp_max_clients == 1000);
  CHECK(c.server.udp_max_size == 1232);
  CHECK(c.server.nsid.empty());
  CHECK_FALSE(c.server.cookie_secret);
  CHECK_FALSE(c.server.require_cookie);
  CHECK(c.server.rrl.responses_per_second == 0);
  REQUIRE(c.zones.size() == 1);
  CHECK(c.zones[0].origin.to_text() == "pool.example.");
  CHECK(c.zones[0].file == "pool.example.zone");
  CHECK(c.zones[0].notify.empty());
  CHECK(c.zones[0].allow_transfer.empty());
  CHECK(c.zones[0].tsig.empty());
  CHECK(c.zones[0].pos.line == 3);
  CHECK(c.tsig.empty());

  REQUIRE(c.pools.size() == 1);
  const PoolConfig& p = c.pools[0];
  CHECK(p.def.name.to_text() == "dl.pool.example.");
  CHECK(p.def.ttl == 30);
  CHECK(p.def.max_answers == 4);
  CHECK(p.def.when_all_down == zones::WhenAllDown::serve_all);
  CHECK(p.def.min_healthy == 1);
  CHECK(p.def.pos.line == 6);
  CHECK(p.weight_policy == WeightPolicy::static_weights);
  CHECK(p.mirrors_json.empty());
  CHECK(p.check.type == CheckType::http);
  CHECK(p.check.port == 80);
  CHECK(p.check.host == "dl.pool.example");
  CHECK(p.check.path == "/");
  CHECK(p.check.expect_status == std::vector<int>{200});
  CHECK(p.check.expect_body.empty());
  CHECK(p.check.interval == seconds(5));
  CHECK(p.check.timeout == seconds(2));
  CHECK(p.check.rise == 2);
  CHECK(p.check.fall == 2);
  CHECK(p.check.tls_min_days == 7);
  CHECK(p.check.ca_file.empty());
  CHECK(p.check.mass_failure_rounds == 3);
  CHECK_FALSE(p.check.freshness.enabled());

  REQUIRE(p.def.mirrors.size() == 1);
  REQUIRE(p.mirror_checks.size() == 1);
  const zones::MirrorDef& m = p.def.mirrors[0];
  CHECK(m.id == "m1");
  REQUIRE(m.addresses.size() == 1);
  CHECK(m.addresses[0].text == "192.0.2.1");
  CHECK(m.weight == 1);
  CHECK(m.capacity == zones::Capacity::normal);
  CHECK(m.email.empty());
  CHECK(m.pos.line == 8);
  CHECK(p.mirror_checks[0].host == "dl.pool.example");
  CHECK(p.mirror_checks[0].port == 80);
}

TEST_CASE("a pool that can never answer loads, with a warning at the pool") {
  const Config parked = parse_ok(with_pool(R"([[pool.mirror]]
id = "m1"
addresses = ["192.0.2.10"]
weight = 0
)"));
  const zones::Diagnostics warnings = config_warnings(parked);
  REQUIRE(warnings.size() == 1);
  CHECK(warnings[0].to_string() ==
        "test.toml:6:1: warning: pool dl.pool.example. has no mirror with a weight above 0 and "
        "an address: it can never answer with an address");
  const Config live = parse_ok(with_pool(R"([[pool.mirror]]
id = "m1"
addresses = ["192.0.2.10"]
)"));
  CHECK(config_warnings(live).empty());
}

TEST_CASE("a pool-less config is valid and https defaults to port 443") {
  CHECK(parse_ok(kBase).pools.empty());
  const Config c = parse_ok(with_pool("[pool.check]\ntype = \"https\"\n"));
  CHECK(c.pools[0].check.port == 443);
}

TEST_CASE("every supported key round-trips") {
  const Config c = parse_ok(R"(
[server]
listen = ["127.0.0.1:5353", "[::1]:5353"]
workers = 4
control_socket = "/tmp/mp/control.sock"
state_dir = "/tmp/mp/state"
user = "mirrorpool"
tcp_idle_timeout = "1m30s"
tcp_query_timeout = "750ms"
tcp_max_clients = 50
udp_max_size = 4096
nsid = "hex:6e7331"
cookie_secret = "E5E973E5A6B2A43F48E7DC849E37BFCF"
require_cookie = true

[[zone]]
origin = "Pool.Example."
file = "zones/pool.example.zone"

[[zone]]
origin = "other.example."
file = "/var/lib/zones/other.zone"

[[pool]]
name = "dl.pool.example."
ttl = 60
max_answers = 8
when_all_down = "serve-last-good"
min_healthy = 2
weight_policy = "static"

[pool.check]
type = "https"
port = 8443
host = "download.example"
path = "/tails/"
expect_status = [200, 204]
expect_body = "Tails"
interval = "10s"
timeout = "3s"
rise = 3
fall = 4
tls_min_days = 14
ca_file = "ca.pem"
mass_failure_rounds = 5

[pool.check.freshness]
path = "/tails/latest.json"
reference = "https://primary.example/tails/latest.json"
max_lag = "1h30m"

[[pool.mirror]]
id = "mirror-1"
addresses = ["192.0.2.10", "2001:DB8::10"]
weight = 5
capacity = "huge"
email = "admin@mirror-1.example"
notes = "fast"

[[pool]]
name = "www.other.example."
when_all_down = "servfail"
[[pool.mirror]]
id = "a"
addresses = ["198.51.100.1"]
weight = 0
[[pool]]
name = "x.other.example."
when_all_down = "nodata"
)",
                            "/etc/mirrorpool/mirrorpool.toml");
  CHECK(c.path == "/etc/mirrorpool/mirrorpool.toml");
  const ServerConfig& s = c.server;
  REQUIRE(s.listen.size() == 2);
  CHECK(s.listen[0].address.text == "127.0.0.1");
  CHECK(s.listen[1].address.family == AF_INET6);
  CHECK(s.listen[1].port == 5353);
  CHECK(s.workers == 4);
  CHECK(s.control_socket == "/tmp/mp/control.sock");
  CHECK(s.state_dir == "/tmp/mp/state");
  CHECK(s.user == "mirrorpool");
  CHECK(s.tcp_idle_timeout_ms == 90000);
  CHECK(s.tcp_query_timeout_ms == 750);
  CHECK(s.tcp_max_clients == 50);
  CHECK(s.udp_max_size == 4096);
  CHECK(s.nsid == "ns1");
  REQUIRE(s.cookie_secret);
  CHECK((*s.cookie_secret)[0] == 0xe5);
  CHECK((*s.cookie_secret)[15] == 0xcf);
  CHECK(s.require_cookie);

  REQUIRE(c.zones.size() == 2);
  CHECK(c.zones[0].origin.to_text() == "pool.example.");
  CHECK(c.zones[0].file == "/etc/mirrorpool/zones/pool.example.zone");
  CHECK(c.zones[1].file == "/var/lib/zones/other.zone");

  REQUIRE(c.pools.size() == 3);
  const PoolConfig& p = c.pools[0];
  CHECK(p.def.ttl == 60);
  CHECK(p.def.max_answers == 8);
  CHECK(p.def.when_all_down == zones::WhenAllDown::serve_last_good);
  CHECK(p.def.min_healthy == 2);
  CHECK(p.weight_policy == WeightPolicy::static_weights);
  const health::CheckSpec& k = p.check;
  CHECK(k.type == CheckType::https);
  CHECK(k.port == 8443);
  CHECK(k.host == "download.example");
  CHECK(k.path == "/tails/");
  CHECK(k.expect_status == std::vector<int>{200, 204});
  CHECK(k.expect_body == "Tails");
  CHECK(k.interval == seconds(10));
  CHECK(k.timeout == seconds(3));
  CHECK(k.rise == 3);
  CHECK(k.fall == 4);
  CHECK(k.tls_min_days == 14);
  CHECK(k.ca_file == "/etc/mirrorpool/ca.pem");
  CHECK(k.mass_failure_rounds == 5);
  CHECK(k.freshness.enabled());
  CHECK(k.freshness.path == "/tails/latest.json");
  CHECK(k.freshness.reference == "https://primary.example/tails/latest.json");
  CHECK(k.freshness.max_lag == minutes(90));

  const zones::MirrorDef& m = p.def.mirrors.at(0);
  CHECK(m.id == "mirror-1");
  REQUIRE(m.addresses.size() == 2);
  CHECK(m.addresses[1].family == AF_INET6);
  CHECK(m.addresses[1].text == "2001:db8::10");
  CHECK(m.weight == 5);
  CHECK(m.capacity == zones::Capacity::huge);
  CHECK(m.email == "admin@mirror-1.example");
  CHECK(m.notes == "fast");
  CHECK(p.mirror_checks.at(0).freshness.max_lag == minutes(90));
  CHECK(p.mirror_checks.at(0).port == 8443);

  CHECK(c.pools[1].def.when_all_down == zones::WhenAllDown::servfail);
  CHECK(c.pools[1].def.mirrors.at(0).weight == 0);
  CHECK(c.pools[1].check.host == "www.other.example");
  CHECK(c.pools[2].def.when_all_down == zones::WhenAllDown::nodata);
}

TEST_CASE("per-mirror overrides of [pool.check]") {
  const Config c = parse_ok(with_pool(R"([pool.check]
type = "https"
path = "/tails/"
interval = "10s"
[pool.check.freshness]
path = "/tails/latest.json"
reference = "https://primary.example/tails/latest.json"

[[pool.mirror]]
id = "inherits"
addresses = ["192.0.2.1"]

[[pool.mirror]]
id = "plain-http"
addresses = ["192.0.2.2"]
type = "http"

[[pool.mirror]]
id = "everything"
addresses = ["192.0.2.3"]
port = 8443
host = "mirror3.example"
path = "/pub/tails/"
expect_status = [200, 301]
expect_body = "ok"
interval = "30s"
timeout = "20s"
rise = 5
fall = 6
tls_min_days = 0
ca_file = "/etc/ssl/mirror3.pem"
mass_failure_rounds = 7
[pool.mirror.freshness]
path = "/pub/tails/latest.json"
max_lag = "30m"
)"));
  const PoolConfig& p = c.pools.at(0);
  REQUIRE(p.mirror_checks.size() == 3);
  CHECK(p.check.port == 443);

  const health::CheckSpec& a = p.mirror_checks[0];
  CHECK(a.type == CheckType::https);
  CHECK(a.port == 443);
  CHECK(a.host == "dl.pool.example");
  CHECK(a.path == "/tails/");
  CHECK(a.interval == seconds(10));
  CHECK(a.freshness.path == "/tails/latest.json");

  // https → 443 is decided after the overrides: this one falls back to 80.
  const health::CheckSpec& b = p.mirror_checks[1];
  CHECK(b.type == CheckType::http);
  CHECK(b.port == 80);
  CHECK(b.path == "/tails/");

  const health::CheckSpec& e = p.mirror_checks[2];
  CHECK(e.type == CheckType::https);
  CHECK(e.port == 8443);
  CHECK(e.host == "mirror3.example");
  CHECK(e.path == "/pub/tails/");
  CHECK(e.expect_status == std::vector<int>{200, 301});
  CHECK(e.expect_body == "ok");
  CHECK(e.interval == seconds(30));
  CHECK(e.timeout == seconds(20));
  CHECK(e.rise == 5);
  CHECK(e.fall == 6);
  CHECK(e.tls_min_days == 0);
  CHECK(e.ca_file == "/etc/ssl/mirror3.pem");
  CHECK(e.mass_failure_rounds == 7);
  CHECK(e.freshness.path == "/pub/tails/latest.json");
  CHECK(e.freshness.reference == "https://primary.example/tails/latest.json");
  CHECK(e.freshness.max_lag == minutes(30));

  // The pool's own check is untouched by its mirrors.
  CHECK(p.check.path == "/tails/");
  CHECK(p.check.timeout == seconds(2));
}

TEST_CASE("a pool-level port stays when a mirror switches to https") {
  const Config c = parse_ok(with_pool(R"([pool.check]
port = 8080
[[pool.mirror]]
id = "m"
addresses = ["192.0.2.1"]
type = "https"
)"));
  CHECK(c.pools[0].mirror_checks[0].port == 8080);
}

TEST_CASE("relative file names resolve against the config file's directory") {
  CHECK(parse_ok(kBase, "mirrorpool.toml").zones[0].file == "pool.example.zone");
  CHECK(parse_ok(kBase, "conf/mirrorpool.toml").zones[0].file == "conf/pool.example.zone");
  CHECK(parse_ok(kBase, "/etc/mirrorpool/mirrorpool.toml").zones[0].file ==
        "/etc/mirrorpool/pool.example.zone");
}

struct BadCase {
  std::string text;
  std::string expected;  // substring of the joined diagnostics
};

TEST_CASE("bad configs are reported at file:line:col") {
  const std::string server_head = "[server]\nlisten = [\"127.0.0.1:5353\"]\n";
  const std::string zone_tail = "[[zone]]\norigin = \"pool.example.\"\nfile = \"z\"\n";
  const std::vector<BadCase> cases = {
      // Syntax.
      {"[server\n", "test.toml:1:8: error: TOML syntax error in table header: expected ']'"},
      {"a = 1\na = 2\n",
       "test.toml:2:5: error: TOML syntax error in key-value pair: cannot "
       "redefine existing integer 'a'"},
      // Structure.
      {"", "test.toml:1:1: error: no [[zone]] defined"},
      {std::string(kBase) + "foo = 1\n", "test.toml:6:1: error: unknown key 'foo' in [[zone]]"},
      {std::string(kBase) + "[bar]\n", "test.toml:6:2: error: unknown key 'bar' at the top level"},
      {zone_tail, "test.toml:1:1: error: missing required key 'listen' in [server]"},
      {"[server]\nlisten = []\n" + zone_tail,
       "test.toml:2:1: error: 'listen' in [server] is empty"},
      {"[server]\nworkers = 1\n" + zone_tail,
       "test.toml:1:1: error: missing required key 'listen' in [server]"},
      {server_head, "test.toml:1:1: error: no [[zone]] defined"},
      {server_head + "[zone]\norigin = \"a.\"\n",
       "test.toml:3:1: error: 'zone' must be an array of tables"},
      {server_head + "[[zone]]\norigin = \"pool.example.\"\n",
       "test.toml:3:1: error: missing required key 'file' in [[zone]]"},
      {server_head + "[[zone]]\nfile = \"z\"\n",
       "test.toml:3:1: error: missing required key 'origin' in [[zone]]"},
      {server_head + zone_tail + zone_tail,
       "test.toml:7:10: error: duplicate zone origin 'pool.example.' (first defined at line 3)"},
      {server_head + "[[zone]]\norigin = \"pool.example\"\nfile = \"z\"\n",
       "test.toml:4:10: error: 'origin' in [[zone]] is not a valid absolute domain name: "
       "\"pool.example\" (it must end with a dot)"},
      // [server] values.
      {"[server]\nlisten = [\"127.0.0.1\"]\n" + zone_tail,
       "test.toml:2:11: error: 'listen' in [server] has an invalid endpoint \"127.0.0.1\""},
      {"[server]\nlisten = [\"::1:53\"]\n" + zone_tail, "test.toml:2:11: error: 'listen'"},
      {"[server]\nlisten = [\"127.0.0.1:0\"]\n" + zone_tail, "test.toml:2:11: error: 'listen'"},
      {"[server]\nlisten = [\"127.0.0.1:53\", \"127.0.0.1:53\"]\n" + zone_tail,
       "test.toml:2:27: error: 'listen' in [server] lists \"127.0.0.1:53\" twice"},
      {"[server]\nlisten = [53]\n" + zone_tail,
       "test.toml:2:11: error: 'listen' in [server] must contain only strings, not an integer"},
      {"[server]\nlisten = \"127.0.0.1:53\"\n" + zone_tail,
       "test.toml:2:10: error: 'listen' in [server] must be an array of strings, not a string"},
      {server_head + "workers = 257\n" + zone_tail,
       "test.toml:3:11: error: 'workers' in [server] must be between 0 and 256 (got 257)"},
      {server_head + "workers = \"4\"\n" + zone_tail,
       "test.toml:3:11: error: 'workers' in [server] must be an integer, not a string"},
      {server_head + "udp_max_size = 511\n" + zone_tail,
       "test.toml:3:16: error: 'udp_max_size' in [server] must be between 512 and 65535"},
      {server_head + "nsid = \"hex:6e7\"\n" + zone_tail,
       "test.toml:3:8: error: 'nsid' in [server]: after \"hex:\" come pairs of hexadecimal "
       "digits"},
      {server_head + "nsid = \"hex:\"\n" + zone_tail, "test.toml:3:8: error: 'nsid'"},
      {server_head + "nsid = \"" + std::string(129, 'n') + "\"\n" + zone_tail,
       "test.toml:3:8: error: 'nsid' in [server] is 129 bytes long; at most 128 are allowed"},
      {server_head + "cookie_secret = \"e5e973e5a6b2a43f48e7dc849e37bf\"\n" + zone_tail,
       "test.toml:3:17: error: 'cookie_secret' in [server] must be 32 hexadecimal digits"},
      {server_head + "cookie_secret = \"e5e973e5a6b2a43f48e7dc849e37bfcg\"\n" + zone_tail,
       "test.toml:3:17: error: 'cookie_secret' in [server] must be 32 hexadecimal digits"},
      {server_head + "require_cookie = \"yes\"\n" + zone_tail,
       "test.toml:3:18: error: 'require_cookie' in [server] must be true or false, not a string"},
      {server_head + "status_page = \"private\"\n" + zone_tail,
       "test.toml:3:15: error: 'status_page' in [server] must be one of \"off\", \"public\", "
       "\"full\" (got \"private\")"},
      {server_head + "status_page = true\n" + zone_tail,
       "test.toml:3:15: error: 'status_page' in [server] must be one of"},
      {server_head + "tcp_max_clients = 0\n" + zone_tail,
       "test.toml:3:19: error: 'tcp_max_clients' in [server] must be between 1 and 1000000"},
      {server_head + "tcp_idle_timeout = \"10\"\n" + zone_tail,
       "test.toml:3:20: error: 'tcp_idle_timeout' in [server] is not a valid duration: \"10\""},
      {server_head + "tcp_idle_timeout = 10\n" + zone_tail,
       "test.toml:3:20: error: 'tcp_idle_timeout' in [server] must be a duration string"},
      {server_head + "control_socket = \"\"\n" + zone_tail,
       "test.toml:3:18: error: 'control_socket' in [server] must not be empty"},
      {server_head + "listne = []\n" + zone_tail,
       "test.toml:3:1: error: unknown key 'listne' in [server]"},
      // [[pool]] values.
      {std::string(kBase) + "[[pool]]\nttl = 30\n",
       "test.toml:6:1: error: missing required key 'name' in [[pool]]"},
      {with_pool("ttl = 2147483648\n"),
       "test.toml:8:7: error: 'ttl' in [[pool]] must be between 0 and 2147483647"},
      {with_pool("ttl = -1\n"), "test.toml:8:7: error: 'ttl' in [[pool]] must be between"},
      {with_pool("max_answers = 0\n"),
       "test.toml:8:15: error: 'max_answers' in [[pool]] must be between 1 and 64 (got 0)"},
      {with_pool("max_answers = 65\n"), "test.toml:8:15: error: 'max_answers'"},
      {with_pool("min_healthy = 0\n"), "test.toml:8:15: error: 'min_healthy'"},
      {with_pool("when_all_down = \"panic\"\n"),
       "test.toml:8:17: error: 'when_all_down' in [[pool]] must be one of \"serve-all\", "
       "\"serve-last-good\", \"servfail\", \"nodata\" (got \"panic\")"},
      {with_pool("weight_policy = \"random\"\n"), "test.toml:8:17: error: 'weight_policy'"},
      {with_pool("[[pool]]\nname = \"dl.pool.example.\"\n"),
       "test.toml:9:8: error: duplicate pool 'dl.pool.example.' (first defined at line 6)"},
      {with_pool("extra = true\n"), "test.toml:8:1: error: unknown key 'extra' in [[pool]]"},
      // [pool.check] values.
      {with_pool("[pool.check]\ntype = \"ftp\"\n"),
       "test.toml:9:8: error: 'type' in [pool.check] must be one of \"tcp\", \"http\", \"https\""},
      {with_pool("[pool.check]\nport = 0\n"),
       "test.toml:9:8: error: 'port' in [pool.check] must be between 1 and 65535 (got 0)"},
      {with_pool("[pool.check]\nport = 65536\n"), "test.toml:9:8: error: 'port'"},
      {with_pool("[pool.check]\nrise = 0\n"),
       "test.toml:9:8: error: 'rise' in [pool.check] must be between 1 and 100"},
      {with_pool("[pool.check]\nfall = 101\n"), "test.toml:9:8: error: 'fall'"},
      {with_pool("[pool.check]\ninterval = \"99ms\"\n"),
       "test.toml:9:12: error: 'interval' in [pool.check] must be between 100ms and 1d (got 99ms)"},
      {with_pool("[pool.check]\ninterval = \"5 s\"\n"),
       "test.toml:9:12: error: 'interval' in [pool.check] is not a valid duration"},
      {with_pool("[pool.check]\ntimeout = \"0s\"\n"), "test.toml:9:11: error: 'timeout'"},
      {with_pool("[pool.check]\ntimeout = \"5s\"\n"),
       "test.toml:9:11: error: 'timeout' (5s) must be shorter than 'interval' (5s)"},
      {with_pool("[pool.check]\ninterval = \"1s\"\n"),
       "test.toml:9:12: error: 'timeout' (2s) must be shorter than 'interval' (1s)"},
      {with_pool("[pool.check]\nexpect_status = [200, 600]\n"),
       "test.toml:9:23: error: 'expect_status' in [pool.check] must contain HTTP status codes "
       "between 100 and 599"},
      {with_pool("[pool.check]\nexpect_status = []\n"),
       "test.toml:9:17: error: 'expect_status' in [pool.check] must list at least one"},
      {with_pool("[pool.check]\nexpect_status = 200\n"),
       "test.toml:9:17: error: 'expect_status' in [pool.check] must be an array"},
      {with_pool("[pool.check]\ntls_min_days = 3651\n"),
       "test.toml:9:16: error: 'tls_min_days' in [pool.check] must be between 0 and 3650"},
      {with_pool("[pool.check]\nmass_failure_rounds = 0\n"),
       "test.toml:9:23: error: 'mass_failure_rounds'"},
      {with_pool("[pool.check]\npath = \"tails/\"\n"),
       "test.toml:9:8: error: 'path' in [pool.check] must start with '/' (got \"tails/\")"},
      {with_pool("[pool.check]\nhost = \"dl.pool.example.\"\n"),
       "test.toml:9:8: error: 'host' in [pool.check] is not a valid host name"},
      {with_pool("[pool.check]\nfoo = 1\n"),
       "test.toml:9:1: error: unknown key 'foo' in [pool.check]"},
      {with_pool("[pool.check.freshness]\npath = \"/latest.json\"\n"),
       "test.toml:8:1: error: freshness needs both 'path'"},
      {with_pool("[pool.check.freshness]\npath = \"/l\"\nreference = \"ftp://x/l\"\n"),
       "test.toml:10:13: error: 'reference' in [pool.check.freshness] must be an http:// or "
       "https:// URL"},
      {with_pool("[pool.check.freshness]\nmax_lag = \"0s\"\n"),
       "test.toml:9:11: error: 'max_lag' in [pool.check.freshness] must be between 1s and 365d"},
      {with_pool("[pool.check.freshness]\nlag = \"1h\"\n"),
       "test.toml:9:1: error: unknown key 'lag' in [pool.check.freshness]"},
      // [[pool.mirror]] values.
      {with_pool("[[pool.mirror]]\naddresses = [\"192.0.2.1\"]\n"),
       "test.toml:8:1: error: missing required key 'id' in [[pool.mirror]]"},
      {with_pool("[[pool.mirror]]\nid = \"m\"\n"),
       "test.toml:8:1: error: missing required key 'addresses' in [[pool.mirror]]"},
      {with_pool("[[pool.mirror]]\nid = \"m\"\naddresses = []\n"),
       "test.toml:10:13: error: 'addresses' in [[pool.mirror]] must list at least one address"},
      {with_pool("[[pool.mirror]]\nid = \"m\"\naddresses = [\"192.0.2.300\"]\n"),
       "test.toml:10:14: error: 'addresses' in [[pool.mirror]] has an invalid IPv4 or IPv6 "
       "address \"192.0.2.300\""},
      {with_pool("[[pool.mirror]]\nid = \"m\"\naddresses = [\"192.0.2.1\", \"192.0.2.1\"]\n"),
       "test.toml:10:27: error: address 192.0.2.1 is listed twice"},
      {with_pool("[[pool.mirror]]\nid = \"a\"\naddresses = [\"192.0.2.1\"]\n"
                 "[[pool.mirror]]\nid = \"b\"\naddresses = [\"192.0.2.1\"]\n"),
       "test.toml:13:14: error: address 192.0.2.1 already belongs to mirror 'a'"},
      {with_pool("[[pool.mirror]]\nid = \"a\"\naddresses = [\"192.0.2.1\"]\n"
                 "[[pool.mirror]]\nid = \"a\"\naddresses = [\"192.0.2.2\"]\n"),
       "test.toml:12:6: error: duplicate mirror id 'a' in pool 'dl.pool.example.' (first "
       "defined at line 8)"},
      {with_pool("[[pool.mirror]]\nid = \"has space\"\naddresses = [\"192.0.2.1\"]\n"),
       "test.toml:9:6: error: 'id' in [[pool.mirror]] must be 1-63 letters"},
      {with_pool("[[pool.mirror]]\nid = \"m\"\naddresses = [\"192.0.2.1\"]\nweight = 1000001\n"),
       "test.toml:11:10: error: 'weight' in [[pool.mirror]] must be between 0 and 1000000"},
      {with_pool("[[pool.mirror]]\nid = \"m\"\naddresses = [\"192.0.2.1\"]\ncapacity = \"big\"\n"),
       "test.toml:11:12: error: 'capacity' in [[pool.mirror]] must be one of \"normal\", "
       "\"huge\""},
      {with_pool("[[pool.mirror]]\nid = \"m\"\naddresses = [\"192.0.2.1\"]\nemail = \"nobody\"\n"),
       "test.toml:11:9: error: 'email' in [[pool.mirror]] is not an address"},
      {with_pool("[[pool.mirror]]\nid = \"m\"\naddresses = [\"192.0.2.1\"]\nport = 0\n"),
       "test.toml:11:8: error: 'port' in [[pool.mirror]] must be between 1 and 65535"},
      {with_pool("[[pool.mirror]]\nid = \"m\"\naddresses = [\"192.0.2.1\"]\ntimeout = \"5s\"\n"),
       "test.toml:11:11: error: 'timeout' (5s) must be shorter than 'interval' (5s)"},
      {with_pool("[[pool.mirror]]\nid = \"m\"\naddresses = [\"192.0.2.1\"]\nwieght = 5\n"),
       "test.toml:11:1: error: unknown key 'wieght' in [[pool.mirror]]"},
      {with_pool("[[pool.mirror]]\nid = \"m\"\naddresses = [\"192.0.2.1\"]\n"
                 "[pool.mirror.freshness]\nmax_lag = \"1h\"\npath = \"/x\"\n"),
       "test.toml:11:1: error: freshness needs both 'path'"},
      {with_pool("[[pool.mirror]]\nid = \"m\"\naddresses = [\"192.0.2.1\"]\n"
                 "[pool.mirror.freshness]\nold = 1\n"),
       "test.toml:12:1: error: unknown key 'old' in [pool.mirror.freshness]"},
  };
  for (const BadCase& c : cases) {
    INFO(c.text);
    const std::string out = joined(parse_bad(c.text));
    INFO(out);
    CHECK(out.find(c.expected) != std::string::npos);
  }
}

TEST_CASE("every error is reported at once, in file order") {
  const auto diags = parse_bad(R"([server]
listen = ["127.0.0.1:5353"]
workers = 1000
[[zone]]
origin = "pool.example."
file = "pool.example.zone"
[[pool]]
name = "dl.pool.example."
max_answers = 0
[pool.check]
type = "smtp"
[[pool.mirror]]
id = "m"
addresses = ["not-an-address"]
colour = "blue"
)");
  REQUIRE(diags.size() == 5);
  CHECK(diags[0].to_string().starts_with("test.toml:3:11: error: 'workers'"));
  CHECK(diags[1].to_string().starts_with("test.toml:9:15: error: 'max_answers'"));
  CHECK(diags[2].to_string().starts_with("test.toml:11:8: error: 'type'"));
  CHECK(diags[3].to_string().starts_with("test.toml:14:14: error: 'addresses'"));
  CHECK(diags[4].to_string().starts_with("test.toml:15:1: error: unknown key 'colour'"));
}

TEST_CASE("rate limiting, TSIG and transfer keys are parsed and validated") {
  constexpr std::string_view kFull = R"([server]
listen = ["127.0.0.1:5353"]
http_listen = "[::1]:9353"
status_page = "full"
[server.rrl]
responses_per_second = 20
slip = 3
ipv4_prefix = 28
ipv6_prefix = 64

[tsig.transfer-key]
algorithm = "hmac-sha512"
secret = "c2VjcmV0LXNlY3JldC1zZWNyZXQ="

[[zone]]
origin = "pool.example."
file = "pool.example.zone"
notify = ["192.0.2.53:5300", "2001:db8::53"]
allow_transfer = ["192.0.2.0/24", "2001:db8::/32"]
tsig = "transfer-key"

[[pool]]
name = "dl.pool.example."
weight_policy = "reliability"
)";
  zones::Diagnostics diags;
  auto config = parse_config(kFull, "/etc/mp/mirrorpool.toml", diags);
  INFO(joined(diags));
  REQUIRE(config);
  const ServerConfig& s = config->server;
  REQUIRE(s.http_listen);
  CHECK(s.http_listen->port == 9353);
  CHECK(s.http_listen->address.family == AF_INET6);
  CHECK(s.status_page == StatusPage::full);
  CHECK(s.rrl.responses_per_second == 20);
  CHECK(s.rrl.slip == 3);
  CHECK(s.rrl.ipv4_prefix == 28);
  CHECK(s.rrl.ipv6_prefix == 64);
  REQUIRE(config->tsig.contains("transfer-key"));
  CHECK(config->tsig.at("transfer-key").algorithm == "hmac-sha512");
  CHECK(config->tsig.at("transfer-key").secret == "c2VjcmV0LXNlY3JldC1zZWNyZXQ=");
  const ZoneConfig& z = config->zones.at(0);
  REQUIRE(z.notify.size() == 2);
  CHECK(z.notify[0].port == 5300);
  CHECK(z.notify[1].port == 53);
  CHECK(z.notify[1].address.family == AF_INET6);
  REQUIRE(z.allow_transfer.size() == 2);
  CHECK(z.allow_transfer[0].length == 24);
  CHECK(z.allow_transfer[1].length == 32);
  CHECK(z.tsig == "transfer-key");
  CHECK(config->pools.at(0).weight_policy == WeightPolicy::reliability);

  const std::vector<BadCase> cases = {
      {"[server]\nlisten = [\"127.0.0.1:53\"]\nhttp_listen = \"127.0.0.1:53\"\n",
       "test.toml:3:15: error: 'http_listen' in [server] conflicts with DNS listen endpoint"},
      {"[server]\nlisten = [\"127.0.0.1:53\"]\nhttp_listen = \"localhost\"\n",
       "test.toml:3:15: error: 'http_listen' in [server] has an invalid endpoint"},
      {"[server]\nlisten = [\"127.0.0.1:53\"]\n[server.rrl]\nslip = 11\n",
       "test.toml:4:8: error: 'slip' in [server.rrl] must be between 0 and 10"},
      {"[server]\nlisten = [\"127.0.0.1:53\"]\n[server.rrl]\nipv4_prefix = 33\n",
       "test.toml:4:15: error: 'ipv4_prefix' in [server.rrl]"},
      {"[server]\nlisten = [\"127.0.0.1:53\"]\n[server.rrl]\nrate = 1\n",
       "test.toml:4:1: error: unknown key 'rate' in [server.rrl]"},
      {std::string(kBase) + "notify = [\"192.0.2.53:0\"]\n",
       "test.toml:6:11: error: 'notify' in [[zone]] has an invalid endpoint"},
      {std::string(kBase) + "allow_transfer = [\"192.0.2.1/24\"]\n",
       "test.toml:6:19: error: 'allow_transfer' in [[zone]] has an invalid prefix"},
      {std::string(kBase) + "tsig = \"missing\"\n",
       "test.toml:6:8: error: 'tsig' in [[zone]] names an undefined key 'missing'"},
      {std::string(kBase) + "[tsig.k]\nsecret = \"not base64!\"\n",
       "test.toml:7:10: error: 'secret' in [tsig.k] is not valid base64"},
      {std::string(kBase) + "[tsig.k]\nalgorithm = \"hmac-md5\"\nsecret = \"c2VjcmV0\"\n",
       "test.toml:7:13: error: 'algorithm' in [tsig.k] must be one of \"hmac-sha256\", "
       "\"hmac-sha512\""},
      {std::string(kBase) + "[tsig.k]\nalgorithm = \"hmac-sha256\"\n",
       "test.toml:6:1: error: missing required key 'secret' in [tsig.k]"},
      {std::string(kBase) + "[tsig]\nk = 1\n",
       "test.toml:7:5: error: 'k' in [tsig] must be a table"},
      {with_pool("mirrors_json = 5\n"),
       "test.toml:8:16: error: 'mirrors_json' in [[pool]] must be a string"},
  };
  for (const BadCase& c : cases) {
    INFO(c.text);
    zones::Diagnostics bad;
    CHECK_FALSE(parse_config(c.text, "test.toml", bad));
    const std::string out = joined(bad);
    INFO(out);
    CHECK(out.find(c.expected) != std::string::npos);
  }
}

TEST_CASE("DNSSEC keys of [[zone]]: defaults, every value, errors at file:line:col") {
  {
    const Config c = parse_ok(kBase);
    const DnssecConfig& d = c.zones.at(0).dnssec;
    CHECK_FALSE(d.enabled);
    CHECK(d.algorithm == 13);
    CHECK(d.denial == DenialKind::nsec);
    CHECK(d.signature_validity_s == 14 * 86400);
    CHECK(d.variants == 32);
    CHECK(d.parent_ds_ttl_s == 86400);
    CHECK(d.propagation_delay_s == 3600);
  }
  {
    const Config c = parse_ok(std::string(kBase) + R"(dnssec = true
dnssec_algorithm = "ed25519"
dnssec_denial = "nsec3"
dnssec_signature_validity = "2h"
dnssec_variants = 256
dnssec_parent_ds_ttl = "1h"
dnssec_propagation_delay = "5m"
[[zone]]
origin = "other.example."
file = "other.example.zone"
dnssec = true
dnssec_algorithm = "ecdsap256sha256"
dnssec_denial = "nsec"
dnssec_signature_validity = "365d"
dnssec_variants = 1
)");
    REQUIRE(c.zones.size() == 2);
    const DnssecConfig& d = c.zones[0].dnssec;
    CHECK(d.enabled);
    CHECK(d.algorithm == 15);
    CHECK(d.denial == DenialKind::nsec3);
    CHECK(d.signature_validity_s == 7200);
    CHECK(d.variants == 256);
    CHECK(d.parent_ds_ttl_s == 3600);
    CHECK(d.propagation_delay_s == 300);
    const DnssecConfig& e = c.zones[1].dnssec;
    CHECK(e.enabled);
    CHECK(e.algorithm == 13);
    CHECK(e.denial == DenialKind::nsec);
    CHECK(e.signature_validity_s == 365 * 86400);
    CHECK(e.variants == 1);
  }
  const std::vector<BadCase> cases = {
      {std::string(kBase) + "dnssec = \"yes\"\n",
       "test.toml:6:10: error: 'dnssec' in [[zone]] must be true or false, not a string"},
      {std::string(kBase) + "dnssec_algorithm = \"rsasha256\"\n",
       "test.toml:6:20: error: 'dnssec_algorithm' in [[zone]] must be one of \"ecdsap256sha256\", "
       "\"ed25519\" (got \"rsasha256\")"},
      {std::string(kBase) + "dnssec_algorithm = 13\n",
       "test.toml:6:20: error: 'dnssec_algorithm' in [[zone]] must be one of \"ecdsap256sha256\""},
      {std::string(kBase) + "dnssec_denial = \"nsec5\"\n",
       "test.toml:6:17: error: 'dnssec_denial' in [[zone]] must be one of \"nsec\", \"nsec3\" "
       "(got \"nsec5\")"},
      {std::string(kBase) + "dnssec_signature_validity = \"30m\"\n",
       "test.toml:6:29: error: 'dnssec_signature_validity' in [[zone]] must be between 1h and "
       "365d (got 30m)"},
      {std::string(kBase) + "dnssec_signature_validity = \"400d\"\n",
       "test.toml:6:29: error: 'dnssec_signature_validity' in [[zone]] must be between 1h and "
       "365d (got 400d)"},
      {std::string(kBase) + "dnssec_signature_validity = \"two weeks\"\n",
       "test.toml:6:29: error: 'dnssec_signature_validity' in [[zone]] is not a valid duration"},
      {std::string(kBase) + "dnssec_variants = 0\n",
       "test.toml:6:19: error: 'dnssec_variants' in [[zone]] must be between 1 and 256 (got 0)"},
      {std::string(kBase) + "dnssec_variants = 257\n",
       "test.toml:6:19: error: 'dnssec_variants' in [[zone]] must be between 1 and 256 (got 257)"},
      {std::string(kBase) + "dnssec_parent_ds_ttl = \"31d\"\n",
       "test.toml:6:24: error: 'dnssec_parent_ds_ttl' in [[zone]] must be between 0ms and 30d"},
      {std::string(kBase) + "dnssec_propagation_delay = \"8d\"\n",
       "test.toml:6:28: error: 'dnssec_propagation_delay' in [[zone]] must be between 0ms and 7d"},
      {std::string(kBase) + "dnssec_nsec3_iterations = 10\n",
       "test.toml:6:1: error: unknown key 'dnssec_nsec3_iterations' in [[zone]]"},
  };
  for (const BadCase& c : cases) {
    INFO(c.text);
    zones::Diagnostics bad;
    CHECK_FALSE(parse_config(c.text, "test.toml", bad));
    const std::string out = joined(bad);
    INFO(out);
    CHECK(out.find(c.expected) != std::string::npos);
  }
}

TEST_CASE("nearest-mirror keys: [server.geo], [[server.geo.net]], pool geo and mirror places") {
  const std::string server = R"([server]
listen = ["127.0.0.1:5353"]
[server.geo]
database = "geo/City.mmdb"
ecs = false
ecs_max_prefix_v4 = 20
ecs_max_prefix_v6 = 48
[[server.geo.net]]
prefix = "198.51.100.0/24"
country = "de"
[[server.geo.net]]
prefix = "2001:db8::/32"
location = [-33.87, 151]
[[zone]]
origin = "pool.example."
file = "pool.example.zone"
[[pool]]
name = "dl.pool.example."
geo = "nearest"
geo_margin_km = 800
[[pool.mirror]]
id = "m1"
addresses = ["192.0.2.1"]
country = "fr"
location = [48.86, 2.35]
[[pool.mirror]]
id = "m2"
addresses = ["192.0.2.2"]
)";
  const Config c = parse_ok(server, "/etc/mirrorpool/mirrorpool.toml");
  const GeoConfig& geo = c.server.geo;
  CHECK(geo.enabled);
  CHECK(geo.database == "/etc/mirrorpool/geo/City.mmdb");
  CHECK_FALSE(geo.ecs);
  CHECK(geo.ecs_max_prefix_v4 == 20);
  CHECK(geo.ecs_max_prefix_v6 == 48);
  REQUIRE(geo.nets.size() == 2);
  CHECK(geo.nets[0].prefix.text == "198.51.100.0/24");
  CHECK(geo.nets[0].country == "DE");
  CHECK_FALSE(geo.nets[0].location);
  CHECK(geo.nets[1].country.empty());
  CHECK(*geo.nets[1].location == zones::GeoPoint{-33.87, 151});
  const zones::PoolDef& pool = c.pools.at(0).def;
  CHECK(pool.geo == zones::GeoMode::nearest);
  CHECK(pool.geo_margin_km == 800);
  CHECK(pool.mirrors.at(0).country == "FR");
  CHECK(*pool.mirrors.at(0).location == zones::GeoPoint{48.86, 2.35});
  CHECK(pool.mirrors.at(1).country.empty());
  CHECK_FALSE(pool.mirrors.at(1).location);

  // Defaults: geo off everywhere, and an empty [server.geo] turns ECS on.
  const Config plain = parse_ok(with_pool(""));
  CHECK_FALSE(plain.server.geo.enabled);
  CHECK(plain.pools.at(0).def.geo == zones::GeoMode::off);
  CHECK(plain.pools.at(0).def.geo_margin_km == 0);
  const Config bare = parse_ok(
      "[server]\nlisten = [\"127.0.0.1:5353\"]\n[server.geo]\n"
      "[[zone]]\norigin = \"pool.example.\"\nfile = \"z\"\n");
  CHECK(bare.server.geo.enabled);
  CHECK(bare.server.geo.database.empty());
  CHECK(bare.server.geo.ecs);
  CHECK(bare.server.geo.ecs_max_prefix_v4 == 24);
  CHECK(bare.server.geo.ecs_max_prefix_v6 == 56);
}

TEST_CASE("bad nearest-mirror keys are reported at file:line:col") {
  const std::string head = "[server]\nlisten = [\"127.0.0.1:5353\"]\n[server.geo]\n";
  const std::string zone = "[[zone]]\norigin = \"pool.example.\"\nfile = \"z\"\n";
  const std::string pool = "[[pool]]\nname = \"dl.pool.example.\"\n";
  const std::string mirror = "[[pool.mirror]]\nid = \"m\"\naddresses = [\"192.0.2.1\"]\n";
  const std::vector<BadCase> cases = {
      {head + "ecs = \"yes\"\n" + zone,
       "test.toml:4:7: error: 'ecs' in [server.geo] must be true or false, not a string"},
      {head + "ecs_max_prefix_v4 = 33\n" + zone,
       "test.toml:4:21: error: 'ecs_max_prefix_v4' in [server.geo] must be between 0 and 32"},
      {head + "ecs_max_prefix_v6 = 129\n" + zone,
       "test.toml:4:21: error: 'ecs_max_prefix_v6' in [server.geo] must be between 0 and 128"},
      {head + "databse = \"x\"\n" + zone,
       "test.toml:4:1: error: unknown key 'databse' in [server.geo]"},
      {head + "[[server.geo.net]]\ncountry = \"DE\"\n" + zone,
       "test.toml:4:1: error: missing required key 'prefix' in [[server.geo.net]]"},
      {head + "[[server.geo.net]]\nprefix = \"198.51.100.1/24\"\ncountry = \"DE\"\n" + zone,
       "test.toml:5:10: error: 'prefix' in [[server.geo.net]] is not a prefix"},
      {head + "[[server.geo.net]]\nprefix = \"198.51.100.0/24\"\n" + zone,
       "test.toml:4:1: error: [[server.geo.net]] needs 'country', 'location' or both"},
      {head + "[[server.geo.net]]\nprefix = \"198.51.100.0/24\"\ncountry = \"DEU\"\n" + zone,
       "test.toml:6:11: error: 'country' in [[server.geo.net]] must be a two-letter ISO 3166-1 "
       "country code such as \"DE\" (got \"DEU\")"},
      {head + "[[server.geo.net]]\nprefix = \"198.51.100.0/24\"\nlocation = [95.0, 8]\n" + zone,
       "test.toml:6:12: error: 'location' in [[server.geo.net]] must be [latitude, longitude] "
       "with |latitude| <= 90 and |longitude| <= 180 (got [95, 8])"},
      {head + "[[server.geo.net]]\nprefix = \"198.51.100.0/24\"\nlocation = [50, 181]\n" + zone,
       "(got [50, 181])"},
      {head + "[[server.geo.net]]\nprefix = \"198.51.100.0/24\"\nlocation = [50]\n" + zone,
       "test.toml:6:12: error: 'location' in [[server.geo.net]] must be [latitude, longitude] in "
       "degrees, such as [50.11, 8.68], not an array"},
      {head + "[[server.geo.net]]\nprefix = \"198.51.100.0/24\"\ncountry = \"DE\"\n" +
           "[[server.geo.net]]\nprefix = \"198.51.100.0/24\"\ncountry = \"FR\"\n" + zone,
       "test.toml:8:10: error: [[server.geo.net]] prefix \"198.51.100.0/24\" is listed twice "
       "(first at line 4)"},
      {"[server]\nlisten = [\"127.0.0.1:5353\"]\n" + zone + pool + "geo = \"nearest\"\n",
       "test.toml:8:7: error: 'geo' in [[pool]] is \"nearest\" but there is no [server.geo] table"},
      {head + zone + pool + "geo = \"closest\"\n",
       "test.toml:9:7: error: 'geo' in [[pool]] must be one of \"off\", \"nearest\", \"country\" "
       "(got \"closest\")"},
      {head + zone + pool + "geo_margin_km = -1\n",
       "test.toml:9:17: error: 'geo_margin_km' in [[pool]] must be between 0 and 20000"},
      {head + zone + pool + mirror + "country = \"D1\"\n",
       "test.toml:12:11: error: 'country' in [[pool.mirror]] must be a two-letter"},
      {head + zone + pool + mirror + "location = [\"50\", \"8\"]\n",
       "test.toml:12:12: error: 'location' in [[pool.mirror]] must be [latitude, longitude]"},
      {head + zone + pool + mirror + "location = [-91, 0]\n",
       "test.toml:12:12: error: 'location' in [[pool.mirror]] must be [latitude, longitude] with"},
  };
  for (const BadCase& c : cases) {
    INFO(c.text);
    const std::string out = joined(parse_bad(c.text));
    INFO(out);
    CHECK(out.find(c.expected) != std::string::npos);
  }
}

TEST_CASE("load_config reports a missing file") {
  zones::Diagnostics diags;
  CHECK_FALSE(load_config("/nonexistent/mirrorpool.toml", diags));
  REQUIRE(diags.size() == 1);
  CHECK(diags[0].to_string().find("/nonexistent/mirrorpool.toml") == 0);
  CHECK(diags[0].message.find("No such file") != std::string::npos);
}

// The shipped examples must load, with their zone files, exactly as the
// daemon would load them. Tests run in tests/dnsd.
void check_example(const std::string& path) {
  zones::Diagnostics diags;
  auto config = load_config(path, diags);
  INFO(joined(diags));
  REQUIRE(config);
  zones::ZoneList loaded;
  for (const ZoneConfig& zone : config->zones) {
    auto z = zones::load_zone(zone.file, zone.origin, diags);
    INFO(joined(diags));
    REQUIRE(z);
    loaded.push_back(std::make_shared<const zones::Zone>(std::move(*z)));
  }
  std::vector<zones::PoolDef> pools;
  for (const PoolConfig& pool : config->pools) pools.push_back(pool.def);
  CHECK(zones::validate_pools(loaded, pools, diags));
  CHECK(joined(diags) == "");
}

TEST_CASE("packaging/mirrorpool.toml, the annotated example") {
  check_example("../../packaging/mirrorpool.toml");
  zones::Diagnostics diags;
  const auto config = load_config("../../packaging/mirrorpool.toml", diags);
  REQUIRE(config);
  const PoolConfig& p = config->pools.at(0);
  REQUIRE(p.mirror_checks.size() == 4);
  CHECK(p.mirror_checks[1].path == "/mirrors/tails/");
  CHECK(p.mirror_checks[2].type == CheckType::http);
  CHECK(p.mirror_checks[2].port == 80);
  CHECK(p.mirror_checks[3].freshness.path == "/pub/tails/latest.json");
}

TEST_CASE("packaging/demo/mirrorpool.toml, the local demo") {
  check_example("../../packaging/demo/mirrorpool.toml");
  zones::Diagnostics diags;
  const auto config = load_config("../../packaging/demo/mirrorpool.toml", diags);
  REQUIRE(config);
  REQUIRE(config->server.listen.size() == 2);
  CHECK(config->server.listen[0].text == "127.0.0.1:5353");
  CHECK(config->server.listen[1].text == "[::1]:5353");
  CHECK(config->server.control_socket.starts_with("/tmp/mirrorpool-demo/"));
  CHECK(config->server.state_dir.starts_with("/tmp/mirrorpool-demo/"));
  const PoolConfig& p = config->pools.at(0);
  CHECK(p.def.name.to_text() == "dl.pool.example.");
  REQUIRE(p.def.mirrors.size() == 4);
  for (size_t i = 0; i < 4; ++i) {
    CHECK(p.def.mirrors[i].addresses.at(0).text == "127.0.1." + std::to_string(i + 1));
    // The demo never probes anything off the machine.
    CHECK(p.mirror_checks[i].type == CheckType::http);
    CHECK(p.mirror_checks[i].port == 8080);
    CHECK(p.mirror_checks[i].path == "/");
  }
}

TEST_CASE("[[alert]]: channels, events and limits") {
  const Config c = parse_ok(with_pool(R"(
[[alert]]
name = "ops"
command = ["/usr/local/bin/notify-ops", "--quiet"]
webhook = "https://hooks.example.org/mirrorpool"
mail_to = ["ops@example.org"]
mirror_admins = true
admin_after = "2h"
min_interval = "5m"

[[alert]]
name = "pager"
events = ["pool-degraded", "prober-doubt"]
command = ["/usr/bin/pager-duty"]
)"));
  REQUIRE(c.alerts.size() == 2);
  const AlertConfig& ops = c.alerts[0];
  CHECK(ops.events.all());
  CHECK(ops.command == std::vector<std::string>{"/usr/local/bin/notify-ops", "--quiet"});
  CHECK(ops.webhook == "https://hooks.example.org/mirrorpool");
  CHECK(ops.mirror_admins);
  CHECK(ops.admin_after == hours(2));
  CHECK(ops.min_interval == minutes(5));
  CHECK(ops.contact == "ops@example.org");  // mail_to[0]
  const AlertConfig& pager = c.alerts[1];
  CHECK(pager.events.count() == 2);
  CHECK(pager.events.test(static_cast<size_t>(AlertKind::prober_doubt)));
  CHECK(pager.min_interval == minutes(10));
  CHECK(pager.admin_after == hours(1));
  CHECK(c.server.sendmail == "/usr/sbin/sendmail");
}

TEST_CASE("[[alert]]: every mistake at its file:line:col") {
  const auto diags = parse_bad(with_pool(R"(
[[alert]]
name = "a"
events = ["mirror-dwon"]
command = ["notify-ops"]
webhook = "ftp://x"
mail_to = ["ops example.org"]
nonsense = 1

[[alert]]
name = "a"
mirror_admins = true

[[alert]]
name = "b"
)"));
  const std::string text = joined(diags);
  CHECK(text.find("test.toml:11:11: error: unknown event \"mirror-dwon\"") != std::string::npos);
  CHECK(text.find("test.toml:12:11: error: 'command' in [[alert]] must start with the program's "
                  "absolute path") != std::string::npos);
  CHECK(text.find("test.toml:13:11: error: 'webhook' in [[alert]] must be an http:// or "
                  "https:// URL") != std::string::npos);
  CHECK(text.find("test.toml:14:12: error: \"ops example.org\" in 'mail_to' is not a mail "
                  "address") != std::string::npos);
  CHECK(text.find("test.toml:15:1: error: unknown key 'nonsense'") != std::string::npos);
  CHECK(text.find("test.toml:18:8: error: a second [[alert]] named \"a\"") != std::string::npos);
  CHECK(text.find("test.toml:19:1: error: 'mirror_admins' in [[alert]] needs 'contact' or "
                  "'mail_to'") != std::string::npos);
  CHECK(text.find("error: [[alert]] needs a channel") != std::string::npos);
  const auto relative = parse_bad(R"([server]
listen = ["127.0.0.1:5353"]
sendmail = "sendmail"
)");
  CHECK(joined(relative).find("'sendmail' in [server] must be an absolute path") !=
        std::string::npos);
}

}  // namespace
}  // namespace mirrorpool::dnsd
