// Statistical and structural tests of weighted sampling without replacement.
#include "dnsd/common/sampler.hh"

#include <doctest/doctest.h>

#include <array>
#include <cmath>
#include <cstdint>
#include <vector>

using namespace mirrorpool::dnsd;

TEST_CASE("first picks follow the weights") {
  const std::vector<uint32_t> weights = {10, 5, 2, 1, 0, 2};
  const double total = 20;
  Rng rng(42);
  std::array<unsigned, 6> first{};
  constexpr unsigned kDraws = 100000;
  for (unsigned draw = 0; draw < kDraws; ++draw) {
    std::array<uint32_t, 4> picked{};
    const size_t n = sample_without_replacement(weights, rng, picked);
    REQUIRE(n == 4);
    ++first[picked[0]];
    for (size_t i = 0; i < n; ++i) {
      CHECK(picked[i] != 4);  // weight 0
      for (size_t j = i + 1; j < n; ++j) CHECK(picked[i] != picked[j]);
    }
  }
  for (size_t i = 0; i < weights.size(); ++i) {
    const double expected = weights[i] / total;
    // Standard deviation is below 0.0016 here; 0.01 is more than six of them.
    CHECK(std::abs(static_cast<double>(first[i]) / kDraws - expected) < 0.01);
  }
  CHECK(first[4] == 0);
}

TEST_CASE("second picks follow the weights of what is left") {
  // After the heavy item is taken first, the rest split in proportion.
  const std::vector<uint32_t> weights = {1000000, 3, 1};
  Rng rng(7);
  unsigned second_is_1 = 0;
  unsigned rounds = 0;
  for (unsigned draw = 0; draw < 100000; ++draw) {
    std::array<uint32_t, 2> picked{};
    REQUIRE(sample_without_replacement(weights, rng, picked) == 2);
    if (picked[0] != 0) continue;
    ++rounds;
    if (picked[1] == 1) ++second_is_1;
  }
  CHECK(std::abs(static_cast<double>(second_is_1) / rounds - 0.75) < 0.01);
}

TEST_CASE("fewer positive weights than requested") {
  const std::vector<uint32_t> weights = {0, 3, 0, 1};
  Rng rng(1);
  std::array<uint32_t, 4> picked{};
  const size_t n = sample_without_replacement(weights, rng, picked);
  REQUIRE(n == 2);
  CHECK(((picked[0] == 1 && picked[1] == 3) || (picked[0] == 3 && picked[1] == 1)));

  const std::vector<uint32_t> none = {0, 0};
  CHECK(sample_without_replacement(none, rng, picked) == 0);
  CHECK(sample_without_replacement({}, rng, picked) == 0);
  CHECK(sample_without_replacement(weights, rng, std::span<uint32_t>()) == 0);
}

TEST_CASE("a fixed seed gives a fixed sequence") {
  const std::vector<uint32_t> weights = {5, 5, 5, 5, 5};
  Rng a(99);
  Rng b(99);
  for (int i = 0; i < 100; ++i) {
    std::array<uint32_t, 3> pa{};
    std::array<uint32_t, 3> pb{};
    sample_without_replacement(weights, a, pa);
    sample_without_replacement(weights, b, pb);
    CHECK(pa == pb);
  }
}

TEST_CASE("pools of more than 64 addresses: every pick distinct, both sides of 64 drawn") {
  // Indices below 64 are tracked by a bit mask and those above by a scan:
  // a heavy index on each side must never be drawn twice in one answer.
  std::vector<uint32_t> weights(100, 1);
  weights[3] = 1000;
  weights[80] = 1000;
  weights[99] = 1000;
  Rng rng(5);
  std::array<unsigned, 100> seen{};
  for (unsigned draw = 0; draw < 20000; ++draw) {
    std::array<uint32_t, 8> picked{};
    REQUIRE(sample_without_replacement(weights, rng, picked) == 8);
    for (size_t i = 0; i < picked.size(); ++i) {
      ++seen[picked[i]];
      for (size_t j = i + 1; j < picked.size(); ++j) REQUIRE(picked[i] != picked[j]);
    }
  }
  // The three heavy ones are in nearly every answer, and light ones appear too.
  CHECK(seen[3] > 19000);
  CHECK(seen[80] > 19000);
  CHECK(seen[99] > 19000);
  CHECK(seen[0] > 0);
  CHECK(seen[70] > 0);
}
