#include "dnsd/config/control_socket_path.hh"

#include <toml++/toml.h>

namespace mirrorpool::dnsd {
namespace {

std::string_view trimmed(std::string_view s) {
  while (!s.empty() && (s.front() == ' ' || s.front() == '\t')) s.remove_prefix(1);
  while (!s.empty() && (s.back() == ' ' || s.back() == '\t' || s.back() == '\r'))
    s.remove_suffix(1);
  return s;
}

// A file that is not valid TOML: its [server] table line by line. Only a
// plain `control_socket = "PATH"` is understood; anything else is skipped.
std::optional<std::string> scan_lines(std::string_view text) {
  bool in_server = false;
  while (!text.empty()) {
    const size_t end = text.find('\n');
    const std::string_view line = trimmed(text.substr(0, end));
    text.remove_prefix(end == std::string_view::npos ? text.size() : end + 1);
    if (line.starts_with('[')) {
      in_server = line == "[server]";
      continue;
    }
    if (!in_server || !line.starts_with("control_socket")) continue;
    std::string_view rest = trimmed(line.substr(std::string_view("control_socket").size()));
    if (!rest.starts_with('=')) continue;
    rest = trimmed(rest.substr(1));
    const size_t close = rest.find('"', 1);
    if (rest.starts_with('"') && close != std::string_view::npos && close > 1) {
      return std::string(rest.substr(1, close - 1));
    }
  }
  return std::nullopt;
}

}  // namespace

std::string control_socket_in(std::string_view config_text) {
  try {
    const toml::table root = toml::parse(config_text);
    if (const auto path = root["server"]["control_socket"].value<std::string>()) return *path;
    return std::string(kDefaultControlSocket);
  } catch (const toml::parse_error&) {
    return scan_lines(config_text).value_or(std::string(kDefaultControlSocket));
  }
}

}  // namespace mirrorpool::dnsd
