// The `http` and `https` probes: which request probes one mirror address, and
// how its response is judged and explained. Pure: the fetch itself is
// HttpClient's.
#pragma once

#include <string>
#include <vector>

#include "health/check_spec.hh"
#include "health/http_client.hh"
#include "health/probe_result.hh"

namespace mirrorpool::health {

// A GET of `path` on `address` as `check` says: the URL names check.host
// (Host header and SNI) and CURLOPT_CONNECT_TO pins the connection to the
// address, so the mirror is never looked up by name. Without a host the
// address itself is the URL's host. Uses https for CheckType::https, else
// http (a tcp check with freshness fetches the freshness file over http).
HttpRequest make_probe_request(const CheckSpec& check, const std::string& address,
                               const std::string& path);

// A GET of the freshness reference URL on the primary, resolved normally.
HttpRequest make_reference_request(const CheckSpec& check);

// Judges a probe response: transfer, status in expect_status, expect_body,
// then (https) the certificate's remaining lifetime against tls_min_days.
ProbeResult judge_http(const CheckSpec& check, const HttpResponse& response);

// The request make_probe_request builds, as an operator reads it:
// "GET /tails/ Host: dl.pool.example".
std::string request_line(const CheckSpec& check, const std::string& address,
                         const std::string& path);

// Explains a traced probe response (HttpRequest::trace) step by step:
// connect, then for https tls and certificate, then http and body, as far as
// the fetch got; a step that failed is the last one. Each step is judged by
// the same rules as judge_http, whose verdict stays the result. `at` counts
// from the start of the fetch.
std::vector<CheckStep> http_steps(const CheckSpec& check, const std::string& address,
                                  const HttpResponse& response);

}  // namespace mirrorpool::health
