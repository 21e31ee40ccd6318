// Unit tests of the journal: line format and checksum, durable appends, torn
// and corrupt lines skipped with a warning, filters; and the UTC time text.
#include <csignal>
#include <filesystem>
#include <fstream>
#include <string>
#include <vector>

#include <sys/resource.h>

#include <doctest/doctest.h>

#include "dnsd/state/journal.hh"
#include "temp_dir.hh"

namespace mirrorpool::dnsd {
namespace {

TimePoint at(std::string_view text) {
  auto t = parse_utc(text);
  REQUIRE(t);
  return *t;
}

JournalEntry health_down(std::string_view time, std::string mirror, std::string address) {
  return JournalEntry{
      at(time),          std::string(kWhoHealth), JournalKind::health,      "dl.pool.example.",
      std::move(mirror), std::move(address),      std::string(kHealthDown), "No route to host"};
}

JournalEntry drain(std::string_view time, std::string mirror) {
  return JournalEntry{
      at(time), "uid 0 (root)", JournalKind::drain,        "dl.pool.example.", std::move(mirror),
      "",       "drained",      "maintenance until Monday"};
}

void append_raw(const std::string& path, const std::string& text) {
  std::ofstream(path, std::ios::binary | std::ios::app) << text;
}

TEST_CASE("UTC times are RFC 3339 with seconds") {
  const TimePoint t = at("2026-05-21T14:03:07Z");
  CHECK(format_utc(t) == "2026-05-21T14:03:07Z");
  CHECK(format_utc(t + std::chrono::milliseconds(999)) == "2026-05-21T14:03:07Z");
  CHECK(parse_utc("2026-05-21") == at("2026-05-21T00:00:00Z"));
  CHECK(format_utc(TimePoint{}) == "1970-01-01T00:00:00Z");
  for (std::string_view bad :
       {"", "2026-05-21T14:03:07", "2026-05-21 14:03:07Z", "2026-02-30T00:00:00Z",
        "2026-05-21T24:00:00Z", "2026-05-21T14:03:07+02:00", "26-05-21", "2026-5-21"}) {
    INFO(bad);
    CHECK_FALSE(parse_utc(bad));
  }
}

// Found by control_fuzz: a year a nanosecond time_point cannot hold overflowed
// (undefined behaviour) instead of being refused.
TEST_CASE("UTC times outside system_clock's range are refused") {
  for (std::string_view bad : {"1013-11-22T04:00:00Z", "0000-01-01", "1677-12-31T23:59:59Z",
                               "2262-01-01T00:00:00Z", "9999-12-31T23:59:59Z"}) {
    INFO(bad);
    CHECK_FALSE(parse_utc(bad));
  }
  CHECK(format_utc(at("1678-01-01T00:00:00Z")) == "1678-01-01T00:00:00Z");
  CHECK(format_utc(at("2261-12-31T23:59:59Z")) == "2261-12-31T23:59:59Z");
}

TEST_CASE("journal kinds have the names of the history output") {
  for (auto [kind, text] :
       {std::pair{JournalKind::health, "health"}, std::pair{JournalKind::set_weight, "set-weight"},
        std::pair{JournalKind::undrain, "undrain"}, std::pair{JournalKind::start, "start"}}) {
    CHECK(to_string(kind) == text);
    CHECK(parse_journal_kind(text) == kind);
  }
  CHECK_FALSE(parse_journal_kind("set_weight"));
}

TEST_CASE("a journal line is one checksummed JSON object") {
  const JournalEntry e = health_down("2026-05-21T14:03:00Z", "mirror-1", "192.0.2.10");
  const std::string line = format_journal_line(e);
  CHECK(line.ends_with("}\n"));
  CHECK(line.find('\n') == line.size() - 1);
  CHECK(line.find("\"time\":\"2026-05-21T14:03:00Z\"") != std::string::npos);
  CHECK(line.find("\"what\":\"UP→DOWN\"") != std::string::npos);
  CHECK(line.find("\"sha256\":\"") != std::string::npos);
  std::string error;
  auto parsed = parse_journal_line(line, error);
  REQUIRE(parsed);
  CHECK(parsed->time == e.time);
  CHECK(parsed->who == "health");
  CHECK(parsed->kind == JournalKind::health);
  CHECK(parsed->pool == e.pool);
  CHECK(parsed->mirror == "mirror-1");
  CHECK(parsed->address == "192.0.2.10");
  CHECK(parsed->what == e.what);
  CHECK(parsed->reason == e.reason);

  // The address is optional.
  auto d = parse_journal_line(format_journal_line(drain("2026-05-21T15:00:00Z", "m")), error);
  REQUIRE(d);
  CHECK(d->address.empty());
  CHECK(d->reason == "maintenance until Monday");

  std::string flipped = line;
  flipped[flipped.find("No route") + 3] = 'R';
  CHECK_FALSE(parse_journal_line(flipped, error));
  CHECK(error.find("checksum mismatch") != std::string::npos);
  CHECK_FALSE(parse_journal_line(line.substr(0, line.size() / 2), error));
  CHECK(error.find("torn or corrupt") != std::string::npos);
}

TEST_CASE("appended entries are read back in order") {
  TempDir dir;
  const std::string path = dir.file("journal.log");
  std::string error;
  {
    auto journal = Journal::open(path, error);
    REQUIRE(journal);
    CHECK(journal->path() == path);
    CHECK(journal->append(health_down("2026-05-21T14:03:00Z", "mirror-1", "192.0.2.10"), error));
    CHECK(journal->append(drain("2026-05-21T14:10:00Z", "mirror-1"), error));
  }
  {
    // Re-opening appends after what is there.
    auto journal = Journal::open(path, error);
    REQUIRE(journal);
    CHECK(journal->append(drain("2026-05-22T09:00:00Z", "mirror-2"), error));
  }
  std::vector<JournalEntry> entries;
  std::vector<std::string> warnings;
  REQUIRE(Journal::read_all(path, {}, entries, warnings, error));
  CHECK(warnings.empty());
  REQUIRE(entries.size() == 3);
  CHECK(entries[0].kind == JournalKind::health);
  CHECK(entries[1].mirror == "mirror-1");
  CHECK(entries[2].mirror == "mirror-2");
}

TEST_CASE("a missing journal is empty; an unopenable one is an error") {
  TempDir dir;
  std::vector<JournalEntry> entries;
  std::vector<std::string> warnings;
  std::string error;
  CHECK(Journal::read_all(dir.file("journal.log"), {}, entries, warnings, error));
  CHECK(entries.empty());
  CHECK_FALSE(Journal::open(dir.file("no/such/dir/journal.log"), error));
  CHECK(error.find("No such file or directory") != std::string::npos);
}

TEST_CASE("a torn last line is skipped and reported, and later appends survive it") {
  TempDir dir;
  const std::string path = dir.file("journal.log");
  std::string error;
  {
    auto journal = Journal::open(path, error);
    REQUIRE(journal);
    REQUIRE(journal->append(health_down("2026-05-21T14:03:00Z", "mirror-1", "192.0.2.10"), error));
    REQUIRE(journal->append(drain("2026-05-21T14:10:00Z", "mirror-1"), error));
  }
  // A crash in the middle of the third write.
  const std::string third = format_journal_line(drain("2026-05-21T14:20:00Z", "mirror-2"));
  append_raw(path, third.substr(0, third.size() / 2));

  std::vector<JournalEntry> entries;
  std::vector<std::string> warnings;
  REQUIRE(Journal::read_all(path, {}, entries, warnings, error));
  CHECK(entries.size() == 2);
  REQUIRE(warnings.size() == 1);
  CHECK(warnings[0].starts_with(path + ":3: skipped: "));
  CHECK(warnings[0].find("cut off by a crash") != std::string::npos);

  // After the restart the torn line stays on its own line.
  {
    auto journal = Journal::open(path, error);
    REQUIRE(journal);
    REQUIRE(journal->append(drain("2026-05-21T15:00:00Z", "mirror-3"), error));
  }
  entries.clear();
  warnings.clear();
  REQUIRE(Journal::read_all(path, {}, entries, warnings, error));
  REQUIRE(entries.size() == 3);
  CHECK(entries[2].mirror == "mirror-3");
  REQUIRE(warnings.size() == 1);
  CHECK(warnings[0].starts_with(path + ":3: skipped: "));
  CHECK(warnings[0].find("cut off") == std::string::npos);
}

// A file size limit cuts a write short as a full disk does: the kernel
// takes what fits and fails the rest. SIGXFSZ is ignored, as the daemon does.
class FileSizeLimit {
 public:
  explicit FileSizeLimit(rlim_t bytes) {
    REQUIRE(getrlimit(RLIMIT_FSIZE, &saved_) == 0);
    old_handler_ = std::signal(SIGXFSZ, SIG_IGN);
    rlimit limit = saved_;
    limit.rlim_cur = bytes;
    REQUIRE(setrlimit(RLIMIT_FSIZE, &limit) == 0);
  }
  ~FileSizeLimit() {
    setrlimit(RLIMIT_FSIZE, &saved_);
    std::signal(SIGXFSZ, old_handler_);
  }
  FileSizeLimit(const FileSizeLimit&) = delete;
  FileSizeLimit& operator=(const FileSizeLimit&) = delete;

 private:
  rlimit saved_{};
  void (*old_handler_)(int) = nullptr;
};

TEST_CASE("an append cut short leaves nothing behind, and the next one is whole") {
  TempDir dir;
  const std::string path = dir.file("journal.log");
  std::string error;
  auto journal = Journal::open(path, error);
  REQUIRE(journal);
  REQUIRE(journal->append(drain("2026-05-21T14:10:00Z", "mirror-1"), error));
  const auto size = std::filesystem::file_size(path);
  {
    FileSizeLimit full(size + 20);  // room for 20 bytes of the next line
    CHECK_FALSE(journal->append(drain("2026-05-21T14:20:00Z", "mirror-2"), error));
    CHECK(error.find("File too large") != std::string::npos);
  }
  CHECK(std::filesystem::file_size(path) == size);
  // Space again: the next change is acknowledged and kept, on its own line.
  REQUIRE(journal->append(drain("2026-05-21T14:30:00Z", "mirror-3"), error));
  std::vector<JournalEntry> entries;
  std::vector<std::string> warnings;
  REQUIRE(Journal::read_all(path, {}, entries, warnings, error));
  CHECK(warnings.empty());
  REQUIRE(entries.size() == 2);
  CHECK(entries[1].mirror == "mirror-3");
}

TEST_CASE("undo_last takes back exactly the last appended line") {
  TempDir dir;
  const std::string path = dir.file("journal.log");
  std::string error;
  auto journal = Journal::open(path, error);
  REQUIRE(journal);
  CHECK_FALSE(journal->undo_last(error));  // nothing appended yet
  REQUIRE(journal->append(drain("2026-05-21T14:10:00Z", "mirror-1"), error));
  REQUIRE(journal->append(drain("2026-05-21T14:20:00Z", "mirror-2"), error));
  CHECK(journal->undo_last(error));
  CHECK_FALSE(journal->undo_last(error));  // only the last one
  REQUIRE(journal->append(drain("2026-05-21T14:30:00Z", "mirror-3"), error));
  std::vector<JournalEntry> entries;
  std::vector<std::string> warnings;
  REQUIRE(Journal::read_all(path, {}, entries, warnings, error));
  CHECK(warnings.empty());
  REQUIRE(entries.size() == 2);
  CHECK(entries[0].mirror == "mirror-1");
  CHECK(entries[1].mirror == "mirror-3");
}

TEST_CASE("a corrupt line in the middle is skipped, the rest kept") {
  TempDir dir;
  const std::string path = dir.file("journal.log");
  std::string line = format_journal_line(drain("2026-05-21T14:10:00Z", "mirror-1"));
  line[line.find("maintenance")] = 'M';
  append_raw(path, format_journal_line(drain("2026-05-21T14:00:00Z", "mirror-0")) + line +
                       format_journal_line(drain("2026-05-21T14:20:00Z", "mirror-2")));
  std::vector<JournalEntry> entries;
  std::vector<std::string> warnings;
  std::string error;
  REQUIRE(Journal::read_all(path, {}, entries, warnings, error));
  REQUIRE(entries.size() == 2);
  CHECK(entries[0].mirror == "mirror-0");
  CHECK(entries[1].mirror == "mirror-2");
  REQUIRE(warnings.size() == 1);
  CHECK(warnings[0] == path + ":2: skipped: checksum mismatch (corrupt line)");
}

TEST_CASE("read_all filters by mirror and time") {
  TempDir dir;
  const std::string path = dir.file("journal.log");
  std::string error;
  auto journal = Journal::open(path, error);
  REQUIRE(journal);
  REQUIRE(journal->append(drain("2026-05-01T00:00:00Z", "mirror-1"), error));
  REQUIRE(journal->append(drain("2026-05-02T00:00:00Z", "mirror-2"), error));
  REQUIRE(journal->append(drain("2026-05-03T00:00:00Z", "mirror-1"), error));
  std::vector<JournalEntry> entries;
  std::vector<std::string> warnings;
  REQUIRE(Journal::read_all(path, {"mirror-1", std::nullopt}, entries, warnings, error));
  CHECK(entries.size() == 2);
  entries.clear();
  REQUIRE(Journal::read_all(path, {"", at("2026-05-02")}, entries, warnings, error));
  REQUIRE(entries.size() == 2);
  CHECK(entries[0].mirror == "mirror-2");
  entries.clear();
  REQUIRE(Journal::read_all(path, {"mirror-1", at("2026-05-02")}, entries, warnings, error));
  REQUIRE(entries.size() == 1);
  CHECK(entries[0].time == at("2026-05-03"));
}

}  // namespace
}  // namespace mirrorpool::dnsd
