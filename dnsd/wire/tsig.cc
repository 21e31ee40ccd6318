// TSIG signing and verification (tsig.hh): builds the RFC 8945 §4.3 digest
// input and runs OpenSSL's HMAC over it.
#include "dnsd/wire/tsig.hh"

#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>

#include "dnsd/config/config.hh"
#include "dnsd/wire/wire.hh"
#include "zones/name.hh"

namespace mirrorpool::dnsd {

namespace {

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
  set16(rr.data() + rdlength_at, static_cast<uint16_t>(rr.size() - rdlength_at - 2));
  message.insert(message.end(), rr.begin(), rr.end());
  set16(message.data() + 10, static_cast<uint16_t>(get16(message.data() + 10) + 1));
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
    case Status::count:
      break;
  }
  return 0;
}

TsigCheck tsig_check(const Query& query, const std::vector<TsigKeyMaterial>& keys, uint64_t now) {
  TsigCheck check;
  if (query.tsig_at == 0) return check;
  const std::span<const uint8_t> msg = query.wire;
  const size_t start = query.tsig_at;
  size_t pos = start;
  WireName owner;
  if (!read_name(msg, pos, owner) || pos + kRrFixedSize > msg.size()) return check;
  check.status = TsigCheck::Status::malformed;
  const size_t rdlength = get16(msg.data() + pos + kRdlengthAt);
  pos += kRrFixedSize;
  const size_t end = pos + rdlength;
  if (end != msg.size()) return check;
  WireName algorithm;
  // Time signed (48 bits), fudge, MAC size.
  if (!read_name(msg, pos, algorithm) || pos + 10 > end) return check;
  const uint64_t time = get48(msg.data() + pos);
  const uint16_t fudge = get16(msg.data() + pos + 6);
  const size_t mac_size = get16(msg.data() + pos + 8);
  pos += 10;
  if (pos + mac_size + 6 > end) return check;
  const std::string mac(reinterpret_cast<const char*>(msg.data() + pos), mac_size);
  pos += mac_size;
  const uint16_t original_id = get16(msg.data() + pos);
  const uint16_t error = get16(msg.data() + pos + 2);
  const size_t other_size = get16(msg.data() + pos + 4);
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
  set16(data.data(), original_id);
  set16(data.data() + 10, static_cast<uint16_t>(query.header.arcount - 1));
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
  return key.name.size() + kRrFixedSize + key.algorithm_name().size() + 10 + key.mac_size() + 6 + 6;
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
  const uint16_t id = get16(message.data());
  append_record(message, key_.name, key_.algorithm_name(), now_, kTsigFudge, mac, id, error, other);
  prior_mac_ = mac;
  chained_ = true;
  first_ = false;
}

void tsig_append_error(std::vector<uint8_t>& message, const TsigCheck& check, uint16_t error) {
  const uint16_t id = get16(message.data());
  append_record(message, check.key_name, check.algorithm, check.time_signed, check.fudge, {}, id,
                error, {});
}

}  // namespace mirrorpool::dnsd
