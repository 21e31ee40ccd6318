// Fuzzes the request head of the /metrics server: whatever a client sends,
// parse_http_request gives a GET or HEAD with a clean origin-form path, one of
// the four error statuses, or asks for more bytes within the size limit. The
// server parses again after every read, so a result must not change once the
// header is complete, however the bytes were split.
#include <string>
#include <string_view>

#include "dnsd/http/http_request.hh"
#include "tests/fuzz/fuzz_target.hh"

using mirrorpool::dnsd::HttpRequestHead;
using mirrorpool::dnsd::parse_http_request;
using mirrorpool::fuzz::check;
using State = HttpRequestHead::State;

namespace {

bool inside(std::string_view part, std::string_view whole) {
  return part.data() >= whole.data() && part.data() + part.size() <= whole.data() + whole.size();
}

// Same outcome; for a valid request also the same bytes of the same input.
bool same(const HttpRequestHead& a, const HttpRequestHead& b) {
  return a.state == b.state && a.error_status == b.error_status &&
         a.method.data() == b.method.data() && a.method.size() == b.method.size() &&
         a.path.data() == b.path.data() && a.path.size() == b.path.size();
}

void parse(std::string_view received, size_t limit) {
  const HttpRequestHead head = parse_http_request(received, limit);
  switch (head.state) {
    case State::incomplete:
      check(received.size() <= limit, "over the limit and still incomplete");
      check(received.find("\n\n") == std::string_view::npos &&
                received.find("\r\n\r\n") == std::string_view::npos,
            "a complete header reported incomplete");
      break;
    case State::error:
      check(head.error_status == 400 || head.error_status == 405 || head.error_status == 431 ||
                head.error_status == 505,
            "an unexpected error status");
      break;
    case State::valid:
      check(head.method == "GET" || head.method == "HEAD", "a method other than GET or HEAD");
      check(inside(head.method, received) && inside(head.path, received),
            "a view outside the received bytes");
      check(head.path.starts_with('/'), "a path not in origin form");
      for (unsigned char c : head.path) {
        check(c > 0x20 && c < 0x7f && c != '?' && c != '#', "a path with a forbidden byte");
      }
      break;
  }
  if (head.state != State::valid) {
    check(head.method.empty() && head.path.empty(), "method or path set without a request");
  }

  // The same bytes in two reads: once the first read completes the header,
  // the whole gives the same answer.
  if (!received.empty()) {
    const size_t split = static_cast<unsigned char>(received[0]) % received.size();
    const HttpRequestHead first = parse_http_request(received.substr(0, split), limit);
    if (first.state != State::incomplete)
      check(same(first, head), "a result changed by more bytes");
  }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::string_view received = mirrorpool::fuzz::as_text(data, size);
  // The server's default limit, and one the input straddles.
  parse(received, 8192);
  parse(received, size / 2);
  return 0;
}
