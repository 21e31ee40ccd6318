// Config + zone files → zones::Model, and the list of probe targets.
#include "dnsd/model_loader.hh"

#include <atomic>
#include <utility>

namespace mirrorpool::dnsd {

namespace {

std::atomic<uint64_t> last_zones_version{0};

}  // namespace

std::shared_ptr<const zones::Model> load_model(const Config& config, zones::Diagnostics& diags) {
  auto model = std::make_shared<zones::Model>();
  model->zones_version = ++last_zones_version;
  const size_t errors_before = diags.size();
  for (const ZoneConfig& zc : config.zones) {
    if (auto zone = zones::load_zone(zc.file, zc.origin, diags)) {
      model->zones.push_back(std::move(*zone));
    }
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
