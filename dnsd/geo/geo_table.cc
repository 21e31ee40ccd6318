// Compiling an MMDB file into GeoTable's ranges (geo_table.hh): libmaxminddb
// opens the file; its search tree is walked once, in address order, and each
// data record is decoded once into a Place. The file is closed afterwards.
#include "dnsd/geo/geo_table.hh"

#include <maxminddb.h>
#include <sys/stat.h>

#include <algorithm>
#include <cerrno>
#include <chrono>
#include <cmath>
#include <cstring>
#include <map>
#include <tuple>
#include <unordered_map>

#include <fmt/format.h>

namespace mirrorpool::dnsd::geo {

std::optional<FileId> file_id(const std::string& path, std::string& error) {
  struct stat st {};
  if (stat(path.c_str(), &st) != 0) {
    error = fmt::format("cannot read geo database {}: {}", path, std::strerror(errno));
    return std::nullopt;
  }
  return FileId{path, static_cast<uint64_t>(st.st_dev), static_cast<uint64_t>(st.st_ino),
                static_cast<uint64_t>(st.st_size),
                static_cast<int64_t>(st.st_mtim.tv_sec) * 1'000'000'000 + st.st_mtim.tv_nsec};
}

namespace {

// The shortest prefix p such that every address sharing the first p bits of
// `a` lies in [lo, hi] (lo <= a <= hi). A longer prefix's block lies inside a
// shorter one's, so the answer is found by bisection.
template <class T, unsigned Bits>
uint8_t shortest_block(T a, T lo, T hi) noexcept {
  const auto fits = [&](unsigned p) noexcept {
    const T mask = p == 0 ? T{0} : static_cast<T>(~T{0} << (Bits - p));
    const T block_lo = a & mask;
    return block_lo >= lo && static_cast<T>(block_lo | static_cast<T>(~mask)) <= hi;
  };
  unsigned shortest = 0, longest = Bits;  // fits(longest) always holds
  while (shortest < longest) {
    const unsigned mid = (shortest + longest) / 2;
    if (fits(mid)) {
      longest = mid;
    } else {
      shortest = mid + 1;
    }
  }
  return static_cast<uint8_t>(longest);
}

// The index of the range holding `a`: the last start <= a, searched only
// among the starts of a's 16-bit block (GeoTable::kIndexSize).
template <class T, unsigned Bits>
size_t range_of(const std::vector<T>& starts, const std::vector<uint32_t>& index, T a) noexcept {
  const auto block = static_cast<size_t>(a >> (Bits - 16));
  const auto first = starts.begin() + index[block];
  const auto last = starts.begin() + index[block + 1];
  return static_cast<size_t>(std::upper_bound(first, last, a) - starts.begin()) - 1;
}

template <class T, unsigned Bits>
std::vector<uint32_t> block_index(const std::vector<T>& starts, size_t size) {
  std::vector<uint32_t> index(size + 1);
  size_t i = 0;
  for (size_t block = 0; block <= size; ++block) {
    const T block_start =
        block == size ? T{0} : static_cast<T>(static_cast<T>(block) << (Bits - 16));
    while (i < starts.size() && (block == size || starts[i] < block_start)) ++i;
    index[block] = static_cast<uint32_t>(i);
  }
  return index;
}

}  // namespace

// Walks one MMDB search tree into a GeoTable.
class TableBuilder {
 public:
  TableBuilder(MMDB_s& db, GeoTable& table) : db_(db), table_(table) {}

  bool build(std::string& error) {
    const uint16_t version = db_.metadata.ip_version;
    if (version == 6) {
      // IPv4 lives under ::/96; aliases of it (::ffff:0:0/96, 2002::/16)
      // point at the same node and are placed through the IPv4 table.
      uint32_t node = 0;
      MMDB_search_node_s search{};
      for (unsigned depth = 0; depth < 96; ++depth) {
        if (!read(node, search, error)) return false;
        if (search.left_record_type != MMDB_RECORD_TYPE_SEARCH_NODE) {
          // The whole of ::/96 shares one record.
          leaf_v4(0, search.left_record_type, search.left_record_entry);
          v4_root_ = kNoNode;
          break;
        }
        node = static_cast<uint32_t>(search.left_record);
      }
      if (table_.v4_starts_.empty()) {
        v4_root_ = node;
        if (!walk_v4(node, 0, 0, error)) return false;
      }
      if (!walk_v6(0, 0, 0, error)) return false;
    } else {
      if (!walk_v4(0, 0, 0, error)) return false;
      emit(table_.v6_starts_, table_.v6_places_, Uint128{0}, GeoTable::kNowhere);
    }
    finish_countries();
    return true;
  }

 private:
  static constexpr uint32_t kNoNode = UINT32_MAX;

  bool read(uint32_t node, MMDB_search_node_s& out, std::string& error) {
    const int status = MMDB_read_node(&db_, node, &out);
    if (status != MMDB_SUCCESS) {
      error = fmt::format("search tree node {}: {}", node, MMDB_strerror(status));
      return false;
    }
    return true;
  }

  bool walk_v4(uint32_t node, unsigned depth, uint32_t prefix, std::string& error) {
    MMDB_search_node_s search{};
    if (!read(node, search, error)) return false;
    for (unsigned bit = 0; bit < 2; ++bit) {
      const uint32_t start = prefix | (bit == 0 ? 0u : 1u << (31 - depth));
      const uint8_t type = bit == 0 ? search.left_record_type : search.right_record_type;
      if (type == MMDB_RECORD_TYPE_SEARCH_NODE) {
        const auto child =
            static_cast<uint32_t>(bit == 0 ? search.left_record : search.right_record);
        if (depth + 1 >= 32) return corrupt(error);
        if (!walk_v4(child, depth + 1, start, error)) return false;
      } else if (type == MMDB_RECORD_TYPE_INVALID) {
        return corrupt(error);
      } else {
        leaf_v4(start, type, bit == 0 ? search.left_record_entry : search.right_record_entry);
      }
    }
    return true;
  }

  bool walk_v6(uint32_t node, unsigned depth, Uint128 prefix, std::string& error) {
    MMDB_search_node_s search{};
    if (!read(node, search, error)) return false;
    for (unsigned bit = 0; bit < 2; ++bit) {
      const Uint128 start = prefix | (bit == 0 ? 0 : static_cast<Uint128>(1) << (127 - depth));
      const uint8_t type = bit == 0 ? search.left_record_type : search.right_record_type;
      if (type == MMDB_RECORD_TYPE_SEARCH_NODE) {
        const auto child =
            static_cast<uint32_t>(bit == 0 ? search.left_record : search.right_record);
        if (child == v4_root_) {
          emit(table_.v6_starts_, table_.v6_places_, start, GeoTable::kNowhere);
          continue;
        }
        if (depth + 1 >= 128) return corrupt(error);
        if (!walk_v6(child, depth + 1, start, error)) return false;
      } else if (type == MMDB_RECORD_TYPE_INVALID) {
        return corrupt(error);
      } else {
        emit(table_.v6_starts_, table_.v6_places_, start,
             type == MMDB_RECORD_TYPE_DATA
                 ? place_of(bit == 0 ? search.left_record_entry : search.right_record_entry)
                 : GeoTable::kNowhere);
      }
    }
    return true;
  }

  void leaf_v4(uint32_t start, uint8_t type, const MMDB_entry_s& entry) {
    emit(table_.v4_starts_, table_.v4_places_, start,
         type == MMDB_RECORD_TYPE_DATA ? place_of(entry) : GeoTable::kNowhere);
  }

  static bool corrupt(std::string& error) {
    error = "the search tree is corrupt";
    return false;
  }

  // Ranges arrive in address order; a range with the place of the one before
  // it only extends it.
  template <class T>
  void emit(std::vector<T>& starts, std::vector<uint32_t>& places, T start, uint32_t place) {
    if (place != GeoTable::kNowhere) ++table_.networks_;
    if (!places.empty() && places.back() == place) return;
    starts.push_back(start);
    places.push_back(place);
  }

  Code code_at(MMDB_entry_s entry, std::initializer_list<const char*> path) {
    const char* keys[4] = {};
    size_t n = 0;
    for (const char* key : path) keys[n++] = key;
    MMDB_entry_data_s data{};
    if (MMDB_aget_value(&entry, &data, keys) != MMDB_SUCCESS || !data.has_data ||
        data.type != MMDB_DATA_TYPE_UTF8_STRING) {
      return 0;
    }
    return to_code(std::string_view(data.utf8_string, data.data_size));
  }

  std::optional<double> number_at(MMDB_entry_s entry, const char* table, const char* key) {
    const char* keys[3] = {table, key, nullptr};
    MMDB_entry_data_s data{};
    if (MMDB_aget_value(&entry, &data, keys) != MMDB_SUCCESS || !data.has_data) return std::nullopt;
    if (data.type == MMDB_DATA_TYPE_DOUBLE) return data.double_value;
    if (data.type == MMDB_DATA_TYPE_FLOAT) return data.float_value;
    return std::nullopt;
  }

  // The place of one data record, decoded once per record. The GeoLite2 and
  // DB-IP schema (country.iso_code, continent.code, location.*) first, then
  // IPinfo's flat one (country_code, continent_code).
  uint32_t place_of(const MMDB_entry_s& entry) {
    const auto known = by_offset_.find(entry.offset);
    if (known != by_offset_.end()) return known->second;
    Code country = code_at(entry, {"country", "iso_code"});
    if (country == 0) country = code_at(entry, {"registered_country", "iso_code"});
    if (country == 0) country = code_at(entry, {"country_code"});
    Code continent = code_at(entry, {"continent", "code"});
    if (continent == 0) continent = code_at(entry, {"continent_code"});
    const auto latitude = number_at(entry, "location", "latitude");
    const auto longitude = number_at(entry, "location", "longitude");
    const bool located =
        latitude && longitude && std::fabs(*latitude) <= 90 && std::fabs(*longitude) <= 180;
    uint32_t index = GeoTable::kNowhere;
    if (country != 0 || continent != 0 || located) {
      const auto key = std::make_tuple(country, continent, located, located ? *latitude : 0.0,
                                       located ? *longitude : 0.0);
      const auto [it, added] = by_place_.try_emplace(key, 0);
      if (added) {
        Place place;
        place.country = country;
        place.continent = continent;
        if (located) place.set_location(*latitude, *longitude);
        it->second = static_cast<uint32_t>(table_.places_.size());
        table_.places_.push_back(place);
      }
      index = it->second;
    }
    by_offset_.emplace(entry.offset, index);
    return index;
  }

  // Each country's place: the mean direction of its located places.
  void finish_countries() {
    struct Sum {
      double x = 0, y = 0, z = 0;
      Code continent = 0;
    };
    std::map<Code, Sum> sums;
    for (const Place& p : table_.places_) {
      if (p.country == 0) continue;
      Sum& s = sums[p.country];
      if (s.continent == 0) s.continent = p.continent;
      if (!p.has_location) continue;
      s.x += p.x;
      s.y += p.y;
      s.z += p.z;
    }
    for (const auto& [code, s] : sums) {
      Place place;
      place.country = code;
      place.continent = s.continent;
      const double horizontal = std::hypot(s.x, s.y);
      if (horizontal > 0 || s.z != 0) {
        constexpr double kDegrees = 180.0 / M_PI;
        place.set_location(std::atan2(s.z, horizontal) * kDegrees, std::atan2(s.y, s.x) * kDegrees);
      }
      table_.countries_.emplace_back(code, place);
    }
  }

  MMDB_s& db_;
  GeoTable& table_;
  uint32_t v4_root_ = kNoNode;
  std::unordered_map<uint32_t, uint32_t> by_offset_;
  std::map<std::tuple<Code, Code, bool, double, double>, uint32_t> by_place_;
};

std::shared_ptr<const GeoTable> GeoTable::read(const std::string& path, std::string& error) {
  const auto start = std::chrono::steady_clock::now();
  auto id = file_id(path, error);
  if (!id) return nullptr;
  MMDB_s db{};
  const int status = MMDB_open(path.c_str(), MMDB_MODE_MMAP, &db);
  if (status != MMDB_SUCCESS) {
    error = fmt::format("cannot read geo database {}: {}", path,
                        status == MMDB_IO_ERROR ? std::strerror(errno) : MMDB_strerror(status));
    return nullptr;
  }
  auto table = std::make_shared<GeoTable>();
  table->file_ = std::move(*id);
  table->type_ = db.metadata.database_type != nullptr ? db.metadata.database_type : "";
  TableBuilder builder(db, *table);
  std::string why;
  const bool ok = builder.build(why);
  MMDB_close(&db);
  if (!ok) {
    error = fmt::format("cannot read geo database {}: {}", path, why);
    return nullptr;
  }
  table->v4_starts_.shrink_to_fit();
  table->v4_places_.shrink_to_fit();
  table->v6_starts_.shrink_to_fit();
  table->v6_places_.shrink_to_fit();
  table->v4_index_ = block_index<uint32_t, 32>(table->v4_starts_, kIndexSize);
  table->v6_index_ = block_index<Uint128, 128>(table->v6_starts_, kIndexSize);
  table->read_seconds_ =
      std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  return table;
}

GeoTable::Hit GeoTable::lookup(const uint8_t* bytes, bool v6) const noexcept {
  Hit hit;
  if (!v6) {
    const uint32_t a =
        uint32_t{bytes[0]} << 24 | uint32_t{bytes[1]} << 16 | uint32_t{bytes[2]} << 8 | bytes[3];
    if (v4_starts_.empty()) return hit;
    const size_t i = range_of<uint32_t, 32>(v4_starts_, v4_index_, a);
    const uint32_t hi = i + 1 < v4_starts_.size() ? v4_starts_[i + 1] - 1 : UINT32_MAX;
    hit.place = v4_places_[i];
    hit.prefix = shortest_block<uint32_t, 32>(a, v4_starts_[i], hi);
    return hit;
  }
  Uint128 a = 0;
  for (int k = 0; k < 16; ++k) a = a << 8 | bytes[k];
  if (v6_starts_.empty()) return hit;
  const size_t i = range_of<Uint128, 128>(v6_starts_, v6_index_, a);
  const Uint128 hi = i + 1 < v6_starts_.size() ? v6_starts_[i + 1] - 1 : ~static_cast<Uint128>(0);
  hit.place = v6_places_[i];
  hit.prefix = shortest_block<Uint128, 128>(a, v6_starts_[i], hi);
  return hit;
}

std::optional<Place> GeoTable::country(Code code) const {
  const auto it = std::lower_bound(countries_.begin(), countries_.end(), code,
                                   [](const auto& entry, Code c) { return entry.first < c; });
  if (it == countries_.end() || it->first != code) return std::nullopt;
  return it->second;
}

size_t GeoTable::memory_bytes() const noexcept {
  return places_.capacity() * sizeof(Place) + countries_.capacity() * sizeof(countries_[0]) +
         v4_starts_.capacity() * sizeof(uint32_t) + v4_places_.capacity() * sizeof(uint32_t) +
         v6_starts_.capacity() * sizeof(Uint128) + v6_places_.capacity() * sizeof(uint32_t) +
         (v4_index_.capacity() + v6_index_.capacity()) * sizeof(uint32_t);
}

}  // namespace mirrorpool::dnsd::geo
