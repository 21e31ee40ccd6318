// Fuzzes TSIG verification of requests (transfers and NOTIFY from the
// network): tsig_check on the bytes as parse_query reads them, and on the
// same bytes once signed with a configured key, which reaches the MAC
// comparison and time checks.
#include <string>
#include <vector>

#include "dnsd/config/config.hh"
#include "dnsd/wire/query.hh"
#include "dnsd/wire/tsig.hh"
#include "tests/fuzz/fuzz_target.hh"

using namespace mirrorpool;
using namespace mirrorpool::dnsd;

namespace {

constexpr uint64_t kNow = 1'780'000'000;

std::vector<TsigKeyMaterial> make_keys() {
  std::vector<TsigKeyMaterial> keys;
  for (const TsigKey& key :
       {TsigKey{"xfr.example.org", "hmac-sha256", "c2VjcmV0LXNlY3JldC1zZWNyZXQtc2VjcmV0IQ=="},
        TsigKey{"notify.example.org.", "hmac-sha512", "YW5vdGhlci1zZWNyZXQtZm9yLW5vdGlmeQ=="}}) {
    keys.push_back(*TsigKeyMaterial::from_config(key));
  }
  return keys;
}

void check_one(std::span<const uint8_t> msg, const std::vector<TsigKeyMaterial>& keys,
               uint64_t now) {
  Query query;
  parse_query(msg, Transport::tcp, nullptr, query);
  const TsigCheck result = tsig_check(query, keys, now);
  fuzz::check(result.tsig_start <= msg.size(), "the TSIG record starts past the message");
  const bool has_key =
      result.status == TsigCheck::Status::ok || result.status == TsigCheck::Status::bad_time;
  fuzz::check(has_key == (result.key != nullptr), "a key without a verified MAC, or none");
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  static const std::vector<TsigKeyMaterial> keys = make_keys();
  check_one({data, size}, keys, kNow);
  // Signing needs a whole header to bump ARCOUNT in.
  if (size < 12) return 0;
  std::vector<uint8_t> signed_message(data, data + size);
  TsigSigner signer(keys[size % keys.size()], std::nullopt, kNow);
  signer.sign(signed_message);
  check_one(signed_message, keys, kNow);
  check_one(signed_message, keys, kNow + 3600);
  return 0;
}
