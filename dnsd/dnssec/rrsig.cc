// RRSIG, NSEC and NSEC3 RDATA (rrsig.hh).
#include "dnsd/dnssec/rrsig.hh"

#include <algorithm>
#include <array>

#include "dnsd/wire/wire.hh"

namespace mirrorpool::dnsd::dnssec {

namespace {

// Labels of a canonical wire name, the root not counted.
unsigned label_count(std::string_view name) noexcept {
  unsigned labels = 0;
  for (size_t at = 0; at < name.size() && name[at] != 0;
       at += 1u + static_cast<uint8_t>(name[at])) {
    ++labels;
  }
  return labels;
}

}  // namespace

std::string rrsig_rdata(const ZoneKey& key, std::string_view signer, std::string_view owner,
                        uint16_t type, uint32_t ttl, std::vector<std::string_view> rdatas,
                        SignWindow window) {
  std::sort(rdatas.begin(), rdatas.end());
  rdatas.erase(std::unique(rdatas.begin(), rdatas.end()), rdatas.end());
  unsigned labels = label_count(owner);
  // A wildcard's "*" is not counted (RFC 4034 3.1.3): validators then
  // rebuild the owner from the name they asked for.
  if (owner.size() >= 2 && owner[0] == 1 && owner[1] == '*') --labels;

  std::string rdata;
  put16(rdata, type);
  rdata.push_back(static_cast<char>(key.algorithm()));
  rdata.push_back(static_cast<char>(labels));
  put32(rdata, ttl);
  put32(rdata, window.expiration);
  put32(rdata, window.inception);
  put16(rdata, key.tag());
  rdata.append(signer);

  // RFC 4034 3.1.8.1: the RRSIG RDATA without its signature, then every
  // record in canonical order.
  std::string data = rdata;
  for (const std::string_view r : rdatas) {
    data.append(owner);
    put16(data, type);
    put16(data, kClassIn);
    put32(data, ttl);
    put16(data, static_cast<uint16_t>(r.size()));
    data.append(r);
  }
  std::string signature;
  if (!key.sign(data, signature)) return {};
  rdata.append(signature);
  return rdata;
}

std::string type_bitmap(std::vector<uint16_t> types) {
  std::sort(types.begin(), types.end());
  types.erase(std::unique(types.begin(), types.end()), types.end());
  std::string out;
  size_t i = 0;
  while (i < types.size()) {
    const unsigned window = types[i] >> 8;
    std::array<uint8_t, 32> bits{};
    size_t length = 0;
    for (; i < types.size() && (types[i] >> 8) == window; ++i) {
      const unsigned low = types[i] & 0xff;
      bits[low / 8] |= static_cast<uint8_t>(0x80 >> (low % 8));
      length = low / 8 + 1;
    }
    out.push_back(static_cast<char>(window));
    out.push_back(static_cast<char>(length));
    out.append(reinterpret_cast<const char*>(bits.data()), length);
  }
  return out;
}

std::string base32hex(std::string_view raw) {
  static constexpr char kDigits[] = "0123456789abcdefghijklmnopqrstuv";
  std::string out;
  uint32_t buffer = 0;
  int bits = 0;
  for (const char c : raw) {
    buffer = (buffer << 8) | static_cast<uint8_t>(c);
    bits += 8;
    while (bits >= 5) {
      out.push_back(kDigits[(buffer >> (bits - 5)) & 31]);
      bits -= 5;
    }
  }
  if (bits > 0) out.push_back(kDigits[(buffer << (5 - bits)) & 31]);
  return out;
}

int canonical_compare(std::string_view a, std::string_view b) noexcept {
  // Label starts of each name, compared from the last label back.
  std::array<uint8_t, 128> la;
  std::array<uint8_t, 128> lb;
  size_t na = 0;
  size_t nb = 0;
  for (size_t at = 0; at < a.size() && a[at] != 0 && na < la.size();
       at += 1u + static_cast<uint8_t>(a[at])) {
    la[na++] = static_cast<uint8_t>(at);
  }
  for (size_t at = 0; at < b.size() && b[at] != 0 && nb < lb.size();
       at += 1u + static_cast<uint8_t>(b[at])) {
    lb[nb++] = static_cast<uint8_t>(at);
  }
  while (na > 0 && nb > 0) {
    const size_t pa = la[--na];
    const size_t pb = lb[--nb];
    const std::string_view x = a.substr(pa + 1, static_cast<uint8_t>(a[pa]));
    const std::string_view y = b.substr(pb + 1, static_cast<uint8_t>(b[pb]));
    const size_t n = std::min(x.size(), y.size());
    for (size_t i = 0; i < n; ++i) {
      const auto cx = static_cast<uint8_t>(x[i]);
      const auto cy = static_cast<uint8_t>(y[i]);
      if (cx != cy) return cx < cy ? -1 : 1;
    }
    if (x.size() != y.size()) return x.size() < y.size() ? -1 : 1;
  }
  if (na == nb) return 0;
  return na < nb ? -1 : 1;
}

}  // namespace mirrorpool::dnsd::dnssec
