// The primary's main-loop side (primary.hh).
#include "dnsd/primary/primary.hh"

#include "dnsd/common/log.hh"
#include "dnsd/wire/wire.hh"

namespace mirrorpool::dnsd {

Primary::Primary(uv_loop_t* loop) : notifier_(loop) {}

void Primary::configure(const Config& config) {
  if (!serials_) {
    serials_.emplace(config.server.state_dir + "/serials.json");
    std::string error;
    if (!serials_->load(error)) {
      log(LogLevel::error, "{}; serials restart from the zone files", error);
    }
  }
  history_.configure(config);
  zones_.clear();
  for (const ZoneConfig& zone : config.zones) {
    Zone& z = zones_[zone.origin.wire()];
    z.notify = zone.notify;
    z.transferable = !zone.allow_transfer.empty() || !zone.tsig.empty();
    if (auto it = config.tsig.find(zone.tsig); it != config.tsig.end()) {
      z.key = TsigKeyMaterial::from_config(it->second);
    }
  }
}

void Primary::prepare(Snapshot& snapshot) {
  std::map<std::string, uint32_t> before;
  const TransferState* state_before = history_.current();
  if (state_before != nullptr) {
    for (const ZoneTransfer& z : state_before->zones) before[z.apex] = z.current->serial;
  }
  std::vector<ZoneVersion> versions;
  for (size_t z = 0; z < snapshot.zone_count(); ++z) {
    const ZoneTransfer* was =
        state_before != nullptr ? state_before->find(snapshot.zone(z).apex) : nullptr;
    const auto cfg = zones_.find(snapshot.zone(z).apex);
    const bool transferable = cfg != zones_.end() && cfg->second.transferable;
    ZoneVersion version =
        zone_version(snapshot, z, was != nullptr ? was->current.get() : nullptr, transferable);
    const auto name = zones::Name::from_wire(snapshot.zone(z).apex);
    const uint32_t serial =
        serials_->next(name ? name->to_text() : "?", version.serial, content_digest(version));
    snapshot.set_serial(z, serial);
    version.serial = serial;
    set_version_soa(version, snapshot, z);
    versions.push_back(std::move(version));
  }
  // On disk before any secondary can see it: a restart must not go back.
  std::string error;
  if (!serials_->save(error)) log(LogLevel::error, "cannot save serials: {}", error);

  auto state = history_.advance(snapshot, std::move(versions));
  snapshot.set_transfers(state);
  for (const ZoneTransfer& zone : state->zones) {
    const auto was = before.find(zone.apex);
    if (was != before.end() && was->second == zone.current->serial) continue;
    if (was != before.end()) {
      log(LogLevel::info, "zone {} serial {} -> {}", zone.name, was->second, zone.current->serial);
    } else {
      log(LogLevel::info, "zone {} serial {}", zone.name, zone.current->serial);
    }
    const auto cfg = zones_.find(zone.apex);
    if (cfg == zones_.end() || cfg->second.notify.empty()) continue;
    announcements_.push_back({zone.name, zone.current->soa, cfg->second.notify, cfg->second.key});
  }
}

void Primary::announce() {
  for (const Announcement& a : announcements_) notifier_.notify(a.zone, a.soa, a.targets, a.key);
  announcements_.clear();
}

void Primary::close() {
  notifier_.close();
}

}  // namespace mirrorpool::dnsd
