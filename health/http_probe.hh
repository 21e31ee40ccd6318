// The `http` and `https` probes: which request probes one mirror address, and
// how its response is judged. Pure: the fetch itself is HttpClient's.
#pragma once

#include <string>

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

}  // namespace mirrorpool::health
