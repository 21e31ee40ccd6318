// The `tcp` probe on libuv: one uv_tcp_t and one timeout timer per probe.
#include "health/tcp_probe.hh"

#include <system_error>

#include <fmt/format.h>

namespace mirrorpool::health {

// One probe in flight. Owns its handles and frees itself once both are
// closed, because libuv may still touch them after the result is known.
struct TcpProber::Op {
  TcpProber* owner = nullptr;
  ProbeDone done;
  std::chrono::milliseconds timeout{0};
  std::chrono::steady_clock::time_point started = std::chrono::steady_clock::now();
  uv_tcp_t tcp{};
  uv_timer_t timer{};
  uv_connect_t connect{};
  bool tcp_open = false;
  bool timer_open = false;
  bool finished = false;
  // A failure found before the loop ran (bad address, no socket), delivered
  // from the timer so that `done` never runs inside probe().
  ProbeResult early;
  bool has_early = false;

  void finish(ProbeResult result);
  void close_handles();
  void maybe_free() {
    if (!tcp_open && !timer_open) delete this;
  }
};

void TcpProber::Op::finish(ProbeResult result) {
  if (finished) return;
  finished = true;
  if (owner) owner->ops_.erase(this);
  owner = nullptr;
  auto fn = std::move(done);
  close_handles();
  result.latency = std::chrono::duration_cast<std::chrono::milliseconds>(
      std::chrono::steady_clock::now() - started);
  if (fn) fn(std::move(result));
}

void TcpProber::Op::close_handles() {
  auto on_close = [](uv_handle_t* handle) {
    auto* op = static_cast<Op*>(handle->data);
    if (handle == reinterpret_cast<uv_handle_t*>(&op->tcp)) {
      op->tcp_open = false;
    } else {
      op->timer_open = false;
    }
    op->maybe_free();
  };
  if (tcp_open && !uv_is_closing(reinterpret_cast<uv_handle_t*>(&tcp)))
    uv_close(reinterpret_cast<uv_handle_t*>(&tcp), on_close);
  if (timer_open && !uv_is_closing(reinterpret_cast<uv_handle_t*>(&timer)))
    uv_close(reinterpret_cast<uv_handle_t*>(&timer), on_close);
}

namespace {

// Unix libuv errors are negated errno values; the C library's text is the
// wording operators know from other tools ("Connection refused").
std::string connect_reason(int status) {
  return fmt::format("connect: {}", std::generic_category().message(-status));
}

}  // namespace

void TcpProber::probe(const std::string& address, uint16_t port, std::chrono::milliseconds timeout,
                      ProbeDone done) {
  auto* op = new Op;
  op->owner = this;
  op->done = std::move(done);
  op->timeout = timeout;
  op->tcp.data = op;
  op->timer.data = op;
  ops_.insert(op);

  int rc = uv_timer_init(loop_, &op->timer);
  if (rc < 0) {
    // Without a timer there is no way to report later: report now, once.
    ops_.erase(op);
    auto fn = std::move(op->done);
    delete op;
    if (fn) fn(ProbeResult{false, fmt::format("internal: {}", uv_strerror(rc)), {}, {}});
    return;
  }
  op->timer_open = true;

  auto fail_early = [op](std::string reason) {
    op->early = ProbeResult{false, std::move(reason), {}, {}};
    op->has_early = true;
  };
  sockaddr_storage addr{};
  if (address.find(':') != std::string::npos) {
    rc = uv_ip6_addr(address.c_str(), port, reinterpret_cast<sockaddr_in6*>(&addr));
  } else {
    rc = uv_ip4_addr(address.c_str(), port, reinterpret_cast<sockaddr_in*>(&addr));
  }
  if (rc < 0) {
    fail_early(fmt::format("address: bad address '{}'", address));
  } else if ((rc = uv_tcp_init(loop_, &op->tcp)) < 0) {
    fail_early(fmt::format("internal: {}", uv_strerror(rc)));
  } else {
    op->tcp_open = true;
    rc = uv_tcp_connect(&op->connect, &op->tcp, reinterpret_cast<const sockaddr*>(&addr),
                        [](uv_connect_t* req, int status) {
                          auto* op = static_cast<Op*>(req->handle->data);
                          // UV_ECANCELED: we closed the socket after a timeout.
                          if (op->finished) return;
                          if (status == 0) {
                            op->finish(ProbeResult{true, "ok", {}, {}});
                          } else {
                            op->finish(ProbeResult{false, connect_reason(status), {}, {}});
                          }
                        });
    if (rc < 0) fail_early(connect_reason(rc));
  }

  rc = uv_timer_start(
      &op->timer,
      [](uv_timer_t* timer) {
        auto* op = static_cast<Op*>(timer->data);
        if (op->has_early) {
          op->finish(std::move(op->early));
        } else {
          op->finish(
              ProbeResult{false, fmt::format("timeout after {}ms", op->timeout.count()), {}, {}});
        }
      },
      op->has_early ? 0 : static_cast<uint64_t>(std::max<int64_t>(timeout.count(), 0)), 0);
  if (rc < 0) {
    // uv_timer_start only fails for a closing handle or no callback; treat
    // it like a failed probe rather than leaving `done` hanging forever.
    op->finish(ProbeResult{false, fmt::format("internal: {}", uv_strerror(rc)), {}, {}});
  }
}

void TcpProber::cancel_all() {
  auto ops = std::move(ops_);
  ops_.clear();
  for (Op* op : ops) {
    op->owner = nullptr;
    op->done = nullptr;
    op->finished = true;
    op->close_handles();
  }
}

TcpProber::~TcpProber() {
  cancel_all();
}

}  // namespace mirrorpool::health
