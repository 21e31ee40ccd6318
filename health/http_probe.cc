// Request building and response judging of the http/https probes. Pure.
#include "health/http_probe.hh"

#include <algorithm>

#include <fmt/format.h>

namespace mirrorpool::health {

namespace {

std::string bracketed(const std::string& host) {
  return host.find(':') != std::string::npos ? "[" + host + "]" : host;
}

}  // namespace

HttpRequest make_probe_request(const CheckSpec& check, const std::string& address,
                               const std::string& path) {
  const char* scheme = check.type == CheckType::https ? "https" : "http";
  const std::string host = bracketed(check.host.empty() ? address : check.host);
  const std::string slash = path.starts_with('/') ? "" : "/";
  HttpRequest request;
  request.url = fmt::format("{}://{}:{}{}{}", scheme, host, check.port, slash, path);
  if (!check.host.empty()) {
    request.connect_to =
        fmt::format("{}:{}:{}:{}", host, check.port, bracketed(address), check.port);
  }
  request.ca_file = check.ca_file;
  request.timeout = check.timeout;
  return request;
}

HttpRequest make_reference_request(const CheckSpec& check) {
  HttpRequest request;
  request.url = check.freshness.reference;
  request.ca_file = check.ca_file;
  request.timeout = check.timeout;
  return request;
}

ProbeResult judge_http(const CheckSpec& check, const HttpResponse& response) {
  ProbeResult result;
  result.latency = response.latency;
  result.tls_days_left = response.tls_days_left;
  if (!response.transferred) {
    result.reason = response.error;
    return result;
  }
  const auto& expected = check.expect_status;
  if (std::find(expected.begin(), expected.end(), response.status) == expected.end()) {
    result.reason = fmt::format("http {}", response.status);
    return result;
  }
  if (!check.expect_body.empty() && response.body.find(check.expect_body) == std::string::npos) {
    result.reason = fmt::format("body: missing '{}'", check.expect_body);
    return result;
  }
  if (check.type == CheckType::https && response.tls_days_left &&
      *response.tls_days_left < static_cast<int>(check.tls_min_days)) {
    result.reason = fmt::format("tls: certificate expires in {} days", *response.tls_days_left);
    return result;
  }
  result.ok = true;
  result.reason = "ok";
  return result;
}

}  // namespace mirrorpool::health
