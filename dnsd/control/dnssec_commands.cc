// The dnssec commands (dnssec_commands.hh).
#include "dnsd/control/dnssec_commands.hh"

#include <algorithm>
#include <chrono>
#include <optional>

#include <fmt/core.h>

#include "dnsd/common/duration.hh"
#include "dnsd/common/utc_time.hh"
#include "dnsd/control/control_server.hh"
#include "dnsd/dnssec/key_text.hh"

namespace mirrorpool::dnsd {

namespace {

using nlohmann::json;
using Keys = std::vector<std::shared_ptr<const dnssec::ZoneKey>>;

std::string utc(int64_t seconds) {
  return format_utc(std::chrono::system_clock::from_time_t(static_cast<time_t>(seconds)));
}

json utc_or_null(int64_t seconds) {
  return seconds != 0 ? json(utc(seconds)) : json();
}

// A key neither retiring nor retired: the one key of a zone at rest, two
// while a rollover waits for the parent's DS.
bool live(const dnssec::ZoneKey& key) {
  return key.timing().inactive == 0 && key.timing().remove == 0;
}

// The key a rollover brought in: the newest live one, as SigningKeys::ds_seen
// picks it.
const dnssec::ZoneKey* newest_live(const Keys& keys) {
  const dnssec::ZoneKey* newest = nullptr;
  for (const auto& key : keys) {
    if (!live(*key)) continue;
    if (newest == nullptr || key->timing().created >= newest->timing().created) newest = key.get();
  }
  return newest;
}

bool listed(const Keys& list, const dnssec::ZoneKey& key) {
  return std::any_of(list.begin(), list.end(),
                     [&](const auto& k) { return k->path() == key.path(); });
}

std::string hex(std::string_view bytes) {
  std::string out;
  for (const unsigned char c : bytes) out += fmt::format("{:02X}", c);
  return out;
}

// The served zone named `zone`, or nullopt.
std::optional<size_t> find_zone(const Snapshot& snapshot, const zones::Name& zone) {
  for (size_t z = 0; z < snapshot.zone_count(); ++z) {
    if (snapshot.zone(z).apex == zone.wire()) return z;
  }
  return std::nullopt;
}

// The signed zone `text` names, or nullopt with `error` set.
struct SignedZone {
  zones::Name name;
  size_t index = 0;
  std::shared_ptr<const ZoneSigning> signing;
};
std::optional<SignedZone> signed_zone(const std::string& text, const Snapshot& served,
                                      const DnssecHooks& hooks, std::string& error) {
  // The schema has checked the name.
  const auto name = zones::Name::from_text(text);
  const auto index = name ? find_zone(served, *name) : std::nullopt;
  if (!index) {
    error = fmt::format("no zone {} is served here (no [[zone]] with that origin)", text);
    return std::nullopt;
  }
  auto signing = hooks.signing ? hooks.signing(*name) : nullptr;
  if (!signing) {
    error = fmt::format(
        "zone {} is not signed: set dnssec = true in its [[zone]] (mirrorpool.toml(5)) and reload",
        text);
    return std::nullopt;
  }
  return SignedZone{*name, *index, std::move(signing)};
}

json key_json(const dnssec::ZoneKey& key, const Keys& keys, const ZoneSigning& signing,
              const std::string& zone, int64_t now) {
  const dnssec::KeyTiming& t = key.timing();
  const KeyState state = key_state(key, keys, zone, now);
  return {{"tag", key.tag()},
          {"algorithm", std::string(dnssec::algorithm_text(key.algorithm()))},
          {"algorithm_number", static_cast<int>(key.algorithm())},
          {"flags", key.flags()},
          {"files", {key.path() + ".key", key.path() + ".private"}},
          {"created", utc_or_null(t.created)},
          {"publish", utc_or_null(t.publish)},
          {"activate", utc_or_null(t.activate)},
          {"inactive", utc_or_null(t.inactive)},
          {"delete", utc_or_null(t.remove)},
          {"published", listed(signing.published, key)},
          {"signing", listed(signing.signing, key)},
          {"in_cds", listed(signing.announced, key)},
          {"state", state.state},
          {"state_text", state.text}};
}

json zone_status(const SignedZone& z, const Snapshot& served, const DnssecHooks& hooks,
                 int64_t now) {
  const std::string zone = z.name.to_text();
  const ZoneSigning& signing = *z.signing;
  const DnssecConfig& config = signing.config;
  const EncodedZone& encoded = served.zone(z.index);
  json out = {
      {"zone", zone},
      {"algorithm",
       std::string(dnssec::algorithm_text(static_cast<dnssec::Algorithm>(config.algorithm)))},
      {"denial", config.denial == DenialKind::nsec3 ? "nsec3" : "nsec"},
      {"signature_validity", format_duration(std::chrono::seconds(config.signature_validity_s))},
      {"signature_validity_seconds", config.signature_validity_s},
      {"parent_ds_ttl_seconds", config.parent_ds_ttl_s},
      {"propagation_delay_seconds", config.propagation_delay_s},
      {"signatures_made", signing.stats->signatures},
      {"max_ttl_seconds", zone_max_ttl(served, z.index)}};
  if (encoded.is_signed()) {
    // signatures_fresh: made again once less than half their validity is left.
    const int64_t expiry = encoded.sig_expiration;
    out["signatures_from"] = utc(encoded.sig_inception);
    out["earliest_expiry"] = utc(expiry);
    out["next_renewal"] = utc(std::max(now, expiry - config.signature_validity_s / 2));
  } else {
    out["signatures_from"] = out["earliest_expiry"] = out["next_renewal"] = nullptr;
  }
  const Keys keys = hooks.keys ? hooks.keys(z.name) : Keys{};
  json list = json::array();
  for (const auto& key : keys) list.push_back(key_json(*key, keys, signing, zone, now));
  out["keys"] = std::move(list);
  return out;
}

json cmd_status(const ControlArgs& args, const Snapshot& served, const DnssecHooks& hooks,
                int64_t now) {
  std::string error;
  json zones = json::array();
  if (!args.zone.empty()) {
    const auto z = signed_zone(args.zone, served, hooks, error);
    if (!z) return control_error(error);
    zones.push_back(zone_status(*z, served, hooks, now));
    return control_ok({{"zones", zones}});
  }
  for (size_t i = 0; i < served.zone_count(); ++i) {
    const auto name = zones::Name::from_wire(served.zone(i).apex);
    auto signing = name && hooks.signing ? hooks.signing(*name) : nullptr;
    if (!signing) continue;
    zones.push_back(zone_status({*name, i, std::move(signing)}, served, hooks, now));
  }
  if (zones.empty()) {
    return control_error(
        "no zone is signed here: set dnssec = true in a [[zone]] (mirrorpool.toml(5)) and reload");
  }
  return control_ok({{"zones", zones}});
}

json cmd_ds(const ControlArgs& args, const Snapshot& served, const DnssecHooks& hooks) {
  std::string error;
  const auto z = signed_zone(args.zone, served, hooks, error);
  if (!z) return control_error(error);
  json ds = json::array(), dnskey = json::array(), keys = json::array();
  for (const auto& key : z->signing->announced) {
    ds.push_back(ds_text(z->name, *key));
    dnskey.push_back(dnskey_text(z->name, *key));
    keys.push_back(key->tag());
  }
  return control_ok({{"zone", z->name.to_text()}, {"tags", keys}, {"ds", ds}, {"dnskey", dnskey}});
}

json cmd_rollover(const ControlArgs& args, const Snapshot& served, const DnssecHooks& hooks) {
  std::string error;
  const auto z = signed_zone(args.zone, served, hooks, error);
  if (!z) return control_error(error);
  const Keys before = hooks.keys(z->name);
  if (!hooks.rollover(z->name, error)) return control_error(error);
  const Keys after = hooks.keys(z->name);
  json added = json::array();
  std::string tags;
  for (const auto& key : after) {
    if (listed(before, *key)) continue;
    added.push_back(key->tag());
    tags += fmt::format("{}{}", tags.empty() ? "" : ", ", key->tag());
  }
  const std::string zone = z->name.to_text();
  return control_ok(
      {{"zone", zone},
       {"new_keys", added},
       {"message",
        fmt::format("rollover of {} started: new key {} published and signing beside the old "
                    "one. Give the parent the DS records of `mirrorpoolctl dnssec ds {}`, then, "
                    "once it publishes them, run `mirrorpoolctl dnssec ds-seen {}`",
                    zone, tags, zone, zone)}});
}

json cmd_ds_seen(const ControlArgs& args, const Snapshot& served, const DnssecHooks& hooks) {
  std::string error;
  const auto z = signed_zone(args.zone, served, hooks, error);
  if (!z) return control_error(error);
  const uint32_t max_ttl = zone_max_ttl(served, z->index);
  const Keys before = hooks.keys(z->name);
  if (!hooks.ds_seen(z->name, max_ttl, error)) return control_error(error);
  const std::string zone = z->name.to_text();
  json retiring = json::array();
  std::string message;
  for (const auto& key : hooks.keys(z->name)) {
    const auto was = std::find_if(before.begin(), before.end(),
                                  [&](const auto& k) { return k->path() == key->path(); });
    if (was == before.end() || !live(**was) || live(*key)) continue;
    retiring.push_back({{"tag", key->tag()}, {"delete", utc_or_null(key->timing().remove)}});
    message +=
        fmt::format("{}key {} of {} stops signing and leaves the DNSKEY RRset at {}",
                    message.empty() ? "" : "; ", key->tag(), zone, utc(key->timing().remove));
  }
  return control_ok(
      {{"zone", zone}, {"max_ttl_seconds", max_ttl}, {"retiring", retiring}, {"message", message}});
}

}  // namespace

KeyState key_state(const dnssec::ZoneKey& key, const Keys& keys, const std::string& zone,
                   int64_t now) {
  const dnssec::KeyTiming& t = key.timing();
  if (t.remove != 0 && t.remove <= now) {
    return {"removed", fmt::format("removed: out of the DNSKEY RRset since {}", utc(t.remove))};
  }
  if (t.inactive != 0 && t.inactive <= now) {
    return {"retiring", t.remove != 0
                            ? fmt::format("retiring: no longer signs, removed at {}", utc(t.remove))
                            : "retiring: no longer signs, still published"};
  }
  if (!live(key)) {
    const int64_t end = t.inactive != 0 ? t.inactive : t.remove;
    return {"retiring", fmt::format("retiring: stops signing and is removed at {}", utc(end))};
  }
  if (t.publish != 0 && now < t.publish) {
    return {"not yet published", fmt::format("not yet published: published at {}", utc(t.publish))};
  }
  const bool rolling =
      std::count_if(keys.begin(), keys.end(), [](const auto& k) { return live(*k); }) > 1;
  if (rolling && newest_live(keys) == &key) {
    return {"rolling in",
            fmt::format("rolling in: waiting for the parent's DS (mirrorpoolctl dnssec ds-seen {})",
                        zone)};
  }
  if (t.activate != 0 && now < t.activate) {
    return {"published", fmt::format("published: signs from {}", utc(t.activate))};
  }
  return {"active", "active"};
}

uint32_t zone_max_ttl(const Snapshot& snapshot, size_t zone) {
  const EncodedZone& z = snapshot.zone(zone);
  uint32_t out = 0;
  for (const EncodedRRset& rrset : z.rrsets) out = std::max(out, rrset.ttl);
  for (const auto& [name, pool] : z.pools) {
    if (pool >= 0 && static_cast<size_t>(pool) < snapshot.pools().size()) {
      out = std::max(out, snapshot.pools()[static_cast<size_t>(pool)].ttl);
    }
  }
  return out;
}

std::string ds_text(const zones::Name& zone, const dnssec::ZoneKey& key) {
  // RDATA: key tag (2), algorithm (1), digest type (1), digest.
  const std::string rdata = key.ds_sha256_rdata(zone.wire());
  return fmt::format("{} IN DS {} {} {} {}", zone.to_text(), key.tag(),
                     static_cast<int>(static_cast<unsigned char>(rdata[2])),
                     static_cast<int>(static_cast<unsigned char>(rdata[3])), hex(rdata.substr(4)));
}

std::string dnskey_text(const zones::Name& zone, const dnssec::ZoneKey& key) {
  // RDATA: flags (2), protocol (1), algorithm (1), public key.
  const std::string& rdata = key.dnskey_rdata();
  return fmt::format("{} IN DNSKEY {} {} {} {}", zone.to_text(), key.flags(),
                     static_cast<int>(static_cast<unsigned char>(rdata[2])),
                     static_cast<int>(static_cast<unsigned char>(rdata[3])),
                     dnssec::key_text::base64_encode(std::string_view(rdata).substr(4)));
}

json dnssec_command(const ControlCall& call, const Snapshot& served, const DnssecHooks& hooks,
                    int64_t now) {
  if (!hooks.signing || !hooks.keys || !hooks.rollover || !hooks.ds_seen) {
    return control_error("DNSSEC commands are not available here");
  }
  switch (call.command) {
    case Command::dnssec_status:
      return cmd_status(call.args, served, hooks, now);
    case Command::dnssec_ds:
      return cmd_ds(call.args, served, hooks);
    case Command::dnssec_rollover:
      return cmd_rollover(call.args, served, hooks);
    case Command::dnssec_ds_seen:
      return cmd_ds_seen(call.args, served, hooks);
    default:
      break;
  }
  return control_error(fmt::format("{} is not a dnssec command", command_name(call.command)));
}

}  // namespace mirrorpool::dnsd
