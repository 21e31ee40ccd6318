// Drives a libuv loop in a test until a condition holds or a deadline passes.
#include "loop_runner.hh"

#include <stdexcept>

namespace mirrorpool::health::test {

LoopRunner::LoopRunner() {
  if (uv_loop_init(&loop_) != 0) throw std::runtime_error("uv_loop_init failed");
}

LoopRunner::~LoopRunner() {
  settle();
  uv_walk(
      &loop_,
      [](uv_handle_t* handle, void*) {
        if (!uv_is_closing(handle)) uv_close(handle, nullptr);
      },
      nullptr);
  settle();
  uv_loop_close(&loop_);
}

bool LoopRunner::run_until(const std::function<bool()>& done, std::chrono::milliseconds deadline) {
  const auto until = std::chrono::steady_clock::now() + deadline;
  // A ticking timer makes every UV_RUN_ONCE return soon, so the condition and
  // the deadline are checked even when nothing else happens.
  uv_timer_t tick;
  if (uv_timer_init(&loop_, &tick) != 0) throw std::runtime_error("uv_timer_init failed");
  if (uv_timer_start(
          &tick, [](uv_timer_t*) {}, 10, 10) != 0)
    throw std::runtime_error("uv_timer_start failed");
  bool ok = done();
  while (!ok && std::chrono::steady_clock::now() < until) {
    uv_run(&loop_, UV_RUN_ONCE);
    ok = done();
  }
  uv_close(reinterpret_cast<uv_handle_t*>(&tick), nullptr);
  uv_run(&loop_, UV_RUN_NOWAIT);
  return ok;
}

void LoopRunner::settle() {
  for (int i = 0; i < 10 && uv_loop_alive(&loop_); ++i) uv_run(&loop_, UV_RUN_NOWAIT);
}

}  // namespace mirrorpool::health::test
