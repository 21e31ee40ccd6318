#include "dnsd/ctl/ctl_format.hh"

#include <fmt/core.h>

#include <algorithm>
#include <string_view>

namespace mirrorpool::dnsd {

namespace {

using nlohmann::json;

std::string str(const json& j, const char* key, const std::string& fallback = "-") {
  if (!j.contains(key) || j[key].is_null()) return fallback;
  return j[key].is_string() ? j[key].get<std::string>() : j[key].dump();
}

std::string join(const json& list) {
  std::string out;
  for (const auto& item : list) {
    if (!out.empty()) out += ' ';
    out += item.get<std::string>();
  }
  return out.empty() ? "(none)" : out;
}

// "DE/EU 50.11,8.68", "DE/EU", "unknown".
std::string place_text(const json& place) {
  if (place.is_null()) return "unknown";
  std::string out = str(place, "country", "");
  const std::string continent = str(place, "continent", "");
  if (!continent.empty()) out += (out.empty() ? "" : "/") + continent;
  if (place.contains("location") && place["location"].is_array()) {
    out += fmt::format("{}{:.2f},{:.2f}", out.empty() ? "" : " ",
                       place["location"][0].get<double>(), place["location"][1].get<double>());
  }
  return out.empty() ? "unknown" : out;
}

std::string format_locate(const json& result) {
  std::string out = fmt::format("{}: ", str(result, "address"));
  const std::string by = str(result, "placed_by");
  if (by == "unknown") {
    out +=
        fmt::format("not placed (network {}): ordinary weighted answers\n", str(result, "network"));
  } else {
    out += fmt::format("{} (by {} {})\n", place_text(result["place"]),
                       by == "override" ? "[[server.geo.net]]" : "database network",
                       by == "override" ? str(result, "override") : str(result, "network"));
  }
  for (const auto& pool : result["pools"]) {
    out += fmt::format("pool {}  geo={} geo_margin_km={} max_answers={}\n", str(pool, "name"),
                       str(pool, "geo"), str(pool, "geo_margin_km"), str(pool, "max_answers"));
    out += fmt::format("  {:<4} {:<18} {:<26} {:>9} {:>6} {:<8} {:<8} {}\n", "", "MIRROR",
                       "ADDRESS", "DISTANCE", "WEIGHT", "STATE", "ANSWER", "PLACE");
    for (const char* family : {"A", "AAAA"}) {
      for (const auto& m : pool[family]) {
        const std::string distance =
            m["distance_km"].is_null() ? "-" : fmt::format("{} km", m["distance_km"].get<long>());
        out += fmt::format("  {:<4} {:<18} {:<26} {:>9} {:>6} {:<8} {:<8} {}\n", family,
                           str(m, "mirror"), str(m, "address"), distance, str(m, "weight"),
                           str(m, "state"), str(m, "answer"), place_text(m["place"]));
      }
    }
  }
  return out;
}

std::string format_status(const json& result) {
  std::string out;
  for (const auto& pool : result["pools"]) {
    out += fmt::format("pool {}  when_all_down={} min_healthy={}\n", str(pool, "name"),
                       str(pool, "when_all_down"), str(pool, "min_healthy"));
    for (const char* family : {"A", "AAAA"}) {
      const json& served = pool["served"][family];
      out += fmt::format(
          "  {:<4} serving {}{}\n", family, join(served["addresses"]),
          served.value("degraded", false) ? "  [below min_healthy: policy applied]" : "");
    }
    // Ids from mirrors.json are host names: the column fits the longest.
    size_t w = 18;
    for (const auto& m : pool["mirrors"]) w = std::max(w, str(m, "id").size());
    out += fmt::format("  {:<{}} {:>6} {:<8} {:<26} {:<7} {:>8} {:>4}  {:<20} {}\n", "MIRROR", w,
                       "WEIGHT", "STATE", "ADDRESS", "HEALTH", "LATENCY", "TLS", "LAST CHECK",
                       "REASON / NOTE");
    for (const auto& m : pool["mirrors"]) {
      bool first = true;
      for (const auto& a : m["addresses"]) {
        const std::string latency =
            a["latency_ms"].is_null() ? "-" : fmt::format("{}ms", a["latency_ms"].get<int>());
        std::string reason = str(a, "reason", "");
        if (first && !str(m, "note", "").empty()) reason += " [note: " + str(m, "note") + "]";
        out += fmt::format("  {:<{}} {:>6} {:<8} {:<26} {:<7} {:>8} {:>4}  {:<20} {}\n",
                           first ? str(m, "id") : "", w, first ? str(m, "weight") : "",
                           first ? str(m, "state") : "", str(a, "address"), str(a, "state"),
                           latency, str(a, "tls_days_left"), str(a, "last_check"), reason);
        first = false;
      }
      if (!str(m, "notes", "").empty()) {
        out += fmt::format("  {:<{}} notes: {}\n", "", w, str(m, "notes"));
      }
      if (m.contains("place")) {
        const json& p = m["place"];
        const bool placed = str(p, "from") != "unplaced";
        out += fmt::format("  {:<{}} place: {}\n", "", w,
                           placed ? place_text(p) + " from " + str(p, "from")
                                  : "unknown (counts as the farthest)");
      }
      if (m.value("removal_candidate", false)) {
        out += fmt::format("  {:<{}} removal candidate: {} failures in 6 months; mail {}:\n", "", w,
                           m["failures"].size(), str(m, "email", "the mirror admin"));
        out += str(m, "failure_report", "");
      }
    }
  }
  return out;
}

std::string format_change(const json& result) {
  std::string out = str(result, "message", "done") + "\n";
  if (result.contains("before")) {
    for (const char* family : {"A", "AAAA"}) {
      const std::string before = join(result["before"][family]);
      const std::string after = join(result["after"][family]);
      out += fmt::format("  {:<4} before: {}\n  {:<4} after:  {}\n", family, before, "", after);
    }
  }
  if (result.value("dry_run", false)) out += "(dry run: nothing was changed)\n";
  return out;
}

std::string format_check(const json& result) {
  std::string out;
  for (const auto& report : result["reports"]) {
    out += fmt::format("{} {}: {}{}\n", str(result, "mirror"), str(report, "address"),
                       report.value("ok", false) ? "OK" : "FAILED",
                       report.value("ok", false) ? "" : " (" + str(report, "reason") + ")");
    for (const auto& step : report["steps"]) {
      out += fmt::format("  {:>6}ms  {:<12} {:<4} {}\n", step.value("at_ms", 0), str(step, "name"),
                         step.value("ok", false) ? "ok" : "FAIL", str(step, "detail", ""));
    }
    out += fmt::format("  total {}ms\n", report.value("total_ms", 0));
  }
  return out;
}

std::string format_history(const json& result) {
  std::string out;
  // Columns as wide as their longest entry (host-name ids, IPv6 addresses).
  size_t time_w = 4, mirror_w = 6, address_w = 7, what_w = 4, who_w = 3;
  for (const auto& e : result["entries"]) {
    time_w = std::max(time_w, str(e, "time").size());
    mirror_w = std::max(mirror_w, str(e, "mirror", "").size());
    address_w = std::max(address_w, str(e, "address", "").size());
    what_w = std::max(what_w, str(e, "what", "").size());
    who_w = std::max(who_w, str(e, "who").size());
  }
  auto line = [&](std::string_view time, std::string_view kind, std::string_view mirror,
                  std::string_view address, std::string_view what, std::string_view who,
                  std::string_view reason) {
    out += fmt::format("{:<{}}  {:<10} {:<{}} {:<{}} {:<{}} {:<{}} {}\n", time, time_w, kind,
                       mirror, mirror_w, address, address_w, what, what_w, who, who_w, reason);
  };
  if (!result["entries"].empty())
    line("TIME", "KIND", "MIRROR", "ADDRESS", "WHAT", "WHO", "REASON");
  for (const auto& e : result["entries"]) {
    line(str(e, "time"), str(e, "kind"), str(e, "mirror", ""), str(e, "address", ""),
         str(e, "what", ""), str(e, "who"), str(e, "reason", ""));
  }
  for (const auto& w : result["warnings"]) out += "warning: " + w.get<std::string>() + "\n";
  return out;
}

std::string format_dnssec_status(const json& result) {
  std::string out;
  for (const auto& zone : result["zones"]) {
    out +=
        fmt::format("zone {}  algorithm={} denial={} signature_validity={}\n", str(zone, "zone"),
                    str(zone, "algorithm"), str(zone, "denial"), str(zone, "signature_validity"));
    out += fmt::format("  signatures: from {}, earliest expiry {}, next renewal {}; {} made\n",
                       str(zone, "signatures_from"), str(zone, "earliest_expiry"),
                       str(zone, "next_renewal"), str(zone, "signatures_made"));
    for (const auto& key : zone["keys"]) {
      out += fmt::format("  key {} algorithm {} flags {}: {}\n", str(key, "tag"),
                         str(key, "algorithm_number"), str(key, "flags"), str(key, "state_text"));
      out += fmt::format("    file {}\n",
                         key["files"].empty() ? "-" : key["files"][0].get<std::string>());
      out += fmt::format("    created {}  publish {}  activate {}  inactive {}  delete {}\n",
                         str(key, "created"), str(key, "publish"), str(key, "activate"),
                         str(key, "inactive"), str(key, "delete"));
    }
  }
  return out;
}

std::string lines(const json& list) {
  std::string out;
  for (const auto& line : list) out += line.get<std::string>() + "\n";
  return out;
}

}  // namespace

std::string format_result(Command command, const json& result) {
  switch (command) {
    case Command::status:
      return format_status(result);
    case Command::check:
      return format_check(result);
    case Command::history:
      return format_history(result);
    case Command::export_mirrors_json:
      return str(result, "text", "");
    case Command::locate:
      return format_locate(result);
    case Command::dnssec_status:
      return format_dnssec_status(result);
    case Command::dnssec_ds:
      return lines(result["ds"]) + lines(result["dnskey"]);
    case Command::dnssec_rollover:
    case Command::dnssec_ds_seen:
      return str(result, "message", "done") + "\n";
    case Command::drain:
    case Command::undrain:
    case Command::set_weight:
    case Command::add:
    case Command::remove:
    case Command::reload:
      break;
  }
  std::string out = format_change(result);
  if (result.contains("warnings")) {
    for (const auto& w : result["warnings"]) out += "warning: " + w.get<std::string>() + "\n";
  }
  return out;
}

}  // namespace mirrorpool::dnsd
