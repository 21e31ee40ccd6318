// DNSSEC key changes of the running daemon (dnssec_control.hh).
#include "dnsd/server/dnssec_control.hh"

#include <ctime>
#include <string>
#include <utility>

namespace mirrorpool::dnsd {

DnssecHooks dnssec_hooks(SigningKeys& keys, std::function<void(Change)> serve) {
  DnssecHooks hooks;
  hooks.signing = [&keys](const zones::Name& zone) -> std::shared_ptr<const ZoneSigning> {
    const auto& all = keys.signings();
    if (!all) return nullptr;
    const auto it = all->find(zone.wire());
    return it != all->end() ? it->second : nullptr;
  };
  hooks.keys = [&keys](const zones::Name& zone) {
    const auto* list = keys.keys(zone);
    return list != nullptr ? *list : std::vector<std::shared_ptr<const dnssec::ZoneKey>>{};
  };
  // Published at once: the new DNSKEY RRset and signatures are served
  // before the operator's next command.
  const auto publish = [&keys, serve] {
    Change change;
    change.signings = keys.signings();
    serve(std::move(change));
  };
  hooks.rollover = [&keys, publish](const zones::Name& zone, std::string& error) {
    if (!keys.rollover(zone, std::time(nullptr), error)) return false;
    publish();
    return true;
  };
  hooks.ds_seen = [&keys, publish](const zones::Name& zone, uint32_t max_ttl, std::string& error) {
    if (!keys.ds_seen(zone, std::time(nullptr), max_ttl, error)) return false;
    publish();
    return true;
  };
  return hooks;
}

}  // namespace mirrorpool::dnsd
