// The append-only journal `<state_dir>/journal.log`: health transitions and
// operator actions, one JSON object per line, each line with its own checksum.
// This is the history `mirrorpoolctl history` shows and the failure record the
// reliability weights are computed from. It is not the run-time state (that is
// admin_state.hh); nothing is ever rewritten or removed here.
#pragma once

#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include <sys/types.h>

#include "dnsd/common/utc_time.hh"

namespace mirrorpool::dnsd {

enum class JournalKind { health, drain, undrain, set_weight, add, remove, reload, start, alert };

// "health", "drain", "undrain", "set-weight", "add", "remove", "reload", "start",
// "alert" (a message sent by an [[alert]]).
std::string_view to_string(JournalKind kind);
std::optional<JournalKind> parse_journal_kind(std::string_view text);

// The `what` of a health entry for an address going down and coming back.
// Reliability counts kHealthDown entries as failures, so the prober's side
// must write exactly these.
inline constexpr std::string_view kHealthDown = "UP→DOWN";
inline constexpr std::string_view kHealthUp = "DOWN→UP";

// The `who` of entries the daemon writes on its own.
inline constexpr std::string_view kWhoHealth = "health";
// The `who` of failures imported from a mirror's notes (mirror_notes.hh):
// health entries with what == kHealthDown, dated at midnight UTC of their
// day, without an address.
inline constexpr std::string_view kWhoNotes = "notes";

struct JournalEntry {
  TimePoint time{};
  std::string who;  // "uid 0 (root)", or kWhoHealth
  JournalKind kind = JournalKind::health;
  std::string pool;     // pool name as text ("dl.pool.example."); empty for reload/start
  std::string mirror;   // mirror id; empty for reload/start
  std::string address;  // one address, for health entries; empty otherwise
  std::string what;     // "UP→DOWN", "weight 5→2", "drained", ...
  std::string reason;   // probe failure reason, or the operator's note
};

// One line as written (with its trailing newline), and back. parse returns
// nullopt with `error` set for a line that is not JSON, lacks a field, or
// whose checksum does not match.
std::string format_journal_line(const JournalEntry& entry);
std::optional<JournalEntry> parse_journal_line(std::string_view line, std::string& error);

// Which entries read_all keeps: those naming `mirror` (empty = all) at or
// after `since` (nullopt = all).
struct JournalFilter {
  std::string mirror;
  std::optional<TimePoint> since;
};

// The journal opened for appending. append may be called from any thread
// (calls are serialized inside); the journal lives as long as the daemon.
class Journal {
 public:
  // Opens (creating, mode 0640) path for appending. nullptr with `error` set
  // when it cannot be opened.
  static std::unique_ptr<Journal> open(const std::string& path, std::string& error);

  ~Journal();
  Journal(const Journal&) = delete;
  Journal& operator=(const Journal&) = delete;

  // Writes one line and fdatasyncs before returning: once append returns
  // true, the entry survives a crash, so a change may be acknowledged. On
  // false (`error` set) the caller must not acknowledge the change, and no
  // part of the line is left in the file (a full disk can cut a write short).
  bool append(const JournalEntry& entry, std::string& error);

  // Takes back the line of the last successful append, when the change it
  // records could not be made after all (its state file was not saved).
  bool undo_last(std::string& error);

  const std::string& path() const { return path_; }

  // Reads every entry of the journal at path that passes the filter, in file
  // order. Corrupt lines are skipped with a warning naming the line number (a
  // torn last line after a crash is normal and is reported like any other). A
  // missing file is an empty journal. false with `error` set only when the
  // file exists but cannot be read.
  static bool read_all(const std::string& path, const JournalFilter& filter,
                       std::vector<JournalEntry>& entries, std::vector<std::string>& warnings,
                       std::string& error);

 private:
  Journal(int fd, std::string path) : fd_(fd), path_(std::move(path)) {}

  std::mutex mutex_;
  int fd_;
  std::string path_;
  std::optional<off_t> last_start_;  // where the last appended line begins
  bool torn_ = false;                // a failed append could not be cut off
};

}  // namespace mirrorpool::dnsd
