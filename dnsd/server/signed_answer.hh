// Answering a normal query that carries a TSIG record (RFC 8945 5.2 and
// 5.3), as NSD, Knot and BIND do: the record is checked against the
// [tsig.NAME] keys of the snapshot. A valid one gets the usual answer,
// signed with the same key. An unknown key or a bad signature gets NOTAUTH
// with the TSIG error (BADKEY, BADSIG) in an unsigned TSIG record; a time
// outside the fudge gets NOTAUTH with a signed BADTIME record that carries
// our time. Signing builds the message in a vector: signed queries are rare
// and off the allocation-free path of unsigned ones.
#pragma once

#include <cstddef>
#include <cstdint>
#include <span>

#include "dnsd/common/rng.hh"
#include "dnsd/query/responder.hh"
#include "dnsd/query/stats.hh"
#include "dnsd/snapshot/snapshot.hh"
#include "dnsd/wire/query.hh"

namespace mirrorpool::dnsd {

// Writes the answer to the signed normal query `query` into `out` (at least
// 512 bytes) and returns its length (0: none). `now`: seconds since the epoch.
size_t answer_signed(const Query& query, const Snapshot& snapshot, Rng& rng, std::span<uint8_t> out,
                     Stats& stats, ReplyOptions options, uint64_t now);

}  // namespace mirrorpool::dnsd
