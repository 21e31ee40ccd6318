// Config + zone files → zones::Model, and the list of probe targets.
#include "dnsd/config/model_loader.hh"

#include <unistd.h>

#include <atomic>
#include <cerrno>
#include <cstring>
#include <set>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include <fmt/format.h>

#include "dnsd/common/log.hh"

namespace mirrorpool::dnsd {

namespace {

std::atomic<uint64_t> last_load_id{0};

// The pools inside each zone, by name and index: what a zone is encoded with
// besides its records.
using ZonePoolNames = std::vector<std::vector<std::pair<zones::Name, size_t>>>;

ZonePoolNames pool_names_by_zone(const std::vector<zones::Name>& origins,
                                 const std::vector<zones::PoolDef>& pools) {
  ZonePoolNames names(origins.size());
  const auto inside = zones::pools_by_zone(origins, pools);
  for (size_t z = 0; z < origins.size(); ++z) {
    for (const size_t p : inside[z]) names[z].emplace_back(pools[p].name, p);
  }
  return names;
}

// The served zone a reload keeps instead of reading `zc` again, or null. It
// must be the same file, unchanged, with the same pools inside it at the same
// places in the pool list (the encoded zone refers to them by place). The
// served zones no longer have their records (released once encoded), so any
// other zone is read again.
std::shared_ptr<const zones::Zone> kept_zone(
    const ZoneConfig& zc, const std::vector<std::pair<zones::Name, size_t>>& pools,
    const zones::Model& previous, const ZonePoolNames& previous_pools) {
  for (size_t z = 0; z < previous.zones.size(); ++z) {
    const zones::Zone& zone = *previous.zones[z];
    if (zone.origin != zc.origin) continue;
    if (zone.file != zc.file || zone.load_id == 0 || previous_pools[z] != pools ||
        !zone.files_unchanged()) {
      return nullptr;
    }
    return previous.zones[z];
  }
  return nullptr;
}

// Every ca_file a check names must be readable now: otherwise each probe
// of those mirrors would fail its TLS handshake with a message that points
// away from the config. Reported once per file, at the first pool or mirror
// whose check uses it.
void check_ca_files(const Config& config, zones::Diagnostics& diags) {
  std::set<std::string> seen;
  auto check = [&](const std::string& file, const zones::SourcePos& pos, std::string_view who) {
    if (file.empty() || !seen.insert(file).second) return;
    if (access(file.c_str(), R_OK) != 0) {
      diags.emplace_back(
          pos, fmt::format("{}: ca_file '{}' cannot be read: {}", who, file, std::strerror(errno)));
    }
  };
  for (const PoolConfig& pc : config.pools) {
    check(pc.check.ca_file, pc.def.pos, "pool " + pc.def.name.to_text());
    for (size_t i = 0; i < pc.mirror_checks.size() && i < pc.def.mirrors.size(); ++i) {
      check(pc.mirror_checks[i].ca_file, pc.def.mirrors[i].pos, "mirror " + pc.def.mirrors[i].id);
    }
  }
}

}  // namespace

std::shared_ptr<const zones::Model> load_model(const Config& config, zones::Diagnostics& diags,
                                               const zones::Model* previous) {
  auto model = std::make_shared<zones::Model>();
  const size_t errors_before = diags.size();
  for (const PoolConfig& pc : config.pools) model->pools.push_back(pc.def);
  std::vector<zones::Name> origins;
  for (const ZoneConfig& zc : config.zones) origins.push_back(zc.origin);
  const ZonePoolNames pools = pool_names_by_zone(origins, model->pools);
  ZonePoolNames previous_pools;
  if (previous != nullptr) {
    previous_pools = pool_names_by_zone(zones::origins(previous->zones), previous->pools);
  }
  for (size_t z = 0; z < config.zones.size(); ++z) {
    const ZoneConfig& zc = config.zones[z];
    if (previous != nullptr) {
      if (auto kept = kept_zone(zc, pools[z], *previous, previous_pools)) {
        log(LogLevel::info, "zone {}: {} unchanged, not read again", zc.origin.to_text(), zc.file);
        model->zones.push_back(std::move(kept));
        continue;
      }
    }
    if (auto zone = zones::load_zone(zc.file, zc.origin, diags)) {
      zone->load_id = ++last_load_id;
      model->zones.push_back(std::make_shared<const zones::Zone>(std::move(*zone)));
    }
  }
  // Pool checks need every zone; skip them when a zone already failed so the
  // operator sees the root cause, not its echoes.
  if (diags.size() == errors_before) zones::validate_pools(model->zones, model->pools, diags);
  check_ca_files(config, diags);
  if (diags.size() != errors_before) return nullptr;
  return model;
}

std::shared_ptr<const zones::Model> with_pools(const zones::Model& loaded, const Config& config,
                                               zones::Diagnostics& diags) {
  auto model = std::make_shared<zones::Model>();
  model->zones = loaded.zones;
  for (const PoolConfig& pc : config.pools) model->pools.push_back(pc.def);
  if (!zones::validate_pools(model->zones, model->pools, diags)) return nullptr;
  return model;
}

std::vector<health::Target> probe_targets(const Config& config) {
  std::vector<health::Target> targets;
  for (const PoolConfig& pc : config.pools) {
    const std::string pool = pc.def.name.to_text();
    for (size_t i = 0; i < pc.def.mirrors.size(); ++i) {
      const zones::MirrorDef& m = pc.def.mirrors[i];
      // A disabled (weight 0, "parked") mirror is never answered but still
      // probed, like a drained one: status then shows when it is fixed, and
      // raising its weight serves it at once instead of after its first probes.
      for (const zones::Address& a : m.addresses) {
        targets.push_back(health::Target{{pool, m.id, a.text}, a.family, pc.mirror_checks[i]});
      }
    }
  }
  return targets;
}

}  // namespace mirrorpool::dnsd
