// Builds the answer to one DNS query from one snapshot (the answer rules of mirrorpool.toml(5),
// `[[pool]]`). Pure: no I/O, no allocation, no locks, never throws. The caller owns every buffer.
#pragma once

#include <cstddef>
#include <cstdint>
#include <span>

#include "dnsd/common/rng.hh"
#include "dnsd/query/stats.hh"
#include "dnsd/snapshot/snapshot.hh"
#include "dnsd/wire/query.hh"

namespace mirrorpool::dnsd {

// What the query processor adds to an answer besides the snapshot's data.
struct ReplyOptions {
  // The reply's COOKIE option data (the client cookie and a fresh server
  // cookie, server_cookies.hh); empty: the reply carries none.
  std::span<const uint8_t> cookie;
  // Answer BADCOOKIE with no records (require_cookie, RFC 7873 5.2.3).
  bool bad_cookie = false;
  // Bytes to leave free after the answer (for the TSIG record of a signed
  // answer): the answer is truncated to fit the client's limit less these.
  size_t reserve = 0;
};

// Writes the answer to `query` (parsed by parse_query) into `out` and returns
// its length, or 0 when the responder does not answer it: a dropped kind
// (malformed, response) or a transfer. Over UDP the response is limited to
// 512 bytes, or to the client's EDNS size capped by the snapshot's
// udp_max_size, and truncated (TC) when the answer does not fit; over TCP the
// limit is out.size() (at most 65535). out must hold at least 512 bytes.
// The OPT record carries the options the query asked for: ECS (geo), the
// snapshot's NSID, the cookie of `options`. Counts answers by rcode, and
// truncations.
size_t respond(const Query& query, const Snapshot& snapshot, Rng& rng, std::span<uint8_t> out,
               Stats& stats, const ReplyOptions& options = {}) noexcept;

// Cuts a response made by respond() down to its header and question with TC
// set, and returns the new length: the "slip" answer of rate limiting, which
// tells a real client to retry over TCP. 0 if `response` is not one.
size_t truncate_to_question(std::span<uint8_t> response) noexcept;

}  // namespace mirrorpool::dnsd
