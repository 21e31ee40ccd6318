// Zone transfers out (transfer.hh): access checks, the AXFR and IXFR record
// sequences, their split into messages, TSIG signing, counting and logging.
#include "dnsd/primary/transfer.hh"

#include <arpa/inet.h>
#include <netinet/in.h>

#include <algorithm>
#include <cstring>
#include <ctime>
#include <optional>

#include "dnsd/common/log.hh"
#include "dnsd/primary/serials.hh"
#include "dnsd/primary/transfer_state.hh"
#include "dnsd/wire/tsig.hh"
#include "dnsd/wire/wire.hh"

namespace mirrorpool::dnsd {

namespace {

size_t record_size(const ZoneRecord& r) {
  return r.owner.size() + kRrFixedSize + r.rdata.size();
}

zones::Address address_of(const sockaddr* from) {
  zones::Address a;
  if (from != nullptr && from->sa_family == AF_INET) {
    a.family = AF_INET;
    const auto* in = reinterpret_cast<const sockaddr_in*>(from);
    std::memcpy(a.bytes.data(), &in->sin_addr, 4);
  } else if (from != nullptr && from->sa_family == AF_INET6) {
    const auto* in6 = reinterpret_cast<const sockaddr_in6*>(from);
    // An IPv4 client on a dual-stack socket is matched as IPv4.
    if (IN6_IS_ADDR_V4MAPPED(&in6->sin6_addr)) {
      a.family = AF_INET;
      std::memcpy(a.bytes.data(), in6->sin6_addr.s6_addr + 12, 4);
    } else {
      a.family = AF_INET6;
      std::memcpy(a.bytes.data(), &in6->sin6_addr, 16);
    }
  }
  return a;
}

std::string address_text(const sockaddr* from) {
  char text[INET6_ADDRSTRLEN] = "?";
  if (from != nullptr && from->sa_family == AF_INET) {
    inet_ntop(AF_INET, &reinterpret_cast<const sockaddr_in*>(from)->sin_addr, text, sizeof text);
  } else if (from != nullptr && from->sa_family == AF_INET6) {
    inet_ntop(AF_INET6, &reinterpret_cast<const sockaddr_in6*>(from)->sin6_addr, text, sizeof text);
  }
  return text;
}

// Splits a record sequence into messages, each with the header and question
// of the answer, and none over `budget` bytes when a record fits at all.
class MessageStream {
 public:
  MessageStream(const Header& query, const Question& question, size_t budget)
      : query_(query), question_(question), budget_(budget) {}

  // False when the record fits in no message.
  bool add(const ZoneRecord& r) {
    const size_t size = record_size(r);
    if (messages_.empty() || (count_ > 0 && messages_.back().size() + size > budget_)) {
      start();
    }
    std::vector<uint8_t>& m = messages_.back();
    if (m.size() + size > budget_) return false;
    m.insert(m.end(), r.owner.begin(), r.owner.end());
    put16(m, r.type);
    put16(m, kClassIn);
    put32(m, r.ttl);
    put16(m, static_cast<uint16_t>(r.rdata.size()));
    m.insert(m.end(), r.rdata.begin(), r.rdata.end());
    ++count_;
    ++records_;
    set16(m.data() + 6, count_);
    return true;
  }

  // An answer without records: rcode, and the question when there is one.
  std::vector<std::vector<uint8_t>> error(uint8_t rcode) {
    start();
    messages_.back()[3] = static_cast<uint8_t>((messages_.back()[3] & 0xf0) | rcode);
    return take();
  }

  size_t messages() const { return messages_.size(); }
  size_t records() const { return records_; }
  std::vector<std::vector<uint8_t>> take() { return std::move(messages_); }

 private:
  void start() {
    std::vector<uint8_t>& m = messages_.emplace_back();
    m.reserve(std::min(budget_, kTransferMessageSize + 512));
    put16(m, query_.id);
    put16(m, static_cast<uint16_t>(kFlagQr | kFlagAa | (query_.flags & (0x7800 | kFlagRd))));
    put16(m, 1);
    put16(m, 0);
    put16(m, 0);
    put16(m, 0);
    const std::string_view name = question_.name.view();
    m.insert(m.end(), name.begin(), name.end());
    put16(m, question_.qtype);
    put16(m, question_.qclass);
    count_ = 0;
  }

  const Header& query_;
  const Question& question_;
  size_t budget_;
  std::vector<std::vector<uint8_t>> messages_;
  uint16_t count_ = 0;
  size_t records_ = 0;
};

// The serial in the SOA the client put in the authority section of an IXFR
// request (RFC 1995 §3), if it is there.
std::optional<uint32_t> client_serial(const Query& query) {
  const Header& header = query.header;
  const std::span<const uint8_t> msg = query.wire;
  if (header.nscount == 0) return std::nullopt;
  size_t pos = query.question_end;
  for (unsigned i = 0; i <= header.ancount; ++i) {
    WireName owner;
    if (!read_name(msg, pos, owner) || pos + kRrFixedSize > msg.size()) return std::nullopt;
    const uint16_t type = get16(msg.data() + pos);
    const size_t rdlength = get16(msg.data() + pos + kRdlengthAt);
    pos += kRrFixedSize;
    if (pos + rdlength > msg.size()) return std::nullopt;
    if (i < header.ancount) {
      pos += rdlength;
      continue;
    }
    if (type != kTypeSoa) return std::nullopt;
    WireName mname;
    WireName rname;
    if (!read_name(msg, pos, mname) || !read_name(msg, pos, rname) || pos + 4 > msg.size()) {
      return std::nullopt;
    }
    return get32(msg.data() + pos);
  }
  return std::nullopt;
}

// The differences that lead from `serial` to the current version, or nothing
// when the history does not reach back to it.
std::optional<std::vector<const ZoneDiff*>> chain_from(const ZoneTransfer& zone, uint32_t serial) {
  for (size_t i = 0; i < zone.diffs.size(); ++i) {
    const std::string& soa = zone.diffs[i]->old_soa.rdata;
    if (soa.size() < kSoaTimersSize || soa_rdata_serial(soa) != serial) continue;
    std::vector<const ZoneDiff*> chain;
    for (size_t j = i; j < zone.diffs.size(); ++j) chain.push_back(zone.diffs[j].get());
    return chain;
  }
  return std::nullopt;
}

bool add_full(MessageStream& stream, const ZoneVersion& version) {
  return stream.add(version.soa) &&
         version.each_body([&](const ZoneRecord& r) { return stream.add(r); }) &&
         stream.add(version.soa);
}

bool add_incremental(MessageStream& stream, const ZoneVersion& version,
                     const std::vector<const ZoneDiff*>& chain) {
  bool ok = stream.add(version.soa);
  for (const ZoneDiff* diff : chain) {
    ok = ok && stream.add(diff->old_soa);
    for (const ZoneRecord& r : diff->removed) ok = ok && stream.add(r);
    ok = ok && stream.add(diff->new_soa);
    for (const ZoneRecord& r : diff->added) ok = ok && stream.add(r);
  }
  return ok && stream.add(version.soa);
}

const char* kind_name(TransferAnswer::Kind kind) {
  switch (kind) {
    case TransferAnswer::Kind::axfr:
      return "AXFR";
    case TransferAnswer::Kind::ixfr:
      return "IXFR (incremental)";
    case TransferAnswer::Kind::ixfr_full:
      return "IXFR (full zone)";
    case TransferAnswer::Kind::ixfr_current:
      return "IXFR (SOA only)";
    case TransferAnswer::Kind::refused:
      return "REFUSED";
    case TransferAnswer::Kind::notauth:
      return "NOTAUTH";
    case TransferAnswer::Kind::formerr:
      return "FORMERR";
  }
  return "?";
}

}  // namespace

TransferAnswer answer_transfer(const Query& query, const zones::Address& client,
                               const Snapshot& snapshot, uint64_t now) {
  TransferAnswer answer;
  const Header& header = query.header;
  const Question& question = query.question;
  const bool udp = query.transport == Transport::udp;
  const TransferState* state = snapshot.transfers().get();
  static const std::vector<TsigKeyMaterial> kNoKeys;
  const TsigCheck tsig = tsig_check(query, state ? state->keys : kNoKeys, now);

  std::optional<TsigSigner> signer;
  if (tsig.status == TsigCheck::Status::ok || tsig.status == TsigCheck::Status::bad_time) {
    signer.emplace(*tsig.key, tsig.mac, now);
  }
  auto finish = [&](std::vector<std::vector<uint8_t>> messages) {
    for (auto& m : messages) {
      if (signer) {
        signer->sign(m, tsig.error());
      } else if (tsig.error() != 0) {
        tsig_append_error(m, tsig, tsig.error());
      }
    }
    answer.messages = std::move(messages);
    return std::move(answer);
  };
  const size_t tsig_room = signer ? tsig_record_size(*tsig.key) : 0;
  MessageStream errors(header, question, kMinUdpMessageSize);
  auto refuse = [&](TransferAnswer::Kind kind, uint8_t rcode, std::string why) {
    answer.kind = kind;
    answer.why = std::move(why);
    return finish(errors.error(rcode));
  };

  WireName qname;
  question.name.lowercase_into(qname);
  const ZoneTransfer* zone = state ? state->find(qname.view()) : nullptr;
  if (zone != nullptr) answer.zone = zone->name;
  if (tsig.error() != 0) {
    static constexpr const char* kWhy[] = {"",
                                           "",
                                           "bad TSIG key",
                                           "bad TSIG signature",
                                           "TSIG time outside the fudge",
                                           "malformed TSIG"};
    return refuse(TransferAnswer::Kind::notauth, kRcodeNotAuth,
                  kWhy[static_cast<size_t>(tsig.status)]);
  }
  if (zone == nullptr || question.qclass != kClassIn) {
    return refuse(TransferAnswer::Kind::notauth, kRcodeNotAuth, "not a zone served here");
  }
  if (zone->allow_transfer.empty() && zone->required_key.empty()) {
    return refuse(TransferAnswer::Kind::refused, kRcodeRefused,
                  "transfers not enabled (no allow_transfer, no tsig)");
  }
  if (!zone->allow_transfer.empty() &&
      std::none_of(zone->allow_transfer.begin(), zone->allow_transfer.end(),
                   [&](const Prefix& p) { return p.contains(client); })) {
    return refuse(TransferAnswer::Kind::refused, kRcodeRefused, "address not in allow_transfer");
  }
  if (!zone->required_key.empty() &&
      (tsig.status != TsigCheck::Status::ok || tsig.key->name != zone->required_key)) {
    return refuse(TransferAnswer::Kind::refused, kRcodeRefused,
                  tsig.status == TsigCheck::Status::ok ? "signed with another key than the zone's"
                                                       : "not signed with the zone's key");
  }
  if (udp && question.qtype == kTypeAxfr) {
    return refuse(TransferAnswer::Kind::refused, kRcodeRefused, "AXFR over UDP");
  }

  const ZoneVersion& version = *zone->current;
  answer.serial = version.serial;
  const size_t budget = (udp ? kMinUdpMessageSize : kMaxMessageSize) - tsig_room;
  MessageStream stream(header, question, std::min(budget, kTransferMessageSize));
  if (question.qtype == kTypeIxfr) {
    const auto serial = client_serial(query);
    if (!serial) {
      return refuse(TransferAnswer::Kind::formerr, kRcodeFormErr, "IXFR without the client's SOA");
    }
    answer.client_serial = *serial;
    auto soa_only = [&] {
      MessageStream single(header, question, budget);
      single.add(version.soa);
      answer.kind = TransferAnswer::Kind::ixfr_current;
      answer.records = 1;
      return finish(single.take());
    };
    if (!serial_gt(version.serial, *serial)) return soa_only();
    const auto chain = chain_from(*zone, *serial);
    if (udp) {
      // One datagram or nothing: the SOA alone tells the client to use TCP.
      MessageStream single(header, question, budget);
      if (!chain || !add_incremental(single, version, *chain) || single.messages() != 1) {
        return soa_only();
      }
      answer.kind = TransferAnswer::Kind::ixfr;
      answer.records = single.records();
      return finish(single.take());
    }
    if (chain) {
      add_incremental(stream, version, *chain);
      answer.kind = TransferAnswer::Kind::ixfr;
      answer.records = stream.records();
      return finish(stream.take());
    }
    answer.kind = TransferAnswer::Kind::ixfr_full;
  } else {
    answer.kind = TransferAnswer::Kind::axfr;
  }
  if (!add_full(stream, version)) {
    answer.kind = TransferAnswer::Kind::refused;
    answer.why = "a record too large for a message";
    return finish(MessageStream(header, question, kMinUdpMessageSize).error(kRcodeServFail));
  }
  answer.records = stream.records();
  return finish(stream.take());
}

bool TransferDesk::may_log_refusal(uint64_t now) {
  if (now >= window_start_ + kLogWindowSeconds) {
    if (suppressed_ > 0) {
      log(LogLevel::warning, "{} more transfer refusal(s) not logged", suppressed_);
    }
    window_start_ = now;
    logged_in_window_ = 0;
    suppressed_ = 0;
  }
  if (logged_in_window_ < kLogBurst) {
    ++logged_in_window_;
    return true;
  }
  ++suppressed_;
  return false;
}

std::vector<std::vector<uint8_t>> TransferDesk::serve(const Query& query, const Snapshot& snapshot,
                                                      Stats& stats) {
  const auto now = static_cast<uint64_t>(std::time(nullptr));
  const sockaddr* from = query.client;
  TransferAnswer answer = answer_transfer(query, address_of(from), snapshot, now);
  const char* over = query.transport == Transport::udp ? "UDP" : "TCP";
  switch (answer.kind) {
    case TransferAnswer::Kind::axfr:
      stats.transfers_axfr.add();
      break;
    case TransferAnswer::Kind::ixfr:
      stats.transfers_ixfr.add();
      break;
    case TransferAnswer::Kind::ixfr_full:
      stats.transfers_ixfr_full.add();
      break;
    case TransferAnswer::Kind::ixfr_current:
      stats.transfers_ixfr_current.add();
      break;
    case TransferAnswer::Kind::refused:
    case TransferAnswer::Kind::notauth:
    case TransferAnswer::Kind::formerr:
      stats.transfers_refused.add();
      if (may_log_refusal(now)) {
        log(LogLevel::warning, "transfer of {} from {} over {} refused ({}): {}",
            answer.zone.empty() ? "?" : answer.zone, address_text(from), over,
            kind_name(answer.kind), answer.why);
      }
      return std::move(answer.messages);
  }
  log(LogLevel::info,
      "{} of {} serial {} (client at {}) to {} over {}: {} record(s) in {} message(s); "
      "transfers served by this worker: axfr={} ixfr={} ixfr_full={} ixfr_soa={}",
      kind_name(answer.kind), answer.zone, answer.serial, answer.client_serial, address_text(from),
      over, answer.records, answer.messages.size(), stats.transfers_axfr.get(),
      stats.transfers_ixfr.get(), stats.transfers_ixfr_full.get(),
      stats.transfers_ixfr_current.get());
  return std::move(answer.messages);
}

}  // namespace mirrorpool::dnsd
