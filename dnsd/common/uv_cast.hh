// libuv's handle types share a common head (uv_handle_t, and uv_stream_t for
// streams), so a pointer to one is passed to the generic calls by a cast;
// these name the two casts dnsd needs instead of spelling reinterpret_cast.
#pragma once

#include <uv.h>

namespace mirrorpool::dnsd {

template <typename T>
uv_handle_t* as_handle(T* h) noexcept {
  return reinterpret_cast<uv_handle_t*>(h);
}

template <typename T>
uv_stream_t* as_stream(T* h) noexcept {
  return reinterpret_cast<uv_stream_t*>(h);
}

}  // namespace mirrorpool::dnsd
