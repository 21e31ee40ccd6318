// A small, fast, per-worker random generator (xoshiro256**) for answer
// sampling. Not cryptographic: it only spreads load across mirrors.
#pragma once

#include <cstdint>

namespace mirrorpool::dnsd {

class Rng {
 public:
  explicit Rng(uint64_t seed) {
    // splitmix64 expands the seed so that nearby seeds give unrelated streams.
    for (auto& word : s_) {
      seed += 0x9e3779b97f4a7c15ULL;
      uint64_t z = seed;
      z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
      z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
      word = z ^ (z >> 31);
    }
  }

  uint64_t next() noexcept {
    const uint64_t result = rotl(s_[1] * 5, 7) * 9;
    const uint64_t t = s_[1] << 17;
    s_[2] ^= s_[0];
    s_[3] ^= s_[1];
    s_[1] ^= s_[2];
    s_[0] ^= s_[3];
    s_[2] ^= t;
    s_[3] = rotl(s_[3], 45);
    return result;
  }

  // Uniform in [0, bound) for bound > 0 (Lemire's multiply-shift; the tiny
  // bias is irrelevant for load spreading).
  uint64_t below(uint64_t bound) noexcept {
    return static_cast<uint64_t>((static_cast<Wide>(next()) * bound) >> 64);
  }

 private:
  // __extension__ keeps -Wpedantic quiet about the GCC 128-bit type.
  __extension__ using Wide = unsigned __int128;
  static uint64_t rotl(uint64_t x, int k) noexcept { return (x << k) | (x >> (64 - k)); }
  uint64_t s_[4];
};

}  // namespace mirrorpool::dnsd
