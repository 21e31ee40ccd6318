// BIND's key file format, for zone_key.cc: the text of a .key (the DNSKEY
// record with the timings as comments) and of a .private (v1.3, the timings
// as fields), written and read; base64 and BIND's times. Text only: no
// crypto, no files.
#pragma once

#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include "dnsd/dnssec/zone_key.hh"

namespace mirrorpool::dnsd::dnssec::key_text {

constexpr size_t kKeyBytes = 32;  // a P-256 scalar or coordinate, an Ed25519 seed

// RFC 4648 base64 with padding; decoding is strict (no spaces, no junk).
std::string base64_encode(std::string_view data);
std::optional<std::string> base64_decode(std::string_view text);

// A decimal number up to max.
std::optional<unsigned> parse_uint(std::string_view text, unsigned max);
bool equal_nocase(std::string_view a, std::string_view b);

// BIND's mnemonic of a DNSSEC algorithm number ("ECDSAP256SHA256").
std::string_view bind_algorithm_name(unsigned algorithm);

// What a .private says.
struct PrivateFile {
  Algorithm algorithm = Algorithm::ecdsap256sha256;
  std::string priv;  // kKeyBytes: the P-256 scalar or the Ed25519 seed
  KeyTiming timing;
  bool has_timing = false;
};

// False with `why` (no file name) for a file we cannot use.
bool parse_private(std::string_view text, PrivateFile& out, std::string& why);
std::string private_file_text(Algorithm algorithm, std::string_view priv, const KeyTiming& timing);

// What a .key says.
struct KeyFile {
  uint16_t flags = 0;
  unsigned protocol = 0;
  unsigned algorithm = 0;
  std::string public_key;
  KeyTiming timing;  // from its comments
};

// False with `why` for a file without one DNSKEY record of `origin`.
bool parse_key(std::string_view text, const zones::Name& origin, KeyFile& out, std::string& why);
std::string key_file_text(const zones::Name& origin, uint16_t flags, uint16_t tag,
                          Algorithm algorithm, std::string_view public_key,
                          const KeyTiming& timing);

// The files' text with their timings replaced by `timing`, all else kept.
std::string with_private_timing(std::string_view text, const KeyTiming& timing);
std::string with_key_timing(std::string_view text, const KeyTiming& timing);

}  // namespace mirrorpool::dnsd::dnssec::key_text
