// One DNS query as received, parsed once: header, question, EDNS, where the
// TSIG record is, the client and the transport, and what kind of query it
// is. Every later stage (responder, transfers, TSIG) reads this value
// instead of the packet's bytes again. Pure: parsing never allocates, locks
// or throws.
#pragma once

#include <sys/socket.h>

#include <cstddef>
#include <cstdint>
#include <span>

#include "dnsd/wire/wire.hh"

namespace mirrorpool::dnsd {

enum class Transport : uint8_t { udp, tcp };

// What a query asks for, decided once by parse_query; each kind has one
// handler in process_query.
enum class QueryKind : uint8_t {
  malformed,    // dropped: no header, or no readable question where one must be
  response,     // dropped: QR set (servers must not answer answers)
  notify,       // opcode NOTIFY: refused, we are a primary with no secondary zones
  bad_opcode,   // another opcode than QUERY and NOTIFY: NOTIMP
  bad_qdcount,  // QUERY without exactly one question: FORMERR
  bad_edns,     // a malformed or repeated OPT record: FORMERR
  normal,       // answered from the snapshot by the responder
  axfr,         // zone transfers, answered by the transfer code
  ixfr,
};

struct Query {
  std::span<const uint8_t> wire;  // the packet, owned by the caller
  Header header;
  Question question;  // read when has_question
  bool has_question = false;
  Transport transport = Transport::udp;
  // The client, owned by the caller; null when there is none (tests, benchmarks).
  const sockaddr* client = nullptr;
  QueryKind kind = QueryKind::malformed;
  // Read for the kinds normal, bad_edns, axfr and ixfr only: one question,
  // the other sections walked.
  Edns edns;
  size_t question_end = 0;  // offset just past the question
  size_t tsig_at = 0;       // where the TSIG record starts, when it is the last additional; 0: none
};

// Parses `wire` into `query` and classifies it. The bytes and the client must
// outlive `query`.
void parse_query(std::span<const uint8_t> wire, Transport transport, const sockaddr* client,
                 Query& query) noexcept;

}  // namespace mirrorpool::dnsd
