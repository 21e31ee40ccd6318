// Drives a libuv loop in a test until a condition holds or a deadline
// passes: tests wait for events, never for fixed sleeps. Test support only.
#pragma once

#include <chrono>
#include <functional>

#include <uv.h>

namespace mirrorpool::health::test {

class LoopRunner {
 public:
  LoopRunner();
  // Closes every handle still open and the loop itself.
  ~LoopRunner();
  LoopRunner(const LoopRunner&) = delete;
  LoopRunner& operator=(const LoopRunner&) = delete;

  uv_loop_t* loop() { return &loop_; }
  // Runs the loop until `done()` is true; false if `deadline` passed first.
  bool run_until(const std::function<bool()>& done, std::chrono::milliseconds deadline);
  // Lets pending close callbacks run (after objects owning handles died).
  void settle();

 private:
  uv_loop_t loop_{};
};

}  // namespace mirrorpool::health::test
