// Parsing and classifying a query (query.hh). The order of the checks is the
// order in which they decide the answer: a response or an unreadable header
// is dropped before the opcode is looked at, the opcode before QDCOUNT,
// QDCOUNT before the question, and transfers are told apart before EDNS is
// judged (a transfer request's OPT record is the transfer code's business).
#include "dnsd/wire/query.hh"

namespace mirrorpool::dnsd {

void parse_query(std::span<const uint8_t> wire, Transport transport, const sockaddr* client,
                 Query& query) noexcept {
  // Field by field rather than `query = Query{}`: the question's name buffer
  // (a few hundred bytes) need not be cleared for every query.
  query.wire = wire;
  query.transport = transport;
  query.client = client;
  query.has_question = false;
  query.edns = Edns{};
  query.question_end = 0;
  query.tsig_at = 0;
  if (!parse_header(wire, query.header)) {
    query.kind = QueryKind::malformed;
    return;
  }
  const Header& header = query.header;
  if (header.qr()) {
    query.kind = QueryKind::response;
    return;
  }
  size_t pos = kHeaderSize;
  query.has_question = header.qdcount >= 1 && parse_question(wire, pos, query.question);
  if (header.opcode() != 0) {
    query.kind = header.opcode() == kOpcodeNotify ? QueryKind::notify : QueryKind::bad_opcode;
    return;
  }
  if (header.qdcount != 1) {
    query.kind = QueryKind::bad_qdcount;
    return;
  }
  if (!query.has_question) {
    query.kind = QueryKind::malformed;
    return;
  }
  query.question_end = pos;
  const EdnsStatus edns = parse_edns(wire, pos, header, query.edns, query.tsig_at);
  const uint16_t qtype = query.question.qtype;
  if (qtype == kTypeAxfr || qtype == kTypeIxfr) {
    query.kind = qtype == kTypeAxfr ? QueryKind::axfr : QueryKind::ixfr;
  } else {
    query.kind = edns == EdnsStatus::ok ? QueryKind::normal : QueryKind::bad_edns;
  }
}

}  // namespace mirrorpool::dnsd
