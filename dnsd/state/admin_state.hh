// The run-time changes an operator made with mirrorpoolctl (drains, weights,
// added and removed mirrors) and the first-seen time of every mirror,
// persisted as `<state_dir>/state.json`. Data and its file format only:
// applying it to the config is effective_config.hh, the history of changes is
// the journal, and SOA serials are serials.hh.
#pragma once

#include <cstdint>
#include <map>
#include <optional>
#include <set>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "dnsd/common/utc_time.hh"
#include "dnsd/config/config.hh"

namespace mirrorpool::dnsd {

// A mirror of a pool. pool is the pool name as text ("dl.pool.example.").
struct MirrorKey {
  std::string pool;
  std::string mirror;
  auto operator<=>(const MirrorKey&) const = default;
};

// What an operator changed about one mirror. An entry with drained == false
// and no weight changes nothing and may be erased.
struct MirrorOverride {
  bool drained = false;
  std::string note;  // the operator's note of the last drain/undrain
  std::string who;   // "uid 1000 (alice)"
  TimePoint when{};  // of the last drain/undrain
  std::optional<uint32_t> weight;

  bool operator==(const MirrorOverride&) const = default;
};

// A mirror added with `mirrorpoolctl add`.
struct AddedMirror {
  std::string pool;
  std::string id;
  std::vector<std::string> addresses;  // as given; validated when applied
  uint32_t weight = 1;
  // [pool.check] keys → values, e.g. {"port": 8080, "path": "/tails/"};
  // validated by parse_mirror_overrides exactly like a [[pool.mirror]] table.
  nlohmann::json check_overrides = nlohmann::json::object();
  // For export-mirrors-json; empty when not given (and in files written
  // before they existed).
  std::string url_prefix;
  std::string email;
  std::string who;
  TimePoint when{};

  bool operator==(const AddedMirror&) const = default;
};

struct AdminState {
  std::map<MirrorKey, MirrorOverride> mirrors;
  std::vector<AddedMirror> added;  // in the order they were added
  std::set<MirrorKey> removed;     // mirrors of the config file taken out
  // When the daemon first served each mirror: "new" for reliability weights.
  std::map<MirrorKey, TimePoint> first_seen;

  bool operator==(const AdminState&) const = default;
};

enum class LoadStatus {
  ok,       // read and verified
  missing,  // no state file yet: a first start
  corrupt,  // unreadable, not our format, truncated or checksum mismatch; see error
};

// "<state_dir>/state.json".
std::string admin_state_path(const std::string& state_dir);

// The file's text and back. The file is {"format": 1, "sha256": HEX,
// "state": {...}}, where HEX is the SHA-256 of the compact, key-sorted dump of
// "state": a flipped byte or a cut-off file never loads as valid state.
std::string format_admin_state(const AdminState& state);
LoadStatus parse_admin_state(std::string_view text, AdminState& state, std::string& error);

// Loads state_dir's state file into state (left empty unless ok). On corrupt,
// error says why, naming the file; the daemon then starts from config alone.
LoadStatus load_admin_state(const std::string& state_dir, AdminState& state, std::string& error);

// Replaces the state file atomically (write, fsync, rename, fsync dir). Only
// after true may a change be acknowledged.
bool save_admin_state(const std::string& state_dir, const AdminState& state, std::string& error);

// Records `now` as the first-seen time of every mirror of config not seen
// before. true when something was added (the caller then saves).
bool record_first_seen(AdminState& state, const Config& config, TimePoint now);

// Forgets the run-time removal of each mirror that config no longer defines
// and returns them. The operator finished that removal in the file; putting
// the mirror back in the file later means serving it again, not a removal
// that silently outlived it.
std::vector<MirrorKey> forget_removals(AdminState& state, const Config& config);

}  // namespace mirrorpool::dnsd
