// Reading a mirrors.json with nlohmann::json. nlohmann keeps no positions
// for parsed values, so the entries' line:col come from a small scan of the
// text (entry_positions) and syntax errors from the parser's byte offset.
#include "dnsd/config/mirrors_json.hh"

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <set>

#include <fmt/core.h>
#include <nlohmann/json.hpp>

#include "dnsd/common/atomic_file.hh"
#include "dnsd/config/geo_keys.hh"
#include "dnsd/config/mirror_limits.hh"
#include "zones/name.hh"

namespace mirrorpool::dnsd {
namespace {

using nlohmann::json;

zones::SourcePos line_col(std::string_view text, size_t offset, const std::string& path) {
  offset = std::min(offset, text.size());
  int line = 1;
  size_t line_start = 0;
  for (size_t i = 0; i < offset; ++i) {
    if (text[i] == '\n') {
      ++line;
      line_start = i + 1;
    }
  }
  return {path, line, static_cast<int>(offset - line_start) + 1};
}

// Offsets of the values two deep ({"mirrors": [ {…}, {…} ]}), in order: the
// entries of a file that parsed.
std::vector<size_t> entry_positions(std::string_view text) {
  std::vector<size_t> out;
  std::string open;  // the enclosing '{' and '[', outermost first
  bool in_string = false;
  // Inside an array two deep, before its next element.
  bool expect_entry = false;
  for (size_t i = 0; i < text.size(); ++i) {
    const char c = text[i];
    if (in_string) {
      if (c == '\\') {
        ++i;
      } else if (c == '"') {
        in_string = false;
      }
      continue;
    }
    if (c == ' ' || c == '\t' || c == '\n' || c == '\r') continue;
    if (expect_entry && c != ']') out.push_back(i);
    expect_entry = false;
    if (c == '"') {
      in_string = true;
    } else if (c == '{' || c == '[') {
      open += c;
      expect_entry = open == "{[";
    } else if ((c == '}' || c == ']') && !open.empty()) {
      open.pop_back();
    } else if (c == ',') {
      expect_entry = open == "{[";
    }
  }
  return out;
}

// Where the value of `key` starts inside the entry at [begin, end) of the
// text: a warning about notes can then point at them. Keys of nested values
// could match as well, but an entry's values are flat.
zones::SourcePos value_position(std::string_view text, size_t begin, size_t end,
                                std::string_view key, const std::string& path) {
  const std::string quoted = fmt::format("\"{}\"", key);
  const auto skip_space = [&](size_t i) {
    while (i < end && (text[i] == ' ' || text[i] == '\t' || text[i] == '\n' || text[i] == '\r')) {
      ++i;
    }
    return i;
  };
  for (size_t at = text.find(quoted, begin); at != std::string_view::npos && at < end;
       at = text.find(quoted, at + 1)) {
    const size_t colon = skip_space(at + quoted.size());
    if (colon >= end || text[colon] != ':') continue;
    return line_col(text, skip_space(colon + 1), path);
  }
  return {path, 0, 0};
}

bool is_host_name(std::string_view host) {
  return !host.empty() && !host.ends_with('.') &&
         zones::Name::from_text(std::string(host) + ".").has_value() &&
         std::all_of(host.begin(), host.end(), [](char c) {
           return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
                  c == '-' || c == '.';
         });
}

// Reads one entry; problems go to `report` with the entry named.
class EntryReader {
 public:
  EntryReader(const json& entry, zones::SourcePos pos, std::string name, zones::Diagnostics& diags)
      : entry_(entry), pos_(std::move(pos)), name_(std::move(name)), diags_(diags) {}

  void error(std::string message) {
    diags_.push_back({pos_, fmt::format("{}: {}", name_, message)});
    ok_ = false;
  }
  bool ok() const { return ok_; }

  // A string member; nullopt when absent (reported if required) or not a string.
  std::optional<std::string> string(const char* key, bool required) {
    const auto it = entry_.find(key);
    if (it == entry_.end()) {
      if (required) error(fmt::format("missing required key '{}'", key));
      return std::nullopt;
    }
    if (!it->is_string()) {
      error(fmt::format("'{}' must be a string", key));
      return std::nullopt;
    }
    return it->get<std::string>();
  }

 private:
  const json& entry_;
  zones::SourcePos pos_;
  std::string name_;
  zones::Diagnostics& diags_;
  bool ok_ = true;
};

std::optional<MirrorsJsonEntry> read_entry(const json& j, zones::SourcePos pos, size_t index,
                                           zones::Diagnostics& diags) {
  std::string name = fmt::format("mirrors[{}]", index);
  if (j.is_object()) {
    const auto url = j.find("url_prefix");
    if (url != j.end() && url->is_string()) {
      name += fmt::format(" ({})", url->get<std::string>());
    }
  }
  MirrorsJsonEntry entry;
  entry.pos = pos;
  EntryReader r(j, std::move(pos), name, diags);
  if (!j.is_object()) {
    r.error("must be an object");
    return std::nullopt;
  }
  for (const auto& [key, value] : j.items()) {
    static const std::set<std::string, std::less<>> kKeys = {"url_prefix", "rsync_url", "weight",
                                                             "email",      "notes",     "addresses",
                                                             "country",    "location",  "id"};
    if (!kKeys.contains(key)) {
      r.error(
          fmt::format("unknown key '{}' (known: url_prefix, rsync_url, weight, email, "
                      "notes, addresses, country, location, id)",
                      key));
    }
  }
  if (auto url = r.string("url_prefix", true)) {
    entry.url_prefix = *url;
    if (auto parsed = parse_url_prefix(*url)) {
      entry.url = *parsed;
      entry.id = parsed->host;
      if (!j.contains("id") && entry.id.size() > kMaxMirrorIdLength) {
        r.error(
            fmt::format("the host of 'url_prefix' is the mirror id and must be at most {} "
                        "characters (got {})",
                        kMaxMirrorIdLength, entry.id.size()));
      }
    } else {
      r.error(
          fmt::format("'url_prefix' must be an http:// or https:// URL with a host name, "
                      "such as \"https://mirror.example.org/tails/\" (got \"{}\")",
                      *url));
    }
  }
  // The id of a mirror whose name is not its URL's host (an export writes
  // it for those, so that they come back under the same name).
  if (auto id = r.string("id", false)) {
    if (is_valid_id(*id)) {
      entry.id = *id;
    } else {
      r.error(fmt::format("'id' must be 1-{} letters, digits, '-', '_' or '.' (got \"{}\")",
                          kMaxMirrorIdLength, *id));
    }
  }
  if (auto rsync = r.string("rsync_url", false)) entry.rsync_url = *rsync;
  if (const auto weight = j.find("weight"); weight == j.end()) {
    r.error("missing required key 'weight'");
  } else if (!weight->is_number_integer() || weight->get<int64_t>() < 0 ||
             weight->get<int64_t>() > kMaxMirrorWeight) {
    r.error(fmt::format("'weight' must be an integer between 0 and {} (got {})", kMaxMirrorWeight,
                        weight->dump()));
  } else {
    entry.weight = weight->get<uint32_t>();
  }
  if (auto email = r.string("email", false)) {
    if (email->find('@') == std::string::npos) {
      r.error(fmt::format("'email' is not an address: \"{}\"", *email));
    }
    entry.email = *email;
  }
  if (auto notes = r.string("notes", false)) entry.notes = *notes;
  if (auto country = r.string("country", false)) {
    entry.country = *country;
    if (!normalize_country(entry.country)) {
      r.error(
          fmt::format("'country' must be a two-letter ISO 3166-1 code such as \"DE\" (got "
                      "\"{}\")",
                      *country));
    }
  }
  if (const auto location = j.find("location"); location != j.end()) {
    if (location->is_array() && location->size() == 2 && (*location)[0].is_number() &&
        (*location)[1].is_number() &&
        valid_location((*location)[0].get<double>(), (*location)[1].get<double>())) {
      entry.location = zones::GeoPoint{(*location)[0].get<double>(), (*location)[1].get<double>()};
    } else {
      r.error(
          fmt::format("'location' must be [latitude, longitude] in degrees with |latitude| "
                      "<= 90 and |longitude| <= 180 (got {})",
                      location->dump()));
    }
  }
  if (const auto addresses = j.find("addresses"); addresses != j.end()) {
    if (!addresses->is_array() || addresses->empty()) {
      r.error("'addresses' must be a non-empty array of IPv4 and IPv6 addresses");
    } else {
      std::vector<zones::Address> parsed;
      for (const json& a : *addresses) {
        auto address = a.is_string() ? zones::Address::parse(a.get<std::string>()) : std::nullopt;
        if (!address) {
          r.error(fmt::format("'addresses' has an invalid IPv4 or IPv6 address {}", a.dump()));
          continue;
        }
        const bool twice = std::any_of(parsed.begin(), parsed.end(), [&](const zones::Address& p) {
          return p.text == address->text;
        });
        if (twice) {
          r.error(fmt::format("address {} is listed twice", address->text));
          continue;
        }
        parsed.push_back(std::move(*address));
      }
      entry.addresses = std::move(parsed);
    }
  }
  if (!r.ok()) return std::nullopt;
  return entry;
}

}  // namespace

std::optional<UrlPrefix> parse_url_prefix(std::string_view url) {
  UrlPrefix out;
  if (url.starts_with("https://")) {
    out.type = health::CheckType::https;
    out.port = 443;
    url.remove_prefix(8);
  } else if (url.starts_with("http://")) {
    url.remove_prefix(7);
  } else {
    return std::nullopt;
  }
  if (url.find_first_of("?#@") != std::string_view::npos) return std::nullopt;
  const size_t slash = url.find('/');
  std::string_view authority = url.substr(0, slash);
  if (slash != std::string_view::npos) out.path = std::string(url.substr(slash));
  if (const size_t colon = authority.find(':'); colon != std::string_view::npos) {
    const std::string_view port = authority.substr(colon + 1);
    unsigned value = 0;
    if (port.empty() || port.size() > 5) return std::nullopt;
    for (char c : port) {
      if (c < '0' || c > '9') return std::nullopt;
      value = value * 10 + static_cast<unsigned>(c - '0');
    }
    if (value == 0 || value > 65535) return std::nullopt;
    out.port = static_cast<uint16_t>(value);
    out.explicit_port = true;
    authority = authority.substr(0, colon);
  }
  if (!is_host_name(authority)) return std::nullopt;
  out.host = std::string(authority);
  return out;
}

std::optional<std::vector<MirrorsJsonEntry>> parse_mirrors_json(std::string_view text,
                                                                const std::string& path,
                                                                zones::Diagnostics& diags) {
  json root;
  try {
    root = json::parse(text);
  } catch (const json::parse_error& e) {
    // nlohmann says "[json.exception.parse_error.101] parse error at line 2,
    // column 8: syntax error while parsing value - …"; the position is printed
    // by the diagnostic, so only the detail is kept. byte is 1-based.
    std::string_view detail = e.what();
    if (const size_t at = detail.find("parse error"); at != std::string_view::npos) {
      if (const size_t colon = detail.find(": ", at); colon != std::string_view::npos) {
        detail.remove_prefix(colon + 2);
      }
    }
    diags.push_back({line_col(text, e.byte == 0 ? 0 : e.byte - 1, path),
                     fmt::format("invalid JSON: {}", detail)});
    return std::nullopt;
  } catch (const json::out_of_range& e) {
    // A number too large for a double ("1e400") is not a parse_error and
    // carries no position; it names the number, which is found in the text.
    // Uncaught, it ended the daemon on a reload (found by fuzzing).
    std::string_view detail = e.what();
    if (const size_t bracket = detail.find("] "); bracket != std::string_view::npos) {
      detail.remove_prefix(bracket + 2);
    }
    size_t at = 0;
    if (const size_t open = detail.find('\''), close = detail.rfind('\'');
        open != std::string_view::npos && close > open) {
      at = text.find(detail.substr(open + 1, close - open - 1));
      if (at == std::string_view::npos) at = 0;
    }
    diags.push_back({line_col(text, at, path), fmt::format("invalid JSON: {}", detail)});
    return std::nullopt;
  }
  const zones::SourcePos top{path, 1, 1};
  const auto mirrors = root.is_object() ? root.find("mirrors") : root.end();
  if (!root.is_object() || mirrors == root.end() || !mirrors->is_array()) {
    diags.push_back({top, "a mirrors.json must be an object with a \"mirrors\" array"});
    return std::nullopt;
  }
  const size_t first_new = diags.size();
  for (const auto& [key, value] : root.items()) {
    if (key != "mirrors") diags.push_back({top, fmt::format("unknown top-level key '{}'", key)});
  }
  const std::vector<size_t> positions = entry_positions(text);
  std::vector<MirrorsJsonEntry> entries;
  for (size_t i = 0; i < mirrors->size(); ++i) {
    const zones::SourcePos pos =
        i < positions.size() ? line_col(text, positions[i], path) : zones::SourcePos{path, 0, 0};
    auto entry = read_entry((*mirrors)[i], pos, i, diags);
    if (!entry) continue;
    if (!entry->notes.empty() && i < positions.size()) {
      const size_t end = i + 1 < positions.size() ? positions[i + 1] : text.size();
      entry->notes_pos = value_position(text, positions[i], end, "notes", path);
    }
    const auto first = std::find_if(entries.begin(), entries.end(),
                                    [&](const MirrorsJsonEntry& e) { return e.id == entry->id; });
    if (first != entries.end()) {
      diags.push_back(
          {pos, fmt::format("mirrors[{}] ({}): duplicate mirror '{}' (first at line {})", i,
                            entry->url_prefix, entry->id, first->pos.line)});
      continue;
    }
    entries.push_back(std::move(*entry));
  }
  if (diags.size() != first_new) return std::nullopt;
  return entries;
}

std::optional<std::vector<MirrorsJsonEntry>> load_mirrors_json(const std::string& path,
                                                               zones::Diagnostics& diags) {
  std::string text;
  bool missing = false;
  std::string error;
  if (!read_whole_file(path, text, missing, error)) {
    diags.push_back({zones::SourcePos{path, 0, 0},
                     missing ? "cannot open mirrors.json: No such file or directory"
                             : fmt::format("cannot read mirrors.json: {}", error)});
    return std::nullopt;
  }
  return parse_mirrors_json(text, path, diags);
}

}  // namespace mirrorpool::dnsd
