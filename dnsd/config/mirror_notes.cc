#include "dnsd/config/mirror_notes.hh"

#include <algorithm>

namespace mirrorpool::dnsd {
namespace {

std::string_view trim(std::string_view text) {
  const auto space = [](char c) { return c == ' ' || c == '\t' || c == '\n' || c == '\r'; };
  while (!text.empty() && space(text.front())) text.remove_prefix(1);
  while (!text.empty() && space(text.back())) text.remove_suffix(1);
  return text;
}

// Exactly "YYYY-MM-DD", a real calendar day: parse_utc also takes full
// timestamps, which a hand-kept note never has.
std::optional<TimePoint> day(std::string_view text) {
  if (text.size() != 10 || text[4] != '-' || text[7] != '-') return std::nullopt;
  return parse_utc(text);
}

}  // namespace

MirrorNotes read_mirror_notes(std::string_view notes) {
  MirrorNotes out;
  while (!notes.empty()) {
    const size_t semicolon = notes.find(';');
    const std::string_view item = trim(notes.substr(0, semicolon));
    notes = semicolon == std::string_view::npos ? std::string_view{} : notes.substr(semicolon + 1);
    if (item.empty()) continue;
    if (item.starts_with("added ")) {
      if (auto when = day(trim(item.substr(6)))) {
        out.added = out.added ? std::min(*out.added, *when) : *when;
        continue;
      }
    } else if (item.size() > 11 && item[10] == ':') {
      std::string_view reason = trim(item.substr(11));
      if (reason.ends_with('.')) reason = trim(reason.substr(0, reason.size() - 1));
      if (auto when = day(item.substr(0, 10)); when && !reason.empty()) {
        out.failures.push_back({*when, std::string(reason)});
        continue;
      }
    }
    out.unread.emplace_back(item);
  }
  return out;
}

}  // namespace mirrorpool::dnsd
