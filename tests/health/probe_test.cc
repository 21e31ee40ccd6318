// The tcp, http and https probes against fake servers on loopback.
#include <chrono>
#include <optional>
#include <string>

#include <doctest/doctest.h>

#include "fake_server.hh"
#include "health/http_client.hh"
#include "health/http_probe.hh"
#include "health/tcp_probe.hh"
#include "loop_runner.hh"
#include "test_cert.hh"

using namespace std::chrono_literals;
using namespace mirrorpool::health;
using namespace mirrorpool::health::test;

namespace {

constexpr auto kDeadline = 10s;

struct Probes {
  LoopRunner runner;
  HttpClient http{runner.loop()};
  TcpProber tcp{runner.loop()};

  ProbeResult http_probe(const CheckSpec& check, const std::string& address = "127.0.0.1") {
    std::optional<ProbeResult> result;
    http.fetch(make_probe_request(check, address, check.path),
               [&](const HttpResponse& response) { result = judge_http(check, response); });
    REQUIRE(runner.run_until([&] { return result.has_value(); }, kDeadline));
    return *result;
  }

  ProbeResult tcp_probe(uint16_t port, std::chrono::milliseconds timeout = 1s) {
    std::optional<ProbeResult> result;
    tcp.probe("127.0.0.1", port, timeout, [&](ProbeResult r) { result = std::move(r); });
    REQUIRE(runner.run_until([&] { return result.has_value(); }, kDeadline));
    return *result;
  }
};

CheckSpec http_check(uint16_t port) {
  CheckSpec check;
  check.type = CheckType::http;
  check.host = "mirror.test";
  check.port = port;
  check.path = "/tails/";
  check.timeout = 2000ms;
  return check;
}

CheckSpec https_check(uint16_t port, const TestCert& cert) {
  CheckSpec check = http_check(port);
  check.type = CheckType::https;
  check.ca_file = cert.ca_file();
  // What these check is the certificate, not the time: a TLS handshake under
  // ThreadSanitizer on a busy machine can take longer than the usual 2 s.
  check.timeout = 10000ms;
  return check;
}

}  // namespace

TEST_CASE("make_probe_request pins the connection to the address, keeping the host") {
  CheckSpec check;
  check.type = CheckType::https;
  check.host = "dl.pool.example";
  check.port = 443;
  auto v4 = make_probe_request(check, "192.0.2.10", "/tails/");
  CHECK(v4.url == "https://dl.pool.example:443/tails/");
  CHECK(v4.connect_to == "dl.pool.example:443:192.0.2.10:443");
  auto v6 = make_probe_request(check, "2001:db8::10", "x");
  CHECK(v6.url == "https://dl.pool.example:443/x");
  CHECK(v6.connect_to == "dl.pool.example:443:[2001:db8::10]:443");
  check.host.clear();
  check.type = CheckType::http;
  auto bare = make_probe_request(check, "2001:db8::10", "/");
  CHECK(bare.url == "http://[2001:db8::10]:443/");
  CHECK(bare.connect_to.empty());
}

TEST_CASE("judge_http checks status, then body, then certificate lifetime") {
  CheckSpec check;
  check.expect_status = {200, 204};
  check.expect_body = "Tails";
  HttpResponse response;
  response.transferred = true;
  response.status = 204;
  response.body = "<h1>Tails</h1>";
  CHECK(judge_http(check, response).ok);
  response.status = 503;
  CHECK(judge_http(check, response).reason == "http 503");
  response.status = 200;
  response.body = "It works!";
  CHECK(judge_http(check, response).reason == "body: missing 'Tails'");
  response.body = "Tails";
  check.type = CheckType::https;
  response.tls_expiry = std::chrono::system_clock::now() + std::chrono::hours(3 * 24 + 12);
  CHECK(judge_http(check, response).reason == "tls: certificate expires in 3 days");
  response.tls_expiry = std::chrono::system_clock::now() - std::chrono::hours(1);
  CHECK(judge_http(check, response).reason == "tls: certificate expires in -1 days");
  response.transferred = false;
  response.error = "timeout after 2000ms";
  CHECK(judge_http(check, response).reason == "timeout after 2000ms");
}

TEST_CASE("tcp probe: accepted connection is ok") {
  Probes probes;
  FakeServer server;
  auto result = probes.tcp_probe(server.port());
  CHECK(result.ok);
  CHECK(result.reason == "ok");
}

TEST_CASE("tcp probe: refused connection fails with the OS wording") {
  Probes probes;
  RefusingPort refusing;
  auto result = probes.tcp_probe(refusing.port());
  CHECK_FALSE(result.ok);
  CHECK(result.reason == "connect: Connection refused");
}

TEST_CASE("http probe: 200 with the pool's Host header on a 127.0.1.x address") {
  Probes probes;
  FakeServer server("127.0.1.7");
  server.reply({200, "<title>Tails</title>", false});
  auto check = http_check(server.port());
  check.expect_body = "Tails";
  auto result = probes.http_probe(check, "127.0.1.7");
  CHECK(result.ok);
  CHECK(result.reason == "ok");
  CHECK(server.last_host() == "mirror.test:" + std::to_string(server.port()));
}

TEST_CASE("http probe: 503 and 404 are failures unless expected") {
  Probes probes;
  FakeServer server;
  auto check = http_check(server.port());
  server.reply({503, "busy", false});
  CHECK(probes.http_probe(check).reason == "http 503");
  server.reply({404, "nope", false});
  CHECK(probes.http_probe(check).reason == "http 404");
  check.expect_status = {200, 404};
  CHECK(probes.http_probe(check).ok);
}

TEST_CASE("http probe: a redirect is a status, not followed") {
  Probes probes;
  FakeServer server;
  server.reply({302, "", false});
  CHECK(probes.http_probe(http_check(server.port())).reason == "http 302");
}

TEST_CASE("http probe: wrong body") {
  Probes probes;
  FakeServer server;
  server.reply({200, "Apache2 Default Page", false});
  auto check = http_check(server.port());
  check.expect_body = "Tails";
  auto result = probes.http_probe(check);
  CHECK_FALSE(result.ok);
  CHECK(result.reason == "body: missing 'Tails'");
}

TEST_CASE("http probe: a body larger than the limit is read only up to it") {
  Probes probes;
  FakeServer server;
  server.reply({200, "Tails" + std::string(3 << 20, 'x'), false});
  auto check = http_check(server.port());
  check.expect_body = "Tails";
  // What is checked is the cut, not the time: under ThreadSanitizer on a busy
  // machine, reading up to the limit can take longer than the usual 2 s.
  check.timeout = 10000ms;
  const auto result = probes.http_probe(check);
  CHECK_MESSAGE(result.ok, result.reason);
}

TEST_CASE("http probe: a server that never answers times out on time") {
  Probes probes;
  FakeServer server;
  server.reply({200, "", true});
  auto check = http_check(server.port());
  check.timeout = 300ms;
  const auto started = std::chrono::steady_clock::now();
  auto result = probes.http_probe(check);
  CHECK(result.reason == "timeout after 300ms");
  // Only "it ended": the server would never answer. The bound is loose
  // because a shared machine under ThreadSanitizer took 2.2 s once.
  CHECK(std::chrono::steady_clock::now() - started < 15s);
}

TEST_CASE("http probe: refused connection") {
  Probes probes;
  RefusingPort refusing;
  CHECK(probes.http_probe(http_check(refusing.port())).reason == "connect: Connection refused");
}

TEST_CASE("http probe over IPv6 loopback") {
  std::optional<FakeServer> server;
  try {
    server.emplace("::1");
  } catch (const std::exception& e) {
    MESSAGE("no IPv6 loopback here: " << e.what());
    return;
  }
  Probes probes;
  auto result = probes.http_probe(http_check(server->port()), "::1");
  CHECK(result.ok);
  CHECK(server->last_host() == "mirror.test:" + std::to_string(server->port()));
}

TEST_CASE("https probe: self-signed certificate trusted through ca_file") {
  TestCert cert("mirror.test", -1, 30);
  FakeServer server("127.0.0.1", &cert.files());
  Probes probes;
  auto result = probes.http_probe(https_check(server.port(), cert));
  CHECK_MESSAGE(result.ok, result.reason);
  REQUIRE(result.tls_expiry);
  const int days = days_until(*result.tls_expiry, std::chrono::system_clock::now());
  CHECK(days >= 29);
  CHECK(days <= 30);
}

TEST_CASE("https probe: untrusted chain fails") {
  TestCert cert("mirror.test", -1, 30);
  FakeServer server("127.0.0.1", &cert.files());
  Probes probes;
  auto check = https_check(server.port(), cert);
  check.ca_file.clear();  // the system store does not know our test CA
  auto result = probes.http_probe(check);
  CHECK_FALSE(result.ok);
  CHECK(result.reason.starts_with("tls: "));
  // The handshake failed, yet the certificate it showed is known: the
  // expiry metric keeps its series exactly when something is wrong.
  REQUIRE(result.tls_expiry);
  CHECK(days_until(*result.tls_expiry, std::chrono::system_clock::now()) >= 29);
}

TEST_CASE("https probe: certificate for another name fails") {
  TestCert cert("other.test", -1, 30);
  FakeServer server("127.0.0.1", &cert.files());
  Probes probes;
  auto result = probes.http_probe(https_check(server.port(), cert));
  CHECK_FALSE(result.ok);
  CHECK(result.reason.starts_with("tls: "));
}

TEST_CASE("https probe: expired certificate fails") {
  TestCert cert("mirror.test", -30, -1);
  FakeServer server("127.0.0.1", &cert.files());
  Probes probes;
  auto result = probes.http_probe(https_check(server.port(), cert));
  CHECK_FALSE(result.ok);
  CHECK(result.reason.starts_with("tls: "));
  CHECK(result.reason.find("expired") != std::string::npos);
  REQUIRE(result.tls_expiry);
  CHECK(days_until(*result.tls_expiry, std::chrono::system_clock::now()) < 0);
}

TEST_CASE("https probe: certificate expiring in 3 days fails with tls_min_days = 7") {
  TestCert cert("mirror.test", -1, 3);
  FakeServer server("127.0.0.1", &cert.files());
  Probes probes;
  auto check = https_check(server.port(), cert);
  check.tls_min_days = 7;
  auto result = probes.http_probe(check);
  CHECK_FALSE(result.ok);
  // Whole days left: 3, or 2 once the clock passed the second it was made.
  CHECK((result.reason == "tls: certificate expires in 3 days" ||
         result.reason == "tls: certificate expires in 2 days"));
  check.tls_min_days = 2;
  CHECK(probes.http_probe(check).ok);
}
