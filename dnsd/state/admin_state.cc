// state.json: a versioned, checksummed JSON document, strictly validated on
// load so that anything unexpected is reported as corrupt rather than guessed.
#include "dnsd/state/admin_state.hh"

#include <fmt/core.h>

#include "dnsd/common/atomic_file.hh"
#include "dnsd/common/checksum.hh"

namespace mirrorpool::dnsd {
namespace {

using nlohmann::json;

constexpr int kFormatVersion = 1;

std::string canonical(const json& j) {
  return j.dump(-1, ' ', false, json::error_handler_t::replace);
}

json key_json(const MirrorKey& key) {
  return {{"pool", key.pool}, {"mirror", key.mirror}};
}

json to_json(const AdminState& s) {
  json mirrors = json::array();
  for (const auto& [key, o] : s.mirrors) {
    json j = key_json(key);
    j["drained"] = o.drained;
    j["note"] = o.note;
    j["who"] = o.who;
    j["when"] = format_utc(o.when);
    if (o.weight) j["weight"] = *o.weight;
    mirrors.push_back(std::move(j));
  }
  json added = json::array();
  for (const AddedMirror& a : s.added) {
    json j = {{"pool", a.pool},
              {"id", a.id},
              {"addresses", a.addresses},
              {"weight", a.weight},
              {"check", a.check_overrides},
              {"who", a.who},
              {"when", format_utc(a.when)}};
    if (!a.url_prefix.empty()) j["url_prefix"] = a.url_prefix;
    if (!a.email.empty()) j["email"] = a.email;
    added.push_back(std::move(j));
  }
  json removed = json::array();
  for (const MirrorKey& key : s.removed) removed.push_back(key_json(key));
  json first_seen = json::array();
  for (const auto& [key, when] : s.first_seen) {
    json j = key_json(key);
    j["when"] = format_utc(when);
    first_seen.push_back(std::move(j));
  }
  return {{"mirrors", mirrors}, {"added", added}, {"removed", removed}, {"first_seen", first_seen}};
}

// Thrown inside from_json for any shape the writer never produces.
struct Malformed {
  std::string what;
};

const json& member(const json& j, const char* key) {
  const auto it = j.find(key);
  if (it == j.end()) throw Malformed{fmt::format("missing \"{}\"", key)};
  return *it;
}

std::string text(const json& j, const char* key) {
  const json& v = member(j, key);
  if (!v.is_string()) throw Malformed{fmt::format("\"{}\" is not a string", key)};
  return v.get<std::string>();
}

uint32_t u32(const json& v, const char* what) {
  if (!v.is_number_unsigned() || v.get<uint64_t>() > UINT32_MAX) {
    throw Malformed{fmt::format("\"{}\" is not a 32-bit unsigned integer", what)};
  }
  return v.get<uint32_t>();
}

TimePoint time(const json& j, const char* key) {
  auto parsed = parse_utc(text(j, key));
  if (!parsed) throw Malformed{fmt::format("\"{}\" is not an RFC 3339 UTC time", key)};
  return *parsed;
}

const json& array(const json& j, const char* key) {
  const json& v = member(j, key);
  if (!v.is_array()) throw Malformed{fmt::format("\"{}\" is not an array", key)};
  return v;
}

MirrorKey key_of(const json& j) {
  return {text(j, "pool"), text(j, "mirror")};
}

AdminState from_json(const json& j) {
  if (!j.is_object()) throw Malformed{"\"state\" is not an object"};
  AdminState s;
  for (const json& m : array(j, "mirrors")) {
    MirrorOverride o;
    const json& drained = member(m, "drained");
    if (!drained.is_boolean()) throw Malformed{"\"drained\" is not a boolean"};
    o.drained = drained.get<bool>();
    o.note = text(m, "note");
    o.who = text(m, "who");
    o.when = time(m, "when");
    if (m.contains("weight")) o.weight = u32(m["weight"], "weight");
    s.mirrors.emplace(key_of(m), std::move(o));
  }
  for (const json& a : array(j, "added")) {
    AddedMirror added;
    added.pool = text(a, "pool");
    added.id = text(a, "id");
    for (const json& address : array(a, "addresses")) {
      if (!address.is_string()) throw Malformed{"an address is not a string"};
      added.addresses.push_back(address.get<std::string>());
    }
    added.weight = u32(member(a, "weight"), "weight");
    added.check_overrides = member(a, "check");
    if (!added.check_overrides.is_object()) throw Malformed{"\"check\" is not an object"};
    if (a.contains("url_prefix")) added.url_prefix = text(a, "url_prefix");
    if (a.contains("email")) added.email = text(a, "email");
    added.who = text(a, "who");
    added.when = time(a, "when");
    s.added.push_back(std::move(added));
  }
  for (const json& r : array(j, "removed")) s.removed.insert(key_of(r));
  for (const json& f : array(j, "first_seen")) s.first_seen.emplace(key_of(f), time(f, "when"));
  return s;
}

}  // namespace

std::string admin_state_path(const std::string& state_dir) {
  return state_dir + "/state.json";
}

std::string format_admin_state(const AdminState& state) {
  const json payload = to_json(state);
  // Ordered so that "format" comes first for a human reading the file.
  nlohmann::ordered_json file;
  file["format"] = kFormatVersion;
  file["sha256"] = sha256_hex(canonical(payload));
  file["state"] = payload;
  return file.dump(2, ' ', false, json::error_handler_t::replace) + "\n";
}

LoadStatus parse_admin_state(std::string_view text, AdminState& state, std::string& error) {
  state = AdminState{};
  const json file = json::parse(text, nullptr, false);
  if (file.is_discarded() || !file.is_object()) {
    error = "not valid JSON (truncated or corrupt)";
    return LoadStatus::corrupt;
  }
  const auto format = file.find("format");
  if (format == file.end() || !format->is_number_integer() || *format != kFormatVersion) {
    error =
        fmt::format("unknown format version (this mirrorpoold reads format {})", kFormatVersion);
    return LoadStatus::corrupt;
  }
  const auto checksum = file.find("sha256");
  const auto payload = file.find("state");
  if (checksum == file.end() || !checksum->is_string() || payload == file.end()) {
    error = "\"sha256\" or \"state\" is missing";
    return LoadStatus::corrupt;
  }
  if (sha256_hex(canonical(*payload)) != checksum->get<std::string>()) {
    error = "checksum mismatch (the file was changed or damaged after it was written)";
    return LoadStatus::corrupt;
  }
  try {
    state = from_json(*payload);
  } catch (const Malformed& e) {
    error = fmt::format("malformed state: {}", e.what);
    return LoadStatus::corrupt;
  }
  return LoadStatus::ok;
}

LoadStatus load_admin_state(const std::string& state_dir, AdminState& state, std::string& error) {
  state = AdminState{};
  const std::string path = admin_state_path(state_dir);
  std::string content;
  bool missing = false;
  if (!read_whole_file(path, content, missing, error)) {
    return missing ? LoadStatus::missing : LoadStatus::corrupt;
  }
  std::string why;
  const LoadStatus status = parse_admin_state(content, state, why);
  if (status != LoadStatus::ok) error = fmt::format("{}: {}", path, why);
  return status;
}

bool save_admin_state(const std::string& state_dir, const AdminState& state, std::string& error) {
  return write_file_atomically(admin_state_path(state_dir), format_admin_state(state), error);
}

bool record_first_seen(AdminState& state, const Config& config, TimePoint now) {
  bool added = false;
  for (const PoolConfig& pool : config.pools) {
    const std::string name = pool.def.name.to_text();
    for (const zones::MirrorDef& mirror : pool.def.mirrors) {
      added |= state.first_seen.emplace(MirrorKey{name, mirror.id}, now).second;
    }
  }
  return added;
}

std::vector<MirrorKey> forget_removals(AdminState& state, const Config& config) {
  std::set<MirrorKey> defined;
  for (const PoolConfig& pool : config.pools) {
    for (const zones::MirrorDef& mirror : pool.def.mirrors) {
      defined.insert({pool.def.name.to_text(), mirror.id});
    }
  }
  std::vector<MirrorKey> forgotten;
  std::erase_if(state.removed, [&](const MirrorKey& key) {
    if (defined.contains(key)) return false;
    forgotten.push_back(key);
    return true;
  });
  return forgotten;
}

}  // namespace mirrorpool::dnsd
