// A one-shot libuv timer owned by C++. The handle lives on the heap and is
// freed by its close callback, so the owner may be destroyed at any time on
// the loop thread; the loop must run once more to release the memory.
#pragma once

#include <chrono>
#include <functional>

#include <uv.h>

namespace mirrorpool::health {

// Throws std::runtime_error naming `what` when a libuv call that cannot fail
// in a correct program (init of a handle, start of a timer) fails anyway.
void check_uv(int rc, const char* what);

class UvTimer {
 public:
  explicit UvTimer(uv_loop_t* loop);
  ~UvTimer();
  UvTimer(const UvTimer&) = delete;
  UvTimer& operator=(const UvTimer&) = delete;

  // (Re)arms the timer; `fn` runs once on the loop thread after `after`.
  // `fn` may restart or destroy this timer.
  void start(std::chrono::milliseconds after, std::function<void()> fn);
  void stop();

 private:
  struct Box {
    uv_timer_t handle;
    std::function<void()> fn;
  };
  Box* box_;
};

}  // namespace mirrorpool::health
