// A geo database (any MaxMind-format MMDB file: GeoLite2/GeoIP2 City or
// Country, DB-IP Lite, IPinfo Lite) compiled, when it is read, into two sorted
// arrays of address ranges (IPv4, IPv6) → place, so that placing a client on
// the query path is one binary search, with no allocation and no lock, and
// a health change never touches the file again. Immutable once read.
#pragma once

#include <cstddef>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "dnsd/geo/place.hh"

namespace mirrorpool::dnsd::geo {

// An IPv6 address as one number, so that ranges compare as integers.
__extension__ typedef unsigned __int128 Uint128;

// What identifies the file a table was read from: a reload reads the file
// again only when one of these changed.
struct FileId {
  std::string path;
  uint64_t device = 0;
  uint64_t inode = 0;
  uint64_t size = 0;
  int64_t mtime_ns = 0;
  bool operator==(const FileId&) const = default;
};

// The FileId of `path` now; nullopt (and error) when it cannot be read.
std::optional<FileId> file_id(const std::string& path, std::string& error);

class GeoTable {
 public:
  static constexpr uint32_t kNowhere = UINT32_MAX;

  // Where an address is: a place index (kNowhere when the database does not
  // place it) and the shortest prefix around the address whose addresses all
  // share that answer (what an ECS reply's scope may say).
  struct Hit {
    uint32_t place = kNowhere;
    uint8_t prefix = 0;
  };

  // Reads and compiles `path`. Null, with error saying why, when it is not a
  // readable MMDB file.
  static std::shared_ptr<const GeoTable> read(const std::string& path, std::string& error);

  // `bytes`: 4 (IPv4) or 16 (IPv6) bytes in network order.
  Hit lookup(const uint8_t* bytes, bool v6) const noexcept;

  const Place& place(uint32_t index) const noexcept { return places_[index]; }
  size_t place_count() const noexcept { return places_.size(); }
  // A country's place: the mean of the database's locations in it (when it
  // has any) and its continent. nullopt when the database never names it.
  std::optional<Place> country(Code code) const;

  const FileId& file() const noexcept { return file_; }
  std::string database_type() const { return type_; }
  // Networks read from the file, and the bytes the compiled form takes.
  size_t networks() const noexcept { return networks_; }
  size_t memory_bytes() const noexcept;
  // How long reading and compiling the file took.
  double read_seconds() const noexcept { return read_seconds_; }

 private:
  friend class TableBuilder;
  FileId file_;
  std::string type_;
  size_t networks_ = 0;
  double read_seconds_ = 0;
  std::vector<Place> places_;
  std::vector<std::pair<Code, Place>> countries_;  // sorted by code
  // Range i starts at starts[i] and ends before starts[i + 1]; the first
  // starts at 0, so every address is in exactly one.
  std::vector<uint32_t> v4_starts_;
  std::vector<uint32_t> v4_places_;
  std::vector<Uint128> v6_starts_;
  std::vector<uint32_t> v6_places_;
  // By the first 16 bits of an address: the first range starting in that
  // block (kIndexSize + 1 entries), so that a lookup searches one block's
  // few ranges instead of the whole array, with few cache misses.
  static constexpr size_t kIndexSize = 1 << 16;
  std::vector<uint32_t> v4_index_;
  std::vector<uint32_t> v6_index_;
};

}  // namespace mirrorpool::dnsd::geo
