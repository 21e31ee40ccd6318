// The keys every signed zone ([[zone]] dnssec = true) is signed with: read
// from state_dir/keys/ORIGIN/ at start and reload, made there when a zone has
// none, and turned into the ZoneSignings the publisher signs snapshots with.
// Which key is published and which signs follows each key's RFC 7583
// timings, checked again by refresh() as time passes. Main loop only.
#pragma once

#include <cstdint>
#include <memory>
#include <optional>
#include <string>

#include "dnsd/config/config.hh"
#include "dnsd/snapshot/snapshot.hh"
#include "dnsd/snapshot/zone_signing.hh"

namespace mirrorpool::dnsd {

class SigningKeys {
 public:
  // How often the daemon asks due(): a rollover step or a renewal happens
  // within this of being due.
  static constexpr uint64_t kCheckMs = 10000;

  // Reads (or makes, owned by uid:gid unless -1) the keys of every signed
  // zone of `config`. On an error nothing changes and `error` names the file.
  bool configure(const Config& config, int uid, int gid, std::string& error);

  // The signing of every signed zone; null when none is signed.
  const std::shared_ptr<const ZoneSignings>& signings() const { return signings_; }

  // Takes the keys' timings at `now` into account: true when the keys
  // published or signing changed (signings() is then new).
  bool refresh(int64_t now);

  // Whether a snapshot must be built now: a key's timing was reached
  // (`signings` is then set to the new signings()), or a zone of `current`
  // has signatures past half their validity.
  bool due(const Snapshot* current, int64_t now,
           std::optional<std::shared_ptr<const ZoneSignings>>& signings);

  // `mirrorpoolctl dnssec rollover ZONE`, a double-signature rollover of the
  // combined key (RFC 7583 3.3.4 applied to a CSK): a new key is made,
  // published and signing at once beside the old one, and both are in CDS
  // and CDNSKEY. The old key signs on until ds_seen says the parent has the
  // new key's DS; then it is retired once every cache can have dropped what
  // it signed alone. False (and why) for a zone not signed here or with a
  // rollover under way.
  bool rollover(const zones::Name& zone, int64_t now, std::string& error);

  // `mirrorpoolctl dnssec ds-seen ZONE`: the parent now publishes the DS of
  // the newest key. The older keys stop signing and leave the DNSKEY RRset
  // at max(now + parent_ds_ttl, start + max_ttl) + propagation_delay, where
  // max_ttl is the largest TTL the zone answers with (`max_ttl`).
  bool ds_seen(const zones::Name& zone, int64_t now, uint32_t max_ttl, std::string& error);

  // Every key of a signed zone with its timings, for `dnssec status`; null
  // when the zone is not signed here.
  const std::vector<std::shared_ptr<const dnssec::ZoneKey>>* keys(const zones::Name& zone) const;

 private:
  struct ZoneKeys {
    std::string apex;  // canonical wire
    zones::Name origin;
    std::string dir;  // of its key files
    int uid = -1;     // their owner
    int gid = -1;
    DnssecConfig config;
    std::vector<std::shared_ptr<const dnssec::ZoneKey>> keys;
  };
  std::shared_ptr<const ZoneSignings> build(int64_t now);
  ZoneKeys* find(const zones::Name& zone, std::string& error);

  std::vector<ZoneKeys> zones_;
  std::shared_ptr<const ZoneSignings> signings_;
  uint64_t generation_ = 0;
  bool corrupt_ = false;
};

}  // namespace mirrorpool::dnsd
