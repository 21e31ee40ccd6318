// parse_http_request: the request head of the /metrics server, without sockets.
#include "dnsd/http/http_request.hh"

#include <string>
#include <string_view>

#include <doctest/doctest.h>

using mirrorpool::dnsd::HttpRequestHead;
using mirrorpool::dnsd::parse_http_request;
using State = HttpRequestHead::State;

namespace {

constexpr size_t kLimit = 8192;

int error_of(std::string_view received, size_t limit = kLimit) {
  const HttpRequestHead head = parse_http_request(received, limit);
  CHECK(head.state == State::error);
  return head.error_status;
}

}  // namespace

TEST_CASE("a GET or HEAD gives its method and path without query or fragment") {
  HttpRequestHead head = parse_http_request("GET /metrics?x=1 HTTP/1.1\r\nHost: a\r\n\r\n", kLimit);
  REQUIRE(head.state == State::valid);
  CHECK(head.method == "GET");
  CHECK(head.path == "/metrics");

  head = parse_http_request("HEAD /status.json#top HTTP/1.0\n\n", kLimit);
  REQUIRE(head.state == State::valid);
  CHECK(head.method == "HEAD");
  CHECK(head.path == "/status.json");
}

TEST_CASE("bytes after the header are ignored: the result does not change") {
  const std::string request = "GET / HTTP/1.1\r\n\r\n";
  for (std::string_view tail : {"", "body", "\r\n\r\nPOST / HTTP/1.1\r\n\r\n"}) {
    const std::string received = request + std::string(tail);  // the views point into it
    const HttpRequestHead head = parse_http_request(received, kLimit);
    REQUIRE(head.state == State::valid);
    CHECK(head.path == "/");
  }
  // The earlier of the two terminators ends the header.
  const HttpRequestHead head = parse_http_request("GET /a HTTP/1.1\n\nX\r\n\r\n", kLimit);
  REQUIRE(head.state == State::valid);
  CHECK(head.path == "/a");
}

TEST_CASE("an unfinished header waits for more bytes, up to the limit") {
  for (std::string_view partial :
       {"", "G", "GET / HTTP/1.1", "GET / HTTP/1.1\r\n", "GET / HTTP/1.1\r\nHost: a\r\n\r"}) {
    CHECK(parse_http_request(partial, kLimit).state == State::incomplete);
  }
  CHECK(error_of(std::string(17, 'a'), 16) == 431);
  CHECK(parse_http_request(std::string(16, 'a'), 16).state == State::incomplete);
  // A terminator that ends past the limit is too large as well.
  CHECK(error_of("GET / HTTP/1.1\r\n\r\n", 17) == 431);
  CHECK(parse_http_request("GET / HTTP/1.1\r\n\r\n", 18).state == State::valid);
}

TEST_CASE("malformed request lines are 400") {
  for (std::string_view bad : {
           "\r\n\r\n",                        // empty line
           "GET\r\n\r\n",                     // no target
           "GET /\r\n\r\n",                   // no version
           "GET  / HTTP/1.1\r\n\r\n",         // empty target
           "GET / HTTP/1.1 x\r\n\r\n",        // a fourth part
           "GET / \r\n\r\n",                  // empty version
           " / HTTP/1.1\r\n\r\n",             // empty method
           "G(T / HTTP/1.1\r\n\r\n",          // not a token
           "GET metrics HTTP/1.1\r\n\r\n",    // not origin form
           "GET http://a/ HTTP/1.1\r\n\r\n",  // absolute form
           "GET /a\rb HTTP/1.1\r\n\r\n",      // a control byte in the target
           "GET /\x7f HTTP/1.1\r\n\r\n",      // DEL
           "GET /\xc3\xa9 HTTP/1.1\r\n\r\n",  // not ASCII
           "GET / HTTP/1\r\n\r\n",            // not HTTP/x.y
           "GET / FTP/1.1\r\n\r\n",
       }) {
    CAPTURE(bad);
    CHECK(error_of(bad) == 400);
  }
}

TEST_CASE("other HTTP versions are 505, other methods 405") {
  CHECK(error_of("GET / HTTP/2.0\r\n\r\n") == 505);
  CHECK(error_of("GET / HTTP/0.9\r\n\r\n") == 505);
  CHECK(error_of("POST / HTTP/1.1\r\n\r\n") == 405);
  CHECK(error_of("get / HTTP/1.1\r\n\r\n") == 405);
  // The version is checked before the method: HTTP/2 is refused as such.
  CHECK(error_of("PUT / HTTP/2.0\r\n\r\n") == 505);
}
