// One serving thread: its own libuv loop, its own UDP sockets and TCP listeners
// (SO_REUSEPORT), and its own pointer to the current snapshot. The query path
// reads only that worker-local pointer: publishing a snapshot is a mailbox
// write plus a wake-up, handled between batches, never a lock per query.
#pragma once

#include <sys/socket.h>

#include <array>
#include <memory>
#include <mutex>
#include <thread>
#include <vector>

#include <uv.h>

#include "dnsd/config.hh"
#include "dnsd/rate_limiter.hh"
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

  const Stats& stats() const { return stats_; }

  // UDP datagrams read per recvmmsg and answers sent per sendmmsg: libuv
  // 1.44 reads at most 20 per call.
  static constexpr size_t kUdpBatch = 20;

 private:
  struct UdpSocket;
  struct TcpListener;
  struct TcpConnection;

  void run();
  void on_wake();
  void on_udp(UdpSocket* socket, ssize_t nread, const uv_buf_t* buf, const sockaddr* addr,
              unsigned flags);
  // Sends the answers gathered from one receive batch with one sendmmsg.
  void flush_udp() noexcept;
  void on_rrl_tick();
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
  RateLimiter* rrl_;
  uv_loop_t loop_{};
  uv_async_t wake_{};
  uv_timer_t rrl_tick_{};
  std::thread thread_;

  std::mutex mailbox_mutex_;
  std::shared_ptr<const Snapshot> mailbox_;  // guarded by mailbox_mutex_
  bool stop_requested_ = false;              // guarded by mailbox_mutex_

  // Loop-thread state below.
  std::shared_ptr<const Snapshot> snapshot_;
  std::unique_ptr<Rng> rng_;
  std::vector<std::unique_ptr<UdpSocket>> udp_;
  std::vector<std::unique_ptr<TcpListener>> tcp_;
  TcpConnection* oldest_ = nullptr;
  TcpConnection* newest_ = nullptr;
  size_t connection_count_ = 0;
  std::vector<uint8_t> recv_buffer_;  // recvmmsg batch buffer
  std::vector<uint8_t> send_buffer_;  // one TCP response

  // Answers waiting for the end of the receive batch, all for one socket.
  UdpSocket* batch_socket_ = nullptr;
  size_t batch_count_ = 0;
  std::vector<uint8_t> batch_answers_;  // kUdpBatch slots of kUdpAnswerMax bytes
  std::array<sockaddr_storage, kUdpBatch> batch_peers_{};
  std::array<iovec, kUdpBatch> batch_iov_{};
  std::array<mmsghdr, kUdpBatch> batch_msgs_{};

  // Prefixes that started being rate limited since the last tick, logged
  // from the timer rather than the query path.
  std::array<sockaddr_storage, 8> rrl_episodes_{};
  size_t rrl_episode_count_ = 0;
  uint64_t rrl_episodes_unlisted_ = 0;

  Stats stats_;
  TransferDesk transfers_;
};

}  // namespace mirrorpool::dnsd
