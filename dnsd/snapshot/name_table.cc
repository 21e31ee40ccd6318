// Open-addressing name table (see name_table.hh).
#include "dnsd/snapshot/name_table.hh"

#include <cstring>

#include "dnsd/wire/bytes.hh"

namespace mirrorpool::dnsd {

uint64_t NameTable::hash(std::string_view name) noexcept {
  // Eight bytes per multiply: a byte-at-a-time hash cost more than the rest
  // of a pool answer. A tail of a name of 8 bytes or more is read as its
  // last 8 bytes (overlapping the previous word); a shorter name is
  // assembled in a register (a byte-wise copy to memory followed by a word
  // load stalls store forwarding).
  constexpr uint64_t kMul = 0x9e3779b97f4a7c15ULL;
  const char* p = name.data();
  const size_t size = name.size();
  uint64_t h = size * kMul;
  size_t n = size;
  for (; n >= 8; p += 8, n -= 8) {
    uint64_t word;
    std::memcpy(&word, p, 8);
    h = (h ^ word) * kMul;
    h ^= h >> 32;
  }
  if (n > 0) {
    uint64_t word = 0;
    if (size >= 8) {
      std::memcpy(&word, name.data() + size - 8, 8);
    } else {
      for (size_t i = 0; i < n; ++i) word |= uint64_t{static_cast<uint8_t>(p[i])} << (8 * i);
    }
    h = (h ^ word) * kMul;
  }
  // Final mix so that the low bits (the slot) depend on every input bit.
  h ^= h >> 29;
  h *= 0xbf58476d1ce4e5b9ULL;
  h ^= h >> 32;
  return h;
}

void NameTable::insert(std::string_view name, uint32_t value) {
  entries_.push_back(
      Entry{static_cast<uint32_t>(keys_.size()), static_cast<uint32_t>(name.size()), value});
  keys_.append(name);
  slots_.clear();
}

void NameTable::reserve(size_t names, size_t bytes) {
  entries_.reserve(names);
  keys_.reserve(bytes);
}

void NameTable::freeze() {
  size_t capacity = 8;
  while (capacity < entries_.size() * 2) capacity *= 2;
  slots_.assign(capacity, 0);
  for (size_t i = 0; i < entries_.size(); ++i) {
    size_t slot = hash(name(i)) & (capacity - 1);
    while (slots_[slot] != 0) slot = (slot + 1) & (capacity - 1);
    slots_[slot] = static_cast<uint32_t>(i + 1);
  }
}

uint32_t NameTable::find_entry(std::string_view name) const noexcept {
  if (slots_.empty()) return kNotFound;
  const size_t mask = slots_.size() - 1;
  for (size_t slot = hash(name) & mask;; slot = (slot + 1) & mask) {
    const uint32_t index = slots_[slot];
    if (index == 0) return kNotFound;
    const Entry& entry = entries_[index - 1];
    if (entry.length == name.size() &&
        same_bytes(keys_.data() + entry.offset, name.data(), name.size())) {
      return index - 1;
    }
  }
}

uint32_t NameTable::find(std::string_view name) const noexcept {
  const uint32_t index = find_entry(name);
  return index == kNotFound ? kNotFound : entries_[index].value;
}

}  // namespace mirrorpool::dnsd
