// TSIG signing and verification (tsig.hh): builds the RFC 8945 §4.3 digest
// input and runs OpenSSL's HMAC over it.
#include "dnsd/tsig.hh"

#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>

#include "dnsd/config.hh"
#include "dnsd/wire.hh"
#include "zones/name.hh"

namespace mirrorpool::dnsd {

namespace {

void put16(std::string& out, uint16_t v) {
  out.push_back(static_cast<char>(v >> 8));
  out.push_back(static_cast<char>(v));
}

void put48(std::string& out, uint64_t v) {
  for (int shift = 40; shift >= 0; shift -= 8) out.push_back(static_cast<char>(v >> shift));
}

uint16_t get16(std::span<const uint8_t> msg, size_t at) {
  return static_cast<uint16_t>((msg[at] << 8) | msg[at + 1]);
}

std::string lowercase(std::string_view wire) {
  std::string out(wire);
  for (char& c : out) {
    if (c >= 'A' && c <= 'Z') c = static_cast<char>(c - 'A' + 'a');
  }
  return out;
}

std::string hmac(const TsigKeyMaterial& key, std::string_view data) {
  const EVP_MD* md = key.algorithm == TsigAlgorithm::hmac_sha512 ? EVP_sha512() : EVP_sha256();
  unsigned char out[EVP_MAX_MD_SIZE];
  unsigned int length = 0;
  if (HMAC(md, key.secret.data(), static_cast<int>(key.secret.size()),
           reinterpret_cast<const unsigned char*>(data.data()), data.size(), out,
           &length) == nullptr) {
    return {};
  }
  return std::string(reinterpret_cast<const char*>(out), length);
}

// The TSIG variables of RFC 8945 §4.3.3 (all of them, or the timers only).
void append_variables(std::string& out, std::string_view key_name, std::string_view algorithm,
                      uint64_t time, uint16_t fudge, uint16_t error, std::string_view other,
                      bool timers_only) {
  if (!timers_only) {
    out.append(lowercase(key_name));
    put16(out, kClassAny);
    out.append(4, '\0');  // TTL
    out.append(lowercase(algorithm));
  }
  put48(out, time);
  put16(out, fudge);
  if (timers_only) return;
  put16(out, error);
  put16(out, static_cast<uint16_t>(other.size()));
  out.append(other);
}

void append_record(std::vector<uint8_t>& message, std::string_view key_name,
                   std::string_view algorithm, uint64_t time, uint16_t fudge, std::string_view mac,
                   uint16_t original_id, uint16_t error, std::string_view other) {
  std::string rr(key_name);
  put16(rr, kTypeTsig);
  put16(rr, kClassAny);
  rr.append(4, '\0');
  const size_t rdlength_at = rr.size();
  put16(rr, 0);
  rr.append(algorithm);
  put48(rr, time);
  put16(rr, fudge);
  put16(rr, static_cast<uint16_t>(mac.size()));
  rr.append(mac);
  put16(rr, original_id);
  put16(rr, error);
  put16(rr, static_cast<uint16_t>(other.size()));
  rr.append(other);
  const size_t rdlength = rr.size() - rdlength_at - 2;
  rr[rdlength_at] = static_cast<char>(rdlength >> 8);
  rr[rdlength_at + 1] = static_cast<char>(rdlength);
  message.insert(message.end(), rr.begin(), rr.end());
  const uint16_t arcount = static_cast<uint16_t>((message[10] << 8 | message[11]) + 1);
  message[10] = static_cast<uint8_t>(arcount >> 8);
  message[11] = static_cast<uint8_t>(arcount);
}

// Skips one resource record at pos; false when it runs past the message.
bool skip_record(std::span<const uint8_t> msg, size_t& pos) {
  WireName owner;
  if (!read_name(msg, pos, owner) || pos + 10 > msg.size()) return false;
  const size_t rdlength = get16(msg, pos + 8);
  pos += 10 + rdlength;
  return pos <= msg.size();
}

}  // namespace

std::optional<TsigKeyMaterial> TsigKeyMaterial::from_config(const TsigKey& key) {
  TsigKeyMaterial out;
  auto name = zones::Name::from_text(key.name.ends_with('.') ? key.name : key.name + ".");
  if (!name) return std::nullopt;
  out.name = name->wire();
  if (key.algorithm == "hmac-sha256") {
    out.algorithm = TsigAlgorithm::hmac_sha256;
  } else if (key.algorithm == "hmac-sha512") {
    out.algorithm = TsigAlgorithm::hmac_sha512;
  } else {
    return std::nullopt;
  }
  const std::string& b64 = key.secret;
  if (b64.empty() || b64.size() % 4 != 0) return std::nullopt;
  std::string raw(b64.size() / 4 * 3, '\0');
  const int n = EVP_DecodeBlock(reinterpret_cast<unsigned char*>(raw.data()),
                                reinterpret_cast<const unsigned char*>(b64.data()),
                                static_cast<int>(b64.size()));
  if (n < 0) return std::nullopt;
  // EVP_DecodeBlock counts the bytes the padding stands for as zeros.
  size_t padding = 0;
  while (padding < 2 && b64[b64.size() - 1 - padding] == '=') ++padding;
  raw.resize(static_cast<size_t>(n) - padding);
  out.secret = std::move(raw);
  return out;
}

std::string TsigKeyMaterial::algorithm_name() const {
  return algorithm == TsigAlgorithm::hmac_sha512 ? std::string("\x0bhmac-sha512\x00", 13)
                                                 : std::string("\x0bhmac-sha256\x00", 13);
}

size_t TsigKeyMaterial::mac_size() const noexcept {
  return algorithm == TsigAlgorithm::hmac_sha512 ? 64 : 32;
}

uint16_t TsigCheck::error() const noexcept {
  switch (status) {
    case Status::bad_key:
      return kTsigBadKey;
    case Status::bad_sig:
    case Status::malformed:
      return kTsigBadSig;
    case Status::bad_time:
      return kTsigBadTime;
    case Status::unsigned_message:
    case Status::ok:
      break;
  }
  return 0;
}

TsigCheck tsig_check(std::span<const uint8_t> msg, const std::vector<TsigKeyMaterial>& keys,
                     uint64_t now) {
  TsigCheck check;
  Header header;
  if (!parse_header(msg, header) || header.arcount == 0) return check;
  size_t pos = kHeaderSize;
  for (unsigned i = 0; i < header.qdcount; ++i) {
    WireName name;
    if (!read_name(msg, pos, name) || pos + 4 > msg.size()) return check;
    pos += 4;
  }
  const unsigned before_last = header.ancount + header.nscount + header.arcount - 1u;
  for (unsigned i = 0; i < before_last; ++i) {
    if (!skip_record(msg, pos)) return check;
  }
  const size_t start = pos;
  WireName owner;
  if (!read_name(msg, pos, owner) || pos + 10 > msg.size()) return check;
  if (get16(msg, pos) != kTypeTsig) return check;
  check.status = TsigCheck::Status::malformed;
  const size_t rdlength = get16(msg, pos + 8);
  pos += 10;
  const size_t end = pos + rdlength;
  if (end != msg.size()) return check;
  WireName algorithm;
  if (!read_name(msg, pos, algorithm) || pos + 10 > end) return check;
  uint64_t time = 0;
  for (size_t i = 0; i < 6; ++i) time = (time << 8) | msg[pos + i];
  const uint16_t fudge = get16(msg, pos + 6);
  const size_t mac_size = get16(msg, pos + 8);
  pos += 10;
  if (pos + mac_size + 6 > end) return check;
  const std::string mac(reinterpret_cast<const char*>(msg.data() + pos), mac_size);
  pos += mac_size;
  const uint16_t original_id = get16(msg, pos);
  const uint16_t error = get16(msg, pos + 2);
  const size_t other_size = get16(msg, pos + 4);
  pos += 6;
  if (pos + other_size != end) return check;
  const std::string_view other(reinterpret_cast<const char*>(msg.data() + pos), other_size);

  check.key_name = lowercase(owner.view());
  check.algorithm = lowercase(algorithm.view());
  check.mac = mac;
  check.time_signed = time;
  check.fudge = fudge;
  check.original_id = original_id;
  check.tsig_start = start;
  check.status = TsigCheck::Status::bad_key;
  for (const TsigKeyMaterial& key : keys) {
    if (key.name == check.key_name && key.algorithm_name() == check.algorithm) check.key = &key;
  }
  if (check.key == nullptr) return check;

  std::string data(reinterpret_cast<const char*>(msg.data()), start);
  data[0] = static_cast<char>(original_id >> 8);
  data[1] = static_cast<char>(original_id);
  const uint16_t arcount = static_cast<uint16_t>(header.arcount - 1);
  data[10] = static_cast<char>(arcount >> 8);
  data[11] = static_cast<char>(arcount);
  append_variables(data, owner.view(), algorithm.view(), time, fudge, error, other, false);
  const std::string expected = hmac(*check.key, data);
  if (expected.size() != mac.size() || expected.empty() ||
      CRYPTO_memcmp(expected.data(), mac.data(), mac.size()) != 0) {
    check.key = nullptr;
    check.status = TsigCheck::Status::bad_sig;
    return check;
  }
  const uint64_t skew = now > time ? now - time : time - now;
  check.status = skew > fudge ? TsigCheck::Status::bad_time : TsigCheck::Status::ok;
  return check;
}

size_t tsig_record_size(const TsigKeyMaterial& key) {
  // Owner, TYPE CLASS TTL RDLENGTH, algorithm, time fudge macsize, MAC,
  // original id, error, other length, other data (6 for BADTIME).
  return key.name.size() + 10 + key.algorithm_name().size() + 10 + key.mac_size() + 6 + 6;
}

TsigSigner::TsigSigner(const TsigKeyMaterial& key, std::optional<std::string> request_mac,
                       uint64_t now)
    : key_(key), chained_(request_mac.has_value()), now_(now) {
  if (request_mac) prior_mac_ = std::move(*request_mac);
}

void TsigSigner::sign(std::vector<uint8_t>& message, uint16_t error) {
  std::string other;
  if (error == kTsigBadTime) put48(other, now_);
  std::string data;
  if (chained_) {
    put16(data, static_cast<uint16_t>(prior_mac_.size()));
    data.append(prior_mac_);
  }
  data.append(reinterpret_cast<const char*>(message.data()), message.size());
  append_variables(data, key_.name, key_.algorithm_name(), now_, kTsigFudge, error, other, !first_);
  const std::string mac = hmac(key_, data);
  const uint16_t id = static_cast<uint16_t>(message[0] << 8 | message[1]);
  append_record(message, key_.name, key_.algorithm_name(), now_, kTsigFudge, mac, id, error, other);
  prior_mac_ = mac;
  chained_ = true;
  first_ = false;
}

void tsig_append_error(std::vector<uint8_t>& message, const TsigCheck& check, uint16_t error) {
  const uint16_t id = static_cast<uint16_t>(message[0] << 8 | message[1]);
  append_record(message, check.key_name, check.algorithm, check.time_signed, check.fudge, {}, id,
                error, {});
}

}  // namespace mirrorpool::dnsd
