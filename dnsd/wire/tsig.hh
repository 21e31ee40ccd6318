// TSIG (RFC 8945) with hmac-sha256 and hmac-sha512: verifying a signed
// request and signing responses, single or a stream of transfer messages.
// Pure computation over caller-owned bytes; HMAC from OpenSSL. Off the normal
// query path: only transfers and NOTIFY use it, so it may allocate.
#pragma once

#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <vector>

#include "dnsd/wire/query.hh"

namespace mirrorpool::dnsd {

struct TsigKey;

inline constexpr uint16_t kTsigBadSig = 16;
inline constexpr uint16_t kTsigBadKey = 17;
inline constexpr uint16_t kTsigBadTime = 18;
inline constexpr uint16_t kTsigFudge = 300;

enum class TsigAlgorithm : uint8_t { hmac_sha256, hmac_sha512 };

struct TsigKeyMaterial {
  std::string name;  // canonical wire
  TsigAlgorithm algorithm = TsigAlgorithm::hmac_sha256;
  std::string secret;  // raw bytes

  // From a validated config key; nullopt for a bad name, algorithm or secret.
  static std::optional<TsigKeyMaterial> from_config(const TsigKey& key);
  std::string algorithm_name() const;  // canonical wire ("hmac-sha256.")
  size_t mac_size() const noexcept;
};

// What the TSIG record of a request says, once checked.
struct TsigCheck {
  enum class Status : uint8_t {
    unsigned_message,
    ok,
    bad_key,
    bad_sig,
    bad_time,
    malformed,
    count
  };
  Status status = Status::unsigned_message;
  const TsigKeyMaterial* key = nullptr;  // ok and bad_time only
  std::string key_name;                  // canonical wire, as sent
  std::string algorithm;                 // canonical wire, as sent
  std::string mac;                       // the request MAC
  uint64_t time_signed = 0;
  uint16_t fudge = 0;
  uint16_t original_id = 0;
  // Where the TSIG record starts: the message without it is [0, tsig_start).
  size_t tsig_start = 0;
  uint16_t error() const noexcept;  // the TSIG error code to answer with
};

// Checks the TSIG record of `query` (the last additional record, found by
// parse_query) against `keys` at time `now` (seconds since the epoch).
TsigCheck tsig_check(const Query& query, const std::vector<TsigKeyMaterial>& keys, uint64_t now);

// The size of the TSIG record a signer appends with this key.
size_t tsig_record_size(const TsigKeyMaterial& key);

// Signs a request, or the messages of one response in order (RFC 8945
// §5.3.1: the first with every TSIG variable after the request MAC, the rest
// with the prior MAC and the timers only).
class TsigSigner {
 public:
  // request_mac: the MAC of the request being answered; nullopt when signing a request.
  TsigSigner(const TsigKeyMaterial& key, std::optional<std::string> request_mac, uint64_t now);

  // Appends the TSIG record to a complete message and bumps its ARCOUNT.
  // error: the TSIG error (BADTIME adds the server's time as other data).
  void sign(std::vector<uint8_t>& message, uint16_t error = 0);

 private:
  const TsigKeyMaterial& key_;
  std::string prior_mac_;
  bool chained_ = false;  // prior_mac_ precedes the message in the digest
  bool first_ = true;
  uint64_t now_;
};

// Appends an unsigned TSIG record (MAC size 0) with `error` to an error
// response to a request whose TSIG failed (BADKEY, BADSIG: RFC 8945 §5.3.2).
void tsig_append_error(std::vector<uint8_t>& message, const TsigCheck& check, uint16_t error);

}  // namespace mirrorpool::dnsd
