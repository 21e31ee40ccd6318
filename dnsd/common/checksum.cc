// SHA-256 through OpenSSL's one-shot EVP digest.
#include "dnsd/common/checksum.hh"

#include <openssl/evp.h>

#include <stdexcept>

namespace mirrorpool::dnsd {

std::string sha256_hex(std::string_view data) {
  unsigned char digest[EVP_MAX_MD_SIZE];
  unsigned int length = 0;
  // Fails only when OpenSSL itself is broken (no SHA-256 provider); a wrong
  // checksum would then silently pass or fail every file, so stop instead.
  if (EVP_Digest(data.data(), data.size(), digest, &length, EVP_sha256(), nullptr) != 1) {
    throw std::runtime_error("OpenSSL cannot compute SHA-256");
  }
  constexpr char kHex[] = "0123456789abcdef";
  std::string out;
  out.reserve(length * 2);
  for (unsigned int i = 0; i < length; ++i) {
    out += kHex[digest[i] >> 4];
    out += kHex[digest[i] & 0x0f];
  }
  return out;
}

}  // namespace mirrorpool::dnsd
