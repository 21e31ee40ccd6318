// The daemon's configuration (mirrorpool.toml(5)): parsed from TOML with toml++, typed,
// defaulted and range-checked. Loading zone files is not done here (see
// load_model in model_loader.hh); this is the TOML layer only. The parser is
// config.cc (entry points, the document, the table reader) with
// config_server.cc ([server], [tsig], [[zone]]), config_pools.cc ([[pool]],
// checks, mirrors) and config_json.cc (JSON merged in: mirrors.json entries,
// the check overrides of `mirrorpoolctl add`), sharing config_parser.hh.
#pragma once

#include <array>
#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include <nlohmann/json_fwd.hpp>

#include "dnsd/config/alert_config.hh"
#include "dnsd/config/control_socket_path.hh"
#include "dnsd/config/endpoint.hh"
#include "dnsd/config/prefix.hh"
#include "dnsd/config/rrl_config.hh"
#include "health/check_spec.hh"
#include "zones/diagnostic.hh"
#include "zones/pool.hh"

namespace mirrorpool::dnsd {

// One [[server.geo.net]]: clients inside `prefix` are placed here, before
// the database is asked. At least one of country and location is set.
struct GeoNet {
  Prefix prefix;
  std::string country;  // ISO 3166-1 alpha-2, upper case; empty = not given
  std::optional<zones::GeoPoint> location;
  zones::SourcePos pos;
};

// [server.geo]: where clients are placed from (mirrorpool.toml(5)).
struct GeoConfig {
  bool enabled = false;  // the table is present
  std::string database;  // an MMDB file, resolved; empty = overrides only
  bool ecs = true;       // locate by EDNS Client Subnet when a query has one
  unsigned ecs_max_prefix_v4 = 24;
  unsigned ecs_max_prefix_v6 = 56;
  std::vector<GeoNet> nets;
};

// What `/` on http_listen shows (dnsd/http/status_page.hh): nothing (404),
// the public page, or that page with each mirror's email and notes and the
// operators' notes and names.
enum class StatusPage { off, public_page, full };

struct ServerConfig {
  std::vector<Endpoint> listen;
  unsigned workers = 0;  // 0 = one per core
  std::string control_socket{kDefaultControlSocket};
  std::string state_dir = "/var/lib/mirrorpool";
  std::optional<Endpoint> http_listen;
  StatusPage status_page = StatusPage::public_page;  // only served with http_listen
  std::string user = "nobody";
  unsigned tcp_idle_timeout_ms = 10000;
  unsigned tcp_query_timeout_ms = 2000;  // first byte of a TCP query to its last
  unsigned tcp_max_clients = 1000;       // per worker
  unsigned udp_max_size = 1232;          // our EDNS buffer size
  std::string nsid;                      // RFC 5001, raw bytes; empty: off
  // RFC 9018 server cookie secret; none: a random one, rotated.
  std::optional<std::array<uint8_t, 16>> cookie_secret;
  bool require_cookie = false;  // BADCOOKIE to UDP clients without a valid server cookie
  RrlConfig rrl;
  GeoConfig geo;
  // The program [[alert]] mail goes through (-t -oi: the Debian convention).
  std::string sendmail = "/usr/sbin/sendmail";
};

// [[zone]] dnssec_* (mirrorpool.toml(5), DNSSEC).
enum class DenialKind { nsec, nsec3 };
struct DnssecConfig {
  bool enabled = false;            // dnssec
  uint8_t algorithm = 13;          // dnssec_algorithm: 13 ecdsap256sha256, 15 ed25519
  DenialKind denial = DenialKind::nsec;  // dnssec_denial
  uint32_t signature_validity_s = 14 * 86400;  // dnssec_signature_validity
  unsigned variants = 32;          // dnssec_variants
  // Rollover timings (RFC 7583): the TTL of the parent's DS RRset, and how
  // long a change takes to reach every secondary and cache beyond TTLs.
  uint32_t parent_ds_ttl_s = 86400;     // dnssec_parent_ds_ttl
  uint32_t propagation_delay_s = 3600;  // dnssec_propagation_delay
};

struct ZoneConfig {
  zones::Name origin;
  std::string file;  // resolved against the config file's directory
  std::vector<Endpoint> notify;
  std::vector<Prefix> allow_transfer;
  std::string tsig;  // key name, empty = none
  DnssecConfig dnssec;
  zones::SourcePos pos;
};

struct TsigKey {
  std::string name;
  std::string algorithm;  // "hmac-sha256" | "hmac-sha512"
  std::string secret;     // base64 as written
};

enum class WeightPolicy { static_weights, reliability };

struct PoolConfig {
  zones::PoolDef def;
  health::CheckSpec check;  // the pool's defaults ([pool.check])
  // The effective check of each mirror: check with that mirror's overrides.
  // Same size and order as def.mirrors.
  std::vector<health::CheckSpec> mirror_checks;
  WeightPolicy weight_policy = WeightPolicy::static_weights;
  std::string mirrors_json;  // resolved path, empty = none
  // The mirrors whose notes come from a mirrors.json entry, by id, with where
  // those notes are: the hand-kept failure record of that format, whose items
  // config_warnings reports when they cannot be read (mirror_notes.hh).
  std::map<std::string, zones::SourcePos> json_notes;
  // [pool.check] wrote 'port': check.port is then kept when a mirror's
  // overrides switch the type to https (parse_mirror_overrides needs it).
  bool check_port_set = false;
};

struct Config {
  std::string path;  // the config file as given
  ServerConfig server;
  std::vector<ZoneConfig> zones;
  std::vector<PoolConfig> pools;
  std::map<std::string, TsigKey> tsig;
  std::vector<AlertConfig> alerts;
};

// Parses and validates the TOML file. Every problem found is appended to diags
// as file:line:col (unknown keys, wrong types, out-of-range values, bad
// durations and addresses, duplicates); returns nullopt if there was any.
std::optional<Config> load_config(const std::string& path, zones::Diagnostics& diags);

// Same, from text already in memory (path is only used in diagnostics and to
// resolve relative file names). For tests and fuzzing.
std::optional<Config> parse_config(std::string_view text, const std::string& path,
                                   zones::Diagnostics& diags);

// Advice on a config that loads: each pool that can never answer, since no
// mirror of it has a weight above 0, and each item of a mirrors.json note that
// is neither a dated failure nor "added DATE" (kept as text, not imported).
// Warnings only (Severity::warning).
zones::Diagnostics config_warnings(const Config& config);

// The check of a mirror added at run time (mirrorpoolctl add): overrides is a
// JSON object of [pool.check] keys → values, validated exactly like the keys
// of a [[pool.mirror]] table and applied over pool's check. Problems are
// appended to diags under `source` (no line numbers: there is no file);
// nullopt if there was any.
std::optional<health::CheckSpec> parse_mirror_overrides(const nlohmann::json& overrides,
                                                        const PoolConfig& pool,
                                                        std::string_view mirror_id,
                                                        const std::string& source,
                                                        zones::Diagnostics& diags);

}  // namespace mirrorpool::dnsd
