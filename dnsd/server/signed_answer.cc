// Signed normal queries (signed_answer.hh).
#include "dnsd/server/signed_answer.hh"

#include <algorithm>
#include <optional>
#include <vector>

#include "dnsd/primary/transfer_state.hh"
#include "dnsd/wire/tsig.hh"

namespace mirrorpool::dnsd {

namespace {

// The NOTAUTH reply to a query whose TSIG failed: header and question, no
// records yet (the TSIG record follows).
std::vector<uint8_t> notauth(const Query& query) {
  const Header& header = query.header;
  std::vector<uint8_t> m;
  put16(m, header.id);
  put16(m, static_cast<uint16_t>(kFlagQr | (header.flags & (0x7800 | kFlagRd)) | kRcodeNotAuth));
  put16(m, 1);
  for (int i = 0; i < 3; ++i) put16(m, 0);
  const std::string_view name = query.question.name.view();
  m.insert(m.end(), name.begin(), name.end());
  put16(m, query.question.qtype);
  put16(m, query.question.qclass);
  return m;
}

}  // namespace

size_t answer_signed(const Query& query, const Snapshot& snapshot, Rng& rng, std::span<uint8_t> out,
                     Stats& stats, ReplyOptions options, uint64_t now) {
  static const std::vector<TsigKeyMaterial> kNoKeys;
  const TransferState* state = snapshot.transfers().get();
  const TsigCheck tsig = tsig_check(query, state != nullptr ? state->keys : kNoKeys, now);
  // A TSIG record whose owner or fixed fields cannot be read signs nothing.
  if (tsig.status == TsigCheck::Status::unsigned_message) {
    return respond(query, snapshot, rng, out, stats, options);
  }
  stats.tsig_queries[static_cast<size_t>(tsig.status)].add();

  std::vector<uint8_t> message;
  if (tsig.status == TsigCheck::Status::ok) {
    options.reserve = tsig_record_size(*tsig.key);
    const size_t length = respond(query, snapshot, rng, out, stats, options);
    if (length == 0) return 0;
    message.assign(out.begin(), out.begin() + static_cast<std::ptrdiff_t>(length));
    TsigSigner(*tsig.key, tsig.mac, now).sign(message);
  } else {
    message = notauth(query);
    stats.by_rcode[kRcodeNotAuth].add();
    if (tsig.status == TsigCheck::Status::bad_time) {
      TsigSigner(*tsig.key, tsig.mac, now).sign(message, kTsigBadTime);
    } else {
      tsig_append_error(message, tsig, tsig.error());
    }
  }
  // The NOTAUTH reply echoes the key and algorithm names the query sent,
  // up to 255 bytes each: it may outgrow a small buffer, never 65535.
  if (message.size() > out.size()) return 0;
  std::copy(message.begin(), message.end(), out.begin());
  return message.size();
}

}  // namespace mirrorpool::dnsd
