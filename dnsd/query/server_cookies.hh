// DNS Cookies (RFC 7873) with server cookies in the interoperable format of
// RFC 9018: version 1, three reserved bytes, a 32-bit timestamp and the
// SipHash-2-4 (OpenSSL's) of the client cookie, those eight bytes and the
// client's address, keyed by a 16-byte secret. Servers behind one name that
// share the secret (`[server] cookie_secret`) accept each other's cookies,
// whatever their implementation.
//
// Without a configured secret a random one is drawn at start, and the key
// rotates every kCookieKeyLifetime: each period's key is the SipHash-128 of
// the period number under that secret, so every thread works out the same
// key with no shared state, and a cookie made with the previous period's key
// stays valid for its hour.
//
// One ServerCookies per serving thread. check() is allocation-free and
// noexcept: it runs on the query path for every query with a COOKIE option.
#pragma once

#include <sys/socket.h>

#include <array>
#include <cstddef>
#include <cstdint>
#include <span>

#include "dnsd/snapshot/snapshot.hh"
#include "dnsd/wire/wire.hh"

struct evp_mac_ctx_st;

namespace mirrorpool::dnsd {

inline constexpr size_t kServerCookieSize = 16;  // the only size RFC 9018 makes
inline constexpr size_t kReplyCookieSize = kClientCookieSize + kServerCookieSize;
// A server cookie is accepted for an hour after it was made and up to five
// minutes before (clock skew between servers sharing a secret): RFC 9018 4.3.
inline constexpr uint32_t kServerCookieLifetime = 3600;
inline constexpr uint32_t kServerCookieFutureSlack = 300;
// How long a derived key is used when the secret is drawn at start.
inline constexpr uint32_t kCookieKeyLifetime = 86400;

// What a query's COOKIE option proved, for the counters and for rate
// limiting (a valid server cookie proves the client's address).
enum class CookieVerdict : uint8_t {
  none,         // no COOKIE option
  client_only,  // a client cookie alone: the client's first query to us
  valid,        // a server cookie we made for this client, recent enough
  bad,          // a server cookie that is not ours, too old, or for another client
  count
};
// "none", "client_only", "valid", "bad": the metrics label.
const char* cookie_verdict_name(CookieVerdict verdict) noexcept;

class ServerCookies {
 public:
  // Throws std::runtime_error when OpenSSL offers no SipHash.
  ServerCookies();
  ~ServerCookies();
  ServerCookies(const ServerCookies&) = delete;
  ServerCookies& operator=(const ServerCookies&) = delete;

  // Judges `cookie` (present) from `client` (may be null: then no address
  // is hashed) at `now` (seconds since the epoch) and writes the reply's
  // COOKIE option data: the client cookie and a fresh server cookie.
  CookieVerdict check(const Cookie& cookie, const sockaddr* client, uint32_t now,
                      const CookieSecret& secret,
                      std::span<uint8_t, kReplyCookieSize> reply) noexcept;

 private:
  // The key that signs cookies made at `timestamp`.
  const std::array<uint8_t, kCookieSecretSize>& key_for(const CookieSecret& secret,
                                                        uint32_t timestamp) noexcept;
  // SipHash-2-4 of the client cookie, the server cookie's first eight bytes
  // and the client's address: the server cookie's last eight bytes.
  bool hash(const std::array<uint8_t, kCookieSecretSize>& key,
            std::span<const uint8_t> client_cookie, const uint8_t* head, const sockaddr* client,
            uint8_t* out) noexcept;

  evp_mac_ctx_st* mac_ = nullptr;  // SipHash-2-4, 8-byte output
  evp_mac_ctx_st* kdf_ = nullptr;  // SipHash-2-4, 16-byte output: the period keys
  // The derived keys of the last two periods seen, for the secret they came from.
  struct PeriodKey {
    bool set = false;
    uint32_t period = 0;
    std::array<uint8_t, kCookieSecretSize> secret{};
    std::array<uint8_t, kCookieSecretSize> key{};
  };
  std::array<PeriodKey, 2> keys_;
};

}  // namespace mirrorpool::dnsd
