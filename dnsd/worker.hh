// One serving thread: its own libuv loop, its own UDP sockets and TCP listeners
// (SO_REUSEPORT), and its own pointer to the current snapshot. The query path
// reads only that worker-local pointer: publishing a snapshot is a mailbox
// write plus a wake-up, handled between batches, never a lock per query.
#pragma once

#include <memory>
#include <mutex>
#include <thread>
#include <unordered_set>
#include <vector>

#include <uv.h>

#include "dnsd/config.hh"
#include "dnsd/rng.hh"
#include "dnsd/snapshot.hh"
#include "dnsd/stats.hh"
#include "dnsd/transfer.hh"

namespace mirrorpool::dnsd {

struct WorkerSockets {
  std::vector<int> udp;  // bound fds, owned by the worker once started
  std::vector<int> tcp;  // bound and listening fds
};

struct WorkerLimits {
  unsigned tcp_idle_timeout_ms = 10000;
  unsigned tcp_max_clients = 1000;
};

class Worker {
 public:
  Worker(unsigned index, WorkerSockets sockets, WorkerLimits limits);
  ~Worker();
  Worker(const Worker&) = delete;
  Worker& operator=(const Worker&) = delete;

  // Starts the thread, serving `initial`. Called once.
  void start(std::shared_ptr<const Snapshot> initial);
  // Any thread: the worker switches to `next` before its next batch.
  void offer(std::shared_ptr<const Snapshot> next);
  // Any thread: closes every socket and joins the thread.
  void stop();

  const Stats& stats() const { return stats_; }

 private:
  struct UdpSocket;
  struct TcpListener;
  struct TcpConnection;

  void run();
  void on_wake();
  void on_udp(UdpSocket* socket, ssize_t nread, const uv_buf_t* buf, const sockaddr* addr,
              unsigned flags);
  void on_accept(TcpListener* listener);
  void on_tcp_read(TcpConnection* conn, ssize_t nread);
  void start_reading(TcpConnection* conn);
  void arm_idle_timer(TcpConnection* conn);
  void close_connection(TcpConnection* conn);
  // Queues one answer (TCP frames, length prefixes included); false when the
  // connection failed and was closed.
  bool queue_write(TcpConnection* conn, std::vector<uint8_t> frames);

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
  std::unique_ptr<Rng> rng_;
  std::vector<std::unique_ptr<UdpSocket>> udp_;
  std::vector<std::unique_ptr<TcpListener>> tcp_;
  std::unordered_set<TcpConnection*> connections_;
  std::vector<uint8_t> recv_buffer_;  // recvmmsg batch buffer
  std::vector<uint8_t> send_buffer_;  // one response
  Stats stats_;
  TransferDesk transfers_;
};

}  // namespace mirrorpool::dnsd
