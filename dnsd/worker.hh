// One serving thread: its own libuv loop, its own UDP sockets and TCP listeners
// (SO_REUSEPORT), and its own pointer to the current snapshot. The query path
// reads only that worker-local pointer: publishing a snapshot is a mailbox
// write plus a wake-up, handled between batches, never a lock per query.
#pragma once

#include <sys/socket.h>

#include <array>
#include <memory>
#include <mutex>
#include <span>
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

  // UDP datagrams read per recvmmsg and answers sent per sendmmsg. Bigger
  // batches spread each system call over more queries; 64 is where the
  // kernel's per-datagram work leaves the per-call cost far behind.
  static constexpr size_t kUdpBatch = 64;

 private:
  struct UdpSocket;
  struct TcpListener;
  struct TcpConnection;

  void run();
  void on_wake();
  // The socket is readable: reads and answers batches until it is drained
  // or kUdpBatchesPerWake batches have gone by (TCP gets its turn too).
  void on_udp_readable(UdpSocket* socket) noexcept;
  // Answers one datagram, queueing the answer in the send batch.
  void on_udp_query(UdpSocket* socket, std::span<const uint8_t> query, const sockaddr* peer,
                    socklen_t peer_length) noexcept;
  // Sends the answers gathered from one receive batch with one sendmmsg.
  void flush_udp(UdpSocket* socket) noexcept;
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
  // Buffers are left uninitialised: only the pages that a datagram or an
  // answer touches become resident, not the 64 KiB each slot may need.
  std::unique_ptr<uint8_t[]> send_buffer_;  // one TCP response

  // One recvmmsg batch: kUdpBatch slots of kUdpQueryMax bytes.
  std::unique_ptr<uint8_t[]> recv_buffer_;
  std::array<sockaddr_storage, kUdpBatch> recv_peers_{};
  std::array<iovec, kUdpBatch> recv_iov_{};
  std::array<mmsghdr, kUdpBatch> recv_msgs_{};

  // Answers waiting for the end of the receive batch.
  size_t batch_count_ = 0;
  std::unique_ptr<uint8_t[]> batch_answers_;  // kUdpBatch slots of kUdpAnswerMax bytes
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
