// A one-shot libuv timer owned by C++.
#include "health/uv_timer.hh"

#include <stdexcept>
#include <string>

namespace mirrorpool::health {

void check_uv(int rc, const char* what) {
  if (rc < 0) throw std::runtime_error(std::string(what) + ": " + uv_strerror(rc));
}

UvTimer::UvTimer(uv_loop_t* loop) : box_(new Box{}) {
  const int rc = uv_timer_init(loop, &box_->handle);
  if (rc < 0) {
    // Never initialised, so never registered with the loop: plain delete.
    delete box_;
    check_uv(rc, "uv_timer_init");
  }
  box_->handle.data = box_;
}

UvTimer::~UvTimer() {
  box_->fn = nullptr;
  uv_close(reinterpret_cast<uv_handle_t*>(&box_->handle),
           [](uv_handle_t* handle) { delete static_cast<Box*>(handle->data); });
}

void UvTimer::start(std::chrono::milliseconds after, std::function<void()> fn) {
  box_->fn = std::move(fn);
  const auto ms = after.count() > 0 ? static_cast<uint64_t>(after.count()) : 0;
  check_uv(uv_timer_start(
               &box_->handle,
               [](uv_timer_t* handle) {
                 // Moved out first: the callback may re-arm or destroy the timer.
                 auto fn = std::move(static_cast<Box*>(handle->data)->fn);
                 if (fn) fn();
               },
               ms, 0),
           "uv_timer_start");
}

void UvTimer::stop() {
  box_->fn = nullptr;
  uv_timer_stop(&box_->handle);
}

}  // namespace mirrorpool::health
