// The [server], [tsig.NAME] and [[zone]] tables of the config file: where the
// daemon listens and how, the TSIG keys, and each zone with its secondaries.
#include <algorithm>
#include <cstring>

#include "dnsd/common/duration.hh"
#include "dnsd/config/config_parser.hh"

namespace mirrorpool::dnsd::config_detail {
namespace {

bool is_base64(std::string_view text) {
  if (text.empty() || text.size() % 4 != 0) return false;
  size_t padding = 0;
  while (padding < 2 && text[text.size() - 1 - padding] == '=') ++padding;
  for (size_t i = 0; i < text.size() - padding; ++i) {
    const char c = text[i];
    const bool ok = (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') ||
                    c == '+' || c == '/';
    if (!ok) return false;
  }
  return true;
}

using std::chrono::days;
using std::chrono::hours;
using std::chrono::milliseconds;
using std::chrono::seconds;

// [[zone]] dnssec_*: whether and how the zone is signed (its keys are in
// state_dir/keys/ORIGIN, dnsd/dnssec/zone_key.hh).
void read_dnssec(TableReader& r, DnssecConfig& dnssec) {
  if (auto enabled = r.boolean("dnssec")) dnssec.enabled = *enabled;
  if (auto algorithm =
          r.choice<uint8_t>("dnssec_algorithm", {{"ecdsap256sha256", 13}, {"ed25519", 15}})) {
    dnssec.algorithm = *algorithm;
  }
  if (auto denial = r.choice<DenialKind>(
          "dnssec_denial", {{"nsec", DenialKind::nsec}, {"nsec3", DenialKind::nsec3}})) {
    dnssec.denial = *denial;
  }
  // At least an hour: signatures are made again at half their validity, and
  // a secondary must be able to fetch the zone before they expire.
  if (auto validity = r.duration("dnssec_signature_validity", hours(1), days(365))) {
    dnssec.signature_validity_s =
        static_cast<uint32_t>(std::chrono::duration_cast<seconds>(*validity).count());
  }
  r.read_integer("dnssec_variants", dnssec.variants, 1, 256);
  if (auto ttl = r.duration("dnssec_parent_ds_ttl", seconds(0), days(30))) {
    dnssec.parent_ds_ttl_s =
        static_cast<uint32_t>(std::chrono::duration_cast<seconds>(*ttl).count());
  }
  if (auto delay = r.duration("dnssec_propagation_delay", seconds(0), days(7))) {
    dnssec.propagation_delay_s =
        static_cast<uint32_t>(std::chrono::duration_cast<seconds>(*delay).count());
  }
}

}  // namespace

std::optional<Endpoint> Parser::endpoint(TableReader& r, std::string_view key, const Item& item) {
  auto parsed = Endpoint::parse(item.text);
  if (!parsed) {
    reporter_.error(item.where,
                    fmt::format("{} has an invalid endpoint \"{}\" (expected ADDRESS:PORT such "
                                "as \"192.0.2.1:53\" or \"[2001:db8::1]:53\")",
                                r.name(key), item.text));
  }
  return parsed;
}

void Parser::read_server(TableReader& top, ServerConfig& server) {
  const toml::table* table = top.table("server");
  const toml::table empty;
  TableReader r = reader(table ? *table : empty, "[server]");
  if (auto items = r.strings("listen")) {
    if (items->empty()) {
      reporter_.error(r.key_where("listen"),
                      "'listen' in [server] is empty: the server would answer nobody");
    }
    for (const Item& item : *items) {
      auto parsed = endpoint(r, "listen", item);
      if (!parsed) continue;
      const bool duplicate =
          std::any_of(server.listen.begin(), server.listen.end(), [&](const Endpoint& e) {
            return e.address.text == parsed->address.text && e.port == parsed->port;
          });
      if (duplicate) {
        reporter_.error(item.where,
                        fmt::format("'listen' in [server] lists \"{}\" twice", item.text));
        continue;
      }
      server.listen.push_back(std::move(*parsed));
    }
  } else if (!r.find("listen")) {
    reporter_.error(table ? r.where() : toml::source_region{{1, 1}, {1, 1}, {}},
                    "missing required key 'listen' in [server]");
  }
  r.read_integer("workers", server.workers, 0, 256);
  if (auto text = r.string("control_socket")) server.control_socket = *text;
  if (auto text = r.string("state_dir")) server.state_dir = *text;
  if (auto text = r.string("user")) server.user = *text;
  if (const toml::node* node = r.find("http_listen")) {
    if (!node->is_string()) {
      r.wrong_type("http_listen", *node, "a string");
    } else if (auto parsed =
                   endpoint(r, "http_listen", Item{node->as_string()->get(), node->source()})) {
      const bool taken =
          std::any_of(server.listen.begin(), server.listen.end(), [&](const Endpoint& e) {
            return e.address.text == parsed->address.text && e.port == parsed->port;
          });
      if (taken) {
        reporter_.error(node->source(),
                        fmt::format("'http_listen' in [server] conflicts with DNS listen "
                                    "endpoint \"{}\"",
                                    parsed->text));
      }
      server.http_listen = std::move(*parsed);
    }
  }
  if (auto page = r.choice<StatusPage>("status_page", {{"off", StatusPage::off},
                                                       {"public", StatusPage::public_page},
                                                       {"full", StatusPage::full}})) {
    server.status_page = *page;
  }
  if (auto timeout = r.duration("tcp_idle_timeout", milliseconds(1), days(1))) {
    server.tcp_idle_timeout_ms = static_cast<unsigned>(timeout->count());
  }
  if (auto timeout = r.duration("tcp_query_timeout", milliseconds(1), days(1))) {
    server.tcp_query_timeout_ms = static_cast<unsigned>(timeout->count());
  }
  r.read_integer("tcp_max_clients", server.tcp_max_clients, 1, 1'000'000);
  r.read_integer("udp_max_size", server.udp_max_size, 512, 65535);
  read_nsid(r, server);
  read_cookie_secret(r, server);
  if (auto require = r.boolean("require_cookie")) server.require_cookie = *require;
  if (auto sendmail = r.string("sendmail")) {
    if (!sendmail->starts_with('/')) {
      reporter_.error(
          r.find("sendmail")->source(),
          fmt::format("'sendmail' in [server] must be an absolute path (got \"{}\")", *sendmail));
    } else {
      server.sendmail = std::move(*sendmail);
    }
  }
  if (const toml::table* rrl = r.table("rrl")) {
    TableReader rr = reader(*rrl, "[server.rrl]");
    rr.read_integer("responses_per_second", server.rrl.responses_per_second, 0, 1'000'000);
    rr.read_integer("slip", server.rrl.slip, 0, 10);
    rr.read_integer("ipv4_prefix", server.rrl.ipv4_prefix, 8, 32);
    rr.read_integer("ipv6_prefix", server.rrl.ipv6_prefix, 16, 128);
    rr.report_unknown_keys();
  }
  read_geo(r, server.geo);
  r.report_unknown_keys();
}

namespace {

// Hex digits to bytes; nullopt unless `hex` is a whole number of bytes.
std::optional<std::string> from_hex(std::string_view hex) {
  if (hex.size() % 2 != 0) return std::nullopt;
  auto digit = [](char c) -> int {
    if (c >= '0' && c <= '9') return c - '0';
    if (c >= 'a' && c <= 'f') return c - 'a' + 10;
    if (c >= 'A' && c <= 'F') return c - 'A' + 10;
    return -1;
  };
  std::string out;
  for (size_t i = 0; i < hex.size(); i += 2) {
    const int hi = digit(hex[i]);
    const int lo = digit(hex[i + 1]);
    if (hi < 0 || lo < 0) return std::nullopt;
    out.push_back(static_cast<char>(hi * 16 + lo));
  }
  return out;
}

// An NSID longer than this would crowd the answers out of a 512-byte reply.
constexpr size_t kMaxNsidSize = 128;

}  // namespace

void Parser::read_nsid(TableReader& r, ServerConfig& server) {
  const toml::node* node = r.find("nsid");
  auto text = r.string("nsid");
  if (!text) return;
  std::optional<std::string> bytes = *text;
  if (text->starts_with("hex:")) {
    bytes = from_hex(std::string_view(*text).substr(4));
    if (!bytes || bytes->empty()) {
      reporter_.error(node->source(),
                      "'nsid' in [server]: after \"hex:\" come pairs of hexadecimal digits");
      return;
    }
  }
  if (bytes->size() > kMaxNsidSize) {
    reporter_.error(node->source(),
                    fmt::format("'nsid' in [server] is {} bytes long; at most {} are allowed",
                                bytes->size(), kMaxNsidSize));
    return;
  }
  server.nsid = std::move(*bytes);
}

void Parser::read_cookie_secret(TableReader& r, ServerConfig& server) {
  const toml::node* node = r.find("cookie_secret");
  auto text = r.string("cookie_secret");
  if (!text) return;
  const std::optional<std::string> bytes = from_hex(*text);
  if (!bytes || bytes->size() != 16) {
    reporter_.error(node->source(),
                    "'cookie_secret' in [server] must be 32 hexadecimal digits (a 128-bit "
                    "secret, as `openssl rand -hex 16` prints)");
    return;
  }
  std::array<uint8_t, 16> secret;
  std::memcpy(secret.data(), bytes->data(), secret.size());
  server.cookie_secret = secret;
}

void Parser::read_geo(TableReader& server, GeoConfig& geo) {
  const toml::table* table = server.table("geo");
  if (table == nullptr) return;
  geo.enabled = true;
  TableReader r = reader(*table, "[server.geo]");
  if (auto database = r.string("database")) geo.database = resolve(*database);
  if (auto ecs = r.boolean("ecs")) geo.ecs = *ecs;
  r.read_integer("ecs_max_prefix_v4", geo.ecs_max_prefix_v4, 0, 32);
  r.read_integer("ecs_max_prefix_v6", geo.ecs_max_prefix_v6, 0, 128);
  for (const toml::table* net_table : r.tables("net")) {
    TableReader n = reader(*net_table, "[[server.geo.net]]");
    GeoNet net;
    net.pos = reporter_.pos(n.where());
    bool ok = true;
    if (auto text = n.string("prefix")) {
      auto prefix = Prefix::parse(*text);
      const auto first = std::find_if(geo.nets.begin(), geo.nets.end(), [&](const GeoNet& g) {
        return prefix && g.prefix.address.text == prefix->address.text &&
               g.prefix.length == prefix->length;
      });
      if (!prefix) {
        reporter_.error(n.find("prefix")->source(),
                        fmt::format("'prefix' in [[server.geo.net]] is not a prefix such as "
                                    "\"198.51.100.0/24\" or \"2001:db8::/32\" with no bits set "
                                    "past its length (got \"{}\")",
                                    *text));
        ok = false;
      } else if (first != geo.nets.end()) {
        reporter_.error(n.find("prefix")->source(),
                        fmt::format("[[server.geo.net]] prefix \"{}\" is listed twice (first "
                                    "at line {})",
                                    *text, first->pos.line));
        ok = false;
      } else {
        net.prefix = std::move(*prefix);
      }
    } else {
      if (!n.find("prefix")) n.missing("prefix");
      ok = false;
    }
    if (auto country = n.country("country")) net.country = *country;
    net.location = n.location("location");
    if (!n.find("country") && !n.find("location")) {
      reporter_.error(n.where(),
                      "[[server.geo.net]] needs 'country', 'location' or both: where its "
                      "clients are");
      ok = false;
    }
    n.report_unknown_keys();
    if (ok) geo.nets.push_back(std::move(net));
  }
  r.report_unknown_keys();
}

void Parser::read_tsig_keys(TableReader& top, std::map<std::string, TsigKey>& keys) {
  const toml::table* table = top.table("tsig");
  if (!table) return;
  for (auto&& [name, node] : *table) {
    const std::string context = fmt::format("[tsig.{}]", name.str());
    if (!node.is_table()) {
      reporter_.error(node.source(),
                      fmt::format("'{}' in [tsig] must be a table, written {}, not {}", name.str(),
                                  context, type_name(node)));
      continue;
    }
    // TSIG key names travel on the wire as domain names.
    const std::string_view text = name.str();
    if (!zones::Name::from_text(text.ends_with('.') ? std::string(text)
                                                    : fmt::format("{}.", text))) {
      reporter_.error(name.source(),
                      fmt::format("TSIG key name '{}' is not a valid domain name", text));
    }
    TableReader r = reader(*node.as_table(), context);
    TsigKey key;
    key.name = std::string(text);
    key.algorithm = "hmac-sha256";
    if (auto algorithm = r.choice<std::string_view>(
            "algorithm", {{"hmac-sha256", "hmac-sha256"}, {"hmac-sha512", "hmac-sha512"}})) {
      key.algorithm = std::string(*algorithm);
    }
    if (auto secret = r.string("secret")) {
      if (is_base64(*secret)) {
        key.secret = *secret;
      } else {
        reporter_.error(r.find("secret")->source(),
                        fmt::format("'secret' in {} is not valid base64", context));
      }
    } else if (!r.find("secret")) {
      r.missing("secret");
    }
    r.report_unknown_keys();
    keys.emplace(key.name, std::move(key));
  }
}

void Parser::read_zones(TableReader& top, Config& config) {
  const auto tables = top.tables("zone");
  if (tables.empty() && !top.find("zone")) {
    reporter_.error(toml::source_region{{1, 1}, {1, 1}, {}},
                    "no [[zone]] defined: at least one zone is required");
  }
  for (const toml::table* table : tables) {
    TableReader r = reader(*table, "[[zone]]");
    ZoneConfig zone;
    zone.pos = reporter_.pos(r.where());
    bool ok = true;
    if (auto origin = read_name(r, "origin")) {
      zone.origin = *origin;
      const auto first = std::find_if(config.zones.begin(), config.zones.end(),
                                      [&](const ZoneConfig& z) { return z.origin == *origin; });
      if (first != config.zones.end()) {
        reporter_.error(r.find("origin")->source(),
                        fmt::format("duplicate zone origin '{}' (first defined at line {})",
                                    origin->to_text(), first->pos.line));
        ok = false;
      }
    } else {
      ok = false;
    }
    if (auto file = r.string("file")) {
      zone.file = resolve(*file);
    } else {
      if (!r.find("file")) r.missing("file");
      ok = false;
    }
    if (auto items = r.strings("notify")) {
      for (const Item& item : *items) {
        // The DNS port is the obvious default for a secondary.
        auto parsed = Endpoint::parse(item.text);
        if (!parsed) {
          if (auto address = zones::Address::parse(item.text)) {
            parsed = Endpoint{*address, 53, item.text};
          }
        }
        if (parsed) {
          zone.notify.push_back(std::move(*parsed));
        } else {
          reporter_.error(item.where,
                          fmt::format("'notify' in [[zone]] has an invalid endpoint \"{}\" "
                                      "(expected ADDRESS or ADDRESS:PORT)",
                                      item.text));
        }
      }
    }
    if (auto items = r.strings("allow_transfer")) {
      for (const Item& item : *items) {
        if (auto prefix = Prefix::parse(item.text)) {
          zone.allow_transfer.push_back(std::move(*prefix));
        } else {
          reporter_.error(
              item.where,
              fmt::format("'allow_transfer' in [[zone]] has an invalid prefix \"{}\" (expected "
                          "ADDRESS or ADDRESS/LENGTH with no bits set past LENGTH)",
                          item.text));
        }
      }
    }
    if (auto tsig = r.string("tsig")) {
      if (config.tsig.contains(*tsig)) {
        zone.tsig = *tsig;
      } else {
        reporter_.error(r.find("tsig")->source(),
                        fmt::format("'tsig' in [[zone]] names an undefined key '{}' (define it "
                                    "in a [tsig.{}] table)",
                                    *tsig, *tsig));
      }
    }
    read_dnssec(r, zone.dnssec);
    r.report_unknown_keys();
    if (ok) config.zones.push_back(std::move(zone));
  }
}

// An absolute domain name ("dl.pool.example."), reported when absent or bad.
std::optional<zones::Name> Parser::read_name(TableReader& r, std::string_view key) {
  auto text = r.string(key);
  if (!text) {
    if (!r.find(key)) r.missing(key);
    return std::nullopt;
  }
  auto name = zones::Name::from_text(*text);
  if (!name) {
    reporter_.error(r.find(key)->source(),
                    fmt::format("{} is not a valid absolute domain name: \"{}\"{}", r.name(key),
                                *text, text->ends_with('.') ? "" : " (it must end with a dot)"));
  }
  return name;
}

}  // namespace mirrorpool::dnsd::config_detail
