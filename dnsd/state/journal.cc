// Journal lines: compact JSON with a "sha256" member over the rest of the
// line, appended with O_APPEND and made durable with fdatasync.
#include "dnsd/state/journal.hh"

#include <array>
#include <cerrno>
#include <cstring>
#include <utility>

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <fmt/core.h>
#include <nlohmann/json.hpp>

#include "dnsd/common/atomic_file.hh"
#include "dnsd/common/checksum.hh"

namespace mirrorpool::dnsd {
namespace {

using nlohmann::json;

constexpr std::array<std::pair<JournalKind, std::string_view>, 9> kKinds = {{
    {JournalKind::health, "health"},
    {JournalKind::drain, "drain"},
    {JournalKind::undrain, "undrain"},
    {JournalKind::set_weight, "set-weight"},
    {JournalKind::add, "add"},
    {JournalKind::remove, "remove"},
    {JournalKind::reload, "reload"},
    {JournalKind::start, "start"},
    {JournalKind::alert, "alert"},
}};

constexpr std::string_view kChecksumKey = "sha256";

// The checksummed payload: every field but the checksum, in nlohmann's
// canonical (sorted-key, compact) form, so that a reader recomputes it from
// the parsed line.
json payload(const JournalEntry& e) {
  json j = {
      {"time", format_utc(e.time)}, {"who", e.who},   {"kind", to_string(e.kind)}, {"pool", e.pool},
      {"mirror", e.mirror},         {"what", e.what}, {"reason", e.reason}};
  if (!e.address.empty()) j["address"] = e.address;
  return j;
}

// Compact, sorted keys. Invalid UTF-8 in a note is replaced rather than
// refused: the entry matters more than an exact copy of a mangled byte.
std::string canonical(const json& j) {
  return j.dump(-1, ' ', false, json::error_handler_t::replace);
}

// A crash can leave a last line without its newline; the next line must not
// be glued to it, or a good entry would be lost with the torn one.
bool end_with_newline(int fd) {
  struct stat st {};
  if (fstat(fd, &st) != 0) return false;
  if (st.st_size == 0) return true;
  char last = 0;
  if (pread(fd, &last, 1, st.st_size - 1) != 1) return false;
  return last == '\n' || write_all(fd, "\n");
}

}  // namespace

std::string_view to_string(JournalKind kind) {
  for (const auto& [k, text] : kKinds) {
    if (k == kind) return text;
  }
  return "unknown";
}

std::optional<JournalKind> parse_journal_kind(std::string_view text) {
  for (const auto& [k, name] : kKinds) {
    if (name == text) return k;
  }
  return std::nullopt;
}

std::string format_journal_line(const JournalEntry& entry) {
  json j = payload(entry);
  const std::string checksum = sha256_hex(canonical(j));
  j[kChecksumKey] = checksum;
  return canonical(j) + "\n";
}

std::optional<JournalEntry> parse_journal_line(std::string_view line, std::string& error) {
  if (!line.empty() && line.back() == '\n') line.remove_suffix(1);
  json j = json::parse(line, nullptr, false);
  if (j.is_discarded() || !j.is_object()) {
    error = "not a JSON object (torn or corrupt line)";
    return std::nullopt;
  }
  const auto text = [&](std::string_view key, bool required, std::string& out) {
    const auto it = j.find(key);
    if (it == j.end()) return !required;
    if (!it->is_string()) return false;
    out = it->get<std::string>();
    return true;
  };
  JournalEntry e;
  std::string time, kind, checksum;
  const bool fields_ok = text("time", true, time) && text("who", true, e.who) &&
                         text("kind", true, kind) && text("pool", true, e.pool) &&
                         text("mirror", true, e.mirror) && text("address", false, e.address) &&
                         text("what", true, e.what) && text("reason", true, e.reason) &&
                         text(kChecksumKey, true, checksum);
  if (!fields_ok) {
    error = "a field is missing or not a string";
    return std::nullopt;
  }
  j.erase(std::string(kChecksumKey));
  if (sha256_hex(canonical(j)) != checksum) {
    error = "checksum mismatch (corrupt line)";
    return std::nullopt;
  }
  auto parsed_time = parse_utc(time);
  auto parsed_kind = parse_journal_kind(kind);
  if (!parsed_time || !parsed_kind) {
    error =
        fmt::format("invalid {} \"{}\"", parsed_time ? "kind" : "time", parsed_time ? kind : time);
    return std::nullopt;
  }
  e.time = *parsed_time;
  e.kind = *parsed_kind;
  return e;
}

std::unique_ptr<Journal> Journal::open(const std::string& path, std::string& error) {
  const int fd = ::open(path.c_str(), O_RDWR | O_APPEND | O_CREAT | O_CLOEXEC, 0640);
  if (fd < 0) {
    error = fmt::format("{}: {}", path, std::strerror(errno));
    return nullptr;
  }
  if (!end_with_newline(fd) || fdatasync(fd) != 0) {
    error = fmt::format("{}: {}", path, std::strerror(errno));
    close(fd);
    return nullptr;
  }
  return std::unique_ptr<Journal>(new Journal(fd, path));
}

Journal::~Journal() {
  close(fd_);
}

bool Journal::append(const JournalEntry& entry, std::string& error) {
  const std::string line = format_journal_line(entry);
  std::lock_guard lock(mutex_);
  struct stat st {};
  if (fstat(fd_, &st) != 0) {
    error = fmt::format("{}: {}", path_, std::strerror(errno));
    return false;
  }
  if (torn_) {
    if (!end_with_newline(fd_)) {
      error = fmt::format("{}: {}", path_, std::strerror(errno));
      return false;
    }
    torn_ = false;
  }
  // One write() per line: with O_APPEND a line is never interleaved with
  // another writer's, and a crash can only cut off the end of the file.
  if (write_all(fd_, line) && fdatasync(fd_) == 0) {
    last_start_ = st.st_size;
    return true;
  }
  error = fmt::format("{}: {}", path_, std::strerror(errno));
  // All or nothing: a full disk can take part of the line. Cut it off, or
  // the next line would be glued to the fragment and lost with it.
  // Shrinking a file needs no space, so this does not fail for the same
  // reason; if it fails anyway, the next append starts on a fresh line.
  if (ftruncate(fd_, st.st_size) != 0 || fdatasync(fd_) != 0) torn_ = true;
  last_start_.reset();
  return false;
}

bool Journal::undo_last(std::string& error) {
  std::lock_guard lock(mutex_);
  if (!last_start_ || ftruncate(fd_, *last_start_) != 0 || fdatasync(fd_) != 0) {
    error = last_start_ ? fmt::format("{}: {}", path_, std::strerror(errno))
                        : fmt::format("{}: no line to take back", path_);
    return false;
  }
  last_start_.reset();
  return true;
}

bool Journal::read_all(const std::string& path, const JournalFilter& filter,
                       std::vector<JournalEntry>& entries, std::vector<std::string>& warnings,
                       std::string& error) {
  std::string content;
  bool missing = false;
  if (!read_whole_file(path, content, missing, error)) return missing;
  size_t line_number = 0;
  size_t start = 0;
  while (start < content.size()) {
    ++line_number;
    size_t end = content.find('\n', start);
    const bool torn = end == std::string::npos;
    if (torn) end = content.size();
    const std::string_view line(content.data() + start, end - start);
    start = end + 1;
    if (line.empty()) continue;
    std::string why;
    auto entry = parse_journal_line(line, why);
    if (!entry) {
      warnings.push_back(fmt::format("{}:{}: skipped: {}{}", path, line_number, why,
                                     torn ? " (last line, no newline: cut off by a crash?)" : ""));
      continue;
    }
    if (!filter.mirror.empty() && entry->mirror != filter.mirror) continue;
    if (filter.since && entry->time < *filter.since) continue;
    entries.push_back(std::move(*entry));
  }
  return true;
}

}  // namespace mirrorpool::dnsd
