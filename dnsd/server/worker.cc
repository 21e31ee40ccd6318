#include "dnsd/server/worker.hh"

#include <sys/socket.h>

#include <cstring>
#include <random>

#include "dnsd/common/log.hh"
#include "dnsd/common/uv_cast.hh"

namespace mirrorpool::dnsd {

namespace {

// A TCP message plus its two-byte length.
constexpr size_t kTcpMaxFrame = 2 + kMaxMessageSize;
// Stop reading from a client that does not read its answers.
constexpr size_t kTcpMaxQueuedBytes = 256 * 1024;
// When the connection table is full, this many of the oldest connections are
// looked at for one without answers still being written (a zone transfer, say).
constexpr int kEvictionScan = 8;

// One queued TCP answer; freed when the write completes.
struct TcpWrite {
  uv_write_t req{};
  std::vector<uint8_t> data;
};

}  // namespace

struct Worker::TcpListener {
  uv_tcp_t handle{};
  Worker* worker = nullptr;
};

struct Worker::TcpConnection {
  uv_tcp_t handle{};
  uv_timer_t timer{};  // the idle or the query timeout, whichever applies
  uv_shutdown_t shutdown{};
  sockaddr_storage peer{};  // the client, read once when accepted
  Worker* worker = nullptr;
  TcpConnection* older = nullptr;  // neighbours in the worker's activity list
  TcpConnection* newer = nullptr;
  // Bytes received and not yet answered; uninitialised, so an idle
  // connection keeps resident only the pages its queries touched.
  std::unique_ptr<uint8_t[]> in = std::make_unique_for_overwrite<uint8_t[]>(kTcpMaxFrame);
  size_t used = 0;
  int open_handles = 2;  // handle and timer; freed when both are closed
  bool closing = false;
  bool reading = false;
  bool partial = false;  // part of a query is in `in`; the query timeout runs
};

Worker::Worker(unsigned index, WorkerSockets sockets, WorkerLimits limits, RateLimiter* rrl)
    : index_(index),
      sockets_(std::move(sockets)),
      limits_(limits),
      // Over TCP nothing is rate limited: a TCP client cannot spoof its address.
      queries_(stats_, std::random_device{}() ^ (uint64_t{index} << 32), nullptr) {
  for (int fd : sockets_.udp) udp_.push_back(std::make_unique<UdpServer>(index, fd, rrl));
  sockets_.udp.clear();  // the UDP servers own them now
}

Worker::~Worker() {
  stop();
}

void Worker::start(std::shared_ptr<const Snapshot> initial) {
  snapshot_ = std::move(initial);
  send_buffer_ = std::make_unique_for_overwrite<uint8_t[]>(kTcpMaxFrame);
  uv_loop_init(&loop_);
  wake_.data = this;
  uv_async_init(&loop_, &wake_, [](uv_async_t* a) { static_cast<Worker*>(a->data)->on_wake(); });
  for (int fd : sockets_.tcp) {
    auto l = std::make_unique<TcpListener>();
    l->worker = this;
    l->handle.data = l.get();
    uv_tcp_init(&loop_, &l->handle);
    int rc = uv_tcp_open(&l->handle, fd);
    if (rc == 0) {
      rc = uv_listen(as_stream(&l->handle), 1024, [](uv_stream_t* server, int status) {
        if (status != 0) return;
        auto* listener = static_cast<TcpListener*>(server->data);
        listener->worker->on_accept(listener);
      });
    }
    if (rc != 0) log(LogLevel::error, "worker {}: tcp listen: {}", index_, uv_strerror(rc));
    tcp_.push_back(std::move(l));
  }
  sockets_ = {};  // the handles own the fds now
  for (auto& u : udp_) u->start(snapshot_);
  thread_ = std::thread([this] { run(); });
}

void Worker::run() {
  uv_run(&loop_, UV_RUN_DEFAULT);
}

void Worker::offer(std::shared_ptr<const Snapshot> next) {
  for (auto& u : udp_) u->offer(next);
  {
    std::lock_guard lock(mailbox_mutex_);
    mailbox_ = std::move(next);
  }
  uv_async_send(&wake_);
}

void Worker::stop() {
  for (auto& u : udp_) u->stop();
  if (!thread_.joinable()) return;
  {
    std::lock_guard lock(mailbox_mutex_);
    stop_requested_ = true;
  }
  uv_async_send(&wake_);
  thread_.join();
  uv_loop_close(&loop_);
}

void Worker::on_wake() {
  std::shared_ptr<const Snapshot> next;
  bool stopping = false;
  {
    std::lock_guard lock(mailbox_mutex_);
    next = std::move(mailbox_);
    stopping = stop_requested_;
  }
  // The old snapshot is released here, between batches, not on the query path.
  if (next) snapshot_ = std::move(next);
  if (!stopping) return;
  // Closing every handle lets uv_run return, which ends the thread.
  while (oldest_ != nullptr) close_connection(oldest_);
  for (auto& l : tcp_) uv_close(as_handle(&l->handle), nullptr);
  uv_close(as_handle(&wake_), nullptr);
}

void Worker::collect_stats(std::vector<const Stats*>& out) const {
  out.push_back(&stats_);
  for (const auto& u : udp_) out.push_back(&u->stats());
}

void Worker::on_accept(TcpListener* listener) {
  if (connection_count_ >= limits_.tcp_max_clients) {
    // Full: the least recently active connection makes room, so thousands of
    // idle connections cannot lock new clients out. One still writing
    // answers (a zone transfer) is spared if an idle one is near.
    TcpConnection* victim = oldest_;
    TcpConnection* c = oldest_;
    for (int i = 0; i < kEvictionScan && c != nullptr; ++i, c = c->newer) {
      if (uv_stream_get_write_queue_size(as_stream(&c->handle)) == 0) {
        victim = c;
        break;
      }
    }
    stats_.tcp_evicted.add();
    close_connection(victim);
  }
  auto* conn = new TcpConnection();
  conn->worker = this;
  conn->handle.data = conn;
  conn->timer.data = conn;
  uv_tcp_init(&loop_, &conn->handle);
  uv_timer_init(&loop_, &conn->timer);
  link_newest(conn);
  if (uv_accept(as_stream(&listener->handle), as_stream(&conn->handle)) != 0) {
    close_connection(conn);
    return;
  }
  // If this fails the peer stays zero (no family): transfers are then refused.
  int peer_length = sizeof conn->peer;
  uv_tcp_getpeername(&conn->handle, reinterpret_cast<sockaddr*>(&conn->peer), &peer_length);
  start_reading(conn);
}

void Worker::link_newest(TcpConnection* conn) noexcept {
  conn->older = newest_;
  conn->newer = nullptr;
  (newest_ != nullptr ? newest_->newer : oldest_) = conn;
  newest_ = conn;
  ++connection_count_;
}

void Worker::unlink(TcpConnection* conn) noexcept {
  (conn->older != nullptr ? conn->older->newer : oldest_) = conn->newer;
  (conn->newer != nullptr ? conn->newer->older : newest_) = conn->older;
  conn->older = conn->newer = nullptr;
  --connection_count_;
}

void Worker::arm_timer(TcpConnection* conn, unsigned timeout_ms) {
  uv_timer_start(
      &conn->timer,
      [](uv_timer_t* t) {
        auto* c = static_cast<TcpConnection*>(t->data);
        Worker* self = c->worker;
        (c->partial ? self->stats_.tcp_query_timeouts : self->stats_.tcp_idle_closed).add();
        self->close_connection(c);
      },
      timeout_ms, 0);
}

void Worker::start_reading(TcpConnection* conn) {
  conn->reading = true;
  // A client silent for tcp_idle_timeout is closed (RFC 7766 §6.2.3); one
  // that started a query has tcp_query_timeout to finish it.
  arm_timer(conn, conn->partial ? limits_.tcp_query_timeout_ms : limits_.tcp_idle_timeout_ms);
  uv_read_start(
      as_stream(&conn->handle),
      [](uv_handle_t* h, size_t, uv_buf_t* buf) {
        auto* c = static_cast<TcpConnection*>(h->data);
        *buf = uv_buf_init(reinterpret_cast<char*>(c->in.get() + c->used),
                           static_cast<unsigned>(kTcpMaxFrame - c->used));
      },
      [](uv_stream_t* s, ssize_t nread, const uv_buf_t*) {
        auto* c = static_cast<TcpConnection*>(s->data);
        c->worker->on_tcp_read(c, nread);
      });
}

void Worker::on_tcp_read(TcpConnection* conn, ssize_t nread) {
  if (nread == UV_EOF) {
    // The client is done sending; let queued answers drain, then close.
    uv_read_stop(as_stream(&conn->handle));
    conn->shutdown.data = conn;
    if (uv_shutdown(&conn->shutdown, as_stream(&conn->handle), [](uv_shutdown_t* req, int) {
          auto* c = static_cast<TcpConnection*>(req->data);
          c->worker->close_connection(c);
        }) != 0) {
      close_connection(conn);
    }
    return;
  }
  if (nread < 0) {
    close_connection(conn);
    return;
  }
  conn->used += static_cast<size_t>(nread);

  // Answer every complete message in order (RFC 7766 pipelining).
  size_t offset = 0;
  while (conn->used - offset >= 2) {
    const size_t len = (size_t{conn->in[offset]} << 8) | conn->in[offset + 1];
    if (conn->used - offset - 2 < len) break;
    const std::span<const uint8_t> query{conn->in.get() + offset + 2, len};
    offset += 2 + len;
    const QueryProcessor::Result result =
        queries_.process(query, Transport::tcp, reinterpret_cast<const sockaddr*>(&conn->peer),
                         *snapshot_, {send_buffer_.get(), kMaxMessageSize}, 0);
    // Each message behind its two-byte length (RFC 1035 §4.2.2).
    std::vector<uint8_t> frames;
    frames.reserve(2 + result.length);
    auto frame = [&frames](std::span<const uint8_t> m) {
      put16(frames, static_cast<uint16_t>(m.size()));
      frames.insert(frames.end(), m.begin(), m.end());
    };
    if (result.length != 0) frame({send_buffer_.get(), result.length});
    for (const std::vector<uint8_t>& m : result.transfer) frame(m);
    if (!frames.empty() && !queue_write(conn, std::move(frames))) return;
  }
  if (offset > 0) {
    std::memmove(conn->in.get(), conn->in.get() + offset, conn->used - offset);
    conn->used -= offset;
    // A complete query makes the connection the most recently active.
    unlink(conn);
    link_newest(conn);
  }
  // Trickled bytes of one query never extend its deadline: a client sending a
  // byte a second is closed tcp_query_timeout after the query's first byte.
  if (conn->used == 0) {
    conn->partial = false;
    arm_timer(conn, limits_.tcp_idle_timeout_ms);
  } else if (!conn->partial || offset > 0) {
    conn->partial = true;
    arm_timer(conn, limits_.tcp_query_timeout_ms);
  }
  if (uv_stream_get_write_queue_size(as_stream(&conn->handle)) > kTcpMaxQueuedBytes) {
    uv_read_stop(as_stream(&conn->handle));
    conn->reading = false;
  }
}

bool Worker::queue_write(TcpConnection* conn, std::vector<uint8_t> frames) {
  auto* w = new TcpWrite();
  w->req.data = w;
  w->data = std::move(frames);
  uv_buf_t b =
      uv_buf_init(reinterpret_cast<char*>(w->data.data()), static_cast<unsigned>(w->data.size()));
  const int rc =
      uv_write(&w->req, as_stream(&conn->handle), &b, 1, [](uv_write_t* req, int status) {
        auto* c = static_cast<TcpConnection*>(req->handle->data);
        delete static_cast<TcpWrite*>(req->data);
        if (c->closing) return;  // cancelled by our own close
        if (status != 0) {
          // The peer reset or went away: this connection is done, nothing else.
          c->worker->stats_.tcp_write_failed.add();
          c->worker->close_connection(c);
          return;
        }
        if (c->reading) return;
        // Resume a client that was paused for not reading its answers.
        if (uv_stream_get_write_queue_size(req->handle) < kTcpMaxQueuedBytes / 2) {
          c->worker->start_reading(c);
        }
      });
  if (rc != 0) {
    delete w;
    stats_.tcp_write_failed.add();
    close_connection(conn);
    return false;
  }
  return true;
}

void Worker::close_connection(TcpConnection* conn) {
  if (conn->closing) return;
  conn->closing = true;
  unlink(conn);
  auto on_closed = [](uv_handle_t* h) {
    auto* c = static_cast<TcpConnection*>(h->data);
    if (--c->open_handles == 0) delete c;
  };
  uv_close(as_handle(&conn->timer), on_closed);
  uv_close(as_handle(&conn->handle), on_closed);
}

}  // namespace mirrorpool::dnsd
