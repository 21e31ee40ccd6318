// Request building, response judging and step-by-step explaining of the
// http/https probes. Pure.
#include "health/http_probe.hh"

#include <algorithm>
#include <chrono>

#include <fmt/format.h>
#include <fmt/ranges.h>

namespace mirrorpool::health {

namespace {

std::string bracketed(const std::string& host) {
  return host.find(':') != std::string::npos ? "[" + host + "]" : host;
}

std::string url_host(const CheckSpec& check, const std::string& address) {
  return bracketed(check.host.empty() ? address : check.host);
}

std::string url_path(const std::string& path) {
  return path.starts_with('/') ? path : "/" + path;
}

bool status_expected(const CheckSpec& check, long status) {
  const auto& expected = check.expect_status;
  return std::find(expected.begin(), expected.end(), status) != expected.end();
}

bool body_expected(const CheckSpec& check, const std::string& body) {
  return check.expect_body.empty() || body.find(check.expect_body) != std::string::npos;
}

bool lifetime_enough(const CheckSpec& check, int days_left) {
  return days_left >= static_cast<int>(check.tls_min_days);
}

// Sub-millisecond precision: on a LAN every step takes less than one.
std::string millis(std::chrono::microseconds time) {
  return fmt::format("{:.1f}ms", static_cast<double>(time.count()) / 1000.0);
}

std::chrono::milliseconds at(std::chrono::microseconds time) {
  return std::chrono::duration_cast<std::chrono::milliseconds>(time);
}

}  // namespace

HttpRequest make_probe_request(const CheckSpec& check, const std::string& address,
                               const std::string& path) {
  const char* scheme = check.type == CheckType::https ? "https" : "http";
  const std::string host = url_host(check, address);
  HttpRequest request;
  request.url = fmt::format("{}://{}:{}{}", scheme, host, check.port, url_path(path));
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
  result.tls_expiry = response.tls_expiry;
  if (!response.transferred) {
    result.reason = response.error;
    return result;
  }
  if (!status_expected(check, response.status)) {
    result.reason = fmt::format("http {}", response.status);
    return result;
  }
  if (!body_expected(check, response.body)) {
    result.reason = fmt::format("body: missing '{}'", check.expect_body);
    return result;
  }
  if (check.type == CheckType::https && response.tls_expiry) {
    const int days = days_until(*response.tls_expiry, std::chrono::system_clock::now());
    if (!lifetime_enough(check, days)) {
      result.reason = fmt::format("tls: certificate expires in {} days", days);
      return result;
    }
  }
  result.ok = true;
  result.reason = "ok";
  return result;
}

std::string request_line(const CheckSpec& check, const std::string& address,
                         const std::string& path) {
  // curl names the port in the Host header only when it is not the scheme's.
  const uint16_t usual = check.type == CheckType::https ? 443 : 80;
  const std::string host = url_host(check, address);
  const std::string port = check.port == usual ? "" : fmt::format(":{}", check.port);
  return fmt::format("GET {} Host: {}{}", url_path(path), host, port);
}

std::vector<CheckStep> http_steps(const CheckSpec& check, const std::string& address,
                                  const HttpResponse& response) {
  const HttpTrace trace = response.trace.value_or(HttpTrace{});
  const std::string& error = response.error;
  std::vector<CheckStep> steps;
  auto failed = [&](const char* name, std::string detail) {
    steps.push_back({name, false, std::move(detail), at(trace.total)});
    return steps;
  };

  const std::string remote =
      trace.remote.empty() ? fmt::format("{}:{}", bracketed(address), check.port) : trace.remote;
  if (!trace.connected) return failed("connect", fmt::format("{}: {}", remote, error));
  if (trace.connect_time) {
    steps.push_back({"connect", true, fmt::format("{} in {}", remote, millis(*trace.connect_time)),
                     at(*trace.connect_time)});
  } else {
    steps.push_back({"connect", true, remote + " (not timed: the handshake did not complete)",
                     at(trace.total)});
  }

  if (check.type == CheckType::https) {
    if (trace.tls_done) {
      steps.push_back(
          {"tls", true,
           fmt::format("{} {} in {}, verify {}", trace.tls_version, trace.tls_cipher,
                       // A completed handshake implies a timed connection.
                       millis(*trace.tls_done - *trace.connect_time), trace.verify_text),
           at(*trace.tls_done)});
    } else {
      std::string detail = error;
      // curl usually words the verify failure itself; add OpenSSL's when not.
      if (trace.verify_result.value_or(0) != 0 && !error.ends_with(trace.verify_text))
        detail += fmt::format(" (verify: {})", trace.verify_text);
      steps.push_back({"tls", false, std::move(detail), at(trace.total)});
    }
    // Shown even after a failed handshake: an expired or foreign
    // certificate is usually the reason, and the operator wants to see it.
    if (trace.has_leaf) {
      const int days = response.tls_expiry
                           ? days_until(*response.tls_expiry, std::chrono::system_clock::now())
                           : 0;
      const std::string left =
          days >= 0 ? fmt::format("{} days left", days) : fmt::format("expired {} days ago", -days);
      // A certificate the chain check refused (self-signed, unknown issuer)
      // is no better for a long life: the step fails and says why.
      const bool trusted = trace.verify_result.value_or(0) == 0;
      steps.push_back(
          {"certificate", trusted && lifetime_enough(check, days),
           fmt::format("{}, issued by {}, expires {}: {} (tls_min_days {}){}", trace.leaf_subject,
                       trace.leaf_issuer, trace.leaf_not_after, left, check.tls_min_days,
                       trusted ? "" : "; not trusted: " + trace.verify_text),
           at(trace.tls_done.value_or(trace.total))});
    }
    if (!trace.tls_done) return steps;
  }

  const std::string request = request_line(check, address, check.path);
  if (!trace.first_byte) return failed("http", fmt::format("{}: {}", request, error));
  const bool expected = status_expected(check, response.status);
  std::string wanted;
  for (size_t i = 0; !expected && i < check.expect_status.size(); ++i) {
    wanted += fmt::format("{}{}", i == 0 ? " (expected " : ", ", check.expect_status[i]);
  }
  if (!wanted.empty()) wanted += ')';
  steps.push_back({"http", expected,
                   fmt::format("{} -> {}{}, first byte after {}", request, response.status, wanted,
                               millis(*trace.first_byte)),
                   at(*trace.first_byte)});

  if (!response.transferred) return failed("body", error);
  const std::string size = fmt::format("{} bytes{}", response.body.size(),
                                       trace.body_cut ? " (read up to the limit)" : "");
  if (check.expect_body.empty()) {
    steps.push_back({"body", true, size + ", no expect_body", at(trace.total)});
  } else {
    const bool found = body_expected(check, response.body);
    steps.push_back({"body", found,
                     fmt::format("{}, expect_body '{}' {}", size, check.expect_body,
                                 found ? "found" : "missing"),
                     at(trace.total)});
  }
  return steps;
}

}  // namespace mirrorpool::health
