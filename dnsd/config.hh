// The daemon's configuration (SPEC §3): parsed from TOML with toml++, typed,
// defaulted and range-checked. Loading zone files is not done here (see
// load_model in model_loader.hh); this is the TOML layer only.
#pragma once

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include <sys/socket.h>

#include <nlohmann/json_fwd.hpp>

#include "health/check_spec.hh"
#include "zones/diagnostic.hh"
#include "zones/pool.hh"

namespace mirrorpool::dnsd {

// "127.0.0.1:5353" or "[::1]:5353".
struct Endpoint {
  zones::Address address;
  uint16_t port = 0;
  std::string text;  // as written
  sockaddr_storage sockaddr() const;
  socklen_t sockaddr_len() const;
  static std::optional<Endpoint> parse(std::string_view text);
};

// An address prefix for ACLs: "192.0.2.0/24", "2001:db8::/32", "127.0.0.1".
struct Prefix {
  zones::Address address;
  unsigned length = 0;
  std::string text;
  bool contains(const zones::Address& a) const;
  static std::optional<Prefix> parse(std::string_view text);
};

struct RrlConfig {
  unsigned responses_per_second = 0;  // 0 = off
  unsigned slip = 2;
  unsigned ipv4_prefix = 24;
  unsigned ipv6_prefix = 56;
  bool operator==(const RrlConfig&) const = default;
};

struct ServerConfig {
  std::vector<Endpoint> listen;
  unsigned workers = 0;  // 0 = one per core
  std::string control_socket = "/run/mirrorpool/control.sock";
  std::string state_dir = "/var/lib/mirrorpool";
  std::optional<Endpoint> http_listen;
  std::string user = "nobody";
  unsigned tcp_idle_timeout_ms = 10000;
  unsigned tcp_query_timeout_ms = 2000;  // first byte of a TCP query to its last
  unsigned tcp_max_clients = 1000;       // per worker
  unsigned udp_max_size = 1232;          // our EDNS buffer size
  RrlConfig rrl;
};

struct ZoneConfig {
  zones::Name origin;
  std::string file;  // resolved against the config file's directory
  std::vector<Endpoint> notify;
  std::vector<Prefix> allow_transfer;
  std::string tsig;  // key name, empty = none
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
};

// A mirror id: 1 to 63 letters, digits, '-', '_' or '.'. Ids appear in
// mirrorpoolctl arguments, metric labels and the journal, so the config file
// and the control socket accept exactly these.
bool is_valid_id(std::string_view id);

// The largest weight of a mirror, in the config file and at run time.
constexpr uint32_t kMaxMirrorWeight = 1'000'000;

// Parses and validates the TOML file. Every problem found is appended to diags
// as file:line:col (unknown keys, wrong types, out-of-range values, bad
// durations and addresses, duplicates); returns nullopt if there was any.
std::optional<Config> load_config(const std::string& path, zones::Diagnostics& diags);

// Same, from text already in memory (path is only used in diagnostics and to
// resolve relative file names). For tests and fuzzing.
std::optional<Config> parse_config(std::string_view text, const std::string& path,
                                   zones::Diagnostics& diags);

// Advice on a config that loads: each pool that can never answer, since no
// mirror of it has a weight above 0. Warnings only (Severity::warning).
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
