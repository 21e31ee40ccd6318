#include "dnsd/query/rate_limiter.hh"

#include <arpa/inet.h>
#include <doctest/doctest.h>
#include <netinet/in.h>

#include <vector>

namespace mirrorpool::dnsd {
namespace {

using Verdict = RateLimiter::Verdict;

sockaddr_storage v4(const char* text) {
  sockaddr_storage ss{};
  auto* in = reinterpret_cast<sockaddr_in*>(&ss);
  in->sin_family = AF_INET;
  REQUIRE(inet_pton(AF_INET, text, &in->sin_addr) == 1);
  return ss;
}

sockaddr_storage v6(const char* text) {
  sockaddr_storage ss{};
  auto* in6 = reinterpret_cast<sockaddr_in6*>(&ss);
  in6->sin6_family = AF_INET6;
  REQUIRE(inet_pton(AF_INET6, text, &in6->sin6_addr) == 1);
  return ss;
}

const sockaddr* sa(const sockaddr_storage& ss) {
  return reinterpret_cast<const sockaddr*>(&ss);
}

RrlConfig limit(unsigned rps, unsigned slip) {
  RrlConfig c;
  c.responses_per_second = rps;
  c.slip = slip;
  return c;
}

// The verdicts for `count` responses to `client` within one second.
std::vector<Verdict> burst(RateLimiter& rrl, const sockaddr_storage& client, int count,
                           uint64_t now_ms) {
  std::vector<Verdict> out;
  for (int i = 0; i < count; ++i) out.push_back(rrl.check(sa(client), now_ms).verdict);
  return out;
}

TEST_CASE("rrl answers up to the limit, then drops with every slip-th truncated") {
  RateLimiter rrl(limit(5, 2));
  const auto verdicts = burst(rrl, v4("192.0.2.7"), 11, 10'000);
  const std::vector<Verdict> expected = {Verdict::answer, Verdict::answer, Verdict::answer,
                                         Verdict::answer, Verdict::answer, Verdict::drop,
                                         Verdict::slip,   Verdict::drop,   Verdict::slip,
                                         Verdict::drop,   Verdict::slip};
  CHECK(verdicts == expected);
}

TEST_CASE("rrl slip 0 drops every limited answer, slip 1 truncates every one") {
  RateLimiter never(limit(1, 0));
  RateLimiter always(limit(1, 1));
  const auto client = v4("192.0.2.7");
  CHECK(burst(never, client, 4, 0) ==
        std::vector<Verdict>{Verdict::answer, Verdict::drop, Verdict::drop, Verdict::drop});
  CHECK(burst(always, client, 4, 0) ==
        std::vector<Verdict>{Verdict::answer, Verdict::slip, Verdict::slip, Verdict::slip});
}

TEST_CASE("rrl counts per /24: neighbours share a count, another prefix has its own") {
  RateLimiter rrl(limit(3, 0));
  burst(rrl, v4("198.51.100.1"), 3, 5'000);
  CHECK(rrl.check(sa(v4("198.51.100.200")), 5'000).verdict == Verdict::drop);
  CHECK(rrl.check(sa(v4("198.51.101.1")), 5'000).verdict == Verdict::answer);
  CHECK(rrl.prefix_text(sa(v4("198.51.100.200"))) == "198.51.100.0/24");
}

TEST_CASE("rrl starts afresh every second") {
  RateLimiter rrl(limit(2, 0));
  const auto client = v4("203.0.113.9");
  CHECK(burst(rrl, client, 3, 7'100).back() == Verdict::drop);
  CHECK(burst(rrl, client, 2, 7'999).back() == Verdict::drop);
  CHECK(burst(rrl, client, 2, 8'000) == std::vector<Verdict>{Verdict::answer, Verdict::answer});
}

TEST_CASE("rrl reports one episode per stretch of limited seconds") {
  RateLimiter rrl(limit(1, 0));
  const auto client = v4("203.0.113.9");
  auto episodes = [&](uint64_t now_ms) {
    int n = 0;
    for (int i = 0; i < 5; ++i) n += rrl.check(sa(client), now_ms).episode_start ? 1 : 0;
    return n;
  };
  CHECK(episodes(1'000) == 1);  // the first limited second begins an episode
  CHECK(episodes(2'000) == 0);  // limited again the next second: the same episode
  CHECK(episodes(3'500) == 0);
  CHECK(episodes(9'000) == 1);  // after quiet seconds, a new one
}

TEST_CASE("rrl counts IPv6 per /56 and IPv4-mapped clients as IPv4") {
  RateLimiter rrl(limit(1, 0));
  CHECK(rrl.check(sa(v6("2001:db8:0:1200::1")), 0).verdict == Verdict::answer);
  CHECK(rrl.check(sa(v6("2001:db8:0:12ff:ffff::2")), 0).verdict == Verdict::drop);
  CHECK(rrl.check(sa(v6("2001:db8:0:1300::1")), 0).verdict == Verdict::answer);
  CHECK(rrl.prefix_text(sa(v6("2001:db8:0:12ff::9"))) == "2001:db8:0:1200::/56");

  CHECK(rrl.check(sa(v4("192.0.2.1")), 0).verdict == Verdict::answer);
  CHECK(rrl.check(sa(v6("::ffff:192.0.2.77")), 0).verdict == Verdict::drop);
  CHECK(rrl.prefix_text(sa(v6("::ffff:192.0.2.77"))) == "192.0.2.0/24");
}

TEST_CASE("rrl prefix lengths come from the config") {
  RrlConfig c = limit(1, 0);
  c.ipv4_prefix = 32;
  c.ipv6_prefix = 128;
  RateLimiter rrl(c);
  CHECK(rrl.check(sa(v4("192.0.2.1")), 0).verdict == Verdict::answer);
  CHECK(rrl.check(sa(v4("192.0.2.2")), 0).verdict == Verdict::answer);
  CHECK(rrl.check(sa(v4("192.0.2.1")), 0).verdict == Verdict::drop);
  CHECK(rrl.check(sa(v6("2001:db8::1")), 0).verdict == Verdict::answer);
  CHECK(rrl.check(sa(v6("2001:db8::2")), 0).verdict == Verdict::answer);
  CHECK(rrl.prefix_text(sa(v6("2001:db8::2"))) == "2001:db8::2/128");
}

}  // namespace
}  // namespace mirrorpool::dnsd
