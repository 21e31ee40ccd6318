// Config + zone files → zones::Model, and the list of probe targets.
#include "dnsd/model_loader.hh"

#include <atomic>
#include <utility>

#include "dnsd/log.hh"

namespace mirrorpool::dnsd {

namespace {

std::atomic<uint64_t> last_zones_version{0};

// A reload keeps the zones being served only when nothing they were compiled
// from has changed: the same zones in the same order with every file as it
// was, and the same pool names in the same order (the pools are compiled into
// the zones). The served zones no longer have their records (they were
// released once compiled), so this is all or nothing: after any change every
// zone file is read again.
bool can_keep(const Config& config, const zones::Model& previous) {
  if (previous.zones.size() != config.zones.size() ||
      previous.pools.size() != config.pools.size()) {
    return false;
  }
  for (size_t i = 0; i < config.zones.size(); ++i) {
    const zones::Zone& z = *previous.zones[i];
    if (z.origin != config.zones[i].origin || z.file != config.zones[i].file ||
        !z.files_unchanged()) {
      return false;
    }
  }
  for (size_t i = 0; i < config.pools.size(); ++i) {
    if (previous.pools[i].name != config.pools[i].def.name) return false;
  }
  return true;
}

}  // namespace

std::shared_ptr<const zones::Model> load_model(const Config& config, zones::Diagnostics& diags,
                                               const zones::Model* previous) {
  auto model = std::make_shared<zones::Model>();
  const size_t errors_before = diags.size();
  if (previous != nullptr && can_keep(config, *previous)) {
    for (const auto& zone : previous->zones) {
      log(LogLevel::info, "zone {}: {} unchanged, not read again", zone->origin.to_text(),
          zone->file);
    }
    model->zones = previous->zones;
    model->zones_version = previous->zones_version;
  } else {
    for (const ZoneConfig& zc : config.zones) {
      if (auto zone = zones::load_zone(zc.file, zc.origin, diags)) {
        model->zones.push_back(std::make_shared<const zones::Zone>(std::move(*zone)));
      }
    }
    model->zones_version = ++last_zones_version;
  }
  for (const PoolConfig& pc : config.pools) model->pools.push_back(pc.def);
  // Pool checks need every zone; skip them when a zone already failed so the
  // operator sees the root cause, not its echoes.
  if (diags.size() == errors_before) zones::validate_pools(model->zones, model->pools, diags);
  if (diags.size() != errors_before) return nullptr;
  return model;
}

std::shared_ptr<const zones::Model> with_pools(const zones::Model& loaded, const Config& config,
                                               zones::Diagnostics& diags) {
  auto model = std::make_shared<zones::Model>();
  model->zones = loaded.zones;
  model->zones_version = loaded.zones_version;
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
      // A disabled mirror is never answered, so probing it would only make noise.
      if (m.weight == 0) continue;
      for (const zones::Address& a : m.addresses) {
        targets.push_back(health::Target{{pool, m.id, a.text}, a.family, pc.mirror_checks[i]});
      }
    }
  }
  return targets;
}

}  // namespace mirrorpool::dnsd
