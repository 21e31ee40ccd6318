// What a place may be wherever one is written (the config file's `country`
// and `location`, a mirrors.json entry's): the checks said once.
#pragma once

#include <cmath>
#include <string>

namespace mirrorpool::dnsd {

// An ISO 3166-1 alpha-2 code: two ASCII letters, made upper case in place;
// false for anything else.
inline bool normalize_country(std::string& code) {
  if (code.size() != 2) return false;
  for (char& c : code) {
    if (c >= 'a' && c <= 'z') c = static_cast<char>(c - 'a' + 'A');
    if (c < 'A' || c > 'Z') return false;
  }
  return true;
}

// Degrees on the Earth: |latitude| <= 90, |longitude| <= 180 (not NaN).
inline bool valid_location(double latitude, double longitude) {
  return std::fabs(latitude) <= 90 && std::fabs(longitude) <= 180;
}

}  // namespace mirrorpool::dnsd
