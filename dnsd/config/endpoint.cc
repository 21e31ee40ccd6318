// Endpoint: an address and port as written in `listen`, `http_listen` and
// `notify` — "192.0.2.1:53" or "[2001:db8::1]:53".
#include "dnsd/config/endpoint.hh"

#include <netinet/in.h>

#include <cstring>

namespace mirrorpool::dnsd {

std::optional<Endpoint> Endpoint::parse(std::string_view text) {
  std::string_view host;
  std::string_view port;
  if (text.starts_with('[')) {
    const size_t close = text.find(']');
    if (close == std::string_view::npos || text.substr(close + 1, 1) != ":") return std::nullopt;
    host = text.substr(1, close - 1);
    port = text.substr(close + 2);
  } else {
    const size_t colon = text.rfind(':');
    if (colon == std::string_view::npos) return std::nullopt;
    host = text.substr(0, colon);
    port = text.substr(colon + 1);
    // An unbracketed IPv6 address makes the port ambiguous ("::1:53").
    if (host.find(':') != std::string_view::npos) return std::nullopt;
  }
  if (port.empty() || port.size() > 5) return std::nullopt;
  unsigned number = 0;
  for (char c : port) {
    if (c < '0' || c > '9') return std::nullopt;
    number = number * 10 + static_cast<unsigned>(c - '0');
  }
  if (number < 1 || number > 65535) return std::nullopt;
  auto address = zones::Address::parse(host);
  if (!address) return std::nullopt;
  // Brackets are for IPv6 only, and IPv6 needs them.
  if ((address->family == AF_INET6) != text.starts_with('[')) return std::nullopt;
  Endpoint endpoint;
  endpoint.address = std::move(*address);
  endpoint.port = static_cast<uint16_t>(number);
  endpoint.text = std::string(text);
  return endpoint;
}

sockaddr_storage Endpoint::sockaddr() const {
  sockaddr_storage storage{};
  if (address.family == AF_INET6) {
    auto* sin6 = reinterpret_cast<sockaddr_in6*>(&storage);
    sin6->sin6_family = AF_INET6;
    sin6->sin6_port = htons(port);
    std::memcpy(&sin6->sin6_addr, address.bytes.data(), 16);
  } else {
    auto* sin = reinterpret_cast<sockaddr_in*>(&storage);
    sin->sin_family = AF_INET;
    sin->sin_port = htons(port);
    std::memcpy(&sin->sin_addr, address.bytes.data(), 4);
  }
  return storage;
}

socklen_t Endpoint::sockaddr_len() const {
  return address.family == AF_INET6 ? sizeof(sockaddr_in6) : sizeof(sockaddr_in);
}

}  // namespace mirrorpool::dnsd
