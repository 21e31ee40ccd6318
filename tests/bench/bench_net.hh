// Small helpers shared by the benchmark tools (load_generator, echo_responder):
// address parsing and DNS wire bits. Deliberately independent of dnsd/ so the
// tools measure the servers, not our own parsing code.
#pragma once

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>

#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace bench {

struct Endpoint {
  sockaddr_storage addr{};
  socklen_t len = 0;
};

// "127.0.0.1:5353" or "[::1]:5353".
inline std::optional<Endpoint> parse_endpoint(std::string_view text) {
  std::string host;
  std::string_view port_text;
  if (!text.empty() && text.front() == '[') {
    const auto close = text.find(']');
    if (close == std::string_view::npos || close + 1 >= text.size() || text[close + 1] != ':') {
      return std::nullopt;
    }
    host = std::string(text.substr(1, close - 1));
    port_text = text.substr(close + 2);
  } else {
    const auto colon = text.rfind(':');
    if (colon == std::string_view::npos) return std::nullopt;
    host = std::string(text.substr(0, colon));
    port_text = text.substr(colon + 1);
  }
  const std::string port_string(port_text);
  char* end = nullptr;
  const long port = std::strtol(port_string.c_str(), &end, 10);
  if (port_string.empty() || *end != '\0' || port <= 0 || port > 65535) return std::nullopt;
  Endpoint ep;
  auto* v4 = reinterpret_cast<sockaddr_in*>(&ep.addr);
  auto* v6 = reinterpret_cast<sockaddr_in6*>(&ep.addr);
  if (inet_pton(AF_INET, host.c_str(), &v4->sin_addr) == 1) {
    v4->sin_family = AF_INET;
    v4->sin_port = htons(static_cast<uint16_t>(port));
    ep.len = sizeof(sockaddr_in);
    return ep;
  }
  if (inet_pton(AF_INET6, host.c_str(), &v6->sin6_addr) == 1) {
    v6->sin6_family = AF_INET6;
    v6->sin6_port = htons(static_cast<uint16_t>(port));
    ep.len = sizeof(sockaddr_in6);
    return ep;
  }
  return std::nullopt;
}

// "dl.pool.example" or "dl.pool.example." in wire format; nullopt if a label
// is empty or longer than 63 bytes.
inline std::optional<std::vector<uint8_t>> encode_name(std::string_view name) {
  std::vector<uint8_t> out;
  if (!name.empty() && name.back() == '.') name.remove_suffix(1);
  while (!name.empty()) {
    const auto dot = name.find('.');
    const std::string_view label = name.substr(0, dot);
    if (label.empty() || label.size() > 63) return std::nullopt;
    out.push_back(static_cast<uint8_t>(label.size()));
    out.insert(out.end(), label.begin(), label.end());
    if (dot == std::string_view::npos) break;
    name.remove_prefix(dot + 1);
  }
  out.push_back(0);
  if (out.size() > 255) return std::nullopt;
  return out;
}

// Skips an encoded name (labels and/or one compression pointer) starting at
// pos; returns the offset after it, or 0 when it runs past len.
inline size_t skip_name(const uint8_t* p, size_t len, size_t pos) {
  for (int labels = 0; pos < len && labels < 128; ++labels) {
    const uint8_t b = p[pos];
    if (b == 0) return pos + 1;
    if ((b & 0xC0) == 0xC0) return pos + 2 <= len ? pos + 2 : 0;
    if ((b & 0xC0) != 0) return 0;
    pos += 1 + static_cast<size_t>(b);
  }
  return 0;
}

inline uint16_t get16(const uint8_t* p) {
  return static_cast<uint16_t>((static_cast<unsigned>(p[0]) << 8) | p[1]);
}

inline void put16(uint8_t* p, uint16_t v) {
  p[0] = static_cast<uint8_t>(v >> 8);
  p[1] = static_cast<uint8_t>(v & 0xFF);
}

}  // namespace bench
