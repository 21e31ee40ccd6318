#include "dnsd/query/rate_limiter.hh"

#include <arpa/inet.h>
#include <netinet/in.h>

#include <cstring>
#include <random>

#include <fmt/core.h>

namespace mirrorpool::dnsd {

namespace {

// 64k buckets (1 MiB) hold far more limited prefixes than any flood makes at
// once; a collision only makes two prefixes share one count.
constexpr unsigned kBucketBits = 16;
constexpr uint64_t kFingerprintMask = (1u << 20) - 1;
constexpr uint64_t kSecondMask = (1u << 20) - 1;
constexpr uint64_t kCountMax = (1u << 24) - 1;

uint64_t mix(uint64_t x) noexcept {
  // splitmix64's finaliser: every input bit moves every output bit.
  x ^= x >> 30;
  x *= 0xbf58476d1ce4e5b9ULL;
  x ^= x >> 27;
  x *= 0x94d049bb133111ebULL;
  x ^= x >> 31;
  return x;
}

uint64_t high_bits_mask(unsigned bits) noexcept {
  return bits == 0 ? 0 : bits >= 64 ? ~uint64_t{0} : ~uint64_t{0} << (64 - bits);
}

uint64_t load_be64(const uint8_t* p) noexcept {
  uint64_t v = 0;
  for (int i = 0; i < 8; ++i) v = (v << 8) | p[i];
  return v;
}

// The client's prefix as (family tag, two 64-bit words), zeros past the prefix.
struct PrefixKey {
  uint64_t tag = 0;
  uint64_t hi = 0;
  uint64_t lo = 0;
};

PrefixKey prefix_key(const sockaddr* client, const RrlConfig& config) noexcept {
  PrefixKey key;
  if (client->sa_family == AF_INET6) {
    const auto* in6 = reinterpret_cast<const sockaddr_in6*>(client);
    const uint8_t* bytes = in6->sin6_addr.s6_addr;
    if (!IN6_IS_ADDR_V4MAPPED(&in6->sin6_addr)) {
      key.tag = 6;
      key.hi = load_be64(bytes) & high_bits_mask(config.ipv6_prefix);
      key.lo = load_be64(bytes + 8) &
               high_bits_mask(config.ipv6_prefix > 64 ? config.ipv6_prefix - 64 : 0);
      return key;
    }
    // A dual-stack socket's IPv4 client counts as the IPv4 client it is.
    key.tag = 4;
    key.hi = (load_be64(bytes + 8) << 32) & high_bits_mask(config.ipv4_prefix);
    return key;
  }
  if (client->sa_family == AF_INET) {
    const auto* in4 = reinterpret_cast<const sockaddr_in*>(client);
    key.tag = 4;
    key.hi = (uint64_t{ntohl(in4->sin_addr.s_addr)} << 32) & high_bits_mask(config.ipv4_prefix);
  }
  return key;
}

}  // namespace

RateLimiter::RateLimiter(const RrlConfig& config)
    : config_(config),
      // A secret seed keeps an attacker from choosing prefixes that share a
      // victim's bucket.
      seed_((uint64_t{std::random_device{}()} << 32) ^ std::random_device{}()),
      mask_((uint64_t{1} << kBucketBits) - 1),
      buckets_(std::make_unique<Bucket[]>(size_t{1} << kBucketBits)) {}

RateLimiter::Decision RateLimiter::check(const sockaddr* client, uint64_t now_ms) noexcept {
  const PrefixKey key = prefix_key(client, config_);
  const uint64_t h = mix(mix(mix(seed_ ^ key.tag) ^ key.hi) ^ key.lo);
  Bucket& bucket = buckets_[h & mask_];
  const uint64_t fingerprint = (h >> 40) & kFingerprintMask;
  const uint64_t now_s = now_ms / 1000;
  const uint64_t second = now_s & kSecondMask;

  uint64_t old = bucket.window.load(std::memory_order_relaxed);
  uint64_t count = 0;
  for (;;) {
    const bool same = (old >> 44) == fingerprint && ((old >> 24) & kSecondMask) == second;
    // Another second, or another prefix taking the bucket over: start afresh.
    count = same ? std::min(kCountMax, (old & kCountMax) + 1) : 1;
    const uint64_t next = (fingerprint << 44) | (second << 24) | count;
    if (bucket.window.compare_exchange_weak(old, next, std::memory_order_relaxed)) break;
  }
  if (count <= config_.responses_per_second) return {};

  Decision decision;
  const auto stamp = static_cast<uint32_t>(now_s + 1);  // +1: 0 means never
  const uint32_t last = bucket.last_limited_second.load(std::memory_order_relaxed);
  if (last != stamp) {
    bucket.last_limited_second.store(stamp, std::memory_order_relaxed);
    decision.episode_start = last + 1 < stamp;  // not limited in the previous second either
  }
  const uint64_t over = count - config_.responses_per_second;
  decision.verdict = config_.slip != 0 && over % config_.slip == 0 ? Verdict::slip : Verdict::drop;
  return decision;
}

std::string RateLimiter::prefix_text(const sockaddr* client) const {
  const PrefixKey key = prefix_key(client, config_);
  char text[INET6_ADDRSTRLEN] = {};
  if (key.tag == 6) {
    in6_addr a{};
    for (int i = 0; i < 8; ++i) {
      a.s6_addr[i] = static_cast<uint8_t>(key.hi >> (56 - 8 * i));
      a.s6_addr[8 + i] = static_cast<uint8_t>(key.lo >> (56 - 8 * i));
    }
    inet_ntop(AF_INET6, &a, text, sizeof text);
    return fmt::format("{}/{}", text, config_.ipv6_prefix);
  }
  in_addr a{};
  a.s_addr = htonl(static_cast<uint32_t>(key.hi >> 32));
  inet_ntop(AF_INET, &a, text, sizeof text);
  return fmt::format("{}/{}", text, config_.ipv4_prefix);
}

}  // namespace mirrorpool::dnsd
