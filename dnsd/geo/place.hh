// Where a client or a mirror is: its country, its continent and, when known,
// its coordinates as a unit vector, so that comparing distances on the query
// path is a dot product rather than trigonometry. Plain values.
#pragma once

#include <cmath>
#include <cstdint>
#include <string>
#include <string_view>

namespace mirrorpool::dnsd::geo {

// Two upper-case ASCII letters packed into 16 bits ('D' << 8 | 'E'); 0 =
// unknown. Used for ISO 3166-1 alpha-2 countries and for the two-letter
// continent codes of the MaxMind databases (AF AN AS EU NA OC SA).
using Code = uint16_t;

constexpr Code to_code(std::string_view text) noexcept {
  if (text.size() != 2) return 0;
  Code code = 0;
  for (const char c : text) {
    const char upper = c >= 'a' && c <= 'z' ? static_cast<char>(c - 'a' + 'A') : c;
    if (upper < 'A' || upper > 'Z') return 0;
    code = static_cast<Code>(code << 8 | static_cast<uint8_t>(upper));
  }
  return code;
}

inline std::string code_text(Code code) {
  if (code == 0) return "";
  return std::string{static_cast<char>(code >> 8), static_cast<char>(code & 0xff)};
}

inline constexpr double kEarthRadiusKm = 6371.0;

struct Place {
  Code country = 0;
  Code continent = 0;
  bool has_location = false;
  double latitude = 0;
  double longitude = 0;
  // The point on the unit sphere, when has_location.
  double x = 0, y = 0, z = 0;

  static Place at(double latitude, double longitude, Code country = 0, Code continent = 0) {
    Place p;
    p.country = country;
    p.continent = continent;
    p.set_location(latitude, longitude);
    return p;
  }

  void set_location(double lat, double lon) {
    constexpr double kRadians = M_PI / 180.0;
    has_location = true;
    latitude = lat;
    longitude = lon;
    x = std::cos(lat * kRadians) * std::cos(lon * kRadians);
    y = std::cos(lat * kRadians) * std::sin(lon * kRadians);
    z = std::sin(lat * kRadians);
  }

  bool placed() const noexcept { return has_location || country != 0; }
};

// The cosine of the angle between two located places: larger is nearer.
inline double closeness(const Place& a, const Place& b) noexcept {
  return a.x * b.x + a.y * b.y + a.z * b.z;
}

// The angle between two located places, in radians.
inline double angle(const Place& a, const Place& b) noexcept {
  // atan2 of the cross and dot products stays exact for near and far points alike.
  const double cx = a.y * b.z - a.z * b.y;
  const double cy = a.z * b.x - a.x * b.z;
  const double cz = a.x * b.y - a.y * b.x;
  return std::atan2(std::sqrt(cx * cx + cy * cy + cz * cz), closeness(a, b));
}

// Great-circle distance between two located places.
inline double distance_km(const Place& a, const Place& b) noexcept {
  return angle(a, b) * kEarthRadiusKm;
}

}  // namespace mirrorpool::dnsd::geo
