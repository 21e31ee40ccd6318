// Keys of the signed zones (signing_keys.hh).
#include "dnsd/server/signing_keys.hh"

#include <cstdlib>
#include <ctime>

#include "dnsd/common/log.hh"

namespace mirrorpool::dnsd {

namespace {

bool published(const dnssec::KeyTiming& t, int64_t now) {
  return (t.publish == 0 || t.publish <= now) && (t.remove == 0 || now < t.remove);
}

bool active(const dnssec::KeyTiming& t, int64_t now) {
  return (t.activate == 0 || t.activate <= now) && (t.inactive == 0 || now < t.inactive);
}

// Same keys in the same roles: the signing (and its cache) is kept.
bool same_roles(const ZoneSigning& a, const ZoneSigning& b) {
  return a.config.algorithm == b.config.algorithm && a.config.denial == b.config.denial &&
         a.config.signature_validity_s == b.config.signature_validity_s &&
         a.config.variants == b.config.variants && a.published == b.published &&
         a.signing == b.signing && a.announced == b.announced;
}

}  // namespace

bool SigningKeys::configure(const Config& config, int uid, int gid, std::string& error) {
  const int64_t now = std::time(nullptr);
  std::vector<ZoneKeys> zones;
  for (const ZoneConfig& zone : config.zones) {
    if (!zone.dnssec.enabled) continue;
    const dnssec::KeyFiles files(dnssec::key_dir(config.server.state_dir, zone.origin),
                                 zone.origin);
    ZoneKeys& z = zones.emplace_back();
    z.apex = zone.origin.wire();
    z.origin = zone.origin;
    z.dir = files.dir();
    z.uid = uid;
    z.gid = gid;
    z.config = zone.dnssec;
    if (!files.load(z.keys, error)) return false;
    if (z.keys.empty()) {
      dnssec::KeyTiming timing;
      timing.created = timing.publish = timing.activate = now;
      auto key = files.create(static_cast<dnssec::Algorithm>(zone.dnssec.algorithm), timing, uid,
                              gid, error);
      if (!key) return false;
      log(LogLevel::info, "zone {}: made DNSSEC key {} (algorithm {}, tag {})",
          zone.origin.to_text(), key->path(), static_cast<int>(key->algorithm()), key->tag());
      z.keys.push_back(std::move(key));
    }
  }
  corrupt_ = std::getenv("MIRRORPOOL_TEST_BAD_SIGNATURES") != nullptr;
  zones_ = std::move(zones);
  signings_ = build(now);
  return true;
}

bool SigningKeys::refresh(int64_t now) {
  auto next = build(now);
  if (next == signings_) return false;
  signings_ = std::move(next);
  return true;
}

std::shared_ptr<const ZoneSignings> SigningKeys::build(int64_t now) {
  if (zones_.empty()) return nullptr;
  auto out = std::make_shared<ZoneSignings>();
  bool changed = !signings_ || signings_->size() != zones_.size();
  for (const ZoneKeys& z : zones_) {
    auto s = std::make_shared<ZoneSigning>();
    s->apex = z.apex;
    s->config = z.config;
    s->corrupt_pool_signatures = corrupt_;
    for (const auto& key : z.keys) {
      if (published(key->timing(), now)) s->published.push_back(key);
      if (published(key->timing(), now) && active(key->timing(), now)) {
        s->signing.push_back(key);
        // The parent is told (CDS, CDNSKEY) of the keys that sign.
        if (key->flags() & 1) s->announced.push_back(key);
      }
    }
    if (signings_) {
      const auto before = signings_->find(z.apex);
      if (before != signings_->end() && same_roles(*before->second, *s)) {
        (*out)[z.apex] = before->second;
        continue;
      }
      // The counters go on across key changes.
      if (before != signings_->end()) s->stats = before->second->stats;
    }
    changed = true;
    s->generation = generation_ + 1;
    (*out)[z.apex] = std::move(s);
  }
  if (!changed) return signings_;
  ++generation_;
  return out;
}

bool SigningKeys::due(const Snapshot* current, int64_t now,
                      std::optional<std::shared_ptr<const ZoneSignings>>& signings) {
  if (!signings_) return false;
  if (refresh(now)) {
    signings = signings_;
    return true;
  }
  for (size_t z = 0; current != nullptr && z < current->zone_count(); ++z) {
    const ZoneSigning* signing = current->signing(z);
    if (signing != nullptr && !signatures_fresh(current->zone(z), *signing, now)) return true;
  }
  return false;
}

SigningKeys::ZoneKeys* SigningKeys::find(const zones::Name& zone, std::string& error) {
  for (ZoneKeys& z : zones_) {
    if (z.origin == zone) return &z;
  }
  error = "zone " + zone.to_text() + " is not signed here (no [[zone]] with dnssec = true)";
  return nullptr;
}

const std::vector<std::shared_ptr<const dnssec::ZoneKey>>* SigningKeys::keys(
    const zones::Name& zone) const {
  for (const ZoneKeys& z : zones_) {
    if (z.origin == zone) return &z.keys;
  }
  return nullptr;
}

bool SigningKeys::rollover(const zones::Name& zone, int64_t now, std::string& error) {
  ZoneKeys* z = find(zone, error);
  if (z == nullptr) return false;
  size_t live = 0;
  for (const auto& key : z->keys) {
    if (key->timing().inactive == 0 && key->timing().remove == 0) ++live;
  }
  if (live != 1) {
    error = "a rollover of " + zone.to_text() +
            " is under way: finish it (mirrorpoolctl dnssec ds-seen) before starting another";
    return false;
  }
  const dnssec::KeyFiles files(z->dir, z->origin);
  dnssec::KeyTiming timing;
  timing.created = timing.publish = timing.activate = now;
  auto key = files.create(static_cast<dnssec::Algorithm>(z->config.algorithm), timing, z->uid,
                          z->gid, error);
  if (!key) return false;
  log(LogLevel::info, "zone {}: rollover: new key {} (tag {}) published and signing",
      zone.to_text(), key->path(), key->tag());
  z->keys.push_back(std::move(key));
  refresh(now);
  return true;
}

bool SigningKeys::ds_seen(const zones::Name& zone, int64_t now, uint32_t max_ttl,
                          std::string& error) {
  ZoneKeys* z = find(zone, error);
  if (z == nullptr) return false;
  std::shared_ptr<const dnssec::ZoneKey> newest;
  for (const auto& key : z->keys) {
    if (key->timing().inactive != 0 || key->timing().remove != 0) continue;
    if (!newest || key->timing().created >= newest->timing().created) newest = key;
  }
  const dnssec::KeyFiles files(z->dir, z->origin);
  bool any = false;
  for (auto& key : z->keys) {
    if (key == newest || key->timing().inactive != 0 || key->timing().remove != 0) continue;
    // Caches may hold the parent's old DS set for its TTL, and data signed
    // by the old key alone (made before the new key signed) for max_ttl.
    const int64_t started = newest->timing().activate != 0 ? newest->timing().activate : now;
    const int64_t retire = std::max<int64_t>(now + z->config.parent_ds_ttl_s, started + max_ttl) +
                           z->config.propagation_delay_s;
    dnssec::KeyTiming timing = key->timing();
    timing.inactive = timing.remove = retire;
    auto updated = files.set_timing(*key, timing, error);
    if (!updated) return false;
    log(LogLevel::info, "zone {}: key {} (tag {}) retires at {}", zone.to_text(), key->path(),
        key->tag(), retire);
    key = std::move(updated);
    any = true;
  }
  if (!any) {
    error = "no rollover of " + zone.to_text() + " is under way (mirrorpoolctl dnssec rollover)";
    return false;
  }
  refresh(now);
  return true;
}

}  // namespace mirrorpool::dnsd
