// SHA-1 (FIPS 180-4) over a short input, without allocating: the NSEC3 hash
// (RFC 5155 5) of names the query path must hash to prove they do not exist.
// Not for anything that needs collision resistance: NSEC3 only needs a
// stable spread of names.
#pragma once

#include <array>
#include <cstddef>
#include <cstdint>
#include <string_view>

namespace mirrorpool::dnsd::dnssec {

using Sha1Digest = std::array<uint8_t, 20>;

inline Sha1Digest sha1(std::string_view input) noexcept {
  uint32_t h[5] = {0x67452301, 0xefcdab89, 0x98badcfe, 0x10325476, 0xc3d2e1f0};
  auto rotl = [](uint32_t x, int k) { return (x << k) | (x >> (32 - k)); };
  const uint64_t bit_length = uint64_t{input.size()} * 8;
  // Padded length: input, 0x80, zeros, 8 length bytes, a multiple of 64.
  const size_t total = (input.size() + 8) / 64 * 64 + 64;
  for (size_t block = 0; block < total; block += 64) {
    uint8_t bytes[64];
    for (size_t i = 0; i < 64; ++i) {
      const size_t at = block + i;
      if (at < input.size()) {
        bytes[i] = static_cast<uint8_t>(input[at]);
      } else if (at == input.size()) {
        bytes[i] = 0x80;
      } else if (at >= total - 8) {
        bytes[i] = static_cast<uint8_t>(bit_length >> (8 * (total - 1 - at)));
      } else {
        bytes[i] = 0;
      }
    }
    uint32_t w[80];
    for (int i = 0; i < 16; ++i) {
      w[i] = (uint32_t{bytes[4 * i]} << 24) | (uint32_t{bytes[4 * i + 1]} << 16) |
             (uint32_t{bytes[4 * i + 2]} << 8) | bytes[4 * i + 3];
    }
    for (int i = 16; i < 80; ++i) w[i] = rotl(w[i - 3] ^ w[i - 8] ^ w[i - 14] ^ w[i - 16], 1);
    uint32_t a = h[0], b = h[1], c = h[2], d = h[3], e = h[4];
    for (int i = 0; i < 80; ++i) {
      uint32_t f;
      uint32_t k;
      if (i < 20) {
        f = (b & c) | (~b & d);
        k = 0x5a827999;
      } else if (i < 40) {
        f = b ^ c ^ d;
        k = 0x6ed9eba1;
      } else if (i < 60) {
        f = (b & c) | (b & d) | (c & d);
        k = 0x8f1bbcdc;
      } else {
        f = b ^ c ^ d;
        k = 0xca62c1d6;
      }
      const uint32_t t = rotl(a, 5) + f + e + k + w[i];
      e = d;
      d = c;
      c = rotl(b, 30);
      b = a;
      a = t;
    }
    h[0] += a;
    h[1] += b;
    h[2] += c;
    h[3] += d;
    h[4] += e;
  }
  Sha1Digest out;
  for (int i = 0; i < 5; ++i) {
    out[4 * i] = static_cast<uint8_t>(h[i] >> 24);
    out[4 * i + 1] = static_cast<uint8_t>(h[i] >> 16);
    out[4 * i + 2] = static_cast<uint8_t>(h[i] >> 8);
    out[4 * i + 3] = static_cast<uint8_t>(h[i]);
  }
  return out;
}

}  // namespace mirrorpool::dnsd::dnssec
