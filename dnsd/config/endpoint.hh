// An address and port as written in `listen`, `http_listen` and `notify`:
// "192.0.2.1:53" or "[2001:db8::1]:53". Parsing and the socket address only;
// which keys take one, and their messages, are the config parser's business.
#pragma once

#include <sys/socket.h>

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include "zones/pool.hh"

namespace mirrorpool::dnsd {

struct Endpoint {
  zones::Address address;
  uint16_t port = 0;
  std::string text;  // as written
  sockaddr_storage sockaddr() const;
  socklen_t sockaddr_len() const;
  static std::optional<Endpoint> parse(std::string_view text);
};

}  // namespace mirrorpool::dnsd
