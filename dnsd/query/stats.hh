// Query counters. Each serving thread (every UdpServer thread, and each
// worker's TCP loop) owns one Stats and is its only writer: queries are
// counted in server/process_query.cc, answers by rcode and truncation in the
// responder, transfers in primary/transfer.cc. Readers (metrics, status) on
// other threads sum them with relaxed loads. No locks.
#pragma once

#include <array>
#include <atomic>
#include <cstdint>

#include "dnsd/geo/locator.hh"
#include "dnsd/query/server_cookies.hh"
#include "dnsd/snapshot/mirror_slots.hh"
#include "dnsd/wire/tsig.hh"

namespace mirrorpool::dnsd {

// A counter with a single writer: a relaxed load+store is enough and avoids
// the locked instruction a fetch_add would cost on the query path.
class Counter {
 public:
  void add(uint64_t n = 1) noexcept {
    v_.store(v_.load(std::memory_order_relaxed) + n, std::memory_order_relaxed);
  }
  uint64_t get() const noexcept { return v_.load(std::memory_order_relaxed); }

 private:
  std::atomic<uint64_t> v_{0};
};

// The query types counted one by one; everything else is "other".
enum class QtypeSlot : uint8_t {
  a,
  ns,
  cname,
  soa,
  mx,
  txt,
  aaaa,
  srv,
  any,
  axfr,
  ixfr,
  other,
  count
};

struct Stats {
  std::array<Counter, static_cast<size_t>(QtypeSlot::count)> by_qtype;
  std::array<Counter, 24> by_rcode;  // extended rcodes up to BADCOOKIE (23)
  Counter udp_queries;
  Counter tcp_queries;
  Counter malformed;        // dropped: could not be parsed
  Counter qr_set;           // dropped: a response sent to us
  Counter truncated;        // answered with TC
  Counter udp_send_failed;  // answers the kernel would not take (full buffer)
  // Response rate limiting (rate_limiter.hh).
  Counter rrl_dropped;   // limited and not answered
  Counter rrl_slipped;   // limited and answered truncated
  Counter rrl_episodes;  // a prefix began to be limited
  Counter rrl_exempt;    // not limited: a valid server cookie proved the address
  // Queries by what their COOKIE option proved (normal queries only).
  std::array<Counter, static_cast<size_t>(CookieVerdict::count)> cookies;
  // Signed normal queries by the TSIG check's outcome (transfers count apart).
  std::array<Counter, static_cast<size_t>(TsigCheck::Status::count)> tsig_queries;
  Counter nsid_requests;  // queries with the NSID option
  // TCP connections closed by us, by why.
  Counter tcp_idle_closed;     // silent past tcp_idle_timeout
  Counter tcp_query_timeouts;  // a query not complete within tcp_query_timeout
  Counter tcp_evicted;         // oldest connection closed to admit a new one
  Counter tcp_write_failed;    // an answer could not be written (the peer reset or left)
  // Pool answers by pool index (snapshot order); the last slot also counts
  // every pool past it.
  std::array<Counter, 64> pool_answers;
  // Answers of pools with geo on, by how the client was placed.
  std::array<Counter, static_cast<size_t>(geo::PlacedBy::count)> geo_answers;
  // Addresses given out, by the mirror's slot (MirrorSlots).
  std::array<Counter, MirrorSlots::kSlots> mirror_answers;
  // Zone transfers served (transfer.hh), by how they were answered.
  Counter transfers_axfr;
  Counter transfers_ixfr;          // incremental
  Counter transfers_ixfr_full;     // IXFR answered with the whole zone
  Counter transfers_ixfr_current;  // IXFR answered with the SOA alone
  Counter transfers_refused;       // REFUSED, NOTAUTH (bad TSIG) or FORMERR
};

}  // namespace mirrorpool::dnsd
