// The one entry point of a DNS query, for UDP and TCP alike, in the shape of
// Knot's process_query: the packet is counted, parsed and classified once
// (parse_query), then handed to the one handler of its kind: the responder
// for normal queries and error answers, the transfer desk for AXFR and IXFR.
// Every query counter except those of answers (rcode, truncation) and of
// transfers is kept here.
//
// A normal query never allocates, locks or throws here; only a transfer
// and a TSIG-signed query allocate (their messages).
#pragma once

#include <sys/socket.h>

#include <cstddef>
#include <cstdint>
#include <span>
#include <vector>

#include "dnsd/common/rng.hh"
#include "dnsd/primary/transfer.hh"
#include "dnsd/query/rate_limiter.hh"
#include "dnsd/query/server_cookies.hh"
#include "dnsd/query/stats.hh"
#include "dnsd/snapshot/snapshot.hh"
#include "dnsd/wire/query.hh"

namespace mirrorpool::dnsd {

// One per serving thread (a UdpServer thread, a worker's TCP loop), used by
// that thread alone.
class QueryProcessor {
 public:
  // Counts into `stats`, which the owner keeps (other threads read it);
  // `rrl` (UDP only, shared, may be null) must outlive the processor.
  QueryProcessor(Stats& stats, uint64_t seed, RateLimiter* rrl)
      : stats_(stats), rng_(seed), rrl_(rrl) {}

  struct Result {
    size_t length = 0;  // an answer of this many bytes is in `out`; 0: none
    // Or, for a transfer, its messages in order (then length is 0).
    std::vector<std::vector<uint8_t>> transfer;
    // The client's prefix began to be rate limited with this query.
    bool rrl_episode_start = false;
  };

  // Answers `packet` from `client` (may be null) with `snapshot`. A normal
  // answer is written into `out` (at least 512 bytes; over TCP its size is
  // the limit, at most 65535). `now_ms` is the rate limiter's clock.
  Result process(std::span<const uint8_t> packet, Transport transport, const sockaddr* client,
                 const Snapshot& snapshot, std::span<uint8_t> out, uint64_t now_ms) noexcept;

  // A datagram longer than the receive buffer (MSG_TRUNC): counted as a
  // malformed query, never answered nor rate limited.
  void count_cut_datagram() noexcept;

 private:
  Stats& stats_;
  Rng rng_;
  RateLimiter* rrl_;
  ServerCookies cookies_;
  TransferDesk transfers_;
};

}  // namespace mirrorpool::dnsd
