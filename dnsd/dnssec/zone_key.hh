// One DNSSEC signing key of a zone, as BIND writes and reads it: a pair of
// files K<origin>+<alg>+<tag>.key (the DNSKEY record) and .private (the
// private key, mode 0600), with the key's RFC 7583 timings as BIND's
// metadata lines ("; Created:", "Publish:", "Activate:", "Inactive:",
// "Delete:"). Off the query path: loading and creating touch the disk.
#pragma once

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "zones/name.hh"

namespace mirrorpool::dnsd::dnssec {

// DNSSEC algorithm numbers (RFC 8624) that we make and use.
enum class Algorithm : uint8_t { ecdsap256sha256 = 13, ed25519 = 15 };

// "ecdsap256sha256" / "ed25519", as in mirrorpool.toml.
std::optional<Algorithm> algorithm_from_text(std::string_view text);
std::string_view algorithm_text(Algorithm algorithm);

// The directory of a zone's key files: state_dir + "/keys/" + the origin
// without its final dot ("pool.example"), or "." for the root.
std::string key_dir(const std::string& state_dir, const zones::Name& origin);

// RFC 7583 §3.1 key timings, Unix seconds; 0 = not set. A key with none set
// (an operator's BIND key without metadata) is published and active.
struct KeyTiming {
  int64_t created = 0;
  int64_t publish = 0;
  int64_t activate = 0;
  int64_t inactive = 0;
  int64_t remove = 0;  // BIND's "Delete"
};

class ZoneKey {
 public:
  ~ZoneKey();
  ZoneKey(const ZoneKey&) = delete;
  ZoneKey& operator=(const ZoneKey&) = delete;

  uint16_t tag() const noexcept { return tag_; }  // RFC 4034 Appendix B
  Algorithm algorithm() const noexcept { return algorithm_; }
  uint16_t flags() const noexcept { return flags_; }  // 257 (SEP) for a combined key
  // DNSKEY RDATA: FLAGS PROTOCOL(3) ALGORITHM PUBLIC KEY.
  const std::string& dnskey_rdata() const noexcept { return dnskey_rdata_; }
  // The files' path without ".key"/".private": DIR/K<origin>+<alg>+<tag>.
  const std::string& path() const noexcept { return path_; }
  const KeyTiming& timing() const noexcept { return timing_; }

  // The RRSIG signature field (RFC 4034 3.1.8) over `data`: r||s for ECDSA
  // P-256 (RFC 6605), the 64-byte signature for Ed25519 (RFC 8080). False on
  // a failure of the crypto library.
  bool sign(std::string_view data, std::string& signature) const;
  // Checks a signature made by sign (tests, and the self-check after loading).
  bool verify(std::string_view data, std::string_view signature) const;

  // DS RDATA with digest type 2 (SHA-256) for this key at `owner` (canonical wire).
  std::string ds_sha256_rdata(std::string_view owner) const;

 private:
  friend class KeyFiles;
  ZoneKey() = default;
  uint16_t tag_ = 0;
  Algorithm algorithm_ = Algorithm::ecdsap256sha256;
  uint16_t flags_ = 257;
  std::string dnskey_rdata_;
  std::string path_;
  KeyTiming timing_;
  void* pkey_ = nullptr;  // EVP_PKEY*
};

// The key files of one zone in one directory.
class KeyFiles {
 public:
  // dir: key_dir(state_dir, origin). create makes it (mode 0700, with its
  // missing parents) when missing; load finds no key in a missing one and
  // makes nothing (--check-config uses it).
  KeyFiles(std::string dir, zones::Name origin);

  // Reads every K<origin>+*.private in the directory with its .key (flags
  // 256 or 257 as the .key says; timings from the .private, else from the
  // .key's comments), sorted by (timing().created, tag()). A file that
  // cannot be read, a K*.private of another zone or of an algorithm not in
  // Algorithm, or a .private whose public key does not match its .key is an
  // error naming the file; `keys` is then left empty.
  bool load(std::vector<std::shared_ptr<const ZoneKey>>& keys, std::string& error) const;

  // Makes a new key and writes its two files (the .private mode 0600, both
  // owned by `uid`:`gid` when those are not -1). The timings are written as
  // given (`created` set to now when 0).
  std::shared_ptr<const ZoneKey> create(Algorithm algorithm, const KeyTiming& timing, int uid,
                                        int gid, std::string& error) const;

  // Rewrites the timing lines of `key`'s files (a rollover step), keeping
  // everything else; returns the key as it is now.
  std::shared_ptr<const ZoneKey> set_timing(const ZoneKey& key, const KeyTiming& timing,
                                            std::string& error) const;

  const std::string& dir() const noexcept { return dir_; }

 private:
  // The key in path + ".private" and path + ".key", checked against each other.
  std::shared_ptr<const ZoneKey> read_pair(const std::string& path, std::string& error) const;

  std::string dir_;
  zones::Name origin_;
};

}  // namespace mirrorpool::dnsd::dnssec
