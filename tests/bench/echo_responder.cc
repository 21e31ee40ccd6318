// The floor of the query benchmark: a UDP responder that does no DNS work
// beyond the minimum. It reads a batch of queries with recvmmsg, copies each
// header and question, sets QR and AA, appends N pre-built A records (name =
// a compression pointer to the question) and sends the batch back with
// sendmmsg. No zone, no lookup, no EDNS (an OPT in the query is dropped; the
// benchmark sends none). What it costs is what the kernel's UDP path costs.
//
//   echo_responder --listen 127.0.0.1:5399 [--answers 4] [--threads 1]
//
// Prints "echo_responder listening on ADDR with N A records per answer" once
// the socket is bound. Runs until killed (SIGTERM's default action is fine:
// there is nothing to clean up).
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <functional>
#include <iterator>
#include <string>
#include <string_view>
#include <thread>
#include <vector>

#include "bench_net.hh"

namespace {

using bench::get16;
using bench::put16;

constexpr size_t kBatch = 64;
constexpr size_t kBuffer = 1500;

// One A record: pointer to the question name (offset 12), type A, class IN,
// TTL, RDLENGTH 4, the address 127.0.1.(i+1) -- like a pool answer.
std::vector<uint8_t> build_records(unsigned answers, uint32_t ttl) {
  std::vector<uint8_t> out;
  for (unsigned i = 0; i < answers; ++i) {
    const uint8_t name_type_class[] = {0xC0, 0x0C, 0x00, 0x01, 0x00, 0x01};
    out.insert(out.end(), std::begin(name_type_class), std::end(name_type_class));
    for (int shift = 24; shift >= 0; shift -= 8) out.push_back(static_cast<uint8_t>(ttl >> shift));
    const uint8_t rdata[] = {0x00, 0x04, 127, 0, 1, static_cast<uint8_t>(i + 1)};
    out.insert(out.end(), std::begin(rdata), std::end(rdata));
  }
  return out;
}

// Builds the answer to the query in `in` into `out`; returns its length, or
// 0 to drop the packet (a reply, or not a single-question query).
size_t answer(const uint8_t* in, size_t len, uint8_t* out, const std::vector<uint8_t>& records,
              unsigned answers) {
  if (len < 12 || (in[2] & 0x80) || get16(in + 4) != 1) return 0;
  const size_t qend = bench::skip_name(in, len, 12);
  if (qend == 0 || qend + 4 > len || qend + 4 + records.size() > kBuffer) return 0;
  const size_t question_end = qend + 4;
  std::memcpy(out, in, question_end);
  out[2] = static_cast<uint8_t>(0x80 | (in[2] & 0x79) | 0x04);  // QR, opcode, AA, RD
  out[3] = 0;                                                   // RA clear, NOERROR
  put16(out + 6, static_cast<uint16_t>(answers));
  put16(out + 8, 0);
  put16(out + 10, 0);
  std::memcpy(out + question_end, records.data(), records.size());
  return question_end + records.size();
}

void serve(int fd, const std::vector<uint8_t>& records, unsigned answers) {
  std::vector<uint8_t> in_bufs(kBatch * kBuffer);
  std::vector<uint8_t> out_bufs(kBatch * kBuffer);
  std::vector<sockaddr_storage> peers(kBatch);
  std::vector<mmsghdr> in_msgs(kBatch);
  std::vector<mmsghdr> out_msgs(kBatch);
  std::vector<iovec> in_iov(kBatch);
  std::vector<iovec> out_iov(kBatch);
  for (;;) {
    for (size_t k = 0; k < kBatch; ++k) {
      in_iov[k] = {&in_bufs[k * kBuffer], kBuffer};
      in_msgs[k] = {};
      in_msgs[k].msg_hdr.msg_iov = &in_iov[k];
      in_msgs[k].msg_hdr.msg_iovlen = 1;
      in_msgs[k].msg_hdr.msg_name = &peers[k];
      in_msgs[k].msg_hdr.msg_namelen = sizeof(sockaddr_storage);
    }
    // Blocking socket: wait for the first query, then take whatever else is
    // already queued, up to a batch.
    const int n = recvmmsg(fd, in_msgs.data(), kBatch, MSG_WAITFORONE, nullptr);
    if (n < 0) {
      if (errno == EINTR) continue;
      std::perror("recvmmsg");
      std::exit(1);
    }
    unsigned out_count = 0;
    for (int k = 0; k < n; ++k) {
      const auto i = static_cast<size_t>(k);
      uint8_t* out = &out_bufs[out_count * kBuffer];
      const size_t len = answer(&in_bufs[i * kBuffer], in_msgs[i].msg_len, out, records, answers);
      if (len == 0) continue;
      out_iov[out_count] = {out, len};
      out_msgs[out_count] = {};
      out_msgs[out_count].msg_hdr.msg_iov = &out_iov[out_count];
      out_msgs[out_count].msg_hdr.msg_iovlen = 1;
      out_msgs[out_count].msg_hdr.msg_name = &peers[i];
      out_msgs[out_count].msg_hdr.msg_namelen = in_msgs[i].msg_hdr.msg_namelen;
      ++out_count;
    }
    unsigned done = 0;
    while (done < out_count) {
      const int r = sendmmsg(fd, &out_msgs[done], out_count - done, 0);
      if (r < 0) {
        if (errno == EINTR) continue;
        break;  // e.g. the client's socket is gone: drop the rest of the batch
      }
      done += static_cast<unsigned>(r);
    }
  }
}

[[noreturn]] void usage(const char* why) {
  std::fprintf(stderr,
               "echo_responder: %s\n"
               "usage: echo_responder --listen ADDR:PORT [--answers N] [--threads N]\n",
               why);
  std::exit(2);
}

}  // namespace

int main(int argc, char** argv) {
  std::string listen;
  long answers = 4;
  long threads = 1;
  for (int i = 1; i < argc; ++i) {
    const std::string_view a = argv[i];
    if (i + 1 >= argc) usage("missing value");
    if (a == "--listen") {
      listen = argv[++i];
    } else if (a == "--answers") {
      answers = std::strtol(argv[++i], nullptr, 10);
    } else if (a == "--threads") {
      threads = std::strtol(argv[++i], nullptr, 10);
    } else {
      usage("unknown argument");
    }
  }
  const auto ep = bench::parse_endpoint(listen);
  if (!ep) usage("--listen ADDR:PORT is required");
  if (answers < 0 || answers > 64) usage("--answers must be 0..64");
  if (threads < 1 || threads > 64) usage("--threads must be 1..64");
  const auto records = build_records(static_cast<unsigned>(answers), 30);

  // One SO_REUSEPORT socket per thread, like the servers' per-worker sockets.
  std::vector<int> fds;
  for (long t = 0; t < threads; ++t) {
    const int fd = socket(ep->addr.ss_family, SOCK_DGRAM | SOCK_CLOEXEC, 0);
    const int one = 1;
    if (fd < 0 || setsockopt(fd, SOL_SOCKET, SO_REUSEPORT, &one, sizeof one) != 0 ||
        bind(fd, reinterpret_cast<const sockaddr*>(&ep->addr), ep->len) != 0) {
      std::perror("echo_responder: socket/bind");
      return 1;
    }
    fds.push_back(fd);
  }
  std::printf("echo_responder listening on %s with %ld A records per answer, %ld thread(s)\n",
              listen.c_str(), answers, threads);
  std::fflush(stdout);
  std::vector<std::thread> workers;
  for (size_t t = 1; t < fds.size(); ++t) {
    workers.emplace_back(serve, fds[t], std::cref(records), static_cast<unsigned>(answers));
  }
  serve(fds[0], records, static_cast<unsigned>(answers));
}
