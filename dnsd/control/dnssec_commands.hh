// The dnssec commands of mirrorpoolctl(8): `dnssec status [ZONE]`, `dnssec ds
// ZONE`, `dnssec rollover ZONE` and `dnssec ds-seen ZONE`. The keys and what
// is done to them are the daemon's (DnssecHooks, over server/'s SigningKeys);
// what the commands show and check is decided here, from those keys and the
// snapshot served. Main loop only.
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "dnsd/control/control_schema.hh"
#include "dnsd/dnssec/zone_key.hh"
#include "dnsd/snapshot/snapshot.hh"
#include "dnsd/snapshot/zone_signing.hh"
#include "zones/name.hh"

namespace mirrorpool::dnsd {

struct DnssecHooks {
  // What signs `zone` from now on (the snapshot served may lag it by one
  // publication); null when the zone is not signed here.
  std::function<std::shared_ptr<const ZoneSigning>(const zones::Name& zone)> signing;
  // Every key of a signed zone, retired ones included.
  std::function<std::vector<std::shared_ptr<const dnssec::ZoneKey>>(const zones::Name& zone)> keys;
  // SigningKeys::rollover and ds_seen at the present time, and the signing
  // they lead to published; false with `error` saying why not.
  std::function<bool(const zones::Name& zone, std::string& error)> rollover;
  std::function<bool(const zones::Name& zone, uint32_t max_ttl, std::string& error)> ds_seen;
};

// The reply (control_ok or control_error) to one of the dnssec commands,
// `served` being the snapshot served and `now` Unix seconds.
nlohmann::json dnssec_command(const ControlCall& call, const Snapshot& served,
                              const DnssecHooks& hooks, int64_t now);

// The state of `key` among `keys` (a zone's) at `now`: "active",
// "rolling in", "retiring", "removed", "published" or "not yet published",
// and the sentence that says it to an operator.
struct KeyState {
  std::string state;
  std::string text;
};
KeyState key_state(const dnssec::ZoneKey& key,
                   const std::vector<std::shared_ptr<const dnssec::ZoneKey>>& keys,
                   const std::string& zone, int64_t now);

// The largest TTL zone `zone` of `snapshot` answers with (its RRsets and
// its pools'): how long a cache may keep what an old key signed alone.
uint32_t zone_max_ttl(const Snapshot& snapshot, size_t zone);

// "pool.example. IN DS 12345 13 2 ABCD..." and "pool.example. IN DNSKEY 257
// 3 13 base64", the records to give the parent for `key`.
std::string ds_text(const zones::Name& zone, const dnssec::ZoneKey& key);
std::string dnskey_text(const zones::Name& zone, const dnssec::ZoneKey& key);

}  // namespace mirrorpool::dnsd
