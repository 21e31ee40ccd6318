// Counting, classifying and dispatching a query (process_query.hh).
#include "dnsd/server/process_query.hh"

#include <ctime>
#include <utility>

#include "dnsd/query/responder.hh"
#include "dnsd/server/signed_answer.hh"

namespace mirrorpool::dnsd {

namespace {

QtypeSlot qtype_slot(uint16_t qtype) noexcept {
  switch (qtype) {
    case kTypeA:
      return QtypeSlot::a;
    case kTypeNs:
      return QtypeSlot::ns;
    case kTypeCname:
      return QtypeSlot::cname;
    case kTypeSoa:
      return QtypeSlot::soa;
    case kTypeMx:
      return QtypeSlot::mx;
    case kTypeTxt:
      return QtypeSlot::txt;
    case kTypeAaaa:
      return QtypeSlot::aaaa;
    case kTypeSrv:
      return QtypeSlot::srv;
    case kTypeAny:
      return QtypeSlot::any;
    case kTypeAxfr:
      return QtypeSlot::axfr;
    case kTypeIxfr:
      return QtypeSlot::ixfr;
    default:
      return QtypeSlot::other;
  }
}

// Seconds since the epoch, for cookie timestamps and TSIG times. The coarse
// clock (a few ms behind) costs no system call.
uint64_t wall_seconds() noexcept {
  timespec ts{};
  clock_gettime(CLOCK_REALTIME_COARSE, &ts);
  return static_cast<uint64_t>(ts.tv_sec);
}

}  // namespace

QueryProcessor::Result QueryProcessor::process(std::span<const uint8_t> packet, Transport transport,
                                               const sockaddr* client, const Snapshot& snapshot,
                                               std::span<uint8_t> out, uint64_t now_ms) noexcept {
  Result result;
  (transport == Transport::udp ? stats_.udp_queries : stats_.tcp_queries).add();
  Query query;
  parse_query(packet, transport, client, query);

  // Transfers are neither rate limited nor answered from the snapshot's
  // zones. Allocation can only fail here, where it ends the process as it
  // would anywhere else in the daemon.
  if (query.kind == QueryKind::axfr || query.kind == QueryKind::ixfr) {
    stats_.by_qtype[static_cast<size_t>(qtype_slot(query.question.qtype))].add();
    result.transfer = transfers_.serve(query, snapshot, stats_);
    return result;
  }

  // A COOKIE option is judged before rate limiting: a valid server cookie
  // proves that the client owns its address, so it is not limited (as BIND
  // and Knot do); spoofed floods cannot have one.
  ReplyOptions options;
  std::array<uint8_t, kReplyCookieSize> cookie;
  CookieVerdict cookie_verdict = CookieVerdict::none;
  uint64_t now = 0;
  if (query.kind == QueryKind::normal) {
    if (query.edns.cookie.present || query.tsig_at != 0) now = wall_seconds();
    if (query.edns.cookie.present) {
      cookie_verdict = cookies_.check(query.edns.cookie, client, static_cast<uint32_t>(now),
                                      snapshot.cookie_secret(), cookie);
      options.cookie = cookie;
      // require_cookie (RFC 7873 5.2.3): a cookie-aware UDP client must come
      // back with our cookie first; TCP already proves the address.
      options.bad_cookie = snapshot.require_cookie() && transport == Transport::udp &&
                           cookie_verdict != CookieVerdict::valid;
    }
    stats_.cookies[static_cast<size_t>(cookie_verdict)].add();
    if (query.edns.nsid) stats_.nsid_requests.add();
  }

  // Every other datagram counts against its client's rate, even one that
  // gets no answer: a flood of garbage is a flood all the same.
  RateLimiter::Verdict verdict = RateLimiter::Verdict::answer;
  if (rrl_ != nullptr && cookie_verdict == CookieVerdict::valid) {
    stats_.rrl_exempt.add();
  } else if (rrl_ != nullptr) {
    const RateLimiter::Decision decision = rrl_->check(client, now_ms);
    verdict = decision.verdict;
    if (decision.episode_start) {
      stats_.rrl_episodes.add();
      result.rrl_episode_start = true;
    }
    if (verdict == RateLimiter::Verdict::drop) {
      stats_.rrl_dropped.add();
      return result;
    }
  }

  switch (query.kind) {
    case QueryKind::malformed:
      stats_.malformed.add();
      return result;
    case QueryKind::response:
      stats_.qr_set.add();
      return result;
    case QueryKind::normal:
    case QueryKind::bad_edns:
      stats_.by_qtype[static_cast<size_t>(qtype_slot(query.question.qtype))].add();
      break;
    case QueryKind::notify:
    case QueryKind::bad_opcode:
    case QueryKind::bad_qdcount:
    case QueryKind::axfr:
    case QueryKind::ixfr:
      break;
  }
  result.length = query.kind == QueryKind::normal && query.tsig_at != 0
                      ? answer_signed(query, snapshot, rng_, out, stats_, options, now)
                      : respond(query, snapshot, rng_, out, stats_, options);
  if (result.length != 0 && verdict == RateLimiter::Verdict::slip) {
    result.length = truncate_to_question(out.first(result.length));
    stats_.rrl_slipped.add();
  }
  return result;
}

void QueryProcessor::count_cut_datagram() noexcept {
  stats_.udp_queries.add();
  stats_.malformed.add();
}

}  // namespace mirrorpool::dnsd
