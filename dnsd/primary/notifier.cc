// NOTIFY sender (notifier.hh): one UDP socket per address family on the main
// loop, one timer for every pending NOTIFY.
#include "dnsd/primary/notifier.hh"

#include <algorithm>
#include <cstring>
#include <ctime>

#include "dnsd/common/log.hh"
#include "dnsd/common/uv_cast.hh"
#include "dnsd/wire/wire.hh"

namespace mirrorpool::dnsd {

namespace {

bool same_endpoint(const sockaddr* from, const Endpoint& target) {
  const sockaddr_storage want = target.sockaddr();
  if (from->sa_family != want.ss_family) return false;
  if (from->sa_family == AF_INET) {
    const auto* a = reinterpret_cast<const sockaddr_in*>(from);
    const auto* b = reinterpret_cast<const sockaddr_in*>(&want);
    return a->sin_port == b->sin_port && a->sin_addr.s_addr == b->sin_addr.s_addr;
  }
  const auto* a = reinterpret_cast<const sockaddr_in6*>(from);
  const auto* b = reinterpret_cast<const sockaddr_in6*>(&want);
  return a->sin6_port == b->sin6_port &&
         std::memcmp(&a->sin6_addr, &b->sin6_addr, sizeof a->sin6_addr) == 0;
}

}  // namespace

Notifier::Notifier(uv_loop_t* loop) : loop_(loop) {
  uv_timer_init(loop_, &timer_);
  timer_.data = this;
  open_socket(v4_, "0.0.0.0");
  open_socket(v6_, "::");
}

void Notifier::open_socket(Socket& socket, const char* any) {
  socket.owner = this;
  socket.handle.data = &socket;
  uv_udp_init(loop_, &socket.handle);
  sockaddr_storage addr{};
  const bool v6 = std::strchr(any, ':') != nullptr;
  int rc = v6 ? uv_ip6_addr(any, 0, reinterpret_cast<sockaddr_in6*>(&addr))
              : uv_ip4_addr(any, 0, reinterpret_cast<sockaddr_in*>(&addr));
  if (rc == 0) {
    rc = uv_udp_bind(&socket.handle, reinterpret_cast<const sockaddr*>(&addr),
                     v6 ? UV_UDP_IPV6ONLY : 0);
  }
  if (rc == 0) {
    rc = uv_udp_recv_start(
        &socket.handle,
        [](uv_handle_t* h, size_t, uv_buf_t* buf) {
          Notifier* self = static_cast<Socket*>(h->data)->owner;
          *buf = uv_buf_init(reinterpret_cast<char*>(self->buffer_), sizeof self->buffer_);
        },
        [](uv_udp_t* h, ssize_t nread, const uv_buf_t* buf, const sockaddr* from, unsigned) {
          if (nread <= 0 || from == nullptr) return;
          static_cast<Socket*>(h->data)->owner->on_response(
              reinterpret_cast<const uint8_t*>(buf->base), static_cast<size_t>(nread), from);
        });
  }
  if (rc != 0) {
    log(LogLevel::warning, "NOTIFY socket on {}: {}; no NOTIFY over {}", any, uv_strerror(rc),
        v6 ? "IPv6" : "IPv4");
    return;
  }
  socket.open = true;
}

void Notifier::notify(const std::string& zone, const ZoneRecord& soa,
                      const std::vector<Endpoint>& targets,
                      const std::optional<TsigKeyMaterial>& key) {
  std::erase_if(pending_, [&](const Pending& p) { return p.zone == zone; });
  const uint32_t serial = soa.rdata.size() >= kSoaTimersSize ? soa_rdata_serial(soa.rdata) : 0;
  const uint64_t now = uv_now(loop_);
  for (const Endpoint& target : targets) {
    Pending p;
    p.zone = zone;
    p.serial = serial;
    p.target = target;
    p.key = key;
    p.id = static_cast<uint16_t>(ids_());
    p.due_ms = now + kFirstDelayMs;
    // Header, question (zone SOA IN), and the new SOA as answer (RFC 1996 §3.7).
    std::vector<uint8_t>& m = p.message;
    put16(m, p.id);
    put16(m, static_cast<uint16_t>((kOpcodeNotify << 11) | kFlagAa));
    put16(m, 1);
    put16(m, 1);
    put16(m, 0);
    put16(m, 0);
    m.insert(m.end(), soa.owner.begin(), soa.owner.end());
    put16(m, kTypeSoa);
    put16(m, kClassIn);
    m.insert(m.end(), soa.owner.begin(), soa.owner.end());
    put16(m, kTypeSoa);
    put16(m, kClassIn);
    put32(m, soa.ttl);
    put16(m, static_cast<uint16_t>(soa.rdata.size()));
    m.insert(m.end(), soa.rdata.begin(), soa.rdata.end());
    pending_.push_back(std::move(p));
  }
  schedule();
}

void Notifier::send(Pending& p) {
  std::vector<uint8_t> message = p.message;
  if (p.key) {
    TsigSigner signer(*p.key, std::nullopt, static_cast<uint64_t>(std::time(nullptr)));
    signer.sign(message);
  }
  Socket& socket = p.target.address.family == AF_INET6 ? v6_ : v4_;
  ++p.tries;
  if (!socket.open) return;
  const sockaddr_storage to = p.target.sockaddr();
  uv_buf_t buf =
      uv_buf_init(reinterpret_cast<char*>(message.data()), static_cast<unsigned>(message.size()));
  const int rc = uv_udp_try_send(&socket.handle, &buf, 1, reinterpret_cast<const sockaddr*>(&to));
  if (rc < 0) {
    log(LogLevel::debug, "NOTIFY of {} to {}: {}", p.zone, p.target.text, uv_strerror(rc));
    return;
  }
  ++sent_;
  log(LogLevel::debug, "NOTIFY of {} serial {} sent to {} (try {})", p.zone, p.serial,
      p.target.text, p.tries);
}

void Notifier::on_timer() {
  const uint64_t now = uv_now(loop_);
  for (auto it = pending_.begin(); it != pending_.end();) {
    if (it->due_ms > now) {
      ++it;
      continue;
    }
    if (it->tries >= kTries) {
      ++given_up_;
      log(LogLevel::warning, "NOTIFY of {} serial {} to {}: no answer after {} tries", it->zone,
          it->serial, it->target.text, it->tries);
      it = pending_.erase(it);
      continue;
    }
    send(*it);
    it->due_ms = now + (kFirstRetryMs << (it->tries - 1));
    ++it;
  }
  schedule();
}

void Notifier::schedule() {
  if (pending_.empty()) {
    uv_timer_stop(&timer_);
    return;
  }
  const uint64_t now = uv_now(loop_);
  uint64_t due = UINT64_MAX;
  for (const Pending& p : pending_) due = std::min(due, p.due_ms);
  uv_timer_start(
      &timer_, [](uv_timer_t* t) { static_cast<Notifier*>(t->data)->on_timer(); },
      due > now ? due - now : 0, 0);
}

void Notifier::on_response(const uint8_t* data, size_t size, const sockaddr* from) {
  Header header;
  if (!parse_header({data, size}, header) || !header.qr() || header.opcode() != kOpcodeNotify) {
    return;
  }
  const auto it = std::find_if(pending_.begin(), pending_.end(), [&](const Pending& p) {
    return p.id == header.id && same_endpoint(from, p.target);
  });
  if (it == pending_.end()) return;
  ++answered_;
  const unsigned rcode = header.flags & 0xf;
  // Any answer ends the retries: a secondary that refuses will not change its
  // mind on the next try, and says so in its own log.
  log(rcode == kRcodeNoError ? LogLevel::info : LogLevel::warning,
      "NOTIFY of {} serial {} answered by {} (rcode {})", it->zone, it->serial, it->target.text,
      rcode);
  pending_.erase(it);
  schedule();
}

void Notifier::close() {
  pending_.clear();
  uv_close(as_handle(&timer_), nullptr);
  for (Socket* s : {&v4_, &v6_}) uv_close(as_handle(&s->handle), nullptr);
}

}  // namespace mirrorpool::dnsd
