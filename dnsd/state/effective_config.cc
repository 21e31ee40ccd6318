// Applying AdminState to a Config, pool by pool, in the order the header gives.
#include "dnsd/state/effective_config.hh"

#include <algorithm>
#include <map>
#include <set>

#include <fmt/format.h>

#include "dnsd/state/reliability.hh"

namespace mirrorpool::dnsd {
namespace {

const std::string kSource = "state.json";

void drop_removed(PoolConfig& pool, const std::string& name, const AdminState& state) {
  auto& mirrors = pool.def.mirrors;
  for (size_t i = mirrors.size(); i-- > 0;) {
    if (!state.removed.contains(MirrorKey{name, mirrors[i].id})) continue;
    mirrors.erase(mirrors.begin() + static_cast<std::ptrdiff_t>(i));
    pool.mirror_checks.erase(pool.mirror_checks.begin() + static_cast<std::ptrdiff_t>(i));
  }
}

void append_added(PoolConfig& pool, const std::string& name, const AddedMirror& added,
                  std::vector<std::string>& warnings) {
  zones::MirrorDef mirror;
  health::CheckSpec check;
  if (auto why = added_mirror_problem(pool, added,
                                      "its check overrides no longer validate:", mirror, check)) {
    warnings.push_back(fmt::format("{}: mirror '{}' added to pool '{}' by {} at {} is ignored: {}",
                                   kSource, added.id, name, added.who, format_utc(added.when),
                                   *why));
    return;
  }
  pool.def.mirrors.push_back(std::move(mirror));
  pool.mirror_checks.push_back(std::move(check));
}

TimePoint first_seen(const MirrorKey& key, const AdminState& state,
                     const std::vector<JournalEntry>& journal, TimePoint now) {
  if (auto it = state.first_seen.find(key); it != state.first_seen.end()) return it->second;
  TimePoint oldest = now;
  for (const JournalEntry& e : journal) {
    if (e.pool == key.pool && e.mirror == key.mirror) oldest = std::min(oldest, e.time);
  }
  return oldest;
}

}  // namespace

std::optional<std::string> added_mirror_problem(const PoolConfig& pool, const AddedMirror& added,
                                                std::string_view check_label,
                                                zones::MirrorDef& mirror,
                                                health::CheckSpec& check) {
  if (std::any_of(pool.def.mirrors.begin(), pool.def.mirrors.end(),
                  [&](const zones::MirrorDef& m) { return m.id == added.id; })) {
    return "the config file now defines a mirror with that id";
  }
  std::map<std::string, std::string> owner;  // address → mirror id
  for (const zones::MirrorDef& m : pool.def.mirrors) {
    for (const zones::Address& a : m.addresses) owner.emplace(a.text, m.id);
  }
  mirror = zones::MirrorDef{};
  mirror.id = added.id;
  mirror.weight = added.weight;
  mirror.url_prefix = added.url_prefix;
  mirror.email = added.email;
  for (const std::string& text : added.addresses) {
    auto address = zones::Address::parse(text);
    if (!address) return fmt::format("\"{}\" is not an IPv4 or IPv6 address", text);
    if (auto [it, inserted] = owner.emplace(address->text, added.id); !inserted) {
      return it->second == added.id ? fmt::format("address {} is given twice", address->text)
                                    : fmt::format("address {} already belongs to mirror '{}'",
                                                  address->text, it->second);
    }
    mirror.addresses.push_back(std::move(*address));
  }
  if (mirror.addresses.empty()) return std::string("it has no addresses");
  zones::Diagnostics diags;
  auto spec = parse_mirror_overrides(added.check_overrides, pool, added.id, kSource, diags);
  if (!spec) {
    std::string why(check_label);
    for (const zones::Diagnostic& d : diags) why += " " + d.message + ";";
    why.pop_back();
    return why;
  }
  check = std::move(*spec);
  return std::nullopt;
}

Config apply_admin(const Config& from_file, const AdminState& state,
                   const std::vector<JournalEntry>& journal, TimePoint now,
                   std::vector<std::string>& warnings) {
  Config config = from_file;
  std::set<MirrorKey> known;  // after removals and additions
  for (PoolConfig& pool : config.pools) {
    const std::string name = pool.def.name.to_text();
    drop_removed(pool, name, state);
    for (const AddedMirror& added : state.added) {
      if (added.pool == name) append_added(pool, name, added, warnings);
    }
    for (zones::MirrorDef& mirror : pool.def.mirrors) {
      const MirrorKey key{name, mirror.id};
      known.insert(key);
      // Weight 0 in the config disables a mirror; the policy does not revive it.
      if (pool.weight_policy == WeightPolicy::reliability && mirror.weight != 0) {
        mirror.weight =
            reliability_weight(failures_of(journal, name, mirror.id),
                               first_seen(key, state, journal, now), mirror.capacity, now);
      }
      if (auto it = state.mirrors.find(key); it != state.mirrors.end()) {
        if (it->second.weight) mirror.weight = *it->second.weight;
        mirror.drained = it->second.drained;
      }
    }
  }
  std::set<std::string> pools;
  for (const PoolConfig& pool : config.pools) pools.insert(pool.def.name.to_text());
  for (const AddedMirror& added : state.added) {
    if (!pools.contains(added.pool)) {
      warnings.push_back(
          fmt::format("{}: mirror '{}' added to pool '{}' is ignored: no such pool "
                      "in the config",
                      kSource, added.id, added.pool));
    }
  }
  for (const auto& [key, change] : state.mirrors) {
    if (known.contains(key)) continue;
    std::string what = change.drained ? "drain" : "";
    if (change.weight) {
      what += fmt::format("{}weight {}", what.empty() ? "" : " and ", *change.weight);
    }
    if (what.empty()) continue;
    warnings.push_back(fmt::format("{}: {} of mirror '{}' in pool '{}' is ignored: no such mirror",
                                   kSource, what, key.mirror, key.pool));
  }
  return config;
}

}  // namespace mirrorpool::dnsd
