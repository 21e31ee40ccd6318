// The request head of http_server.hh's HTTP/1.1 server, parsed from the
// bytes a client has sent so far: pure, so that it can be unit-tested and
// fuzzed without sockets (tests/fuzz/http_request_fuzz.cc).
#pragma once

#include <cstddef>
#include <string_view>

namespace mirrorpool::dnsd {

struct HttpRequestHead {
  enum class State {
    incomplete,  // no end of header yet, and still within the size limit
    valid,       // a GET or HEAD with an origin-form target: method and path are set
    error,       // answer error_status and close
  };
  State state = State::incomplete;
  int error_status = 0;     // 400, 405, 431 or 505 when state is error
  std::string_view method;  // "GET" or "HEAD"; views into the received bytes
  std::string_view path;    // starts with '/'; the query and fragment removed
};

// `received` is everything read on the connection so far. Anything after the
// empty line that ends the header is ignored (the server takes no bodies), so
// once the result is not `incomplete`, more bytes never change it.
HttpRequestHead parse_http_request(std::string_view received, size_t max_header_bytes);

}  // namespace mirrorpool::dnsd
