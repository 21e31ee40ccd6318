// Unit tests of the DNSSEC key files: the RFC 6605 and RFC 8080 example keys
// (key tag, DNSKEY, DS), create/load round trips for both algorithms with
// signatures checked by OpenSSL apart from our code, BIND's file format as
// ldns reads it (ldns-key2ds, ldns-signzone, ldns-verify-zone), rewritten
// timings, and broken files named in the error.
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <memory>
#include <sstream>
#include <string>
#include <vector>

#include <sys/stat.h>
#include <unistd.h>

#include <doctest/doctest.h>
#include <fmt/core.h>
#include <openssl/bn.h>
#include <openssl/core_names.h>
#include <openssl/ec.h>
#include <openssl/evp.h>
#include <openssl/param_build.h>

#include "dnsd/dnssec/zone_key.hh"
#include "temp_dir.hh"

namespace mirrorpool::dnsd::dnssec {
namespace {

using KeyList = std::vector<std::shared_ptr<const ZoneKey>>;

zones::Name name(std::string_view text) {
  auto n = zones::Name::from_text(text);
  REQUIRE(n);
  return *n;
}

void write(const std::string& path, const std::string& text) {
  std::ofstream(path, std::ios::binary | std::ios::trunc) << text;
}

std::string read(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  std::stringstream s;
  s << in.rdbuf();
  return s.str();
}

std::string hex(std::string_view data) {
  std::string out;
  for (unsigned char c : data) out += fmt::format("{:02x}", c);
  return out;
}

std::string unbase64(std::string_view text) {
  std::string out(text.size(), '\0');
  const int n = EVP_DecodeBlock(reinterpret_cast<unsigned char*>(out.data()),
                                reinterpret_cast<const unsigned char*>(text.data()),
                                static_cast<int>(text.size()));
  REQUIRE(n >= 0);
  size_t padding = 0;
  while (padding < text.size() && text[text.size() - 1 - padding] == '=') ++padding;
  out.resize(static_cast<size_t>(n) - padding);
  return out;
}

// Runs a shell command; its standard output, and its exit status in `status`.
std::string run(const std::string& command, int& status) {
  std::string out;
  FILE* pipe = popen(command.c_str(), "r");
  REQUIRE(pipe != nullptr);
  char buf[4096];
  size_t n;
  while ((n = fread(buf, 1, sizeof buf, pipe)) > 0) out.append(buf, n);
  status = pclose(pipe);
  return out;
}

bool have(const char* tool) {
  return access(tool, X_OK) == 0;
}

// Checks `signature` of `data` with OpenSSL alone, from the DNSKEY's public
// key field: another reading of RFC 6605 / RFC 8080 than ZoneKey::verify.
bool openssl_verify(const ZoneKey& key, std::string_view data, std::string_view signature) {
  const std::string public_key = key.dnskey_rdata().substr(4);
  EVP_PKEY* pkey = nullptr;
  std::string der;
  const EVP_MD* md = nullptr;
  if (key.algorithm() == Algorithm::ed25519) {
    pkey = EVP_PKEY_new_raw_public_key(EVP_PKEY_ED25519, nullptr,
                                       reinterpret_cast<const unsigned char*>(public_key.data()),
                                       public_key.size());
    der = signature;
  } else {
    REQUIRE(public_key.size() == 64);
    const std::string point = "\x04" + public_key;
    OSSL_PARAM_BLD* bld = OSSL_PARAM_BLD_new();
    OSSL_PARAM_BLD_push_utf8_string(bld, OSSL_PKEY_PARAM_GROUP_NAME, "prime256v1", 0);
    OSSL_PARAM_BLD_push_octet_string(bld, OSSL_PKEY_PARAM_PUB_KEY, point.data(), point.size());
    OSSL_PARAM* params = OSSL_PARAM_BLD_to_param(bld);
    EVP_PKEY_CTX* ctx = EVP_PKEY_CTX_new_from_name(nullptr, "EC", nullptr);
    REQUIRE(EVP_PKEY_fromdata_init(ctx) == 1);
    REQUIRE(EVP_PKEY_fromdata(ctx, &pkey, EVP_PKEY_PUBLIC_KEY, params) == 1);
    EVP_PKEY_CTX_free(ctx);
    OSSL_PARAM_free(params);
    OSSL_PARAM_BLD_free(bld);
    REQUIRE(signature.size() == 64);
    ECDSA_SIG* sig = ECDSA_SIG_new();
    ECDSA_SIG_set0(
        sig, BN_bin2bn(reinterpret_cast<const unsigned char*>(signature.data()), 32, nullptr),
        BN_bin2bn(reinterpret_cast<const unsigned char*>(signature.data()) + 32, 32, nullptr));
    unsigned char* out = nullptr;
    const int length = i2d_ECDSA_SIG(sig, &out);
    der.assign(reinterpret_cast<const char*>(out), static_cast<size_t>(length));
    OPENSSL_free(out);
    ECDSA_SIG_free(sig);
    md = EVP_sha256();
  }
  REQUIRE(pkey != nullptr);
  EVP_MD_CTX* ctx = EVP_MD_CTX_new();
  const bool ok =
      EVP_DigestVerifyInit(ctx, nullptr, md, nullptr, pkey) == 1 &&
      EVP_DigestVerify(ctx, reinterpret_cast<const unsigned char*>(der.data()), der.size(),
                       reinterpret_cast<const unsigned char*>(data.data()), data.size()) == 1;
  EVP_MD_CTX_free(ctx);
  EVP_PKEY_free(pkey);
  return ok;
}

struct Example {
  const char* origin;
  const char* base;  // K<origin>+AAA+TTTTT
  const char* private_text;
  const char* key_text;
  uint16_t tag;
  Algorithm algorithm;
  const char* public_key;
  const char* ds_digest;
};

// RFC 6605 6.1 and RFC 8080 6.1, as BIND 9.9's v1.2 files (no timings).
const Example kExamples[] = {
    {"example.net.", "Kexample.net.+013+55648",
     "Private-key-format: v1.2\nAlgorithm: 13 (ECDSAP256SHA256)\n"
     "PrivateKey: GU6SnQ/Ou+xC5RumuIUIuJZteXT2z0O/ok1s38Et6mQ=\n",
     "example.net. 3600 IN DNSKEY 257 3 13 (\n"
     "        GojIhhXUN/u4v54ZQqGSnyhWJwaubCvTmeexv7bR6edb\n"
     "        krSqQpF64cYbcB7wNcP+e+MAnLr+Wi9xMWyQLc8NAA== )\n",
     55648, Algorithm::ecdsap256sha256,
     "GojIhhXUN/u4v54ZQqGSnyhWJwaubCvTmeexv7bR6edbkrSqQpF64cYbcB7wNcP+e+MAnLr+Wi9xMWyQLc8NAA==",
     "b4c8c1fe2e7477127b27115656ad6256f424625bf5c1e2770ce6d6e37df61d17"},
    {"example.com.", "Kexample.com.+015+03613",
     "Private-key-format: v1.2\nAlgorithm: 15 (ED25519)\n"
     "PrivateKey: ODIyNjAzODQ2MjgwODAxMjI2NDUxOTAyMDQxNDIyNjI=\n",
     "example.com. 3600 IN DNSKEY 257 3 15 (\n"
     "             l02Woi0iS8Aa25FQkUd9RMzZHJpBoRQwAQEX1SxZJA4= )\n",
     3613, Algorithm::ed25519, "l02Woi0iS8Aa25FQkUd9RMzZHJpBoRQwAQEX1SxZJA4=",
     "3aa5ab37efce57f737fc1627013fee07bdf241bd10f3b1964ab55c78e79a304b"},
};

TEST_CASE("the RFC 6605 and RFC 8080 example keys give the RFCs' DNSKEY, key tag and DS") {
  for (const Example& ex : kExamples) {
    INFO(ex.base);
    TempDir dir;
    write(dir.file(std::string(ex.base) + ".private"), ex.private_text);
    write(dir.file(std::string(ex.base) + ".key"), ex.key_text);
    KeyFiles files(dir.path(), name(ex.origin));
    KeyList keys;
    std::string error;
    REQUIRE_MESSAGE(files.load(keys, error), error);
    REQUIRE(keys.size() == 1);
    const ZoneKey& key = *keys[0];
    CHECK(key.tag() == ex.tag);
    CHECK(key.algorithm() == ex.algorithm);
    CHECK(key.flags() == 257);
    CHECK(key.path() == dir.file(ex.base));
    const std::string rdata =
        std::string("\x01\x01\x03", 3) + static_cast<char>(ex.algorithm) + unbase64(ex.public_key);
    CHECK(hex(key.dnskey_rdata()) == hex(rdata));
    const std::string ds = key.ds_sha256_rdata(name(ex.origin).wire());
    CHECK(hex(ds) == fmt::format("{:04x}{:02x}02{}", ex.tag, static_cast<unsigned>(ex.algorithm),
                                 ex.ds_digest));
    // The DS digest is over the canonical (lowercase) owner.
    std::string upper = name(ex.origin).wire();
    for (char& c : upper) c = static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
    CHECK(key.ds_sha256_rdata(upper) == ds);
    // No timings in a v1.2 file: all unset.
    CHECK(key.timing().created == 0);
    CHECK(key.timing().activate == 0);
    std::string signature;
    REQUIRE(key.sign("some data", signature));
    CHECK(signature.size() == 64);
    CHECK(key.verify("some data", signature));
    CHECK(openssl_verify(key, "some data", signature));
    CHECK_FALSE(key.verify("other data", signature));
    CHECK_FALSE(openssl_verify(key, "other data", signature));
  }
}

TEST_CASE("RFC 8080's Ed25519 signature is deterministic and reproduced") {
  // RFC 8080 6.1: the MX RRset of example.com. signed with the example key;
  // the RRSIG RDATA without signature, then the RRset in canonical form.
  TempDir dir;
  write(dir.file("Kexample.com.+015+03613.private"), kExamples[1].private_text);
  write(dir.file("Kexample.com.+015+03613.key"), kExamples[1].key_text);
  KeyList keys;
  std::string error;
  REQUIRE_MESSAGE(KeyFiles(dir.path(), name("example.com.")).load(keys, error), error);
  REQUIRE(keys.size() == 1);
  const std::string owner = name("example.com.").wire();
  std::string data;
  data += std::string("\x00\x0f\x0f\x02\x00\x00\x0e\x10", 8);  // MX, alg 15, 2 labels, TTL 3600
  data += std::string("\x55\xd4\xfc\x60\x55\xb9\x4c\xe0",
                      8);              // expiration 1440021600, inception 1438207200
  data += std::string("\x0e\x1d", 2);  // key tag 3613
  data += owner;
  data += owner + std::string("\x00\x0f\x00\x01\x00\x00\x0e\x10", 8);
  const std::string mx = std::string("\x00\x0a", 2) + name("mail.example.com.").wire();
  data += static_cast<char>(mx.size() >> 8);
  data += static_cast<char>(mx.size() & 0xff);
  data += mx;
  std::string signature;
  REQUIRE(keys[0]->sign(data, signature));
  CHECK(signature ==
        unbase64("oL9krJun7xfBOIWcGHi7mag5/hdZrKWw15jPGrHpjQeRAvTdszaPD+QLs3fx8A4M3e23mRZ9V"
                 "rbpMngwcrqNAg=="));
}

TEST_CASE("create writes BIND's files, and load reads them back (both algorithms)") {
  for (const Algorithm algorithm : {Algorithm::ecdsap256sha256, Algorithm::ed25519}) {
    INFO(algorithm_text(algorithm));
    TempDir tmp;
    // The keys directory and its parent do not exist yet.
    const std::string dir = key_dir(tmp.path() + "/state", name("Pool.Example."));
    CHECK(dir == tmp.path() + "/state/keys/pool.example");
    KeyFiles files(dir, name("pool.example."));
    KeyList keys;
    std::string error;
    REQUIRE(files.load(keys, error));  // a missing directory: no key, nothing made
    CHECK(keys.empty());
    CHECK_FALSE(std::filesystem::exists(tmp.path() + "/state"));

    KeyTiming timing;
    timing.created = 1796472000;  // 2026-12-05 12:00:00 UTC
    timing.publish = 1796472000;
    timing.activate = 1796475600;
    auto created = files.create(algorithm, timing, -1, -1, error);
    REQUIRE_MESSAGE(created, error);
    CHECK(created->flags() == 257);
    CHECK(created->algorithm() == algorithm);
    const std::string base = fmt::format("K{}+{:03}+{:05}", "pool.example.",
                                         static_cast<unsigned>(algorithm), created->tag());
    CHECK(created->path() == dir + "/" + base);

    struct stat st {};
    REQUIRE(stat(dir.c_str(), &st) == 0);
    CHECK((st.st_mode & 07777) == 0700);
    REQUIRE(stat((tmp.path() + "/state/keys").c_str(), &st) == 0);
    CHECK((st.st_mode & 07777) == 0700);
    REQUIRE(stat((created->path() + ".private").c_str(), &st) == 0);
    CHECK((st.st_mode & 07777) == 0600);
    CHECK(st.st_uid == geteuid());

    const std::string key_text = read(created->path() + ".key");
    CHECK(key_text.starts_with(
        fmt::format("; This is a key-signing key, keyid {}, for pool.example.\n"
                    "; Created: 20261205120000 (Sat Dec  5 12:00:00 2026)\n"
                    "; Publish: 20261205120000 (Sat Dec  5 12:00:00 2026)\n"
                    "; Activate: 20261205130000 (Sat Dec  5 13:00:00 2026)\n"
                    "pool.example. IN DNSKEY 257 3 {} ",
                    created->tag(), static_cast<unsigned>(algorithm))));
    const std::string private_text = read(created->path() + ".private");
    CHECK(private_text.starts_with(
        fmt::format("Private-key-format: v1.3\nAlgorithm: {}\n"
                    "PrivateKey: ",
                    algorithm == Algorithm::ed25519 ? "15 (ED25519)" : "13 (ECDSAP256SHA256)")));
    CHECK(
        private_text.ends_with("\nCreated: 20261205120000\nPublish: 20261205120000\n"
                               "Activate: 20261205130000\n"));
    CHECK(private_text.find("Inactive") == std::string::npos);

    REQUIRE_MESSAGE(files.load(keys, error), error);
    REQUIRE(keys.size() == 1);
    const ZoneKey& loaded = *keys[0];
    CHECK(loaded.tag() == created->tag());
    CHECK(loaded.dnskey_rdata() == created->dnskey_rdata());
    CHECK(loaded.dnskey_rdata().size() == (algorithm == Algorithm::ed25519 ? 4 + 32 : 4 + 64));
    CHECK(loaded.path() == created->path());
    CHECK(loaded.timing().created == timing.created);
    CHECK(loaded.timing().publish == timing.publish);
    CHECK(loaded.timing().activate == timing.activate);
    CHECK(loaded.timing().inactive == 0);
    CHECK(loaded.timing().remove == 0);

    // A signature of one verifies with the other, and with OpenSSL alone.
    std::string signature;
    REQUIRE(created->sign("rrset", signature));
    CHECK(loaded.verify("rrset", signature));
    CHECK(openssl_verify(loaded, "rrset", signature));
    std::string tampered = signature;
    tampered[10] = static_cast<char>(tampered[10] ^ 1);
    CHECK_FALSE(loaded.verify("rrset", tampered));
    CHECK_FALSE(openssl_verify(loaded, "rrset", tampered));
  }
}

TEST_CASE("create with no created time sets now; keys load sorted by (created, tag)") {
  TempDir tmp;
  KeyFiles files(tmp.path() + "/k", name("pool.example."));
  std::string error;
  KeyTiming later;
  later.created = 2000000000;
  auto second = files.create(Algorithm::ed25519, later, -1, -1, error);
  REQUIRE_MESSAGE(second, error);
  const int64_t before = static_cast<int64_t>(::time(nullptr));
  auto first = files.create(Algorithm::ecdsap256sha256, KeyTiming{}, -1, -1, error);
  REQUIRE_MESSAGE(first, error);
  CHECK(first->timing().created >= before);
  CHECK(first->timing().created <= before + 5);
  KeyList keys;
  REQUIRE_MESSAGE(files.load(keys, error), error);
  REQUIRE(keys.size() == 2);
  CHECK(keys[0]->tag() == first->tag());
  CHECK(keys[1]->tag() == second->tag());
}

TEST_CASE("set_timing rewrites the timings and keeps the key") {
  TempDir tmp;
  KeyFiles files(tmp.path(), name("pool.example."));
  std::string error;
  KeyTiming timing;
  timing.created = 1796472000;
  timing.activate = 1796472000;
  auto key = files.create(Algorithm::ecdsap256sha256, timing, -1, -1, error);
  REQUIRE_MESSAGE(key, error);
  const std::string private_before = read(key->path() + ".private");
  timing.inactive = 1796558400;  // a day later
  timing.remove = 1796644800;
  auto changed = files.set_timing(*key, timing, error);
  REQUIRE_MESSAGE(changed, error);
  CHECK(changed->tag() == key->tag());
  CHECK(changed->dnskey_rdata() == key->dnskey_rdata());
  CHECK(changed->timing().inactive == timing.inactive);
  CHECK(changed->timing().remove == timing.remove);
  const std::string private_after = read(key->path() + ".private");
  CHECK(private_after.starts_with(private_before));  // the timing lines come last
  CHECK(private_after.ends_with("Inactive: 20261206120000\nDelete: 20261207120000\n"));
  CHECK(read(key->path() + ".key").find("; Delete: 20261207120000 (Mon Dec  7 12:00:00 2026)\n") !=
        std::string::npos);
  struct stat st {};
  REQUIRE(stat((key->path() + ".private").c_str(), &st) == 0);
  CHECK((st.st_mode & 07777) == 0600);
  KeyList keys;
  REQUIRE_MESSAGE(files.load(keys, error), error);
  REQUIRE(keys.size() == 1);
  CHECK(keys[0]->timing().inactive == timing.inactive);
  CHECK(keys[0]->timing().remove == timing.remove);
  // Unsetting a time removes its lines.
  timing.remove = 0;
  REQUIRE(files.set_timing(*keys[0], timing, error));
  CHECK(read(key->path() + ".private").find("Delete") == std::string::npos);
  CHECK(read(key->path() + ".key").find("Delete") == std::string::npos);
}

TEST_CASE("an operator's BIND files: a ZSK, a TTL or none, timings only in the .key") {
  TempDir dir;
  // The RFC 6605 key as a ZSK (flags 256) with BIND's comments; its tag changes.
  write(dir.file("Kexample.net.+013+55647.private"), kExamples[0].private_text);
  write(
      dir.file("Kexample.net.+013+55647.key"),
      "; This is a zone-signing key, keyid 55647, for example.net.\n"
      "; Created: 20200101000000 (Wed Jan  1 00:00:00 2020)\n"
      "; Activate: 20200102000000 (Thu Jan  2 00:00:00 2020)\n"
      "example.net. IN DNSKEY 256 3 13 "
      "GojIhhXUN/u4v54ZQqGSnyhWJwaubCvTmeexv7bR6edbkrSqQpF64cYbcB7wNcP+e+MAnLr+Wi9xMWyQLc8NAA==\n");
  KeyList keys;
  std::string error;
  REQUIRE_MESSAGE(KeyFiles(dir.path(), name("example.net.")).load(keys, error), error);
  REQUIRE(keys.size() == 1);
  CHECK(keys[0]->flags() == 256);
  CHECK(keys[0]->tag() == 55647);
  CHECK(keys[0]->timing().created == 1577836800);
  CHECK(keys[0]->timing().activate == 1577923200);
}

// One broken pair of files in a directory: load fails naming `named`.
void check_broken(const std::string& private_text, const std::string& key_text,
                  std::string_view expect_in_error, const char* base = "Kexample.net.+013+55648",
                  const char* named = ".private") {
  TempDir dir;
  write(dir.file(std::string(base) + ".private"), private_text);
  if (!key_text.empty()) write(dir.file(std::string(base) + ".key"), key_text);
  KeyList keys;
  std::string error;
  CHECK_FALSE(KeyFiles(dir.path(), name("example.net.")).load(keys, error));
  CHECK(keys.empty());
  INFO(error);
  CHECK(error.find(dir.file(std::string(base) + named)) != std::string::npos);
  CHECK(error.find(expect_in_error) != std::string::npos);
}

TEST_CASE("broken key files are errors naming the file") {
  const std::string priv = kExamples[0].private_text;
  const std::string key = kExamples[0].key_text;
  SUBCASE("garbage base64") {
    check_broken("Private-key-format: v1.3\nAlgorithm: 13 (ECDSAP256SHA256)\nPrivateKey: ***\n",
                 key, "not valid base64");
  }
  SUBCASE("a private key of the wrong size") {
    check_broken("Private-key-format: v1.3\nAlgorithm: 13 (ECDSAP256SHA256)\nPrivateKey: AAAA\n",
                 key, "PrivateKey has 3 bytes");
  }
  SUBCASE("an algorithm we do not use") {
    check_broken("Private-key-format: v1.3\nAlgorithm: 8 (RSASHA256)\nModulus: AAAA\n", key,
                 "algorithm 8 (RSASHA256) is not supported", "Kexample.net.+008+55648");
  }
  SUBCASE("no PrivateKey line") {
    check_broken("Private-key-format: v1.3\nAlgorithm: 13 (ECDSAP256SHA256)\n", key,
                 "no PrivateKey line");
  }
  SUBCASE("a .key of another key") {
    check_broken(priv,
                 "example.net. IN DNSKEY 257 3 13 "
                 "7Y4BZY1g9uzBwt3OZexWk7iWfkiOt0PZ5o7EMip0KBNxlBD+Z58uWutYZIMolsW8v/3rfgac45lO"
                 "IikBZK4KZg==\n",
                 "does not match the private key", "Kexample.net.+013+55648", ".key");
  }
  SUBCASE("no .key") {
    check_broken(priv, "", "no such file", "Kexample.net.+013+55648", ".key");
  }
  SUBCASE("a .key of another zone") {
    check_broken(priv,
                 "example.org. IN DNSKEY 257 3 13 "
                 "GojIhhXUN/u4v54ZQqGSnyhWJwaubCvTmeexv7bR6edbkrSqQpF64cYbcB7wNcP+e+MAnLr+Wi9xMWyQ"
                 "Lc8NAA==\n",
                 "is not the zone example.net.", "Kexample.net.+013+55648", ".key");
  }
  SUBCASE("a file name with another tag") {
    check_broken(priv, key, "the file name says algorithm 13 tag 12345", "Kexample.net.+013+12345");
  }
  SUBCASE("a key file of another zone in the directory") {
    check_broken(priv, key, "not a key of the zone example.net.", "Kexample.org.+013+55648");
  }
  SUBCASE("a bad time") {
    check_broken(priv + "Created: yesterday\n", key, "Created \"yesterday\" is not a time");
  }
}

TEST_CASE("ldns reads our files: ldns-key2ds gives our DS, ldns-signzone signs with them") {
  if (!have("/usr/bin/ldns-key2ds") || !have("/usr/bin/ldns-signzone")) {
    MESSAGE("ldnsutils not installed: skipped");
    return;
  }
  for (const Algorithm algorithm : {Algorithm::ecdsap256sha256, Algorithm::ed25519}) {
    INFO(algorithm_text(algorithm));
    TempDir tmp;
    KeyFiles files(tmp.path(), name("pool.example."));
    std::string error;
    auto key = files.create(algorithm, KeyTiming{}, -1, -1, error);
    REQUIRE_MESSAGE(key, error);
    int status = 0;
    const std::string ds = run(fmt::format("ldns-key2ds -n -2 '{}.key' 2>&1", key->path()), status);
    INFO(ds);
    CHECK(status == 0);
    const std::string ours = key->ds_sha256_rdata(name("pool.example.").wire());
    CHECK(ds.find(fmt::format("DS\t{} {} 2 {}", key->tag(), static_cast<unsigned>(algorithm),
                              hex(ours.substr(4)))) != std::string::npos);

    const std::string zone = tmp.file("pool.example.zone");
    write(zone,
          "pool.example. 3600 IN SOA ns1.pool.example. hostmaster.pool.example. 1 3600 900 "
          "604800 300\n"
          "pool.example. 3600 IN NS ns1.pool.example.\n"
          "ns1.pool.example. 3600 IN A 192.0.2.1\n");
    const std::string signed_out = run(
        fmt::format("cd '{}' && ldns-signzone -f - '{}' '{}' 2>&1", tmp.path(), zone, key->path()),
        status);
    INFO(signed_out);
    CHECK(status == 0);
    CHECK(signed_out.find(fmt::format("RRSIG\tSOA {} 2 3600", static_cast<unsigned>(algorithm))) !=
          std::string::npos);
    CHECK(signed_out.find(fmt::format(" {} pool.example.", key->tag())) != std::string::npos);
    if (have("/usr/bin/ldns-verify-zone")) {
      write(zone + ".signed", signed_out);
      const std::string verified =
          run(fmt::format("ldns-verify-zone '{}.signed' 2>&1", zone), status);
      INFO(verified);
      CHECK(status == 0);
    }
  }
}

TEST_CASE("we read the keys ldns-keygen makes, with the DS it computes") {
  if (!have("/usr/bin/ldns-keygen")) {
    MESSAGE("ldnsutils not installed: skipped");
    return;
  }
  TempDir tmp;
  int status = 0;
  for (const char* algorithm : {"ECDSAP256SHA256", "ED25519"}) {
    const std::string base =
        run(fmt::format("cd '{}' && ldns-keygen -a {} -k pool.example.", tmp.path(), algorithm),
            status);
    REQUIRE(status == 0);
    INFO(base);
    // ldns-keygen's DS file: "pool.example.\tIN\tDS\tTAG ALG 2 HEX".
    const std::string ds_file = read(tmp.file(base.substr(0, base.find('\n')) + ".ds"));
    INFO(ds_file);
    CHECK(ds_file.find(" 2 ") != std::string::npos);
  }
  KeyList keys;
  std::string error;
  REQUIRE_MESSAGE(KeyFiles(tmp.path(), name("pool.example.")).load(keys, error), error);
  REQUIRE(keys.size() == 2);
  for (const auto& key : keys) {
    INFO(key->path());
    const std::string ds = read(key->path() + ".ds");
    CHECK(ds.find(fmt::format("{} {} 2 {}", key->tag(), static_cast<unsigned>(key->algorithm()),
                              hex(key->ds_sha256_rdata(name("pool.example.").wire()).substr(4)))) !=
          std::string::npos);
    std::string signature;
    REQUIRE(key->sign("data", signature));
    CHECK(openssl_verify(*key, "data", signature));
  }
}

}  // namespace
}  // namespace mirrorpool::dnsd::dnssec
