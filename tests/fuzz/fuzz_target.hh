// What every fuzz target shares: the libFuzzer entry point each one defines,
// and a check that aborts loudly, so that both libFuzzer and the corpus
// replay (built without sanitizers, NDEBUG or not) report a broken invariant.
#pragma once

#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <string_view>

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size);

namespace mirrorpool::fuzz {

inline void check(bool ok, const char* what) {
  if (!ok) {
    std::fprintf(stderr, "fuzz invariant broken: %s\n", what);
    std::abort();
  }
}

inline std::string_view as_text(const uint8_t* data, size_t size) {
  return {reinterpret_cast<const char*>(data), size};
}

// Config and zone files name other files. Inputs naming the host's special
// files are skipped: reading /dev/zero or a FIFO would hang or exhaust memory
// and measure the host, not the parser (operators' files are trusted here).
inline bool names_special_files(std::string_view text) {
  for (std::string_view dir : {"/dev", "/proc", "/sys"}) {
    if (text.find(dir) != std::string_view::npos) return true;
  }
  return false;
}

}  // namespace mirrorpool::fuzz
