// An address prefix for ACLs such as `allow_transfer`: "192.0.2.0/24",
// "2001:db8::/32", or a single address ("127.0.0.1").
#pragma once

#include <optional>
#include <string>
#include <string_view>

#include "zones/pool.hh"

namespace mirrorpool::dnsd {

struct Prefix {
  zones::Address address;
  unsigned length = 0;
  std::string text;
  bool contains(const zones::Address& a) const;
  static std::optional<Prefix> parse(std::string_view text);
};

}  // namespace mirrorpool::dnsd
