// Server cookies (server_cookies.hh). OpenSSL's SipHash is set up once per
// thread; each hash re-keys the same context, which allocates nothing.
#include "dnsd/query/server_cookies.hh"

#include <netinet/in.h>
#include <openssl/core_names.h>
#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/params.h>

#include <cstring>
#include <stdexcept>

namespace mirrorpool::dnsd {

namespace {

constexpr uint8_t kCookieVersion = 1;
constexpr size_t kCookieHeadSize = 8;  // version, reserved, timestamp
constexpr size_t kCookieHashSize = 8;

evp_mac_ctx_st* new_siphash() {
  EVP_MAC* mac = EVP_MAC_fetch(nullptr, "SIPHASH", nullptr);
  if (mac == nullptr) throw std::runtime_error("OpenSSL offers no SipHash (DNS cookies need it)");
  EVP_MAC_CTX* ctx = EVP_MAC_CTX_new(mac);
  EVP_MAC_free(mac);  // the context keeps its own reference
  if (ctx == nullptr) throw std::runtime_error("cannot set up SipHash for DNS cookies");
  return ctx;
}

// One SipHash-2-4 of the concatenated `parts` under `key`, `out.size()` (8 or
// 16) bytes long.
bool siphash(EVP_MAC_CTX* ctx, std::span<const uint8_t, kCookieSecretSize> key,
             std::initializer_list<std::span<const uint8_t>> parts,
             std::span<uint8_t> out) noexcept {
  size_t size = out.size();
  const OSSL_PARAM params[] = {OSSL_PARAM_construct_size_t(OSSL_MAC_PARAM_SIZE, &size),
                               OSSL_PARAM_construct_end()};
  if (EVP_MAC_init(ctx, key.data(), key.size(), params) != 1) return false;
  for (std::span<const uint8_t> part : parts) {
    if (EVP_MAC_update(ctx, part.data(), part.size()) != 1) return false;
  }
  size_t written = 0;
  return EVP_MAC_final(ctx, out.data(), &written, out.size()) == 1 && written == out.size();
}

// The client's address as RFC 9018 hashes it: 4 bytes for IPv4, 16 for IPv6.
std::span<const uint8_t> address_bytes(const sockaddr* client) noexcept {
  if (client == nullptr) return {};
  if (client->sa_family == AF_INET) {
    const auto* in = reinterpret_cast<const sockaddr_in*>(client);
    return {reinterpret_cast<const uint8_t*>(&in->sin_addr), 4};
  }
  if (client->sa_family == AF_INET6) {
    const auto* in6 = reinterpret_cast<const sockaddr_in6*>(client);
    return {reinterpret_cast<const uint8_t*>(&in6->sin6_addr), 16};
  }
  return {};
}

}  // namespace

const char* cookie_verdict_name(CookieVerdict verdict) noexcept {
  switch (verdict) {
    case CookieVerdict::none:
      return "none";
    case CookieVerdict::client_only:
      return "client_only";
    case CookieVerdict::valid:
      return "valid";
    case CookieVerdict::bad:
    case CookieVerdict::count:
      break;
  }
  return "bad";
}

ServerCookies::ServerCookies() : mac_(new_siphash()), kdf_(new_siphash()) {}

ServerCookies::~ServerCookies() {
  EVP_MAC_CTX_free(mac_);
  EVP_MAC_CTX_free(kdf_);
}

const std::array<uint8_t, kCookieSecretSize>& ServerCookies::key_for(const CookieSecret& secret,
                                                                     uint32_t timestamp) noexcept {
  if (!secret.rotating) return secret.bytes;
  const uint32_t period = timestamp / kCookieKeyLifetime;
  PeriodKey& slot = keys_[period % keys_.size()];
  if (!slot.set || slot.period != period || slot.secret != secret.bytes) {
    uint8_t number[4];
    set32(number, period);
    slot.set = siphash(kdf_, secret.bytes, {std::span<const uint8_t>(number)}, slot.key);
    slot.period = period;
    slot.secret = secret.bytes;
  }
  return slot.key;
}

bool ServerCookies::hash(const std::array<uint8_t, kCookieSecretSize>& key,
                         std::span<const uint8_t> client_cookie, const uint8_t* head,
                         const sockaddr* client, uint8_t* out) noexcept {
  return siphash(
      mac_, key,
      {client_cookie, std::span<const uint8_t>(head, kCookieHeadSize), address_bytes(client)},
      std::span<uint8_t>(out, kCookieHashSize));
}

CookieVerdict ServerCookies::check(const Cookie& cookie, const sockaddr* client, uint32_t now,
                                   const CookieSecret& secret,
                                   std::span<uint8_t, kReplyCookieSize> reply) noexcept {
  const std::span<const uint8_t> client_cookie = cookie.client();
  CookieVerdict verdict = CookieVerdict::client_only;
  if (cookie.size > kClientCookieSize) {
    verdict = CookieVerdict::bad;
    const std::span<const uint8_t> server = cookie.server();
    if (server.size() == kServerCookieSize && server[0] == kCookieVersion && server[1] == 0 &&
        server[2] == 0 && server[3] == 0) {
      const uint32_t made = get32(server.data() + 4);
      // Serial number arithmetic (RFC 1982), as the timestamp wraps in 2106.
      const uint32_t age = now - made;
      const bool recent = age <= kServerCookieLifetime || made - now <= kServerCookieFutureSlack;
      // A key from before the last rotation but one is gone: so is its cookie.
      const bool key_kept =
          !secret.rotating || now / kCookieKeyLifetime - made / kCookieKeyLifetime <= 1;
      uint8_t expected[kCookieHashSize];
      if (recent && key_kept &&
          hash(key_for(secret, made), client_cookie, server.data(), client, expected) &&
          CRYPTO_memcmp(expected, server.data() + kCookieHeadSize, kCookieHashSize) == 0) {
        verdict = CookieVerdict::valid;
      }
    }
  }
  // A fresh server cookie every time (RFC 9018 4.3 allows reusing one under
  // half an hour old; making one costs a single hash).
  std::memcpy(reply.data(), client_cookie.data(), kClientCookieSize);
  uint8_t* head = reply.data() + kClientCookieSize;
  head[0] = kCookieVersion;
  head[1] = head[2] = head[3] = 0;
  set32(head + 4, now);
  if (!hash(key_for(secret, now), client_cookie, head, client, head + kCookieHeadSize)) {
    // Not expected once the context exists; a cookie that never validates
    // is still a well-formed answer.
    std::memset(head + kCookieHeadSize, 0, kCookieHashSize);
  }
  return verdict;
}

}  // namespace mirrorpool::dnsd
