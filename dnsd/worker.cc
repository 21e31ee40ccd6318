#include "dnsd/worker.hh"

#include <cstring>
#include <random>

#include "dnsd/log.hh"
#include "dnsd/responder.hh"
#include "dnsd/rng.hh"

namespace mirrorpool::dnsd {

namespace {

// libuv's recvmmsg splits the receive buffer into 64 KiB slots, one datagram
// each; this many slots are read per system call.
constexpr size_t kUdpSlot = 64 * 1024;
constexpr size_t kUdpBatch = 16;
// A TCP message is at most 65535 bytes plus its two-byte length.
constexpr size_t kTcpMaxFrame = 2 + 65535;
// Stop reading from a client that does not read its answers.
constexpr size_t kTcpMaxQueuedBytes = 256 * 1024;

// One queued TCP answer; freed when the write completes.
struct TcpWrite {
  uv_write_t req{};
  std::vector<uint8_t> data;
};

template <typename T>
uv_handle_t* as_handle(T* h) {
  return reinterpret_cast<uv_handle_t*>(h);
}
template <typename T>
uv_stream_t* as_stream(T* h) {
  return reinterpret_cast<uv_stream_t*>(h);
}

}  // namespace

struct Worker::UdpSocket {
  uv_udp_t handle{};
  Worker* worker = nullptr;
};

struct Worker::TcpListener {
  uv_tcp_t handle{};
  Worker* worker = nullptr;
};

struct Worker::TcpConnection {
  uv_tcp_t handle{};
  uv_timer_t idle{};
  uv_shutdown_t shutdown{};
  Worker* worker = nullptr;
  std::vector<uint8_t> in;  // bytes received and not yet answered
  size_t used = 0;
  int open_handles = 2;  // handle and idle timer; freed when both are closed
  bool closing = false;
  bool reading = false;
};

Worker::Worker(unsigned index, WorkerSockets sockets, WorkerLimits limits)
    : index_(index), sockets_(std::move(sockets)), limits_(limits) {}

Worker::~Worker() {
  stop();
}

void Worker::start(std::shared_ptr<const Snapshot> initial) {
  snapshot_ = std::move(initial);
  recv_buffer_.resize(kUdpSlot * kUdpBatch);
  send_buffer_.resize(kTcpMaxFrame);
  uv_loop_init(&loop_);
  wake_.data = this;
  uv_async_init(&loop_, &wake_, [](uv_async_t* a) { static_cast<Worker*>(a->data)->on_wake(); });

  for (int fd : sockets_.udp) {
    auto s = std::make_unique<UdpSocket>();
    s->worker = this;
    s->handle.data = s.get();
    uv_udp_init_ex(&loop_, &s->handle, AF_UNSPEC | UV_UDP_RECVMMSG);
    if (int rc = uv_udp_open(&s->handle, fd); rc != 0) {
      log(LogLevel::error, "worker {}: udp open: {}", index_, uv_strerror(rc));
      uv_close(as_handle(&s->handle), nullptr);
      udp_.push_back(std::move(s));
      continue;
    }
    uv_udp_recv_start(
        &s->handle,
        [](uv_handle_t* h, size_t, uv_buf_t* buf) {
          Worker* self = static_cast<UdpSocket*>(h->data)->worker;
          *buf = uv_buf_init(reinterpret_cast<char*>(self->recv_buffer_.data()),
                             static_cast<unsigned>(self->recv_buffer_.size()));
        },
        [](uv_udp_t* h, ssize_t nread, const uv_buf_t* buf, const sockaddr* addr, unsigned flags) {
          auto* s = static_cast<UdpSocket*>(h->data);
          s->worker->on_udp(s, nread, buf, addr, flags);
        });
    udp_.push_back(std::move(s));
  }
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
  thread_ = std::thread([this] { run(); });
}

void Worker::run() {
  rng_ = std::make_unique<Rng>(std::random_device{}() ^ (uint64_t{index_} << 32));
  uv_run(&loop_, UV_RUN_DEFAULT);
}

void Worker::offer(std::shared_ptr<const Snapshot> next) {
  {
    std::lock_guard lock(mailbox_mutex_);
    mailbox_ = std::move(next);
  }
  uv_async_send(&wake_);
}

void Worker::stop() {
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
  while (!connections_.empty()) close_connection(*connections_.begin());
  for (auto& s : udp_) {
    if (!uv_is_closing(as_handle(&s->handle))) uv_close(as_handle(&s->handle), nullptr);
  }
  for (auto& l : tcp_) uv_close(as_handle(&l->handle), nullptr);
  uv_close(as_handle(&wake_), nullptr);
}

void Worker::on_udp(UdpSocket* socket, ssize_t nread, const uv_buf_t* buf, const sockaddr* addr,
                    unsigned /*flags*/) {
  // nread == 0 with no address marks the end of a recvmmsg batch; errors are
  // transient (ICMP feedback and the like) and leave the socket usable.
  if (nread <= 0 || addr == nullptr) return;
  stats_.udp_queries.add();
  const std::span<const uint8_t> query{reinterpret_cast<const uint8_t*>(buf->base),
                                       static_cast<size_t>(nread)};
  if (is_transfer_query(query)) {
    // IXFR over UDP (RFC 1995 §2): one datagram, at most 512 bytes.
    for (std::vector<uint8_t>& m :
         transfers_.serve(query, addr, Transport::udp, *snapshot_, stats_)) {
      uv_buf_t out =
          uv_buf_init(reinterpret_cast<char*>(m.data()), static_cast<unsigned>(m.size()));
      uv_udp_try_send(&socket->handle, &out, 1, addr);
    }
    return;
  }
  const size_t n =
      respond(query, *snapshot_, *rng_, Transport::udp, {send_buffer_.data(), 65535}, stats_);
  if (n == 0) return;
  uv_buf_t out =
      uv_buf_init(reinterpret_cast<char*>(send_buffer_.data()), static_cast<unsigned>(n));
  // A full socket buffer drops the answer, as the network could; the client retries.
  uv_udp_try_send(&socket->handle, &out, 1, addr);
}

void Worker::on_accept(TcpListener* listener) {
  auto* conn = new TcpConnection();
  conn->worker = this;
  conn->handle.data = conn;
  conn->idle.data = conn;
  uv_tcp_init(&loop_, &conn->handle);
  uv_timer_init(&loop_, &conn->idle);
  connections_.insert(conn);
  if (uv_accept(as_stream(&listener->handle), as_stream(&conn->handle)) != 0 ||
      connections_.size() > limits_.tcp_max_clients) {
    close_connection(conn);
    return;
  }
  conn->in.resize(kTcpMaxFrame);
  start_reading(conn);
}

void Worker::arm_idle_timer(TcpConnection* conn) {
  // A client silent for tcp_idle_timeout is closed (RFC 7766 §6.2.3).
  uv_timer_start(
      &conn->idle,
      [](uv_timer_t* t) {
        auto* c = static_cast<TcpConnection*>(t->data);
        c->worker->close_connection(c);
      },
      limits_.tcp_idle_timeout_ms, 0);
}

void Worker::start_reading(TcpConnection* conn) {
  conn->reading = true;
  arm_idle_timer(conn);
  uv_read_start(
      as_stream(&conn->handle),
      [](uv_handle_t* h, size_t, uv_buf_t* buf) {
        auto* c = static_cast<TcpConnection*>(h->data);
        *buf = uv_buf_init(reinterpret_cast<char*>(c->in.data() + c->used),
                           static_cast<unsigned>(c->in.size() - c->used));
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
  arm_idle_timer(conn);

  // Answer every complete message in order (RFC 7766 pipelining).
  size_t offset = 0;
  while (conn->used - offset >= 2) {
    const size_t len = (size_t{conn->in[offset]} << 8) | conn->in[offset + 1];
    if (conn->used - offset - 2 < len) break;
    stats_.tcp_queries.add();
    const std::span<const uint8_t> query{conn->in.data() + offset + 2, len};
    offset += 2 + len;
    std::vector<uint8_t> frames;
    if (is_transfer_query(query)) {
      sockaddr_storage peer{};
      int peer_len = sizeof peer;
      uv_tcp_getpeername(&conn->handle, reinterpret_cast<sockaddr*>(&peer), &peer_len);
      for (const std::vector<uint8_t>& m :
           transfers_.serve(query, reinterpret_cast<const sockaddr*>(&peer), Transport::tcp,
                            *snapshot_, stats_)) {
        frames.push_back(static_cast<uint8_t>(m.size() >> 8));
        frames.push_back(static_cast<uint8_t>(m.size()));
        frames.insert(frames.end(), m.begin(), m.end());
      }
    } else {
      const size_t n =
          respond(query, *snapshot_, *rng_, Transport::tcp, {send_buffer_.data(), 65535}, stats_);
      if (n == 0) continue;  // dropped, as over UDP
      frames.resize(2 + n);
      frames[0] = static_cast<uint8_t>(n >> 8);
      frames[1] = static_cast<uint8_t>(n);
      std::memcpy(frames.data() + 2, send_buffer_.data(), n);
    }
    if (!frames.empty() && !queue_write(conn, std::move(frames))) return;
  }
  if (offset > 0) {
    std::memmove(conn->in.data(), conn->in.data() + offset, conn->used - offset);
    conn->used -= offset;
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
        if (status != 0 || c->closing || c->reading) return;
        // Resume a client that was paused for not reading its answers.
        if (uv_stream_get_write_queue_size(req->handle) < kTcpMaxQueuedBytes / 2) {
          c->worker->start_reading(c);
        }
      });
  if (rc != 0) {
    delete w;
    close_connection(conn);
    return false;
  }
  return true;
}

void Worker::close_connection(TcpConnection* conn) {
  if (conn->closing) return;
  conn->closing = true;
  connections_.erase(conn);
  auto on_closed = [](uv_handle_t* h) {
    auto* c = static_cast<TcpConnection*>(h->data);
    if (--c->open_handles == 0) delete c;
  };
  uv_close(as_handle(&conn->idle), on_closed);
  uv_close(as_handle(&conn->handle), on_closed);
}

}  // namespace mirrorpool::dnsd
