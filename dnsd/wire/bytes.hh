// Copies and compares of short byte strings on the query path: names and
// records of 2 to 60 bytes, where a call into libc, or the `rep movs` an
// inlined memcpy of unknown size becomes, costs more than the work itself.
#pragma once

#include <cstddef>
#include <cstdint>
#include <cstring>

namespace mirrorpool::dnsd {

// Copies n bytes between buffers that do not overlap, in 8-byte moves (the
// last one overlapping) up to 64 bytes.
inline void copy_bytes(uint8_t* to, const uint8_t* from, size_t n) noexcept {
  if (n > 64) {
    std::memcpy(to, from, n);
  } else if (n >= 8) {
    for (size_t i = 0; i + 8 < n; i += 8) std::memcpy(to + i, from + i, 8);
    std::memcpy(to + n - 8, from + n - 8, 8);
  } else if (n >= 4) {
    std::memcpy(to, from, 4);
    std::memcpy(to + n - 4, from + n - 4, 4);
  } else {
    for (size_t i = 0; i < n; ++i) to[i] = from[i];
  }
}

// Equality of two byte strings of length n, 8 bytes at a time (the last word
// overlapping).
inline bool same_bytes(const char* a, const char* b, size_t n) noexcept {
  if (n >= 8) {
    uint64_t x;
    uint64_t y;
    for (size_t i = 0; i + 8 < n; i += 8) {
      std::memcpy(&x, a + i, 8);
      std::memcpy(&y, b + i, 8);
      if (x != y) return false;
    }
    std::memcpy(&x, a + n - 8, 8);
    std::memcpy(&y, b + n - 8, 8);
    return x == y;
  }
  for (size_t i = 0; i < n; ++i) {
    if (a[i] != b[i]) return false;
  }
  return true;
}

}  // namespace mirrorpool::dnsd
