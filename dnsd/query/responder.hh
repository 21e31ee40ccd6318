// Builds the answer to one DNS query from one snapshot (the answer rules of mirrorpool.toml(5),
// `[[pool]]`). Pure: no I/O, no allocation, no locks, never throws. The caller owns every buffer.
#pragma once

#include <cstddef>
#include <cstdint>
#include <span>

#include "dnsd/query/rng.hh"
#include "dnsd/query/stats.hh"
#include "dnsd/snapshot/snapshot.hh"
#include "dnsd/wire/query.hh"

namespace mirrorpool::dnsd {

// Writes the answer to `query` (parsed by parse_query) into `out` and returns
// its length, or 0 when the responder does not answer it: a dropped kind
// (malformed, response) or a transfer. Over UDP the response is limited to
// 512 bytes, or to the client's EDNS size capped by the snapshot's
// udp_max_size, and truncated (TC) when the answer does not fit; over TCP the
// limit is out.size() (at most 65535). out must hold at least 512 bytes.
// Counts answers by rcode, and truncations.
size_t respond(const Query& query, const Snapshot& snapshot, Rng& rng, std::span<uint8_t> out,
               Stats& stats) noexcept;

// Cuts a response made by respond() down to its header and question with TC
// set, and returns the new length: the "slip" answer of rate limiting, which
// tells a real client to retry over TCP. 0 if `response` is not one.
size_t truncate_to_question(std::span<uint8_t> response) noexcept;

}  // namespace mirrorpool::dnsd
