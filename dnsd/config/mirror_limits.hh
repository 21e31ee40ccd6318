// What a mirror's id and weight may be, wherever they are written: the config
// file, a mirrors.json and the control socket all accept exactly these.
#pragma once

#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <string_view>

namespace mirrorpool::dnsd {

// The longest mirror id (see is_valid_id).
inline constexpr size_t kMaxMirrorIdLength = 63;

// The largest weight of a mirror, in the config file and at run time.
inline constexpr uint32_t kMaxMirrorWeight = 1'000'000;

// A mirror id: 1 to 63 letters, digits, '-', '_' or '.'. Ids appear in
// mirrorpoolctl arguments, metric labels and the journal, so the config file
// and the control socket accept exactly these.
constexpr bool is_valid_id(std::string_view id) {
  if (id.empty() || id.size() > kMaxMirrorIdLength) return false;
  return std::all_of(id.begin(), id.end(), [](char c) {
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '-' ||
           c == '_' || c == '.';
  });
}

}  // namespace mirrorpool::dnsd
