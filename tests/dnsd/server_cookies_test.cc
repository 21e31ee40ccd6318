// Server cookies (dnsd/query/server_cookies.hh): the RFC 9018 test vectors,
// and what is accepted: our own recent cookies for the same client, under
// the current or the previous rotating key.
#include <arpa/inet.h>
#include <doctest/doctest.h>
#include <netinet/in.h>

#include <array>
#include <string>

#include "dnsd/query/server_cookies.hh"

using namespace mirrorpool::dnsd;

namespace {

std::string hex(std::span<const uint8_t> bytes) {
  static constexpr char kDigits[] = "0123456789abcdef";
  std::string out;
  for (uint8_t b : bytes) {
    out.push_back(kDigits[b >> 4]);
    out.push_back(kDigits[b & 15]);
  }
  return out;
}

template <size_t N>
std::array<uint8_t, N> unhex(std::string_view text) {
  REQUIRE(text.size() == 2 * N);
  std::array<uint8_t, N> out{};
  for (size_t i = 0; i < N; ++i) {
    out[i] = static_cast<uint8_t>(std::stoi(std::string(text.substr(2 * i, 2)), nullptr, 16));
  }
  return out;
}

Cookie cookie_of(std::string_view text) {
  Cookie c;
  c.present = true;
  c.size = static_cast<uint8_t>(text.size() / 2);
  for (size_t i = 0; i < c.size; ++i) {
    c.bytes[i] = static_cast<uint8_t>(std::stoi(std::string(text.substr(2 * i, 2)), nullptr, 16));
  }
  return c;
}

sockaddr_storage address(const char* text) {
  sockaddr_storage ss{};
  if (inet_pton(AF_INET, text, &reinterpret_cast<sockaddr_in*>(&ss)->sin_addr) == 1) {
    ss.ss_family = AF_INET;
  } else {
    REQUIRE(inet_pton(AF_INET6, text, &reinterpret_cast<sockaddr_in6*>(&ss)->sin6_addr) == 1);
    ss.ss_family = AF_INET6;
  }
  return ss;
}

const sockaddr* sa(const sockaddr_storage& ss) {
  return reinterpret_cast<const sockaddr*>(&ss);
}

CookieSecret configured(std::string_view text) {
  return CookieSecret{unhex<kCookieSecretSize>(text), false};
}

}  // namespace

TEST_CASE("RFC 9018 appendix A: the server cookies of its examples, byte for byte") {
  ServerCookies cookies;
  std::array<uint8_t, kReplyCookieSize> reply{};
  const CookieSecret secret = configured("e5e973e5a6b2a43f48e7dc849e37bfcf");
  const sockaddr_storage v4 = address("198.51.100.100");

  // A.1: a client cookie alone.
  CHECK(cookies.check(cookie_of("2464c4abcf10c957"), sa(v4), 1559731985, secret, reply) ==
        CookieVerdict::client_only);
  CHECK(hex(reply) == "2464c4abcf10c957010000005cf79f111f8130c3eee29480");
  // A.2: the same client 40 minutes later, with that cookie: valid, and a
  // new one.
  CHECK(cookies.check(cookie_of("2464c4abcf10c957010000005cf79f111f8130c3eee29480"), sa(v4),
                      1559734385, secret, reply) == CookieVerdict::valid);
  CHECK(hex(reply) == "2464c4abcf10c957010000005cf7a871d4a564a1442aca77");
}

TEST_CASE("a server cookie is valid for its client, for an hour, under our secret") {
  ServerCookies cookies;
  std::array<uint8_t, kReplyCookieSize> reply{};
  const CookieSecret secret = configured("00112233445566778899aabbccddeeff");
  const sockaddr_storage client = address("2001:db8::1");
  const uint32_t t0 = 1'800'000'000;
  REQUIRE(cookies.check(cookie_of("0102030405060708"), sa(client), t0, secret, reply) ==
          CookieVerdict::client_only);
  const Cookie ours = cookie_of(hex(reply));
  std::array<uint8_t, kReplyCookieSize> again{};

  CHECK(cookies.check(ours, sa(client), t0 + 3600, secret, again) == CookieVerdict::valid);
  CHECK(cookies.check(ours, sa(client), t0 + 3601, secret, again) == CookieVerdict::bad);
  // A clock up to five minutes behind the server that made it (a sibling
  // sharing the secret) still takes it.
  CHECK(cookies.check(ours, sa(client), t0 - 300, secret, again) == CookieVerdict::valid);
  CHECK(cookies.check(ours, sa(client), t0 - 301, secret, again) == CookieVerdict::bad);
  const sockaddr_storage other = address("2001:db8::2");
  CHECK(cookies.check(ours, sa(other), t0 + 1, secret, again) == CookieVerdict::bad);
  CHECK(cookies.check(ours, sa(client), t0 + 1, configured("00112233445566778899aabbccddeefe"),
                      again) == CookieVerdict::bad);
  // Another client cookie, a flipped hash bit, another version, a server
  // cookie of a size RFC 9018 never makes.
  Cookie changed = ours;
  changed.bytes[0] ^= 1;
  CHECK(cookies.check(changed, sa(client), t0 + 1, secret, again) == CookieVerdict::bad);
  changed = ours;
  changed.bytes[kReplyCookieSize - 1] ^= 1;
  CHECK(cookies.check(changed, sa(client), t0 + 1, secret, again) == CookieVerdict::bad);
  changed = ours;
  changed.bytes[8] = 2;
  CHECK(cookies.check(changed, sa(client), t0 + 1, secret, again) == CookieVerdict::bad);
  CHECK(cookies.check(cookie_of(hex(reply).substr(0, 40)), sa(client), t0 + 1, secret, again) ==
        CookieVerdict::bad);
  // Whatever came in, the reply carries the client's cookie and a fresh
  // server cookie, valid at once.
  CHECK(hex(std::span(again).first(8)) == "0102030405060708");
  CHECK(cookies.check(cookie_of(hex(again)), sa(client), t0 + 2, secret, reply) ==
        CookieVerdict::valid);
}

TEST_CASE("a drawn secret: keys rotate daily, the previous day's key still holds") {
  ServerCookies cookies;
  std::array<uint8_t, kReplyCookieSize> reply{};
  CookieSecret secret = configured("0f0e0d0c0b0a09080706050403020100");
  secret.rotating = true;
  const sockaddr_storage client = address("127.0.0.1");
  // Ten minutes before a rotation.
  const uint32_t before = (1'800'000'000 / kCookieKeyLifetime + 1) * kCookieKeyLifetime - 600;
  cookies.check(cookie_of("a1a2a3a4a5a6a7a8"), sa(client), before, secret, reply);
  const Cookie old_key = cookie_of(hex(reply));
  std::array<uint8_t, kReplyCookieSize> after{};
  // Twenty minutes later, past the rotation: the old key's cookie is valid,
  // the new one is made with another key.
  CHECK(cookies.check(old_key, sa(client), before + 1200, secret, after) == CookieVerdict::valid);
  CookieSecret unrotated = secret;
  unrotated.rotating = false;
  std::array<uint8_t, kReplyCookieSize> plain{};
  cookies.check(cookie_of("a1a2a3a4a5a6a7a8"), sa(client), before, unrotated, plain);
  CHECK(hex(plain) != hex(reply));  // the key is derived, not the secret itself
  // Across two rotations nothing of the old key survives (and the hour is
  // long gone anyway).
  CHECK(cookies.check(old_key, sa(client), before + kCookieKeyLifetime + 1200, secret, after) ==
        CookieVerdict::bad);
}
