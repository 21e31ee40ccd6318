#include "dnsd/dnssec/key_text.hh"

#include <algorithm>
#include <cctype>
#include <cstring>
#include <ctime>
#include <vector>

#include <fmt/core.h>

namespace mirrorpool::dnsd::dnssec::key_text {
namespace {

// ---- time as BIND writes it: YYYYMMDDHHMMSS in UTC ----

std::string bind_time(int64_t t) {
  const time_t tt = static_cast<time_t>(t);
  struct tm tm {};
  gmtime_r(&tt, &tm);
  char buf[32];
  strftime(buf, sizeof buf, "%Y%m%d%H%M%S", &tm);
  return buf;
}

// "Sat Dec  5 12:00:00 2026", the readable copy in the .key's comments.
std::string readable_time(int64_t t) {
  const time_t tt = static_cast<time_t>(t);
  struct tm tm {};
  gmtime_r(&tt, &tm);
  char buf[64];
  strftime(buf, sizeof buf, "%a %b %e %H:%M:%S %Y", &tm);
  return buf;
}

std::optional<int64_t> parse_bind_time(std::string_view text) {
  if (text.size() != 14 ||
      !std::all_of(text.begin(), text.end(), [](char c) { return c >= '0' && c <= '9'; })) {
    return std::nullopt;
  }
  auto num = [&](size_t at, size_t n) {
    int v = 0;
    for (size_t i = at; i < at + n; ++i) v = v * 10 + (text[i] - '0');
    return v;
  };
  struct tm tm {};
  tm.tm_year = num(0, 4) - 1900;
  tm.tm_mon = num(4, 2) - 1;
  tm.tm_mday = num(6, 2);
  tm.tm_hour = num(8, 2);
  tm.tm_min = num(10, 2);
  tm.tm_sec = num(12, 2);
  if (tm.tm_mon < 0 || tm.tm_mon > 11 || tm.tm_mday < 1 || tm.tm_mday > 31 || tm.tm_hour > 23 ||
      tm.tm_min > 59 || tm.tm_sec > 60) {
    return std::nullopt;
  }
  return static_cast<int64_t>(timegm(&tm));
}

// The timing fields in the order BIND writes them, with their names.
struct TimingField {
  std::string_view name;
  int64_t KeyTiming::*field;
};
constexpr TimingField kTimingFields[] = {{"Created", &KeyTiming::created},
                                         {"Publish", &KeyTiming::publish},
                                         {"Activate", &KeyTiming::activate},
                                         {"Inactive", &KeyTiming::inactive},
                                         {"Delete", &KeyTiming::remove}};

bool is_timing_name(std::string_view name) {
  return std::any_of(std::begin(kTimingFields), std::end(kTimingFields),
                     [&](const TimingField& f) { return f.name == name; });
}

// ---- text helpers ----

std::string_view trim(std::string_view s) {
  while (!s.empty() && (s.front() == ' ' || s.front() == '\t' || s.front() == '\r')) {
    s.remove_prefix(1);
  }
  while (!s.empty() && (s.back() == ' ' || s.back() == '\t' || s.back() == '\r')) {
    s.remove_suffix(1);
  }
  return s;
}

std::vector<std::string_view> lines_of(std::string_view text) {
  std::vector<std::string_view> lines;
  while (!text.empty()) {
    const size_t nl = text.find('\n');
    lines.push_back(text.substr(0, nl));
    if (nl == std::string_view::npos) break;
    text.remove_prefix(nl + 1);
  }
  return lines;
}

std::vector<std::string_view> words_of(std::string_view text) {
  std::vector<std::string_view> words;
  size_t i = 0;
  while (i < text.size()) {
    while (i < text.size() && (text[i] == ' ' || text[i] == '\t' || text[i] == '\r')) ++i;
    const size_t start = i;
    while (i < text.size() && text[i] != ' ' && text[i] != '\t' && text[i] != '\r') ++i;
    if (i > start) words.push_back(text.substr(start, i - start));
  }
  return words;
}

std::string private_timing_lines(const KeyTiming& timing) {
  std::string text;
  for (const TimingField& f : kTimingFields) {
    const int64_t t = timing.*f.field;
    if (t != 0) text += fmt::format("{}: {}\n", f.name, bind_time(t));
  }
  return text;
}

// The .key's comment lines of the timings that are set.
std::string timing_comments(const KeyTiming& timing) {
  std::string text;
  for (const TimingField& f : kTimingFields) {
    const int64_t t = timing.*f.field;
    if (t != 0) text += fmt::format("; {}: {} ({})\n", f.name, bind_time(t), readable_time(t));
  }
  return text;
}

}  // namespace

// ---- base64 (RFC 4648, padded; strict on reading) ----

constexpr char kBase64[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";

std::string base64_encode(std::string_view data) {
  std::string out;
  out.reserve((data.size() + 2) / 3 * 4);
  size_t i = 0;
  for (; i + 3 <= data.size(); i += 3) {
    const uint32_t v = static_cast<uint32_t>(static_cast<uint8_t>(data[i])) << 16 |
                       static_cast<uint32_t>(static_cast<uint8_t>(data[i + 1])) << 8 |
                       static_cast<uint8_t>(data[i + 2]);
    out += kBase64[v >> 18];
    out += kBase64[(v >> 12) & 63];
    out += kBase64[(v >> 6) & 63];
    out += kBase64[v & 63];
  }
  if (i < data.size()) {
    uint32_t v = static_cast<uint32_t>(static_cast<uint8_t>(data[i])) << 16;
    if (i + 1 < data.size()) v |= static_cast<uint32_t>(static_cast<uint8_t>(data[i + 1])) << 8;
    out += kBase64[v >> 18];
    out += kBase64[(v >> 12) & 63];
    out += i + 1 < data.size() ? kBase64[(v >> 6) & 63] : '=';
    out += '=';
  }
  return out;
}

std::optional<std::string> base64_decode(std::string_view text) {
  if (text.empty() || text.size() % 4 != 0) return std::nullopt;
  size_t padding = 0;
  while (padding < 2 && text[text.size() - 1 - padding] == '=') ++padding;
  std::string out;
  uint32_t acc = 0;
  int bits = 0;
  for (size_t i = 0; i < text.size() - padding; ++i) {
    const char* p = std::strchr(kBase64, text[i]);
    if (p == nullptr || text[i] == '\0') return std::nullopt;
    acc = (acc << 6) | static_cast<uint32_t>(p - kBase64);
    bits += 6;
    if (bits >= 8) {
      bits -= 8;
      out += static_cast<char>((acc >> bits) & 0xff);
    }
  }
  return out;
}

bool equal_nocase(std::string_view a, std::string_view b) {
  return a.size() == b.size() && std::equal(a.begin(), a.end(), b.begin(), [](char x, char y) {
           return std::tolower(static_cast<unsigned char>(x)) ==
                  std::tolower(static_cast<unsigned char>(y));
         });
}

std::optional<unsigned> parse_uint(std::string_view text, unsigned max) {
  if (text.empty() || text.size() > 10) return std::nullopt;
  uint64_t v = 0;
  for (char c : text) {
    if (c < '0' || c > '9') return std::nullopt;
    v = v * 10 + static_cast<unsigned>(c - '0');
  }
  if (v > max) return std::nullopt;
  return static_cast<unsigned>(v);
}

std::string_view bind_algorithm_name(unsigned algorithm) {
  switch (algorithm) {
    case 1:
      return "RSAMD5";
    case 3:
      return "DSA";
    case 5:
      return "RSASHA1";
    case 6:
      return "NSEC3DSA";
    case 7:
      return "NSEC3RSASHA1";
    case 8:
      return "RSASHA256";
    case 10:
      return "RSASHA512";
    case 12:
      return "ECCGOST";
    case 13:
      return "ECDSAP256SHA256";
    case 14:
      return "ECDSAP384SHA384";
    case 15:
      return "ED25519";
    case 16:
      return "ED448";
    default:
      return "unknown";
  }
}

// ---- the two files' text ----

std::string key_file_text(const zones::Name& origin, uint16_t flags, uint16_t tag,
                          Algorithm algorithm, std::string_view public_key,
                          const KeyTiming& timing) {
  std::string text =
      fmt::format("; This is a {} key, keyid {}, for {}\n",
                  (flags & 1) ? "key-signing" : "zone-signing", tag, origin.to_text());
  text += timing_comments(timing);
  text += fmt::format("{} IN DNSKEY {} 3 {} {}\n", origin.to_text(), flags,
                      static_cast<unsigned>(algorithm), base64_encode(public_key));
  return text;
}

std::string private_file_text(Algorithm algorithm, std::string_view priv, const KeyTiming& timing) {
  return fmt::format("Private-key-format: v1.3\nAlgorithm: {} ({})\nPrivateKey: {}\n",
                     static_cast<unsigned>(algorithm),
                     bind_algorithm_name(static_cast<unsigned>(algorithm)), base64_encode(priv)) +
         private_timing_lines(timing);
}

bool parse_private(std::string_view text, PrivateFile& out, std::string& why) {
  bool format = false, algorithm = false, key = false;
  for (std::string_view line : lines_of(text)) {
    line = trim(line);
    if (line.empty()) continue;
    const size_t colon = line.find(':');
    if (colon == std::string_view::npos) {
      why = fmt::format("line \"{}\" is not \"Field: value\"", line);
      return false;
    }
    const std::string_view name = trim(line.substr(0, colon));
    const std::string_view value = trim(line.substr(colon + 1));
    if (name == "Private-key-format") {
      if (!value.starts_with("v1.")) {
        why = fmt::format("Private-key-format {} is not one BIND writes (v1.2, v1.3)", value);
        return false;
      }
      format = true;
    } else if (name == "Algorithm") {
      const auto words = words_of(value);
      const auto number = words.empty() ? std::nullopt : parse_uint(words[0], 255);
      if (!number) {
        why = fmt::format("Algorithm \"{}\" is not a number", value);
        return false;
      }
      if (*number != 13 && *number != 15) {
        why = fmt::format(
            "algorithm {} ({}) is not supported: only 13 (ECDSAP256SHA256) and 15 (ED25519)",
            *number, bind_algorithm_name(*number));
        return false;
      }
      out.algorithm = static_cast<Algorithm>(*number);
      algorithm = true;
    } else if (name == "PrivateKey") {
      auto decoded = base64_decode(value);
      if (!decoded) {
        why = "PrivateKey is not valid base64";
        return false;
      }
      if (decoded->size() != kKeyBytes) {
        why = fmt::format("PrivateKey has {} bytes, not {}", decoded->size(), kKeyBytes);
        return false;
      }
      out.priv = std::move(*decoded);
      key = true;
    } else if (is_timing_name(name)) {
      // BIND 9.16+ may write "0" or nothing for an unset time; treat both as unset.
      if (value.empty() || value == "0") continue;
      const auto t = parse_bind_time(value);
      if (!t) {
        why = fmt::format("{} \"{}\" is not a time YYYYMMDDHHMMSS", name, value);
        return false;
      }
      for (const TimingField& f : kTimingFields) {
        if (f.name == name) out.timing.*f.field = *t;
      }
      out.has_timing = true;
    }
    // Other fields (BIND's SyncPublish, Revoke, Lifetime, ...) are kept but unused.
  }
  if (!format || !algorithm || !key) {
    why = fmt::format("no {} line", !format      ? "Private-key-format"
                                    : !algorithm ? "Algorithm"
                                                 : "PrivateKey");
    return false;
  }
  return true;
}

bool parse_key(std::string_view text, const zones::Name& origin, KeyFile& out, std::string& why) {
  // The records, each on one line: a record in parentheses may span several
  // (RFC 1035 5.1), and what follows a ';' is a comment.
  std::vector<std::string> records;
  std::string pending;
  int depth = 0;
  for (std::string_view line : lines_of(text)) {
    line = trim(line);
    if (depth == 0 && (line.empty() || line.front() == ';')) {
      // "; Created: 20261205120000 (Sat Dec  5 12:00:00 2026)"
      const auto words = line.empty() ? std::vector<std::string_view>{} : words_of(line.substr(1));
      if (words.size() >= 2 && words[0].ends_with(':')) {
        const std::string_view name = words[0].substr(0, words[0].size() - 1);
        if (is_timing_name(name)) {
          if (const auto t = parse_bind_time(words[1])) {
            for (const TimingField& f : kTimingFields) {
              if (f.name == name) out.timing.*f.field = *t;
            }
          }
        }
      }
      continue;
    }
    pending += ' ';
    for (char c : line.substr(0, line.find(';'))) {
      if (c == '(' || c == ')') {
        depth += c == '(' ? 1 : -1;
        c = ' ';
      }
      pending += c;
    }
    if (depth <= 0) {
      records.push_back(std::move(pending));
      pending.clear();
      depth = 0;
    }
  }
  if (depth > 0) {
    why = "a '(' is never closed";
    return false;
  }
  bool found = false;
  for (const std::string& record : records) {
    const std::vector<std::string_view> words = words_of(record);
    if (words.empty()) continue;
    if (found) {
      why = "more than one record (a .key holds one DNSKEY)";
      return false;
    }
    // OWNER [TTL] [CLASS] DNSKEY FLAGS PROTOCOL ALGORITHM KEY...
    const auto owner = zones::Name::from_text(words[0]);
    if (!owner || *owner != origin) {
      why = fmt::format("the DNSKEY's owner \"{}\" is not the zone {}", words[0], origin.to_text());
      return false;
    }
    size_t i = 1;
    for (int field = 0; field < 2 && i < words.size(); ++field) {
      if (equal_nocase(words[i], "IN") || parse_uint(words[i], 0x7fffffff)) ++i;
    }
    if (i >= words.size() || !equal_nocase(words[i], "DNSKEY")) {
      why = "no DNSKEY record";
      return false;
    }
    ++i;
    if (words.size() < i + 4) {
      why = "the DNSKEY record has fewer than 4 fields";
      return false;
    }
    const auto flags = parse_uint(words[i], 65535);
    const auto protocol = parse_uint(words[i + 1], 255);
    const auto algorithm = parse_uint(words[i + 2], 255);
    std::string key_text;
    for (size_t k = i + 3; k < words.size(); ++k) key_text += words[k];
    auto key = base64_decode(key_text);
    if (!flags || !protocol || !algorithm || !key) {
      why = "the DNSKEY record is not FLAGS PROTOCOL ALGORITHM BASE64";
      return false;
    }
    out.flags = static_cast<uint16_t>(*flags);
    out.protocol = *protocol;
    out.algorithm = *algorithm;
    out.public_key = std::move(*key);
    found = true;
  }
  if (!found) {
    why = "no DNSKEY record";
    return false;
  }
  return true;
}

std::string with_private_timing(std::string_view text, const KeyTiming& timing) {
  // Every line but the timing ones, then the new timing lines.
  std::string out;
  for (std::string_view line : lines_of(text)) {
    const size_t colon = line.find(':');
    if (colon != std::string_view::npos && is_timing_name(trim(line.substr(0, colon)))) continue;
    if (trim(line).empty()) continue;
    out += line;
    out += '\n';
  }
  return out + private_timing_lines(timing);
}

std::string with_key_timing(std::string_view text, const KeyTiming& timing) {
  // The new timing comments where the old ones were, before the record.
  std::string out;
  bool placed = false;
  for (std::string_view line : lines_of(text)) {
    const std::string_view t = trim(line);
    if (t.starts_with(';')) {
      const auto words = words_of(t.substr(1));
      if (!words.empty() && words[0].ends_with(':') &&
          is_timing_name(words[0].substr(0, words[0].size() - 1))) {
        continue;
      }
    } else if (!t.empty() && !placed) {
      out += timing_comments(timing);
      placed = true;
    }
    if (t.empty()) continue;
    out += line;
    out += '\n';
  }
  return out;
}

}  // namespace mirrorpool::dnsd::dnssec::key_text
