// DNSSEC keys in BIND's file format (zone_key.hh), with OpenSSL 3 doing the
// key generation and the signatures.
#include "dnsd/dnssec/zone_key.hh"

#include <dirent.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <ctime>
#include <memory>

#include <fmt/format.h>
#include <openssl/bn.h>
#include <openssl/core_names.h>
#include <openssl/ec.h>
#include <openssl/ecdsa.h>
#include <openssl/evp.h>
#include <openssl/obj_mac.h>
#include <openssl/param_build.h>

#include "dnsd/common/atomic_file.hh"

namespace mirrorpool::dnsd::dnssec {

namespace {

using Pkey = std::unique_ptr<EVP_PKEY, decltype(&EVP_PKEY_free)>;
using Bignum = std::unique_ptr<BIGNUM, decltype(&BN_free)>;

constexpr size_t kP256Size = 32;  // bytes of a P-256 scalar and coordinate

std::string base64(std::string_view raw) {
  std::string out(4 * ((raw.size() + 2) / 3) + 1, '\0');
  const int n = EVP_EncodeBlock(reinterpret_cast<unsigned char*>(out.data()),
                                reinterpret_cast<const unsigned char*>(raw.data()),
                                static_cast<int>(raw.size()));
  out.resize(static_cast<size_t>(std::max(n, 0)));
  return out;
}

// Base64 with whitespace allowed inside (as in a DNSKEY's presentation);
// nullopt when it is not base64.
std::optional<std::string> unbase64(std::string_view text) {
  std::string clean;
  for (const char c : text) {
    if (c != ' ' && c != '\t' && c != '\r' && c != '\n') clean.push_back(c);
  }
  if (clean.empty() || clean.size() % 4 != 0) return std::nullopt;
  std::string out(clean.size() / 4 * 3, '\0');
  const int n = EVP_DecodeBlock(reinterpret_cast<unsigned char*>(out.data()),
                                reinterpret_cast<const unsigned char*>(clean.data()),
                                static_cast<int>(clean.size()));
  if (n < 0) return std::nullopt;
  size_t size = static_cast<size_t>(n);
  // EVP_DecodeBlock counts the padding as data.
  for (size_t i = clean.size(); i > 0 && clean[i - 1] == '='; --i) --size;
  out.resize(size);
  return out;
}

// RFC 4034 Appendix B.
uint16_t key_tag(std::string_view rdata) {
  uint32_t ac = 0;
  for (size_t i = 0; i < rdata.size(); ++i) {
    const auto b = static_cast<uint8_t>(rdata[i]);
    ac += (i & 1) ? b : uint32_t{b} << 8;
  }
  ac += (ac >> 16) & 0xffff;
  return static_cast<uint16_t>(ac & 0xffff);
}

// BIND's time stamps: YYYYMMDDHHMMSS in UTC.
std::string stamp(int64_t t) {
  const time_t tt = static_cast<time_t>(t);
  tm utc{};
  gmtime_r(&tt, &utc);
  char buf[32];
  strftime(buf, sizeof buf, "%Y%m%d%H%M%S", &utc);
  return buf;
}

std::optional<int64_t> parse_stamp(std::string_view text) {
  if (text.size() != 14 ||
      !std::all_of(text.begin(), text.end(), [](char c) { return c >= '0' && c <= '9'; })) {
    return std::nullopt;
  }
  auto num = [&](size_t at, size_t n) { return std::stoi(std::string(text.substr(at, n))); };
  tm utc{};
  utc.tm_year = num(0, 4) - 1900;
  utc.tm_mon = num(4, 2) - 1;
  utc.tm_mday = num(6, 2);
  utc.tm_hour = num(8, 2);
  utc.tm_min = num(10, 2);
  utc.tm_sec = num(12, 2);
  return static_cast<int64_t>(timegm(&utc));
}

std::string_view algorithm_mnemonic(Algorithm a) {
  return a == Algorithm::ed25519 ? "ED25519" : "ECDSAP256SHA256";
}

// The public key field of the DNSKEY of `pkey` (RFC 6605 x||y, RFC 8080 raw).
std::optional<std::string> public_key(EVP_PKEY* pkey, Algorithm algorithm) {
  if (algorithm == Algorithm::ed25519) {
    std::string out(32, '\0');
    size_t length = out.size();
    if (EVP_PKEY_get_raw_public_key(pkey, reinterpret_cast<unsigned char*>(out.data()), &length) !=
            1 ||
        length != 32) {
      return std::nullopt;
    }
    return out;
  }
  unsigned char point[1 + 2 * kP256Size];
  size_t length = 0;
  if (EVP_PKEY_get_octet_string_param(pkey, OSSL_PKEY_PARAM_ENCODED_PUBLIC_KEY, point, sizeof point,
                                      &length) != 1 ||
      length != sizeof point || point[0] != 4) {
    return std::nullopt;
  }
  return std::string(reinterpret_cast<const char*>(point + 1), 2 * kP256Size);
}

// The private key field of BIND's .private: the P-256 scalar or Ed25519 seed.
std::optional<std::string> private_key(EVP_PKEY* pkey, Algorithm algorithm) {
  std::string out(32, '\0');
  if (algorithm == Algorithm::ed25519) {
    size_t length = out.size();
    if (EVP_PKEY_get_raw_private_key(pkey, reinterpret_cast<unsigned char*>(out.data()), &length) !=
            1 ||
        length != 32) {
      return std::nullopt;
    }
    return out;
  }
  BIGNUM* raw = nullptr;
  if (EVP_PKEY_get_bn_param(pkey, OSSL_PKEY_PARAM_PRIV_KEY, &raw) != 1) return std::nullopt;
  const Bignum bn(raw, BN_free);
  if (BN_bn2binpad(bn.get(), reinterpret_cast<unsigned char*>(out.data()), kP256Size) != 32) {
    return std::nullopt;
  }
  return out;
}

// A key from its private field: the public half is derived.
EVP_PKEY* from_private(std::string_view secret, Algorithm algorithm) {
  if (secret.size() != 32) return nullptr;
  const auto* bytes = reinterpret_cast<const unsigned char*>(secret.data());
  if (algorithm == Algorithm::ed25519) {
    return EVP_PKEY_new_raw_private_key(EVP_PKEY_ED25519, nullptr, bytes, secret.size());
  }
  std::unique_ptr<EC_GROUP, decltype(&EC_GROUP_free)> group(
      EC_GROUP_new_by_curve_name(NID_X9_62_prime256v1), EC_GROUP_free);
  const Bignum d(BN_bin2bn(bytes, static_cast<int>(secret.size()), nullptr), BN_free);
  if (!group || !d) return nullptr;
  std::unique_ptr<EC_POINT, decltype(&EC_POINT_free)> q(EC_POINT_new(group.get()), EC_POINT_free);
  unsigned char point[1 + 2 * kP256Size];
  if (!q || EC_POINT_mul(group.get(), q.get(), d.get(), nullptr, nullptr, nullptr) != 1 ||
      EC_POINT_point2oct(group.get(), q.get(), POINT_CONVERSION_UNCOMPRESSED, point, sizeof point,
                         nullptr) != sizeof point) {
    return nullptr;
  }
  std::unique_ptr<OSSL_PARAM_BLD, decltype(&OSSL_PARAM_BLD_free)> build(OSSL_PARAM_BLD_new(),
                                                                        OSSL_PARAM_BLD_free);
  if (!build ||
      OSSL_PARAM_BLD_push_utf8_string(build.get(), OSSL_PKEY_PARAM_GROUP_NAME, "prime256v1", 0) !=
          1 ||
      OSSL_PARAM_BLD_push_BN(build.get(), OSSL_PKEY_PARAM_PRIV_KEY, d.get()) != 1 ||
      OSSL_PARAM_BLD_push_octet_string(build.get(), OSSL_PKEY_PARAM_PUB_KEY, point, sizeof point) !=
          1) {
    return nullptr;
  }
  std::unique_ptr<OSSL_PARAM, decltype(&OSSL_PARAM_free)> params(
      OSSL_PARAM_BLD_to_param(build.get()), OSSL_PARAM_free);
  std::unique_ptr<EVP_PKEY_CTX, decltype(&EVP_PKEY_CTX_free)> ctx(
      EVP_PKEY_CTX_new_from_name(nullptr, "EC", nullptr), EVP_PKEY_CTX_free);
  EVP_PKEY* pkey = nullptr;
  if (!params || !ctx || EVP_PKEY_fromdata_init(ctx.get()) != 1 ||
      EVP_PKEY_fromdata(ctx.get(), &pkey, EVP_PKEY_KEYPAIR, params.get()) != 1) {
    return nullptr;
  }
  return pkey;
}

// Writes `content` to `path` crash-safely with `mode`, owned by uid:gid.
bool write_key_file(const std::string& path, std::string_view content, mode_t mode, int uid,
                    int gid, std::string& error) {
  const std::string tmp = path + ".tmp";
  const int fd = open(tmp.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, mode);
  if (fd < 0) {
    error = fmt::format("{}: {}", tmp, std::strerror(errno));
    return false;
  }
  bool ok = fchmod(fd, mode) == 0 && write_all(fd, content) && fsync(fd) == 0;
  if (ok && (uid != -1 || gid != -1)) {
    ok = fchown(fd, static_cast<uid_t>(uid), static_cast<gid_t>(gid)) == 0;
  }
  const int saved = errno;
  close(fd);
  if (!ok || rename(tmp.c_str(), path.c_str()) != 0) {
    error = fmt::format("{}: {}", path, std::strerror(ok ? errno : saved));
    unlink(tmp.c_str());
    return false;
  }
  return true;
}

// "Created: 20261205120000" lines for the timings that are set; `prefix`
// "; " for the .key file's comments.
std::string timing_lines(const KeyTiming& t, std::string_view prefix) {
  std::string out;
  for (const auto& [name, value] : {std::pair{"Created", t.created},
                                    {"Publish", t.publish},
                                    {"Activate", t.activate},
                                    {"Inactive", t.inactive},
                                    {"Delete", t.remove}}) {
    if (value != 0) out += fmt::format("{}{}: {}\n", prefix, name, stamp(value));
  }
  return out;
}

// Reads the timing lines of a .private (or the ".key" comments).
void read_timing(std::string_view line, KeyTiming& t) {
  while (!line.empty() && (line.front() == ';' || line.front() == ' ')) line.remove_prefix(1);
  const size_t colon = line.find(':');
  if (colon == std::string_view::npos) return;
  const std::string_view name = line.substr(0, colon);
  std::string_view value = line.substr(colon + 1);
  while (!value.empty() && value.front() == ' ') value.remove_prefix(1);
  const auto when = parse_stamp(value.substr(0, value.find(' ')));
  if (!when) return;
  if (name == "Created") t.created = *when;
  if (name == "Publish") t.publish = *when;
  if (name == "Activate") t.activate = *when;
  if (name == "Inactive") t.inactive = *when;
  if (name == "Delete") t.remove = *when;
}

std::vector<std::string_view> lines_of(std::string_view text) {
  std::vector<std::string_view> out;
  while (!text.empty()) {
    const size_t end = text.find('\n');
    out.push_back(text.substr(0, end));
    if (end == std::string_view::npos) break;
    text.remove_prefix(end + 1);
  }
  return out;
}

}  // namespace

std::optional<Algorithm> algorithm_from_text(std::string_view text) {
  if (text == "ecdsap256sha256") return Algorithm::ecdsap256sha256;
  if (text == "ed25519") return Algorithm::ed25519;
  return std::nullopt;
}

std::string_view algorithm_text(Algorithm algorithm) {
  return algorithm == Algorithm::ed25519 ? "ed25519" : "ecdsap256sha256";
}

std::string key_dir(const std::string& state_dir, const zones::Name& origin) {
  std::string name = origin.to_text();
  if (name.size() > 1 && name.back() == '.') name.pop_back();
  return state_dir + "/keys/" + name;
}

ZoneKey::~ZoneKey() {
  EVP_PKEY_free(static_cast<EVP_PKEY*>(pkey_));
}

bool ZoneKey::sign(std::string_view data, std::string& signature) const {
  std::unique_ptr<EVP_MD_CTX, decltype(&EVP_MD_CTX_free)> ctx(EVP_MD_CTX_new(), EVP_MD_CTX_free);
  const bool ecdsa = algorithm_ == Algorithm::ecdsap256sha256;
  if (!ctx || EVP_DigestSignInit(ctx.get(), nullptr, ecdsa ? EVP_sha256() : nullptr, nullptr,
                                 static_cast<EVP_PKEY*>(pkey_)) != 1) {
    return false;
  }
  const auto* in = reinterpret_cast<const unsigned char*>(data.data());
  size_t length = 0;
  if (EVP_DigestSign(ctx.get(), nullptr, &length, in, data.size()) != 1) return false;
  std::string der(length, '\0');
  if (EVP_DigestSign(ctx.get(), reinterpret_cast<unsigned char*>(der.data()), &length, in,
                     data.size()) != 1) {
    return false;
  }
  der.resize(length);
  if (!ecdsa) {
    signature = std::move(der);
    return true;
  }
  // RFC 6605 4: r and s, each 32 bytes, rather than the DER sequence.
  const auto* p = reinterpret_cast<const unsigned char*>(der.data());
  std::unique_ptr<ECDSA_SIG, decltype(&ECDSA_SIG_free)> sig(
      d2i_ECDSA_SIG(nullptr, &p, static_cast<long>(der.size())), ECDSA_SIG_free);
  if (!sig) return false;
  signature.assign(2 * kP256Size, '\0');
  auto* out = reinterpret_cast<unsigned char*>(signature.data());
  return BN_bn2binpad(ECDSA_SIG_get0_r(sig.get()), out, kP256Size) == kP256Size &&
         BN_bn2binpad(ECDSA_SIG_get0_s(sig.get()), out + kP256Size, kP256Size) == kP256Size;
}

bool ZoneKey::verify(std::string_view data, std::string_view signature) const {
  std::string der;
  const bool ecdsa = algorithm_ == Algorithm::ecdsap256sha256;
  if (ecdsa) {
    if (signature.size() != 2 * kP256Size) return false;
    const auto* raw = reinterpret_cast<const unsigned char*>(signature.data());
    std::unique_ptr<ECDSA_SIG, decltype(&ECDSA_SIG_free)> sig(ECDSA_SIG_new(), ECDSA_SIG_free);
    BIGNUM* r = BN_bin2bn(raw, kP256Size, nullptr);
    BIGNUM* s = BN_bin2bn(raw + kP256Size, kP256Size, nullptr);
    if (!sig || r == nullptr || s == nullptr || ECDSA_SIG_set0(sig.get(), r, s) != 1) {
      BN_free(r);
      BN_free(s);
      return false;
    }
    const int length = i2d_ECDSA_SIG(sig.get(), nullptr);
    if (length <= 0) return false;
    der.resize(static_cast<size_t>(length));
    auto* out = reinterpret_cast<unsigned char*>(der.data());
    i2d_ECDSA_SIG(sig.get(), &out);
  } else {
    der = signature;
  }
  std::unique_ptr<EVP_MD_CTX, decltype(&EVP_MD_CTX_free)> ctx(EVP_MD_CTX_new(), EVP_MD_CTX_free);
  return ctx &&
         EVP_DigestVerifyInit(ctx.get(), nullptr, ecdsa ? EVP_sha256() : nullptr, nullptr,
                              static_cast<EVP_PKEY*>(pkey_)) == 1 &&
         EVP_DigestVerify(ctx.get(), reinterpret_cast<const unsigned char*>(der.data()), der.size(),
                          reinterpret_cast<const unsigned char*>(data.data()), data.size()) == 1;
}

std::string ZoneKey::ds_sha256_rdata(std::string_view owner) const {
  std::string input(owner);
  input += dnskey_rdata_;
  unsigned char md[EVP_MAX_MD_SIZE];
  unsigned int length = 0;
  EVP_Digest(input.data(), input.size(), md, &length, EVP_sha256(), nullptr);
  std::string out;
  out.push_back(static_cast<char>(tag_ >> 8));
  out.push_back(static_cast<char>(tag_));
  out.push_back(static_cast<char>(algorithm_));
  out.push_back(2);
  out.append(reinterpret_cast<const char*>(md), length);
  return out;
}

KeyFiles::KeyFiles(std::string dir, zones::Name origin)
    : dir_(std::move(dir)), origin_(std::move(origin)) {}

bool KeyFiles::load(std::vector<std::shared_ptr<const ZoneKey>>& keys, std::string& error) const {
  keys.clear();
  struct CloseDir {
    void operator()(DIR* d) const { closedir(d); }
  };
  const std::unique_ptr<DIR, CloseDir> dir(opendir(dir_.c_str()));
  if (!dir) {
    if (errno == ENOENT) return true;  // no key yet
    error = fmt::format("{}: {}", dir_, std::strerror(errno));
    return false;
  }
  const std::string prefix = "K" + origin_.to_text() + "+";
  std::vector<std::string> bases;
  while (const dirent* entry = readdir(dir.get())) {
    const std::string name = entry->d_name;
    const std::string suffix = ".private";
    if (name.size() > prefix.size() + suffix.size() &&
        name.compare(0, prefix.size(), prefix) == 0 &&
        name.compare(name.size() - suffix.size(), suffix.size(), suffix) == 0) {
      bases.push_back(dir_ + "/" + name.substr(0, name.size() - suffix.size()));
    }
  }
  std::sort(bases.begin(), bases.end());
  std::vector<std::shared_ptr<const ZoneKey>> out;
  for (const std::string& base : bases) {
    std::string text;
    bool missing = false;
    if (!read_whole_file(base + ".private", text, missing, error)) {
      if (missing) error = base + ".private: cannot be read";
      return false;
    }
    std::shared_ptr<ZoneKey> key(new ZoneKey());
    key->path_ = base;
    int algorithm = 0;
    std::optional<std::string> secret;
    for (const std::string_view line : lines_of(text)) {
      if (line.starts_with("Algorithm:")) {
        algorithm = std::atoi(std::string(line.substr(10)).c_str());
      } else if (line.starts_with("PrivateKey:")) {
        secret = unbase64(line.substr(11));
      } else {
        read_timing(line, key->timing_);
      }
    }
    if (algorithm != 13 && algorithm != 15) {
      error = fmt::format(
          "{}.private: algorithm {} is not one we sign with (13 ECDSAP256SHA256, "
          "15 ED25519)",
          base, algorithm);
      return false;
    }
    key->algorithm_ = static_cast<Algorithm>(algorithm);
    if (!secret) {
      error = base + ".private: no readable PrivateKey line (base64)";
      return false;
    }
    key->pkey_ = from_private(*secret, key->algorithm_);
    const auto pub = key->pkey_ != nullptr
                         ? public_key(static_cast<EVP_PKEY*>(key->pkey_), key->algorithm_)
                         : std::nullopt;
    if (!pub) {
      error = base + ".private: the private key is not a valid " +
              std::string(algorithm_mnemonic(key->algorithm_)) + " key";
      return false;
    }
    // The .key: its DNSKEY must be this key's (the flags are taken from it).
    std::string key_text;
    if (!read_whole_file(base + ".key", key_text, missing, error)) {
      if (missing) error = base + ".key: missing beside its .private";
      return false;
    }
    bool found = false;
    KeyTiming comments;
    for (const std::string_view line : lines_of(key_text)) {
      if (line.starts_with(";")) {
        read_timing(line, comments);
        continue;
      }
      const size_t at = line.find("DNSKEY");
      if (at == std::string_view::npos) continue;
      std::vector<std::string> fields;
      std::string field;
      for (const char c : line.substr(at + 6)) {
        if (c == ' ' || c == '\t') {
          if (!field.empty()) fields.push_back(std::move(field));
          field.clear();
        } else {
          field.push_back(c);
        }
      }
      if (!field.empty()) fields.push_back(field);
      if (fields.size() < 4) break;
      std::string b64;
      for (size_t i = 3; i < fields.size(); ++i) b64 += fields[i];
      const auto published = unbase64(b64);
      if (!published || *published != *pub || std::atoi(fields[1].c_str()) != 3 ||
          std::atoi(fields[2].c_str()) != algorithm) {
        error = base + ".key: its DNSKEY is not the public half of " + base + ".private";
        return false;
      }
      key->flags_ = static_cast<uint16_t>(std::atoi(fields[0].c_str()));
      found = true;
      break;
    }
    if (!found) {
      error = base + ".key: no DNSKEY record";
      return false;
    }
    if (key->timing_.created == 0 && key->timing_.publish == 0 && key->timing_.activate == 0) {
      key->timing_ = comments;
    }
    key->dnskey_rdata_.push_back(static_cast<char>(key->flags_ >> 8));
    key->dnskey_rdata_.push_back(static_cast<char>(key->flags_));
    key->dnskey_rdata_.push_back(3);
    key->dnskey_rdata_.push_back(static_cast<char>(algorithm));
    key->dnskey_rdata_ += *pub;
    key->tag_ = key_tag(key->dnskey_rdata_);
    out.push_back(std::move(key));
  }
  std::stable_sort(out.begin(), out.end(), [](const auto& a, const auto& b) {
    return a->timing().created != b->timing().created ? a->timing().created < b->timing().created
                                                      : a->tag() < b->tag();
  });
  keys = std::move(out);
  return true;
}

std::shared_ptr<const ZoneKey> KeyFiles::create(Algorithm algorithm, const KeyTiming& timing,
                                                int uid, int gid, std::string& error) const {
  // The directory and its parents: 0700, the keys' owner's.
  for (size_t at = dir_.find('/', 1);; at = dir_.find('/', at + 1)) {
    const std::string part = dir_.substr(0, at);
    if (mkdir(part.c_str(), 0700) != 0 && errno != EEXIST) {
      error = fmt::format("{}: {}", part, std::strerror(errno));
      return nullptr;
    }
    if (at == std::string::npos) break;
  }
  if ((uid != -1 || gid != -1) &&
      chown(dir_.c_str(), static_cast<uid_t>(uid), static_cast<gid_t>(gid)) != 0) {
    error = fmt::format("{}: {}", dir_, std::strerror(errno));
    return nullptr;
  }
  const bool ed = algorithm == Algorithm::ed25519;
  EVP_PKEY* made = ed ? EVP_PKEY_Q_keygen(nullptr, nullptr, "ED25519")
                      : EVP_PKEY_Q_keygen(nullptr, nullptr, "EC", "P-256");
  const Pkey pkey(made, EVP_PKEY_free);
  const auto secret = pkey ? private_key(pkey.get(), algorithm) : std::nullopt;
  const auto pub = pkey ? public_key(pkey.get(), algorithm) : std::nullopt;
  if (!secret || !pub) {
    error = "cannot make a " + std::string(algorithm_mnemonic(algorithm)) + " key";
    return nullptr;
  }
  std::string rdata{1, 1, 3, static_cast<char>(algorithm)};  // flags 257: a combined (SEP) key
  rdata += *pub;
  KeyTiming t = timing;
  if (t.created == 0) t.created = std::time(nullptr);
  const uint16_t tag = key_tag(rdata);
  const std::string origin = origin_.to_text();
  const std::string base =
      fmt::format("{}/K{}+{:03d}+{:05d}", dir_, origin, static_cast<int>(algorithm), tag);
  const std::string private_text =
      fmt::format("Private-key-format: v1.3\nAlgorithm: {} ({})\nPrivateKey: {}\n",
                  static_cast<int>(algorithm), algorithm_mnemonic(algorithm), base64(*secret)) +
      timing_lines(t, "");
  const std::string key_text =
      fmt::format("; This is a key-signing key, keyid {}, for {}\n", tag, origin) +
      timing_lines(t, "; ") +
      fmt::format("{} IN DNSKEY 257 3 {} {}\n", origin, static_cast<int>(algorithm), base64(*pub));
  if (!write_key_file(base + ".private", private_text, 0600, uid, gid, error) ||
      !write_key_file(base + ".key", key_text, 0644, uid, gid, error)) {
    return nullptr;
  }
  std::vector<std::shared_ptr<const ZoneKey>> keys;
  if (!load(keys, error)) return nullptr;
  for (auto& key : keys) {
    if (key->path() == base) return key;
  }
  error = base + ": written but not read back";
  return nullptr;
}

std::shared_ptr<const ZoneKey> KeyFiles::set_timing(const ZoneKey& key, const KeyTiming& timing,
                                                    std::string& error) const {
  for (const std::string suffix : {".private", ".key"}) {
    std::string text;
    bool missing = false;
    if (!read_whole_file(key.path() + suffix, text, missing, error)) {
      if (missing) error = key.path() + suffix + ": missing";
      return nullptr;
    }
    // Every line but the timings, which are written anew.
    std::string kept;
    std::string dnskey;
    for (const std::string_view line : lines_of(text)) {
      KeyTiming probe;
      read_timing(line, probe);
      const bool timing_line =
          probe.created || probe.publish || probe.activate || probe.inactive || probe.remove;
      if (timing_line || line.empty()) continue;
      if (suffix == std::string(".key") && !line.starts_with(";")) {
        dnskey += std::string(line) + "\n";
      } else {
        kept += std::string(line) + "\n";
      }
    }
    const std::string content = suffix == std::string(".key")
                                    ? kept + timing_lines(timing, "; ") + dnskey
                                    : kept + timing_lines(timing, "");
    struct stat st {};
    const bool owned = stat((key.path() + suffix).c_str(), &st) == 0;
    if (!write_key_file(key.path() + suffix, content, suffix == std::string(".key") ? 0644 : 0600,
                        owned ? static_cast<int>(st.st_uid) : -1,
                        owned ? static_cast<int>(st.st_gid) : -1, error)) {
      return nullptr;
    }
  }
  std::vector<std::shared_ptr<const ZoneKey>> keys;
  if (!load(keys, error)) return nullptr;
  for (auto& k : keys) {
    if (k->path() == key.path()) return k;
  }
  error = key.path() + ": rewritten but not read back";
  return nullptr;
}

}  // namespace mirrorpool::dnsd::dnssec
