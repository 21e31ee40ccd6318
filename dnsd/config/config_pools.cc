// The [[pool]] tables of the config file: a pool's answers, its [pool.check]
// and the check keys they share with [[pool.mirror]], and each mirror with
// its addresses and check overrides. Entries of a pool's mirrors.json are
// read here and merged in config_json.cc.
#include <algorithm>

#include "dnsd/common/duration.hh"
#include "dnsd/config/config_parser.hh"
#include "dnsd/config/mirror_limits.hh"

namespace mirrorpool::dnsd::config_detail {
namespace {

constexpr int64_t kMaxTtl = 2147483647;  // RFC 2181 §8

// The text of a name without the root's trailing dot ("dl.pool.example").
std::string host_of(const zones::Name& name) {
  std::string text = name.to_text();
  if (text.size() > 1 && text.back() == '.') text.pop_back();
  return text;
}

}  // namespace

using health::CheckSpec;
using health::CheckType;
using std::chrono::days;
using std::chrono::milliseconds;
using std::chrono::seconds;

// Applies the check keys present in r onto spec. r is a [pool.check] table
// or a [[pool.mirror]] table, where the same keys are per-mirror overrides.
void Parser::read_check_keys(TableReader& r, std::string_view freshness_context, CheckSpec& spec,
                             CheckLayer& layer) {
  if (auto type = r.choice<CheckType>(
          "type",
          {{"tcp", CheckType::tcp}, {"http", CheckType::http}, {"https", CheckType::https}})) {
    spec.type = *type;
    layer.type_set = true;
  }
  if (auto port = r.integer("port", 1, 65535)) {
    spec.port = static_cast<uint16_t>(*port);
    layer.port_set = true;
  }
  if (auto host = r.string("host")) {
    // The host goes into a Host header and TLS SNI, so it must be a DNS name.
    if (zones::Name::from_text(*host + ".") && !host->ends_with('.')) {
      spec.host = *host;
      layer.host_set = true;
    } else {
      reporter_.error(r.find("host")->source(),
                      fmt::format("{} is not a valid host name: \"{}\" (write it without a "
                                  "trailing dot)",
                                  r.name("host"), *host));
    }
  }
  if (auto path = read_url_path(r, "path")) {
    spec.path = *path;
    layer.path_set = true;
  }
  if (const toml::node* node = r.find("expect_status")) {
    read_statuses(r, *node, spec.expect_status);
  }
  if (auto body = r.string("expect_body", true)) spec.expect_body = *body;
  if (auto interval = r.duration("interval", milliseconds(100), days(1))) {
    spec.interval = *interval;
    layer.interval_at = r.find("interval")->source();
  }
  if (auto timeout = r.duration("timeout", milliseconds(1), days(1))) {
    spec.timeout = *timeout;
    layer.timeout_at = r.find("timeout")->source();
  }
  r.read_integer("rise", spec.rise, 1, 100);
  r.read_integer("fall", spec.fall, 1, 100);
  r.read_integer("tls_min_days", spec.tls_min_days, 0, 3650);
  if (auto ca_file = r.string("ca_file", true)) {
    spec.ca_file = ca_file->empty() ? std::string() : resolve(*ca_file);
  }
  r.read_integer("mass_failure_rounds", spec.mass_failure_rounds, 1, 100);
  if (const toml::table* table = r.table("freshness")) {
    TableReader f = reader(*table, std::string(freshness_context));
    layer.freshness_at = f.where();
    if (auto path = read_url_path(f, "path")) spec.freshness.path = *path;
    if (auto reference = f.string("reference")) {
      if (reference->starts_with("http://") || reference->starts_with("https://")) {
        spec.freshness.reference = *reference;
      } else {
        reporter_.error(f.find("reference")->source(),
                        fmt::format("{} must be an http:// or https:// URL (got \"{}\")",
                                    f.name("reference"), *reference));
      }
    }
    if (auto max_lag = f.duration("max_lag", seconds(1), days(365))) {
      spec.freshness.max_lag = *max_lag;
    }
    f.report_unknown_keys();
  }
}

std::optional<std::string> Parser::read_url_path(TableReader& r, std::string_view key) {
  auto path = r.string(key);
  if (path && !path->starts_with('/')) {
    reporter_.error(r.find(key)->source(),
                    fmt::format("{} must start with '/' (got \"{}\")", r.name(key), *path));
    return std::nullopt;
  }
  return path;
}

void Parser::read_statuses(TableReader& r, const toml::node& node, std::vector<int>& out) {
  const toml::array* array = node.as_array();
  if (!array) {
    r.wrong_type("expect_status", node, "an array of HTTP status codes such as [200]");
    return;
  }
  if (array->empty()) {
    reporter_.error(node.source(),
                    fmt::format("{} must list at least one status code", r.name("expect_status")));
    return;
  }
  std::vector<int> statuses;
  for (const toml::node& element : *array) {
    const auto* value = element.as_integer();
    if (!value || value->get() < 100 || value->get() > 599) {
      reporter_.error(element.source(), fmt::format("{} must contain HTTP status codes "
                                                    "between 100 and 599",
                                                    r.name("expect_status")));
      return;
    }
    statuses.push_back(static_cast<int>(value->get()));
  }
  out = std::move(statuses);
}

// Cross-key checks of an effective CheckSpec. A mirror layer is checked only
// for what it overrides, so a pool-level mistake is reported once.
void Parser::validate_check(const CheckSpec& spec, const CheckLayer& layer,
                            const toml::source_region& table_at, bool whole) {
  if ((whole || layer.interval_at || layer.timeout_at) && spec.timeout >= spec.interval) {
    reporter_.error(layer.timeout_at.value_or(layer.interval_at.value_or(table_at)),
                    fmt::format("'timeout' ({}) must be shorter than 'interval' ({})",
                                format_duration(spec.timeout), format_duration(spec.interval)));
  }
  if ((whole || layer.freshness_at) &&
      spec.freshness.path.empty() != spec.freshness.reference.empty()) {
    reporter_.error(layer.freshness_at.value_or(table_at),
                    "freshness needs both 'path' (on the mirror) and 'reference' (the "
                    "primary's URL)");
  }
}

CheckSpec finish_check(CheckSpec spec, const CheckLayer& layer) {
  if (spec.type == CheckType::https && !layer.port_set) spec.port = 443;
  return spec;
}

void Parser::read_pools(TableReader& top, std::vector<PoolConfig>& pools) {
  for (const toml::table* table : top.tables("pool")) {
    TableReader r = reader(*table, "[[pool]]");
    PoolConfig pool;
    zones::PoolDef& def = pool.def;
    def.pos = reporter_.pos(r.where());
    bool ok = true;
    if (auto name = read_name(r, "name")) {
      def.name = *name;
      const auto first = std::find_if(pools.begin(), pools.end(),
                                      [&](const PoolConfig& p) { return p.def.name == *name; });
      if (first != pools.end()) {
        reporter_.error(r.find("name")->source(),
                        fmt::format("duplicate pool '{}' (first defined at line {})",
                                    name->to_text(), first->def.pos.line));
        ok = false;
      }
    } else {
      ok = false;
    }
    r.read_integer("ttl", def.ttl, 0, kMaxTtl);
    r.read_integer("max_answers", def.max_answers, 1, 64);
    if (auto policy = r.choice<zones::WhenAllDown>(
            "when_all_down", {{"serve-all", zones::WhenAllDown::serve_all},
                              {"serve-last-good", zones::WhenAllDown::serve_last_good},
                              {"servfail", zones::WhenAllDown::servfail},
                              {"nodata", zones::WhenAllDown::nodata}})) {
      def.when_all_down = *policy;
    }
    r.read_integer("min_healthy", def.min_healthy, 1, 10'000);
    if (auto geo = r.choice<zones::GeoMode>("geo", {{"off", zones::GeoMode::off},
                                                    {"nearest", zones::GeoMode::nearest},
                                                    {"country", zones::GeoMode::country}})) {
      def.geo = *geo;
      if (*geo != zones::GeoMode::off && !geo_enabled_) {
        reporter_.error(r.find("geo")->source(),
                        fmt::format("'geo' in [[pool]] is \"{}\" but there is no [server.geo] "
                                    "table: nothing could place a client",
                                    r.find("geo")->as_string()->get()));
      }
    }
    r.read_integer("geo_margin_km", def.geo_margin_km, 0, 20'000);
    if (auto policy =
            r.choice<WeightPolicy>("weight_policy", {{"static", WeightPolicy::static_weights},
                                                     {"reliability", WeightPolicy::reliability}})) {
      pool.weight_policy = *policy;
    }
    std::vector<MirrorsJsonEntry> entries;
    if (auto file = r.string("mirrors_json")) {
      pool.mirrors_json = resolve(*file);
      // Errors are already in diags_, which fails the whole config.
      entries = load_mirrors_json(pool.mirrors_json, diags_).value_or(entries);
    }

    // The unfinished pool check is the base of every mirror's own, so that
    // "https → port 443" is decided after the mirror's overrides.
    CheckSpec base;
    base.host = host_of(def.name);
    CheckLayer pool_layer;
    if (const toml::table* check = r.table("check")) {
      TableReader c = reader(*check, "[pool.check]");
      read_check_keys(c, "[pool.check.freshness]", base, pool_layer);
      validate_check(base, pool_layer, c.where(), true);
      c.report_unknown_keys();
    } else {
      validate_check(base, pool_layer, r.where(), true);
    }
    pool.check = finish_check(base, pool_layer);
    pool.check_port_set = pool_layer.port_set;

    read_mirrors(r, base, pool_layer, entries, pool);
    r.report_unknown_keys();
    if (ok) pools.push_back(std::move(pool));
  }
}

std::string claim_address(std::map<std::string, std::string>& owners, const zones::Address& address,
                          const std::string& id) {
  auto [owner, inserted] = owners.emplace(address.text, id);
  if (inserted) return {};
  return owner->second == id ? fmt::format("address {} is listed twice", address.text)
                             : fmt::format("address {} already belongs to mirror '{}'",
                                           address.text, owner->second);
}

void Parser::read_mirrors(TableReader& pool_reader, const CheckSpec& base,
                          const CheckLayer& pool_layer,
                          const std::vector<MirrorsJsonEntry>& entries, PoolConfig& pool) {
  std::map<std::string, std::string> address_owner;
  const auto entry_of = [&](const std::string& id) -> const MirrorsJsonEntry* {
    const auto it = std::find_if(entries.begin(), entries.end(),
                                 [&](const MirrorsJsonEntry& e) { return e.id == id; });
    return it == entries.end() ? nullptr : &*it;
  };
  for (const toml::table* table : pool_reader.tables("mirror")) {
    TableReader r = reader(*table, "[[pool.mirror]]");
    zones::MirrorDef mirror;
    mirror.pos = reporter_.pos(r.where());
    bool ok = true;
    if (auto id = r.string("id")) {
      const auto& mirrors = pool.def.mirrors;
      if (!is_valid_id(*id)) {
        reporter_.error(r.find("id")->source(),
                        fmt::format("'id' in [[pool.mirror]] must be 1-63 letters, digits, "
                                    "'-', '_' or '.' (got \"{}\")",
                                    *id));
        ok = false;
      } else if (auto first = std::find_if(mirrors.begin(), mirrors.end(),
                                           [&](const zones::MirrorDef& m) { return m.id == *id; });
                 first != mirrors.end()) {
        reporter_.error(r.find("id")->source(),
                        fmt::format("duplicate mirror id '{}' in pool '{}' (first defined at "
                                    "line {})",
                                    *id, pool.def.name.to_text(), first->pos.line));
        ok = false;
      }
      mirror.id = *id;
    } else {
      if (!r.find("id")) r.missing("id");
      ok = false;
    }
    // The same mirror in mirrors.json: this table adds addresses, capacity
    // and check overrides to it.
    const MirrorsJsonEntry* entry = entry_of(mirror.id);
    if (auto items = r.strings("addresses")) {
      if (entry && entry->addresses) {
        reporter_.error(r.key_where("addresses"),
                        fmt::format("mirror '{}' already has 'addresses' in {}:{}: list them "
                                    "in one place",
                                    mirror.id, entry->pos.file, entry->pos.line));
        ok = false;
      }
      if (items->empty()) {
        reporter_.error(r.find("addresses")->source(),
                        "'addresses' in [[pool.mirror]] must list at least one address");
        ok = false;
      }
      for (const Item& item : *items) {
        auto address = zones::Address::parse(item.text);
        if (!address) {
          reporter_.error(item.where,
                          fmt::format("'addresses' in [[pool.mirror]] has an invalid IPv4 or "
                                      "IPv6 address \"{}\"",
                                      item.text));
          ok = false;
          continue;
        }
        if (auto problem = claim_address(address_owner, *address, mirror.id); !problem.empty()) {
          reporter_.error(item.where, std::move(problem));
          ok = false;
          continue;
        }
        mirror.addresses.push_back(std::move(*address));
      }
    } else if (entry && entry->addresses) {
      for (const zones::Address& address : *entry->addresses) {
        if (auto problem = claim_address(address_owner, address, mirror.id); !problem.empty()) {
          diags_.push_back({entry->pos, std::move(problem)});
          ok = false;
        }
      }
      mirror.addresses = *entry->addresses;
    } else {
      if (!r.find("addresses")) r.missing("addresses");
      ok = false;
    }
    r.read_integer("weight", mirror.weight, 0, kMaxMirrorWeight);
    if (auto capacity = r.choice<zones::Capacity>(
            "capacity", {{"normal", zones::Capacity::normal}, {"huge", zones::Capacity::huge}})) {
      mirror.capacity = *capacity;
    }
    if (auto email = r.string("email")) {
      if (email->find('@') == std::string::npos) {
        reporter_.error(
            r.find("email")->source(),
            fmt::format("'email' in [[pool.mirror]] is not an address: \"{}\"", *email));
      }
      mirror.email = *email;
    }
    if (auto notes = r.string("notes", true)) mirror.notes = *notes;
    // As in mirrors.json: published by export-mirrors-json, and what
    // [pool.check] does not set comes from it.
    std::optional<UrlPrefix> own_url;
    if (auto url = r.string("url_prefix")) {
      own_url = parse_url_prefix(*url);
      if (!own_url) {
        reporter_.error(r.find("url_prefix")->source(),
                        fmt::format("'url_prefix' in [[pool.mirror]] must be an http:// or "
                                    "https:// URL with a host name, such as "
                                    "\"https://mirror.example.org/tails/\" (got \"{}\")",
                                    *url));
        ok = false;
      }
      mirror.url_prefix = *url;
    }
    if (auto country = r.country("country")) mirror.country = *country;
    mirror.location = r.location("location");
    if (entry) {
      // What this table writes wins over the mirrors.json entry.
      if (!table->contains("url_prefix")) mirror.url_prefix = entry->url_prefix;
      mirror.rsync_url = entry->rsync_url;
      if (!table->contains("weight")) mirror.weight = entry->weight;
      if (!table->contains("email")) mirror.email = entry->email;
      if (!table->contains("notes")) mirror.notes = entry->notes;
      if (!table->contains("country")) mirror.country = entry->country;
      if (!table->contains("location")) mirror.location = entry->location;
    }

    CheckLayer layer;
    layer.port_set = pool_layer.port_set;
    const UrlPrefix* url = own_url ? &*own_url : entry ? &entry->url : nullptr;
    CheckSpec spec = url ? url_defaults(base, pool_layer, *url, layer) : base;
    read_check_keys(r, "[pool.mirror.freshness]", spec, layer);
    validate_check(spec, layer, r.where(), false);
    r.report_unknown_keys();
    if (ok) {
      pool.def.mirrors.push_back(std::move(mirror));
      pool.mirror_checks.push_back(finish_check(spec, layer));
    }
  }
  if (!entries.empty()) merge_mirrors_json(base, pool_layer, entries, address_owner, pool);
  for (const zones::MirrorDef& mirror : pool.def.mirrors) {
    const MirrorsJsonEntry* entry = entry_of(mirror.id);
    // A [[pool.mirror]] that writes its own notes replaces the entry's.
    if (entry && !entry->notes.empty() && mirror.notes == entry->notes) {
      pool.json_notes.emplace(mirror.id, entry->notes_pos.line > 0 ? entry->notes_pos : entry->pos);
    }
  }
}

}  // namespace mirrorpool::dnsd::config_detail
