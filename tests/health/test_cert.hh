// Self-signed certificates for the https probe tests, made with the OpenSSL
// API so their validity window can lie in the past. Test support only.
#pragma once

#include <string>

#include "fake_server.hh"

namespace mirrorpool::health::test {

class TestCert {
 public:
  // A certificate for `dns_name`, valid from now + `from_days` to now +
  // `to_days` (negative = in the past), written with its key to a fresh
  // temporary directory that the destructor removes.
  TestCert(const std::string& dns_name, long from_days, long to_days);
  ~TestCert();
  TestCert(const TestCert&) = delete;
  TestCert& operator=(const TestCert&) = delete;

  const TlsFiles& files() const { return files_; }
  // The certificate is its own CA: pass it as ca_file.
  const std::string& ca_file() const { return files_.cert; }

 private:
  std::string dir_;
  TlsFiles files_;
};

}  // namespace mirrorpool::health::test
