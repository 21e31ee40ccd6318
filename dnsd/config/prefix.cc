// Prefix: an address range for ACLs such as `allow_transfer` —
// "192.0.2.0/24", "2001:db8::/32", or a single address.
#include "dnsd/config/prefix.hh"

#include <netinet/in.h>

namespace mirrorpool::dnsd {
namespace {

unsigned family_bits(int family) {
  return family == AF_INET6 ? 128 : 32;
}

// True when bit i (0 = most significant) of the address is set.
bool bit(const zones::Address& a, unsigned i) {
  return (a.bytes[i / 8] >> (7 - i % 8)) & 1;
}

}  // namespace

std::optional<Prefix> Prefix::parse(std::string_view text) {
  const size_t slash = text.find('/');
  auto address = zones::Address::parse(text.substr(0, slash));
  if (!address) return std::nullopt;
  const unsigned max_bits = family_bits(address->family);
  unsigned length = max_bits;
  if (slash != std::string_view::npos) {
    const std::string_view digits = text.substr(slash + 1);
    if (digits.empty() || digits.size() > 3) return std::nullopt;
    length = 0;
    for (char c : digits) {
      if (c < '0' || c > '9') return std::nullopt;
      length = length * 10 + static_cast<unsigned>(c - '0');
    }
    if (length > max_bits) return std::nullopt;
  }
  // Bits past the length are almost always a typo ("192.0.2.1/24" for
  // "192.0.2.0/24"), so they are refused rather than silently masked.
  for (unsigned i = length; i < max_bits; ++i) {
    if (bit(*address, i)) return std::nullopt;
  }
  Prefix prefix;
  prefix.address = std::move(*address);
  prefix.length = length;
  prefix.text = std::string(text);
  return prefix;
}

bool Prefix::contains(const zones::Address& a) const {
  if (a.family != address.family) return false;
  for (unsigned i = 0; i < length; ++i) {
    if (bit(a, i) != bit(address, i)) return false;
  }
  return true;
}

}  // namespace mirrorpool::dnsd
