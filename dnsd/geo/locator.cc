// Placing clients and mirrors (locator.hh).
#include "dnsd/geo/locator.hh"

#include <sys/socket.h>

#include <algorithm>
#include <cstring>

#include <fmt/format.h>

namespace mirrorpool::dnsd::geo {

namespace {

bool bit(const std::array<uint8_t, 16>& bytes, unsigned i) noexcept {
  return (bytes[i / 8] >> (7 - i % 8) & 1) != 0;
}

// The number of leading bits `a` and `b` share, up to `bits`.
unsigned common_prefix(const std::array<uint8_t, 16>& a, const std::array<uint8_t, 16>& b,
                       unsigned bits) noexcept {
  unsigned n = 0;
  while (n < bits && bit(a, n) == bit(b, n)) ++n;
  return n;
}

constexpr uint8_t kMappedPrefix[12] = {0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff};

}  // namespace

const char* placed_by_name(PlacedBy by) noexcept {
  switch (by) {
    case PlacedBy::source:
      return "source";
    case PlacedBy::ecs:
      return "ecs";
    case PlacedBy::override_net:
      return "override";
    case PlacedBy::unknown:
    case PlacedBy::count:
      break;
  }
  return "unknown";
}

ClientAddress masked_address(const uint8_t* bytes, bool v6, unsigned prefix) noexcept {
  ClientAddress a;
  a.v6 = v6;
  const unsigned size = v6 ? 16 : 4;
  std::memcpy(a.bytes.data(), bytes, size);
  if (v6 && std::memcmp(bytes, kMappedPrefix, sizeof kMappedPrefix) == 0) {
    // ::ffff:a.b.c.d is the IPv4 client a.b.c.d.
    a.v6 = false;
    std::memmove(a.bytes.data(), bytes + 12, 4);
    std::memset(a.bytes.data() + 4, 0, 12);
    prefix = prefix > 96 ? prefix - 96 : 0;
  }
  const unsigned bits = a.v6 ? 128 : 32;
  for (unsigned i = std::min(prefix, bits); i < bits; ++i) {
    a.bytes[i / 8] = static_cast<uint8_t>(a.bytes[i / 8] & ~(0x80u >> (i % 8)));
  }
  return a;
}

Locator::Locator(const GeoConfig& config, std::shared_ptr<const GeoTable> table)
    : table_(std::move(table)),
      ecs_(config.ecs),
      ecs_max_v4_(config.ecs_max_prefix_v4),
      ecs_max_v6_(config.ecs_max_prefix_v6) {
  for (const GeoNet& net : config.nets) {
    Override o;
    o.v6 = net.prefix.address.family == AF_INET6;
    std::memcpy(o.bytes.data(), net.prefix.address.bytes.data(), 16);
    o.length = net.prefix.length;
    o.place = place_of(net.country, net.location);
    o.text = net.prefix.text;
    overrides_.push_back(std::move(o));
  }
  std::stable_sort(overrides_.begin(), overrides_.end(),
                   [](const Override& a, const Override& b) { return a.length > b.length; });
}

Place Locator::place_of(const std::string& country,
                        const std::optional<zones::GeoPoint>& location) const {
  Place place;
  const Code code = to_code(country);
  if (code != 0 && table_ != nullptr) {
    if (auto known = table_->country(code)) place = *known;
  }
  place.country = code;
  if (location) place.set_location(location->latitude, location->longitude);
  return place;
}

Located Locator::locate(const ClientAddress& address, bool from_ecs) const noexcept {
  const unsigned bits = address.v6 ? 128 : 32;
  Located located;
  // A block of addresses that all share an answer may not contain a longer
  // override that answers differently: the scope grows past each.
  auto exclude_overrides = [&](uint8_t scope, int except) noexcept {
    unsigned s = scope;
    for (size_t i = 0; i < overrides_.size(); ++i) {
      const Override& o = overrides_[i];
      if (static_cast<int>(i) == except || o.v6 != address.v6 || o.length <= s) continue;
      const unsigned shared = common_prefix(address.bytes, o.bytes, o.length);
      if (shared >= s && shared < o.length) s = std::max(s, shared + 1);
    }
    return static_cast<uint8_t>(std::min(s, bits));
  };
  for (size_t i = 0; i < overrides_.size(); ++i) {
    const Override& o = overrides_[i];
    if (o.v6 != address.v6 || common_prefix(address.bytes, o.bytes, o.length) < o.length) continue;
    located.place = &o.place;
    located.by = PlacedBy::override_net;
    located.override_index = static_cast<int>(i);
    located.scope = exclude_overrides(static_cast<uint8_t>(o.length), static_cast<int>(i));
    return located;
  }
  if (table_ == nullptr) {
    located.scope = exclude_overrides(0, -1);
    return located;
  }
  const GeoTable::Hit hit = table_->lookup(address.bytes.data(), address.v6);
  located.scope = exclude_overrides(hit.prefix, -1);
  if (hit.place != GeoTable::kNowhere) {
    located.place = &table_->place(hit.place);
    located.by = from_ecs ? PlacedBy::ecs : PlacedBy::source;
  }
  return located;
}

Place Locator::place_mirror(const zones::MirrorDef& mirror, std::string* from) const {
  if (mirror.location || !mirror.country.empty()) {
    Place place = place_of(mirror.country, mirror.location);
    if (from != nullptr) *from = mirror.location ? "location" : "country";
    if (place.placed()) return place;
  }
  if (table_ != nullptr) {
    for (const zones::Address& address : mirror.addresses) {
      const ClientAddress a =
          masked_address(address.bytes.data(), address.family == AF_INET6, 128);
      const GeoTable::Hit hit = table_->lookup(a.bytes.data(), a.v6);
      if (hit.place == GeoTable::kNowhere) continue;
      if (from != nullptr) *from = fmt::format("database ({})", address.text);
      return table_->place(hit.place);
    }
  }
  if (from != nullptr) *from = "unplaced";
  return Place{};
}

}  // namespace mirrorpool::dnsd::geo
