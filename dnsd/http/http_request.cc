#include "dnsd/http/http_request.hh"

namespace mirrorpool::dnsd {

namespace {

// RFC 9110 token characters, for the method.
bool is_token(std::string_view text) {
  if (text.empty()) return false;
  for (unsigned char c : text) {
    const bool alnum = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9');
    if (!alnum &&
        std::string_view("!#$%&'*+-.^_`|~").find(static_cast<char>(c)) == std::string_view::npos) {
      return false;
    }
  }
  return true;
}

bool is_digit(char c) {
  return c >= '0' && c <= '9';
}

// RFC 9112 §3.2: a request target is visible ASCII, so no control byte of a
// client reaches the handler or the log.
bool is_visible_ascii(std::string_view text) {
  for (unsigned char c : text) {
    if (c <= 0x20 || c >= 0x7f) return false;
  }
  return true;
}

HttpRequestHead error(int status) {
  return HttpRequestHead{HttpRequestHead::State::error, status, {}, {}};
}

}  // namespace

HttpRequestHead parse_http_request(std::string_view received, size_t max_header_bytes) {
  // Bare LF line ends are accepted as well (RFC 9112 §2.2).
  size_t header_end = received.find("\r\n\r\n");
  size_t terminator = 4;
  if (const size_t lf = received.find("\n\n"); lf < header_end) {
    header_end = lf;
    terminator = 2;
  }
  if (header_end == std::string_view::npos) {
    // No complete header yet; any terminator still to come would end past the limit.
    if (received.size() > max_header_bytes) return error(431);
    return {};
  }
  if (header_end + terminator > max_header_bytes) return error(431);

  // "METHOD SP target SP HTTP/x.y", nothing else on the line.
  std::string_view line = received.substr(0, received.find('\n'));
  if (line.ends_with('\r')) line.remove_suffix(1);
  const size_t first = line.find(' ');
  if (first == std::string_view::npos) return error(400);
  const size_t second = line.find(' ', first + 1);
  if (second == std::string_view::npos || line.find(' ', second + 1) != std::string_view::npos) {
    return error(400);
  }
  const std::string_view method = line.substr(0, first);
  const std::string_view target = line.substr(first + 1, second - first - 1);
  const std::string_view version = line.substr(second + 1);
  if (!is_token(method) || target.empty() || version.empty()) return error(400);
  if (version != "HTTP/1.0" && version != "HTTP/1.1") {
    const bool well_formed = version.size() == 8 && version.starts_with("HTTP/") &&
                             is_digit(version[5]) && version[6] == '.' && is_digit(version[7]);
    return error(well_formed ? 505 : 400);
  }
  if (method != "GET" && method != "HEAD") return error(405);
  // Origin form only: a path, then an optional query, which routing ignores.
  if (!target.starts_with('/') || !is_visible_ascii(target)) return error(400);
  return HttpRequestHead{HttpRequestHead::State::valid, 0, method,
                         target.substr(0, target.find_first_of("?#"))};
}

}  // namespace mirrorpool::dnsd
