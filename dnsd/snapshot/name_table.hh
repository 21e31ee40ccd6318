// An immutable open-addressing hash table from canonical wire names to small
// integers, built once by the snapshot builder. Lookups take a byte view and
// never allocate, so the query path can use them on stack buffers.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

namespace mirrorpool::dnsd {

class NameTable {
 public:
  static constexpr uint32_t kNotFound = UINT32_MAX;

  // Adds a name (canonical lowercase wire) with its value; the caller inserts
  // each name once. Call freeze() after the last insert, before any find().
  void insert(std::string_view name, uint32_t value);
  // Room for `names` names of `bytes` bytes in all, so that inserting them
  // leaves no spare capacity behind.
  void reserve(size_t names, size_t bytes);
  void freeze();

  // The value stored for `name` (canonical wire), or kNotFound. Never throws.
  uint32_t find(std::string_view name) const noexcept;

  size_t size() const noexcept { return entries_.size(); }
  // The stored name of entry i (in insertion order).
  std::string_view name(size_t i) const noexcept {
    return std::string_view(keys_).substr(entries_[i].offset, entries_[i].length);
  }

  static uint64_t hash(std::string_view name) noexcept;

 private:
  struct Entry {
    uint32_t offset;
    uint32_t length;
    uint32_t value;
  };
  uint32_t find_entry(std::string_view name) const noexcept;

  std::string keys_;            // every name, back to back
  std::vector<Entry> entries_;  // in insertion order
  // Entry index + 1 per slot, 0 = empty; size is a power of two, at most half full.
  std::vector<uint32_t> slots_;
};

}  // namespace mirrorpool::dnsd
