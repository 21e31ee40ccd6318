// Zone transfers out: AXFR (RFC 5936) and IXFR (RFC 1995) answered from the
// transfer data attached to a snapshot, with access control (allow_transfer,
// TSIG per RFC 8945) and signed responses. Runs on a serving thread but
// off the normal query path: process_query routes only transfer requests
// here, so this code may allocate.
//
// Access, per zone: a request with a TSIG record that fails verification gets
// NOTAUTH with the TSIG error; otherwise the client must be inside one of
// allow_transfer's prefixes when there are any, and must have signed with the
// zone's key when it names one. A zone with neither refuses every transfer.
#pragma once

#include <cstdint>
#include <span>
#include <string>
#include <vector>

#include "dnsd/query/stats.hh"
#include "dnsd/snapshot/snapshot.hh"
#include "dnsd/wire/query.hh"
#include "zones/pool.hh"

namespace mirrorpool::dnsd {

// Transfer messages stay near this size (like NSD's), far below the 64 KiB
// TCP limit, so that a secondary can start on the data early.
inline constexpr size_t kTransferMessageSize = 16 * 1024;

struct TransferAnswer {
  enum class Kind : uint8_t {
    axfr,          // a full transfer asked for
    ixfr,          // incremental: the differences since the client's serial
    ixfr_full,     // IXFR answered with the whole zone (serial unknown to the history)
    ixfr_current,  // IXFR answered with the SOA alone (up to date, or UDP)
    refused,       // REFUSED: not allowed by allow_transfer or the zone's key
    notauth,       // NOTAUTH: bad TSIG, or not a zone of ours
    formerr,
  };
  Kind kind = Kind::refused;
  std::vector<std::vector<uint8_t>> messages;  // complete DNS messages, in order
  std::string zone;                            // presentation form when known
  uint32_t serial = 0;                         // the serial served
  uint32_t client_serial = 0;                  // IXFR only
  size_t records = 0;
  std::string why;  // for refusals: the reason, for the log
};

// Answers a transfer request (a query of kind axfr or ixfr) from `client` at
// time `now` (seconds since the epoch). Over UDP only IXFR is served, as one
// message (RFC 1995 §2).
TransferAnswer answer_transfer(const Query& query, const zones::Address& client,
                               const Snapshot& snapshot, uint64_t now);

// A serving thread's transfer desk: answers, counts in the thread's Stats,
// logs each transfer served and each refusal (at most kLogBurst refusals per
// kLogWindowSeconds, then a count of those left out). That thread only.
class TransferDesk {
 public:
  static constexpr unsigned kLogBurst = 10;
  static constexpr uint64_t kLogWindowSeconds = 10;

  std::vector<std::vector<uint8_t>> serve(const Query& query, const Snapshot& snapshot,
                                          Stats& stats);

 private:
  bool may_log_refusal(uint64_t now);

  uint64_t window_start_ = 0;
  unsigned logged_in_window_ = 0;
  uint64_t suppressed_ = 0;
};

}  // namespace mirrorpool::dnsd
