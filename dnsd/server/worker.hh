// One worker: a thread with its own libuv loop serving its TCP listeners, and
// one UdpServer thread per UDP socket (all SO_REUSEPORT), each with its own
// pointer to the current snapshot. The query path reads only that local
// pointer: publishing a snapshot is a mailbox write (plus a wake-up for the
// loop), taken up between batches, never a lock per query.
#pragma once

#include <sys/socket.h>

#include <memory>
#include <mutex>
#include <thread>
#include <vector>

#include <uv.h>

#include "dnsd/query/rate_limiter.hh"
#include "dnsd/query/stats.hh"
#include "dnsd/server/process_query.hh"
#include "dnsd/server/udp_server.hh"
#include "dnsd/snapshot/snapshot.hh"

namespace mirrorpool::dnsd {

struct WorkerSockets {
  std::vector<int> udp;  // bound fds; each goes to one UdpServer, which closes it
  std::vector<int> tcp;  // bound and listening fds
};

struct WorkerLimits {
  unsigned tcp_idle_timeout_ms = 10000;  // silence between queries
  unsigned tcp_query_timeout_ms = 2000;  // first byte of a query to its last
  unsigned tcp_max_clients = 1000;
};

class Worker {
 public:
  // `rrl`, shared by every worker, may be null (no rate limiting); it must
  // outlive the worker.
  Worker(unsigned index, WorkerSockets sockets, WorkerLimits limits, RateLimiter* rrl);
  ~Worker();
  Worker(const Worker&) = delete;
  Worker& operator=(const Worker&) = delete;

  // Starts the thread, serving `initial`. Called once.
  void start(std::shared_ptr<const Snapshot> initial);
  // Any thread: the worker switches to `next` before its next batch.
  void offer(std::shared_ptr<const Snapshot> next);
  // Any thread: closes every socket and joins the thread.
  void stop();

  // Adds the counters of the worker's threads to `out` (for /metrics).
  void collect_stats(std::vector<const Stats*>& out) const;

 private:
  struct TcpListener;
  struct TcpConnection;

  void run();
  void on_wake();
  void on_accept(TcpListener* listener);
  void on_tcp_read(TcpConnection* conn, ssize_t nread);
  void start_reading(TcpConnection* conn);
  void arm_timer(TcpConnection* conn, unsigned timeout_ms);
  void close_connection(TcpConnection* conn);
  // Queues one answer (TCP frames, length prefixes included); false when the
  // connection failed and was closed.
  bool queue_write(TcpConnection* conn, std::vector<uint8_t> frames);
  // Connections in order of their last complete query, oldest first.
  void link_newest(TcpConnection* conn) noexcept;
  void unlink(TcpConnection* conn) noexcept;

  unsigned index_;
  WorkerSockets sockets_;
  WorkerLimits limits_;
  uv_loop_t loop_{};
  uv_async_t wake_{};
  std::thread thread_;

  std::mutex mailbox_mutex_;
  std::shared_ptr<const Snapshot> mailbox_;  // guarded by mailbox_mutex_
  bool stop_requested_ = false;              // guarded by mailbox_mutex_

  // Loop-thread state below.
  std::shared_ptr<const Snapshot> snapshot_;
  std::vector<std::unique_ptr<TcpListener>> tcp_;
  TcpConnection* oldest_ = nullptr;
  TcpConnection* newest_ = nullptr;
  size_t connection_count_ = 0;
  // Left uninitialised: only the pages an answer touches become resident.
  std::unique_ptr<uint8_t[]> send_buffer_;  // one TCP response

  std::vector<std::unique_ptr<UdpServer>> udp_;
  Stats stats_;             // TCP queries and connections
  QueryProcessor queries_;  // counts into stats_
};

}  // namespace mirrorpool::dnsd
