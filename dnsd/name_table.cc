// Open-addressing name table (see name_table.hh).
#include "dnsd/name_table.hh"

namespace mirrorpool::dnsd {

uint64_t NameTable::hash(std::string_view name) noexcept {
  // FNV-1a: names are short, so a simple byte hash is fast enough.
  uint64_t h = 0xcbf29ce484222325ULL;
  for (const char c : name) {
    h ^= static_cast<uint8_t>(c);
    h *= 0x100000001b3ULL;
  }
  return h;
}

void NameTable::insert(std::string_view name, uint32_t value) {
  entries_.push_back(
      Entry{static_cast<uint32_t>(keys_.size()), static_cast<uint32_t>(name.size()), value});
  keys_.append(name);
  slots_.clear();
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
    if (this->name(index - 1) == name) return index - 1;
  }
}

uint32_t NameTable::find(std::string_view name) const noexcept {
  const uint32_t index = find_entry(name);
  return index == kNotFound ? kNotFound : entries_[index].value;
}

}  // namespace mirrorpool::dnsd
