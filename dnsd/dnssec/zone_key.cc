#include "dnsd/dnssec/zone_key.hh"

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <ctime>
#include <filesystem>

#include <sys/stat.h>
#include <unistd.h>

#include <fmt/core.h>
#include <openssl/bn.h>
#include <openssl/core_names.h>
#include <openssl/ec.h>
#include <openssl/evp.h>
#include <openssl/obj_mac.h>
#include <openssl/param_build.h>
#include <openssl/rand.h>

#include "dnsd/common/atomic_file.hh"
#include "dnsd/dnssec/key_text.hh"

namespace mirrorpool::dnsd::dnssec {
namespace {

using key_text::bind_algorithm_name;
using key_text::equal_nocase;
using key_text::key_file_text;
using key_text::KeyFile;
using key_text::kKeyBytes;
using key_text::parse_key;
using key_text::parse_private;
using key_text::parse_uint;
using key_text::private_file_text;
using key_text::PrivateFile;
using key_text::with_key_timing;
using key_text::with_private_timing;

// ---- small OpenSSL owners ----

struct PkeyFree {
  void operator()(EVP_PKEY* p) const { EVP_PKEY_free(p); }
};
struct MdCtxFree {
  void operator()(EVP_MD_CTX* p) const { EVP_MD_CTX_free(p); }
};
struct BnFree {
  void operator()(BIGNUM* p) const { BN_clear_free(p); }
};
struct GroupFree {
  void operator()(EC_GROUP* p) const { EC_GROUP_free(p); }
};
struct PointFree {
  void operator()(EC_POINT* p) const { EC_POINT_free(p); }
};
struct SigFree {
  void operator()(ECDSA_SIG* p) const { ECDSA_SIG_free(p); }
};
struct ParamBldFree {
  void operator()(OSSL_PARAM_BLD* p) const { OSSL_PARAM_BLD_free(p); }
};
struct ParamFree {
  void operator()(OSSL_PARAM* p) const { OSSL_PARAM_free(p); }
};
struct PkeyCtxFree {
  void operator()(EVP_PKEY_CTX* p) const { EVP_PKEY_CTX_free(p); }
};
using Pkey = std::unique_ptr<EVP_PKEY, PkeyFree>;
using Bn = std::unique_ptr<BIGNUM, BnFree>;

const unsigned char* bytes(std::string_view s) {
  return reinterpret_cast<const unsigned char*>(s.data());
}

// ---- key material ----

// The public key field of the DNSKEY: x||y (RFC 6605) or the raw key (RFC 8080).
struct KeyPair {
  Pkey pkey;
  std::string public_key;
};

// A key pair from its private half as the .private file holds it.
std::optional<KeyPair> key_from_private(Algorithm algorithm, std::string_view priv) {
  if (priv.size() != kKeyBytes) return std::nullopt;
  KeyPair pair;
  if (algorithm == Algorithm::ed25519) {
    pair.pkey.reset(
        EVP_PKEY_new_raw_private_key(EVP_PKEY_ED25519, nullptr, bytes(priv), priv.size()));
    if (!pair.pkey) return std::nullopt;
    unsigned char pub[kKeyBytes];
    size_t length = sizeof pub;
    if (EVP_PKEY_get_raw_public_key(pair.pkey.get(), pub, &length) != 1 || length != kKeyBytes) {
      return std::nullopt;
    }
    pair.public_key.assign(reinterpret_cast<const char*>(pub), length);
    return pair;
  }
  // P-256: the public point d·G, then both halves into an EVP_PKEY.
  std::unique_ptr<EC_GROUP, GroupFree> group(EC_GROUP_new_by_curve_name(NID_X9_62_prime256v1));
  Bn d(BN_bin2bn(bytes(priv), static_cast<int>(priv.size()), nullptr));
  if (!group || !d || BN_is_zero(d.get()) ||
      BN_cmp(d.get(), EC_GROUP_get0_order(group.get())) >= 0) {
    return std::nullopt;
  }
  std::unique_ptr<EC_POINT, PointFree> point(EC_POINT_new(group.get()));
  unsigned char encoded[1 + 2 * kKeyBytes];
  if (!point || EC_POINT_mul(group.get(), point.get(), d.get(), nullptr, nullptr, nullptr) != 1 ||
      EC_POINT_point2oct(group.get(), point.get(), POINT_CONVERSION_UNCOMPRESSED, encoded,
                         sizeof encoded, nullptr) != sizeof encoded) {
    return std::nullopt;
  }
  std::unique_ptr<OSSL_PARAM_BLD, ParamBldFree> bld(OSSL_PARAM_BLD_new());
  if (!bld ||
      OSSL_PARAM_BLD_push_utf8_string(bld.get(), OSSL_PKEY_PARAM_GROUP_NAME, "prime256v1", 0) !=
          1 ||
      OSSL_PARAM_BLD_push_BN(bld.get(), OSSL_PKEY_PARAM_PRIV_KEY, d.get()) != 1 ||
      OSSL_PARAM_BLD_push_octet_string(bld.get(), OSSL_PKEY_PARAM_PUB_KEY, encoded,
                                       sizeof encoded) != 1) {
    return std::nullopt;
  }
  std::unique_ptr<OSSL_PARAM, ParamFree> params(OSSL_PARAM_BLD_to_param(bld.get()));
  std::unique_ptr<EVP_PKEY_CTX, PkeyCtxFree> ctx(
      EVP_PKEY_CTX_new_from_name(nullptr, "EC", nullptr));
  EVP_PKEY* pkey = nullptr;
  if (!params || !ctx || EVP_PKEY_fromdata_init(ctx.get()) != 1 ||
      EVP_PKEY_fromdata(ctx.get(), &pkey, EVP_PKEY_KEYPAIR, params.get()) != 1) {
    return std::nullopt;
  }
  pair.pkey.reset(pkey);
  pair.public_key.assign(reinterpret_cast<const char*>(encoded) + 1, 2 * kKeyBytes);
  return pair;
}

// A fresh private key as the .private file holds it.
std::optional<std::string> new_private(Algorithm algorithm) {
  std::string priv(kKeyBytes, '\0');
  if (algorithm == Algorithm::ed25519) {
    // An Ed25519 private key is any 32 random bytes (RFC 8032 5.1.5).
    if (RAND_priv_bytes(reinterpret_cast<unsigned char*>(priv.data()), kKeyBytes) != 1) {
      return std::nullopt;
    }
    return priv;
  }
  Pkey pkey(EVP_PKEY_Q_keygen(nullptr, nullptr, "EC", "P-256"));
  BIGNUM* d = nullptr;
  if (!pkey || EVP_PKEY_get_bn_param(pkey.get(), OSSL_PKEY_PARAM_PRIV_KEY, &d) != 1) {
    return std::nullopt;
  }
  Bn owned(d);
  if (BN_bn2binpad(d, reinterpret_cast<unsigned char*>(priv.data()), kKeyBytes) !=
      static_cast<int>(kKeyBytes)) {
    return std::nullopt;
  }
  return priv;
}

std::string dnskey_rdata_of(uint16_t flags, Algorithm algorithm, std::string_view public_key) {
  std::string rdata;
  rdata += static_cast<char>(flags >> 8);
  rdata += static_cast<char>(flags & 0xff);
  rdata += static_cast<char>(3);
  rdata += static_cast<char>(algorithm);
  rdata += public_key;
  return rdata;
}

// RFC 4034 Appendix B.
uint16_t key_tag_of(std::string_view rdata) {
  uint32_t ac = 0;
  for (size_t i = 0; i < rdata.size(); ++i) {
    const auto b = static_cast<uint8_t>(rdata[i]);
    ac += (i & 1) ? b : static_cast<uint32_t>(b) << 8;
  }
  ac += (ac >> 16) & 0xffff;
  return static_cast<uint16_t>(ac & 0xffff);
}

// "K<origin>+013+12345": the files' name without extension.
std::string base_name(const zones::Name& origin, Algorithm algorithm, uint16_t tag) {
  return fmt::format("K{}+{:03}+{:05}", origin.to_text(), static_cast<unsigned>(algorithm), tag);
}

// Makes `dir` and its missing parents with mode 0700 (given to uid:gid).
bool make_dirs(const std::string& dir, int uid, int gid, std::string& error) {
  std::string path;
  size_t pos = 0;
  while (pos != std::string::npos) {
    pos = dir.find('/', pos + 1);
    path = dir.substr(0, pos);
    if (path.empty() || path == "/") continue;
    if (mkdir(path.c_str(), 0700) == 0) {
      if ((uid != -1 || gid != -1) &&
          chown(path.c_str(), static_cast<uid_t>(uid), static_cast<gid_t>(gid)) != 0) {
        error =
            fmt::format("{}: cannot give it to {}:{}: {}", path, uid, gid, std::strerror(errno));
        return false;
      }
    } else if (errno != EEXIST) {
      error = fmt::format("{}: {}", path, std::strerror(errno));
      return false;
    }
  }
  struct stat st {};
  if (stat(dir.c_str(), &st) != 0 || !S_ISDIR(st.st_mode)) {
    error = fmt::format("{}: not a directory", dir);
    return false;
  }
  return true;
}

}  // namespace

// ---- Algorithm ----

std::optional<Algorithm> algorithm_from_text(std::string_view text) {
  if (text == "ecdsap256sha256") return Algorithm::ecdsap256sha256;
  if (text == "ed25519") return Algorithm::ed25519;
  return std::nullopt;
}

std::string_view algorithm_text(Algorithm algorithm) {
  return algorithm == Algorithm::ed25519 ? "ed25519" : "ecdsap256sha256";
}

std::string key_dir(const std::string& state_dir, const zones::Name& origin) {
  std::string text = origin.to_text();
  if (text.size() > 1) text.pop_back();
  return state_dir + "/keys/" + text;
}

// ---- ZoneKey ----

ZoneKey::~ZoneKey() {
  EVP_PKEY_free(static_cast<EVP_PKEY*>(pkey_));
}

bool ZoneKey::sign(std::string_view data, std::string& signature) const {
  auto* pkey = static_cast<EVP_PKEY*>(pkey_);
  std::unique_ptr<EVP_MD_CTX, MdCtxFree> ctx(EVP_MD_CTX_new());
  const bool ecdsa = algorithm_ == Algorithm::ecdsap256sha256;
  if (!ctx ||
      EVP_DigestSignInit(ctx.get(), nullptr, ecdsa ? EVP_sha256() : nullptr, nullptr, pkey) != 1) {
    return false;
  }
  size_t length = 0;
  if (EVP_DigestSign(ctx.get(), nullptr, &length, bytes(data), data.size()) != 1) return false;
  std::string out(length, '\0');
  if (EVP_DigestSign(ctx.get(), reinterpret_cast<unsigned char*>(out.data()), &length, bytes(data),
                     data.size()) != 1) {
    return false;
  }
  out.resize(length);
  if (!ecdsa) {
    signature = std::move(out);
    return true;
  }
  // DER SEQUENCE { r, s } → r||s, each 32 bytes (RFC 6605 4).
  const unsigned char* p = bytes(out);
  std::unique_ptr<ECDSA_SIG, SigFree> sig(d2i_ECDSA_SIG(nullptr, &p, static_cast<long>(length)));
  if (!sig) return false;
  std::string rs(2 * kKeyBytes, '\0');
  auto* dst = reinterpret_cast<unsigned char*>(rs.data());
  if (BN_bn2binpad(ECDSA_SIG_get0_r(sig.get()), dst, kKeyBytes) != static_cast<int>(kKeyBytes) ||
      BN_bn2binpad(ECDSA_SIG_get0_s(sig.get()), dst + kKeyBytes, kKeyBytes) !=
          static_cast<int>(kKeyBytes)) {
    return false;
  }
  signature = std::move(rs);
  return true;
}

bool ZoneKey::verify(std::string_view data, std::string_view signature) const {
  auto* pkey = static_cast<EVP_PKEY*>(pkey_);
  const bool ecdsa = algorithm_ == Algorithm::ecdsap256sha256;
  std::string der;
  if (ecdsa) {
    if (signature.size() != 2 * kKeyBytes) return false;
    std::unique_ptr<ECDSA_SIG, SigFree> sig(ECDSA_SIG_new());
    BIGNUM* r = BN_bin2bn(bytes(signature), kKeyBytes, nullptr);
    BIGNUM* s = BN_bin2bn(bytes(signature) + kKeyBytes, kKeyBytes, nullptr);
    if (!sig || !r || !s || ECDSA_SIG_set0(sig.get(), r, s) != 1) {
      BN_free(r);
      BN_free(s);
      return false;
    }
    unsigned char* out = nullptr;
    const int length = i2d_ECDSA_SIG(sig.get(), &out);
    if (length <= 0) return false;
    der.assign(reinterpret_cast<const char*>(out), static_cast<size_t>(length));
    OPENSSL_free(out);
    signature = der;
  }
  std::unique_ptr<EVP_MD_CTX, MdCtxFree> ctx(EVP_MD_CTX_new());
  return ctx &&
         EVP_DigestVerifyInit(ctx.get(), nullptr, ecdsa ? EVP_sha256() : nullptr, nullptr, pkey) ==
             1 &&
         EVP_DigestVerify(ctx.get(), bytes(signature), signature.size(), bytes(data),
                          data.size()) == 1;
}

std::string ZoneKey::ds_sha256_rdata(std::string_view owner) const {
  std::string input(owner);
  // Canonical: ASCII letters lowercased (length octets are < 64, never a letter).
  for (char& c : input) {
    if (c >= 'A' && c <= 'Z') c = static_cast<char>(c - 'A' + 'a');
  }
  input += dnskey_rdata_;
  unsigned char digest[EVP_MAX_MD_SIZE];
  unsigned int length = 0;
  if (EVP_Digest(input.data(), input.size(), digest, &length, EVP_sha256(), nullptr) != 1) {
    return {};
  }
  std::string rdata;
  rdata += static_cast<char>(tag_ >> 8);
  rdata += static_cast<char>(tag_ & 0xff);
  rdata += static_cast<char>(algorithm_);
  rdata += static_cast<char>(2);
  rdata.append(reinterpret_cast<const char*>(digest), length);
  return rdata;
}

// ---- KeyFiles ----

KeyFiles::KeyFiles(std::string dir, zones::Name origin)
    : dir_(std::move(dir)), origin_(std::move(origin)) {}

std::shared_ptr<const ZoneKey> KeyFiles::read_pair(const std::string& path,
                                                   std::string& error) const {
  const std::string private_path = path + ".private";
  const std::string key_path = path + ".key";
  std::string text;
  bool missing = false;
  std::string why;
  if (!read_whole_file(private_path, text, missing, why)) {
    error = missing ? fmt::format("{}: no such file", private_path) : why;
    return nullptr;
  }
  PrivateFile priv;
  if (!parse_private(text, priv, why)) {
    error = fmt::format("{}: {}", private_path, why);
    return nullptr;
  }
  auto pair = key_from_private(priv.algorithm, priv.priv);
  if (!pair) {
    error = fmt::format("{}: PrivateKey is not a valid {} private key", private_path,
                        bind_algorithm_name(static_cast<unsigned>(priv.algorithm)));
    return nullptr;
  }
  if (!read_whole_file(key_path, text, missing, why)) {
    error = missing ? fmt::format("{}: no such file (the .private {} has no .key)", key_path,
                                  private_path)
                    : why;
    return nullptr;
  }
  KeyFile key;
  if (!parse_key(text, origin_, key, why)) {
    error = fmt::format("{}: {}", key_path, why);
    return nullptr;
  }
  if (key.protocol != 3) {
    error = fmt::format("{}: DNSKEY protocol {} is not 3", key_path, key.protocol);
    return nullptr;
  }
  if (key.flags != 256 && key.flags != 257) {
    error =
        fmt::format("{}: DNSKEY flags {} are neither 256 (ZSK) nor 257 (KSK)", key_path, key.flags);
    return nullptr;
  }
  if (key.algorithm != static_cast<unsigned>(priv.algorithm)) {
    error = fmt::format("{}: DNSKEY algorithm {} is not the .private's {}", key_path, key.algorithm,
                        static_cast<unsigned>(priv.algorithm));
    return nullptr;
  }
  if (key.public_key != pair->public_key) {
    error = fmt::format("{}: the DNSKEY's public key does not match the private key in {}",
                        key_path, private_path);
    return nullptr;
  }
  std::shared_ptr<ZoneKey> zone_key(new ZoneKey());
  zone_key->algorithm_ = priv.algorithm;
  zone_key->flags_ = key.flags;
  zone_key->dnskey_rdata_ = dnskey_rdata_of(key.flags, priv.algorithm, pair->public_key);
  zone_key->tag_ = key_tag_of(zone_key->dnskey_rdata_);
  zone_key->path_ = path;
  zone_key->timing_ = priv.has_timing ? priv.timing : key.timing;
  zone_key->pkey_ = pair->pkey.release();
  // A key that cannot sign is better found now than at the first signature.
  std::string signature;
  if (!zone_key->sign("mirrorpool self-check", signature) ||
      !zone_key->verify("mirrorpool self-check", signature)) {
    error = fmt::format("{}: the key does not sign and verify", private_path);
    return nullptr;
  }
  return zone_key;
}

bool KeyFiles::load(std::vector<std::shared_ptr<const ZoneKey>>& keys, std::string& error) const {
  keys.clear();
  std::error_code ec;
  if (!std::filesystem::exists(dir_, ec)) {
    if (ec) {
      error = fmt::format("{}: {}", dir_, ec.message());
      return false;
    }
    return true;  // no key yet
  }
  std::vector<std::string> names;
  for (std::filesystem::directory_iterator it(dir_, ec), end; !ec && it != end; it.increment(ec)) {
    const std::string name = it->path().filename().string();
    if (name.starts_with('K') && name.ends_with(".private")) names.push_back(name);
  }
  if (ec) {
    error = fmt::format("{}: {}", dir_, ec.message());
    return false;
  }
  std::sort(names.begin(), names.end());
  const std::string prefix = "K" + origin_.to_text() + "+";
  std::vector<std::shared_ptr<const ZoneKey>> found;
  for (const std::string& name : names) {
    const std::string path = dir_ + "/" + name;
    const std::string base = name.substr(0, name.size() - std::string_view(".private").size());
    // K<origin>+AAA+TTTTT
    const size_t plus = base.size() >= 10 ? base.size() - 10 : std::string::npos;
    if (plus == std::string::npos || base[plus] != '+' || base[plus + 4] != '+' ||
        !equal_nocase(std::string_view(base).substr(0, plus + 1), prefix)) {
      error = fmt::format("{}: not a key of the zone {} (expected {}AAA+TTTTT.private)", path,
                          origin_.to_text(), prefix);
      return false;
    }
    const auto file_algorithm = parse_uint(std::string_view(base).substr(plus + 1, 3), 255);
    const auto file_tag = parse_uint(std::string_view(base).substr(plus + 5, 5), 65535);
    if (!file_algorithm || !file_tag) {
      error = fmt::format("{}: not a key file name (expected {}AAA+TTTTT.private)", path, prefix);
      return false;
    }
    auto key = read_pair(dir_ + "/" + base, error);
    if (!key) return false;
    if (static_cast<unsigned>(key->algorithm()) != *file_algorithm || key->tag() != *file_tag) {
      error = fmt::format(
          "{}: the file name says algorithm {} tag {}, the key is algorithm {} tag {}", path,
          *file_algorithm, *file_tag, static_cast<unsigned>(key->algorithm()), key->tag());
      return false;
    }
    found.push_back(std::move(key));
  }
  std::sort(found.begin(), found.end(), [](const auto& a, const auto& b) {
    return std::pair(a->timing().created, a->tag()) < std::pair(b->timing().created, b->tag());
  });
  keys = std::move(found);
  return true;
}

std::shared_ptr<const ZoneKey> KeyFiles::create(Algorithm algorithm, const KeyTiming& timing,
                                                int uid, int gid, std::string& error) const {
  if (!make_dirs(dir_, uid, gid, error)) return nullptr;
  KeyTiming t = timing;
  if (t.created == 0) t.created = static_cast<int64_t>(::time(nullptr));
  constexpr uint16_t kFlags = 257;  // a combined signing key: ZONE and SEP
  // A new key's tag must not be that of a key already there (RFC 6781 3.1.3
  // lets them collide, but the files would).
  for (int attempt = 0; attempt < 16; ++attempt) {
    const auto priv = new_private(algorithm);
    auto pair = priv ? key_from_private(algorithm, *priv) : std::nullopt;
    if (!pair) {
      error = fmt::format("{}: the crypto library could not make a {} key", dir_,
                          algorithm_text(algorithm));
      return nullptr;
    }
    const std::string rdata = dnskey_rdata_of(kFlags, algorithm, pair->public_key);
    const uint16_t tag = key_tag_of(rdata);
    const std::string path = dir_ + "/" + base_name(origin_, algorithm, tag);
    struct stat st {};
    if (stat((path + ".private").c_str(), &st) == 0 || stat((path + ".key").c_str(), &st) == 0) {
      continue;
    }
    // The .key first: a .key without its .private is ignored, the reverse is an error.
    if (!write_file_atomically(path + ".key",
                               key_file_text(origin_, kFlags, tag, algorithm, pair->public_key, t),
                               error, 0644, uid, gid) ||
        !write_file_atomically(path + ".private", private_file_text(algorithm, *priv, t), error,
                               0600, uid, gid)) {
      return nullptr;
    }
    std::shared_ptr<ZoneKey> key(new ZoneKey());
    key->tag_ = tag;
    key->algorithm_ = algorithm;
    key->flags_ = kFlags;
    key->dnskey_rdata_ = rdata;
    key->path_ = path;
    key->timing_ = t;
    key->pkey_ = pair->pkey.release();
    return key;
  }
  error = fmt::format("{}: no free key tag after 16 new keys", dir_);
  return nullptr;
}

std::shared_ptr<const ZoneKey> KeyFiles::set_timing(const ZoneKey& key, const KeyTiming& timing,
                                                    std::string& error) const {
  const std::string private_path = key.path() + ".private";
  const std::string key_path = key.path() + ".key";
  std::string private_text, key_file, why;
  bool missing = false;
  if (!read_whole_file(private_path, private_text, missing, why) ||
      !read_whole_file(key_path, key_file, missing, why)) {
    error = missing ? fmt::format("{}: the key's files are gone", key.path()) : why;
    return nullptr;
  }
  const std::string new_private = with_private_timing(private_text, timing);
  const std::string new_key = with_key_timing(key_file, timing);
  // The files keep their owner (the daemon may run as root and write for
  // the service user).
  struct stat st {};
  const int uid = stat(private_path.c_str(), &st) == 0 && st.st_uid != geteuid()
                      ? static_cast<int>(st.st_uid)
                      : -1;
  const int gid = uid != -1 ? static_cast<int>(st.st_gid) : -1;
  if (!write_file_atomically(key_path, new_key, error, 0644, uid, gid) ||
      !write_file_atomically(private_path, new_private, error, 0600, uid, gid)) {
    return nullptr;
  }
  return read_pair(key.path(), error);
}

}  // namespace mirrorpool::dnsd::dnssec
