// The `tcp` probe: can a connection to address:port be opened within the
// timeout? Runs on one libuv loop; knows sockets and time, nothing of DNS.
#pragma once

#include <chrono>
#include <cstdint>
#include <functional>
#include <set>
#include <string>

#include <uv.h>

#include "health/probe_result.hh"

namespace mirrorpool::health {

using ProbeDone = std::function<void(ProbeResult)>;

class TcpProber {
 public:
  explicit TcpProber(uv_loop_t* loop) : loop_(loop) {}
  // Cancels every probe still running; their callbacks never run.
  ~TcpProber();
  TcpProber(const TcpProber&) = delete;
  TcpProber& operator=(const TcpProber&) = delete;

  // Connects to `address` (numeric IPv4 or IPv6) and closes again. `done`
  // runs exactly once, later, on the loop thread, unless cancel_all() comes
  // first. Reasons: "connect: Connection refused", "timeout after 2000ms".
  void probe(const std::string& address, uint16_t port, std::chrono::milliseconds timeout,
             ProbeDone done);

  void cancel_all();

 private:
  struct Op;
  uv_loop_t* loop_;
  std::set<Op*> ops_;
};

}  // namespace mirrorpool::health
