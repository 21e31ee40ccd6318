// The hand-kept failure record in a mirror's notes, as a Tails-style
// mirrors.json writes it ("2026-10-02: expired TLS certificate; 2026-07-14: No
// version available."): read so that those failures reach the journal and the
// removal-candidate rule (mirrorpool.toml(5), NOTES). Pure text; what is done
// with the result is the control room's business (Operations::import_notes).
#pragma once

#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "dnsd/common/utc_time.hh"

namespace mirrorpool::dnsd {

// "2026-05-21: No route to host": the mirror failed on that day.
struct NoteFailure {
  TimePoint day{};  // its midnight UTC
  std::string reason;
};

struct MirrorNotes {
  std::vector<NoteFailure> failures;  // in the order written
  std::optional<TimePoint> added;     // "added 2024-03-02": when it joined the pool
  std::vector<std::string> unread;    // items that are neither, trimmed, as written
};

// Notes are items separated by ';', each trimmed of spaces. An item is
//   YYYY-MM-DD: REASON   a failure on that day (REASON without a final '.'),
//   added YYYY-MM-DD     when the mirror joined the pool,
// and anything else is unread: still kept and shown as the notes' text, but
// not imported. Empty items are skipped.
MirrorNotes read_mirror_notes(std::string_view notes);

}  // namespace mirrorpool::dnsd
