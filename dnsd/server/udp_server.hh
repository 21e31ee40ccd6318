// One thread answering one UDP socket: it blocks in recvmmsg until a batch of
// queries is there, answers them all and sends the answers with one sendmmsg,
// like gdnsd's and NSD's UDP threads. The socket is in no epoll set, so while
// the thread is busy the kernel wakes nobody for each datagram received or
// sent, and UDP never waits behind TCP work on the worker's loop. A new
// snapshot is taken up between batches; nothing is locked per query.
#pragma once

#include <sys/socket.h>

#include <array>
#include <atomic>
#include <cstdint>
#include <memory>
#include <mutex>
#include <span>
#include <thread>

#include "dnsd/query/rate_limiter.hh"
#include "dnsd/query/stats.hh"
#include "dnsd/server/process_query.hh"
#include "dnsd/snapshot/snapshot.hh"

namespace mirrorpool::dnsd {

class UdpServer {
 public:
  // Takes `fd`, a bound UDP socket. `rrl` (shared, may be null) must outlive
  // the server.
  UdpServer(unsigned worker, int fd, RateLimiter* rrl);
  ~UdpServer();
  UdpServer(const UdpServer&) = delete;
  UdpServer& operator=(const UdpServer&) = delete;

  // Starts the thread, serving `initial`. Called once.
  void start(std::shared_ptr<const Snapshot> initial);
  // Any thread: the server switches to `next` before its next batch.
  void offer(std::shared_ptr<const Snapshot> next);
  // Any thread: wakes the thread, joins it and closes the socket.
  void stop();

  const Stats& stats() const { return stats_; }

  // Datagrams read per recvmmsg and answers sent per sendmmsg.
  static constexpr size_t kBatch = 64;

 private:
  void run();
  // Switches to the snapshot in the mailbox, if any.
  void take_mail();
  // Answers one datagram, queueing the answer in the send batch.
  void answer(std::span<const uint8_t> query, sockaddr* peer, socklen_t peer_length,
              uint64_t now_ms) noexcept;
  // Sends the queued answers with one sendmmsg.
  void flush() noexcept;
  // Logs the prefixes that began to be rate limited since the last call.
  void log_rrl_episodes();

  int fd_;
  RateLimiter* rrl_;
  std::thread thread_;
  std::atomic<bool> stopping_{false};

  std::mutex mailbox_mutex_;
  std::shared_ptr<const Snapshot> mailbox_;  // guarded by mailbox_mutex_
  std::atomic<bool> mail_{false};            // the mailbox holds a snapshot

  // Thread state below.
  std::shared_ptr<const Snapshot> snapshot_;
  // Buffers are left uninitialised: only the pages that a datagram or an
  // answer touches become resident.
  std::unique_ptr<uint8_t[]> datagrams_;  // kBatch query slots (udp_server.cc)
  std::array<sockaddr_storage, kBatch> query_peers_{};
  std::array<iovec, kBatch> query_iov_{};
  std::array<mmsghdr, kBatch> query_msgs_{};
  // The batch's answers back to back, each with room for a whole datagram
  // while it is written: a batch of small answers touches a few pages.
  std::unique_ptr<uint8_t[]> answers_;
  size_t answers_used_ = 0;
  size_t answer_count_ = 0;
  std::array<iovec, kBatch> answer_iov_{};
  std::array<mmsghdr, kBatch> answer_msgs_{};  // msg_name: the query's peer

  // Prefixes that started being rate limited since the last log, logged
  // once a second between batches rather than per query.
  std::array<sockaddr_storage, 8> rrl_episodes_{};
  size_t rrl_episode_count_ = 0;
  uint64_t rrl_episodes_unlisted_ = 0;
  uint64_t rrl_next_log_ms_ = 0;

  Stats stats_;
  QueryProcessor queries_;  // counts into stats_
};

}  // namespace mirrorpool::dnsd
