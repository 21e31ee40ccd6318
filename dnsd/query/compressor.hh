// DNS name compression (RFC 1035 4.1.4) for the responses the query path
// writes: owners as pointers to names already in the message. Fixed-size,
// allocation-free.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string_view>

#include "dnsd/wire/wire.hh"

namespace mirrorpool::dnsd {

inline constexpr uint16_t kMaxPointer = 0x3fff;

// True when `offset` is the start of a label of the uncompressed name `name`.
inline bool is_label_start(std::string_view name, size_t offset) noexcept {
  size_t pos = 0;
  while (pos < offset && pos < name.size()) pos += 1u + static_cast<uint8_t>(name[pos]);
  return pos == offset;
}

// The uncompressed names already in the response (the question, CNAME
// targets), so that later owners can be written as pointers into them: up
// to `Capacity` of them.
template <size_t Capacity>
class Compressor {
 public:
  void add(std::string_view name, size_t offset) noexcept {
    if (count_ < kCapacity && offset <= kMaxPointer) entries_[count_++] = {name, offset};
  }

  // Writes `name` (canonical wire), replacing its longest known suffix with a pointer.
  void write(Writer& writer, std::string_view name) const noexcept {
    // Most owners are the question name itself (the same bytes, not a copy).
    if (count_ > 0 && name.data() == entries_[0].name.data() &&
        name.size() == entries_[0].name.size()) {
      writer.u16(static_cast<uint16_t>(0xc000 | entries_[0].offset));
      return;
    }
    for (size_t start = 0; start + 1 < name.size();
         start += 1u + static_cast<uint8_t>(name[start])) {
      const std::string_view suffix = name.substr(start);
      for (size_t i = 0; i < count_; ++i) {
        const Entry& e = entries_[i];
        if (e.name.size() < suffix.size()) continue;
        const size_t at = e.name.size() - suffix.size();
        if (!same_bytes(e.name.data() + at, suffix.data(), suffix.size()) ||
            !is_label_start(e.name, at)) {
          continue;
        }
        if (e.offset + at > kMaxPointer) continue;
        writer.bytes(name.substr(0, start));
        writer.u16(static_cast<uint16_t>(0xc000 | (e.offset + at)));
        return;
      }
    }
    writer.bytes(name);
  }

 private:
  struct Entry {
    std::string_view name;
    size_t offset;
  };
  static constexpr size_t kCapacity = Capacity;
  Entry entries_[kCapacity];  // the first count_ are set; the rest is never read
  size_t count_ = 0;
};

}  // namespace mirrorpool::dnsd
