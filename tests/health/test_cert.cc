// Self-signed test certificates through the OpenSSL API.
#include "test_cert.hh"

#include <unistd.h>

#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <memory>
#include <stdexcept>

#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>

namespace mirrorpool::health::test {

namespace {

constexpr long kDay = 24L * 60 * 60;

void require(bool ok, const char* what) {
  if (!ok) throw std::runtime_error(std::string("test certificate: ") + what);
}

void add_ext(X509* cert, int nid, const std::string& value) {
  X509V3_CTX ctx;
  X509V3_set_ctx_nodb(&ctx);
  X509V3_set_ctx(&ctx, cert, cert, nullptr, nullptr, 0);
  X509_EXTENSION* ext = X509V3_EXT_conf_nid(nullptr, &ctx, nid, value.c_str());
  require(ext != nullptr, "extension");
  const int rc = X509_add_ext(cert, ext, -1);
  X509_EXTENSION_free(ext);
  require(rc == 1, "add extension");
}

void write_pem(const std::string& path, auto writer) {
  std::unique_ptr<FILE, decltype(&fclose)> file(fopen(path.c_str(), "w"), &fclose);
  require(file != nullptr, "open output");
  require(writer(file.get()) == 1, "write PEM");
}

}  // namespace

TestCert::TestCert(const std::string& dns_name, long from_days, long to_days) {
  char dir[] = "/tmp/mirrorpool-health-cert-XXXXXX";
  require(mkdtemp(dir) != nullptr, "mkdtemp");
  dir_ = dir;
  files_.cert = dir_ + "/cert.pem";
  files_.key = dir_ + "/key.pem";

  std::unique_ptr<EVP_PKEY, decltype(&EVP_PKEY_free)> key(EVP_EC_gen("P-256"), &EVP_PKEY_free);
  require(key != nullptr, "key");
  std::unique_ptr<X509, decltype(&X509_free)> cert(X509_new(), &X509_free);
  require(cert != nullptr, "X509_new");
  require(X509_set_version(cert.get(), 2) == 1, "version");
  require(ASN1_INTEGER_set(X509_get_serialNumber(cert.get()), 1) == 1, "serial");
  require(X509_gmtime_adj(X509_getm_notBefore(cert.get()), from_days * kDay) != nullptr,
          "notBefore");
  require(X509_gmtime_adj(X509_getm_notAfter(cert.get()), to_days * kDay) != nullptr, "notAfter");
  X509_NAME* name = X509_get_subject_name(cert.get());
  require(X509_NAME_add_entry_by_txt(name, "CN", MBSTRING_ASC,
                                     reinterpret_cast<const unsigned char*>(dns_name.c_str()), -1,
                                     -1, 0) == 1,
          "CN");
  require(X509_set_issuer_name(cert.get(), name) == 1, "issuer");
  require(X509_set_pubkey(cert.get(), key.get()) == 1, "pubkey");
  add_ext(cert.get(), NID_basic_constraints, "critical,CA:TRUE");
  add_ext(cert.get(), NID_subject_alt_name, "DNS:" + dns_name);
  require(X509_sign(cert.get(), key.get(), EVP_sha256()) > 0, "sign");

  write_pem(files_.cert, [&](FILE* f) { return PEM_write_X509(f, cert.get()); });
  write_pem(files_.key, [&](FILE* f) {
    return PEM_write_PrivateKey(f, key.get(), nullptr, nullptr, 0, nullptr, nullptr);
  });
}

TestCert::~TestCert() {
  std::error_code ignored;
  std::filesystem::remove_all(dir_, ignored);
}

}  // namespace mirrorpool::health::test
