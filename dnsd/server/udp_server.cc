#include "dnsd/server/udp_server.hh"

#include <fcntl.h>
#include <sys/time.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <ctime>
#include <random>

#include "dnsd/common/log.hh"

namespace mirrorpool::dnsd {

namespace {

// Answers start on cache lines.
constexpr size_t kAnswerAlign = 64;
// Every slot takes the largest datagram, so that a query of any size gets
// the answer TCP would give (NSD's behaviour), never silence. The slots are
// address space: the kernel writes only a datagram's bytes, so only the
// first page of a slot becomes memory for the usual small query. They are
// one cache line longer than 64 KiB, so that the first line of each sits in
// a different cache set instead of all 64 competing for one, as slots a
// power of two apart would.
constexpr size_t kQueryMax = kMaxMessageSize;
constexpr size_t kQuerySlot = kQueryMax + 1 + 64;
// An idle thread wakes this often to let go of an old snapshot and to log
// rate-limit episodes.
constexpr long kIdleWakeMs = 200;
constexpr uint64_t kRrlLogIntervalMs = 1000;

uint64_t monotonic_ms() noexcept {
  timespec ts{};
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return static_cast<uint64_t>(ts.tv_sec) * 1000 + static_cast<uint64_t>(ts.tv_nsec) / 1000000;
}

}  // namespace

UdpServer::UdpServer(unsigned worker, int fd, RateLimiter* rrl)
    : fd_(fd),
      rrl_(rrl),
      queries_(stats_,
               std::random_device{}() ^ (uint64_t{worker} << 32) ^ static_cast<uint64_t>(fd), rrl) {
}

UdpServer::~UdpServer() {
  stop();
}

void UdpServer::start(std::shared_ptr<const Snapshot> initial) {
  snapshot_ = std::move(initial);
  datagrams_ = std::make_unique_for_overwrite<uint8_t[]>(kQuerySlot * kBatch);
  // kBatch - 1 answers of at most a datagram each, aligned, leave room for a
  // whole datagram more.
  answers_ = std::make_unique_for_overwrite<uint8_t[]>((kMaxMessageSize + kAnswerAlign) * kBatch);
  for (size_t i = 0; i < kBatch; ++i) {
    query_iov_[i] = {datagrams_.get() + i * kQuerySlot, kQueryMax};
    query_msgs_[i].msg_hdr.msg_name = &query_peers_[i];
    query_msgs_[i].msg_hdr.msg_iov = &query_iov_[i];
    query_msgs_[i].msg_hdr.msg_iovlen = 1;
    answer_msgs_[i].msg_hdr.msg_iov = &answer_iov_[i];
    answer_msgs_[i].msg_hdr.msg_iovlen = 1;
  }
  // recvmmsg blocks for the first datagram of a batch, at most kIdleWakeMs.
  const int flags = fcntl(fd_, F_GETFL);
  if (flags >= 0) fcntl(fd_, F_SETFL, flags & ~O_NONBLOCK);
  const timeval idle{0, kIdleWakeMs * 1000};
  setsockopt(fd_, SOL_SOCKET, SO_RCVTIMEO, &idle, sizeof idle);
  thread_ = std::thread([this] { run(); });
}

void UdpServer::offer(std::shared_ptr<const Snapshot> next) {
  std::lock_guard lock(mailbox_mutex_);
  mailbox_ = std::move(next);
  mail_.store(true, std::memory_order_release);
}

void UdpServer::stop() {
  if (thread_.joinable()) {
    stopping_.store(true, std::memory_order_relaxed);
    // On a UDP socket this fails with ENOTCONN but still wakes a blocked
    // recvmmsg, which then returns at once.
    shutdown(fd_, SHUT_RD);
    thread_.join();
  }
  if (fd_ >= 0) {
    close(fd_);
    fd_ = -1;
  }
}

void UdpServer::take_mail() {
  if (!mail_.load(std::memory_order_acquire)) return;
  std::shared_ptr<const Snapshot> next;
  {
    std::lock_guard lock(mailbox_mutex_);
    next = std::move(mailbox_);
    mail_.store(false, std::memory_order_relaxed);
  }
  // The old snapshot is released here, between batches, not on the query path.
  if (next) snapshot_ = std::move(next);
}

void UdpServer::run() {
  while (!stopping_.load(std::memory_order_relaxed)) {
    for (mmsghdr& m : query_msgs_) m.msg_hdr.msg_namelen = sizeof(sockaddr_storage);
    const int n = recvmmsg(fd_, query_msgs_.data(), kBatch, MSG_WAITFORONE, nullptr);
    // After the wait, so that a snapshot offered before these queries
    // arrived answers them.
    take_mail();
    const uint64_t now = rrl_ != nullptr ? monotonic_ms() : 0;
    // Nothing read: the idle timeout, a signal, the wake-up of stop(), or
    // a transient error (ICMP feedback and the like) that leaves the socket
    // usable.
    for (size_t i = 0; i < static_cast<size_t>(n > 0 ? n : 0); ++i) {
      const msghdr& h = query_msgs_[i].msg_hdr;
      if ((h.msg_flags & MSG_TRUNC) != 0) {
        queries_.count_cut_datagram();
        continue;
      }
      answer({datagrams_.get() + i * kQuerySlot, query_msgs_[i].msg_len},
             static_cast<sockaddr*>(h.msg_name), h.msg_namelen, now);
    }
    flush();
    if (rrl_ != nullptr && now >= rrl_next_log_ms_) {
      log_rrl_episodes();
      rrl_next_log_ms_ = now + kRrlLogIntervalMs;
    }
  }
}

void UdpServer::answer(std::span<const uint8_t> query, sockaddr* peer, socklen_t peer_length,
                       uint64_t now_ms) noexcept {
  const std::span<uint8_t> slot{answers_.get() + answers_used_, kMaxMessageSize};
  const QueryProcessor::Result result =
      queries_.process(query, Transport::udp, peer, *snapshot_, slot, now_ms);
  if (result.rrl_episode_start) {
    if (rrl_episode_count_ < rrl_episodes_.size()) {
      std::memcpy(&rrl_episodes_[rrl_episode_count_++], peer, peer_length);
    } else {
      ++rrl_episodes_unlisted_;
    }
  }
  // IXFR over UDP (RFC 1995 §2): one datagram, at most 512 bytes, sent at once.
  for (const std::vector<uint8_t>& m : result.transfer) {
    if (sendto(fd_, m.data(), m.size(), MSG_DONTWAIT, peer, peer_length) < 0) {
      stats_.udp_send_failed.add();
    }
  }
  if (result.length == 0) return;
  // The peer stays in query_peers_ until the batch is sent.
  answer_msgs_[answer_count_].msg_hdr.msg_name = peer;
  answer_msgs_[answer_count_].msg_hdr.msg_namelen = peer_length;
  answer_iov_[answer_count_] = {slot.data(), result.length};
  ++answer_count_;
  answers_used_ += (result.length + kAnswerAlign - 1) / kAnswerAlign * kAnswerAlign;
}

void UdpServer::flush() noexcept {
  size_t sent = 0;
  while (sent < answer_count_) {
    const int rc = sendmmsg(fd_, &answer_msgs_[sent], static_cast<unsigned>(answer_count_ - sent),
                            MSG_DONTWAIT);
    if (rc > 0) {
      sent += static_cast<size_t>(rc);
    } else if (rc < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) {
      // A full socket buffer drops the answers, as the network could; the
      // clients retry.
      stats_.udp_send_failed.add(answer_count_ - sent);
      break;
    } else {
      // Any other error concerns the first unsent answer alone (an
      // unreachable peer, say): skip it and send the rest.
      stats_.udp_send_failed.add();
      ++sent;
    }
  }
  answer_count_ = 0;
  answers_used_ = 0;
}

void UdpServer::log_rrl_episodes() {
  for (size_t i = 0; i < rrl_episode_count_; ++i) {
    const auto* client = reinterpret_cast<const sockaddr*>(&rrl_episodes_[i]);
    const RrlConfig& c = rrl_->config();
    log(LogLevel::warning, "rate limit: {} is over {} responses/s; dropping its UDP answers{}",
        rrl_->prefix_text(client), c.responses_per_second,
        c.slip == 0 ? std::string() : fmt::format(", one in {} answered truncated", c.slip));
  }
  if (rrl_episodes_unlisted_ > 0) {
    log(LogLevel::warning, "rate limit: {} more prefixes over the limit", rrl_episodes_unlisted_);
  }
  rrl_episode_count_ = 0;
  rrl_episodes_unlisted_ = 0;
}

}  // namespace mirrorpool::dnsd
