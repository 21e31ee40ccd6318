// The status page of status_page.hh: a table per pool (one row per mirror), a
// 30-day picture per mirror as inline SVG, and the latest journal entries.
// Figures come only from the inputs; one that is not known is shown as "–".
#include "dnsd/http/status_page.hh"

#include <cmath>
#include <optional>

#include <fmt/core.h>

namespace mirrorpool::dnsd {
namespace {

using nlohmann::json;

// The stylesheet: small, no external resource; on a narrow screen the
// tables scroll sideways inside their box instead of widening the page.
constexpr std::string_view kStyle = R"(
body{font:15px/1.4 system-ui,sans-serif;margin:0 auto;padding:0 .8em 2em;max-width:90em;color:#1a1a1a;background:#fff}
h1{font-size:1.4em;margin:.8em 0 .2em}h2{font-size:1.15em;margin:1.4em 0 .3em;overflow-wrap:anywhere}
.made,.pool-info,.legend{color:#555;font-size:.9em;margin:.2em 0}
.scroll{overflow-x:auto;-webkit-overflow-scrolling:touch;border:1px solid #ddd;border-radius:4px}
table{border-collapse:collapse;width:100%;font-size:.9em}
th,td{padding:.35em .55em;text-align:left;vertical-align:top;border-bottom:1px solid #eee;white-space:nowrap}
th{background:#f5f5f5;font-weight:600}
td.wrap{white-space:normal;min-width:12em;overflow-wrap:anywhere}
td.num{text-align:right;font-variant-numeric:tabular-nums}
.addr{color:#555;font-size:.9em;display:block}
.state{font-weight:600}
.up{color:#1b5e20}.down{color:#b71c1c}.forced{color:#e65100}.drained,.disabled{color:#616161}
.degraded{color:#b71c1c;font-weight:600}
svg{display:block}
.d0{color:#2e7d32}.d1{color:#9ccc65}.d2{color:#fdd835}.d3{color:#fb8c00}.d4{color:#c62828}.dn{color:#d0d0d0}
)";

// Colours of a day in the picture by its share of time down; grey: unknown.
constexpr std::string_view kUnknownColour = "#d0d0d0";
std::string_view day_colour(double down_fraction) {
  if (down_fraction <= 0) return "#2e7d32";
  if (down_fraction < 0.01) return "#9ccc65";
  if (down_fraction < 0.1) return "#fdd835";
  if (down_fraction < 0.5) return "#fb8c00";
  return "#c62828";
}

std::string str(const json& j, const char* key) {
  const auto it = j.find(key);
  return it != j.end() && it->is_string() ? it->get<std::string>() : std::string();
}

std::optional<double> number(const json& j, const char* key) {
  const auto it = j.find(key);
  if (it == j.end() || !it->is_number()) return std::nullopt;
  return it->get<double>();
}

const json& member(const json& j, const char* key) {
  static const json kNull;
  const auto it = j.is_object() ? j.find(key) : j.end();
  return it != j.end() ? *it : kNull;
}

// One decimal, rounded down, so that a mirror that was down at all never
// reads "100.0".
std::string percent(std::optional<double> p) {
  if (!p) return "–";
  return fmt::format("{:.1f} %", std::floor(*p * 10) / 10);
}

// "3 d 4 h", "5 h 12 min", "42 s".
std::string span(std::chrono::seconds d) {
  const long long s = d.count() < 0 ? 0 : d.count();
  if (s >= 86400) return fmt::format("{} d {} h", s / 86400, s % 86400 / 3600);
  if (s >= 3600) return fmt::format("{} h {} min", s / 3600, s % 3600 / 60);
  if (s >= 60) return fmt::format("{} min", s / 60);
  return fmt::format("{} s", s);
}

// "2026-11-30 14:03 UTC" from "2026-11-30T14:03:00Z", in a <time> element.
std::string time_html(const std::string& utc) {
  if (utc.size() < 16) return "–";
  return fmt::format("<time datetime=\"{}\">{} {} UTC</time>", html_escape(utc),
                     html_escape(utc.substr(0, 10)), html_escape(utc.substr(11, 5)));
}

std::string since_html(const std::string& utc, TimePoint now) {
  const auto when = parse_utc(utc);
  if (!when) return "–";
  return fmt::format("{}<span class=\"addr\">{} ago</span>", time_html(utc),
                     span(std::chrono::duration_cast<std::chrono::seconds>(now - *when)));
}

// The 30-day picture: one cell per UTC day, oldest on the left.
std::string picture(const json& days) {
  constexpr int kCell = 6;
  constexpr int kHeight = 16;
  const int width = static_cast<int>(days.size()) * kCell;
  std::string out = fmt::format(
      "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"{0}\" height=\"{1}\" viewBox=\"0 0 {0} "
      "{1}\" role=\"img\" aria-label=\"health of the last {2} days, oldest first\">",
      width, kHeight, days.size());
  int x = 0;
  for (const json& d : days) {
    const auto up = number(d, "up_percent");
    const auto observed = number(d, "observed_seconds").value_or(0);
    const auto down = number(d, "down_seconds").value_or(0);
    const std::string_view colour =
        up && observed > 0 ? day_colour(down / observed) : kUnknownColour;
    const std::string label =
        up ? fmt::format("{}: {} up, down {}", str(d, "date"), percent(up),
                         span(std::chrono::seconds(static_cast<long long>(down))))
           : fmt::format("{}: no data", str(d, "date"));
    out += fmt::format(
        "<rect x=\"{}\" y=\"0\" width=\"{}\" height=\"{}\" fill=\"{}\"><title>{}</title></rect>", x,
        kCell - 1, kHeight, colour, html_escape(label));
    x += kCell;
  }
  return out + "</svg>";
}

// Each address's figure on a line of its own, in the order of the mirror cell.
template <typename Figure>
std::string per_address(const json& addresses, Figure figure) {
  std::string out;
  for (const json& a : addresses) {
    if (!out.empty()) out += "<br>";
    out += figure(a);
  }
  return out.empty() ? "–" : out;
}

std::string reason_html(const json& mirror, const std::string& state, bool full) {
  std::string out;
  if (state == "drained") {
    out = "drained";
    const std::string note = str(mirror, "note");
    if (full && !note.empty()) out += ": " + html_escape(note);
  } else if (state == "disabled") {
    out = "weight 0";
  }
  // Every address that is down says why, also when another keeps the mirror up.
  for (const json& a : member(mirror, "addresses")) {
    if (member(a, "up").is_boolean() && member(a, "up").get<bool>()) continue;
    if (!out.empty()) out += "<br>";
    out += fmt::format("{}: {}", html_escape(str(a, "address")),
                       html_escape(str(a, "reason").empty() ? "down" : str(a, "reason")));
  }
  return out;
}

std::string share_html(const AnswerCounts& answers, const std::string& pool,
                       const std::string& mirror) {
  const auto p = answers.pools.find(pool);
  const auto m = answers.mirrors.find({pool, mirror});
  if (p == answers.pools.end() || m == answers.mirrors.end() || p->second == 0) return "–";
  return fmt::format("{:.1f} %<span class=\"addr\">{} of {}</span>",
                     100.0 * static_cast<double>(m->second) / static_cast<double>(p->second),
                     m->second, p->second);
}

bool any_freshness(const json& mirrors) {
  for (const json& m : mirrors) {
    for (const json& a : member(m, "addresses")) {
      if (number(a, "freshness_lag_seconds")) return true;
    }
  }
  return false;
}

std::string mirror_row(const json& m, const std::string& pool, const StatusPageInputs& in,
                       bool freshness) {
  const std::string id = str(m, "id");
  const std::string state = str(m, "state");
  const json& addresses = member(m, "addresses");
  const json& uptime = member(m, "uptime");
  const json& windows = member(uptime, "windows");
  std::string row =
      fmt::format("<tr data-mirror=\"{}\"><td><b>{}</b>", html_escape(id), html_escape(id));
  for (const json& a : addresses) {
    row += fmt::format("<span class=\"addr\">{}</span>", html_escape(str(a, "address")));
  }
  row += fmt::format("</td><td class=\"state {0}\">{0}</td>", html_escape(state));
  row += fmt::format("<td class=\"wrap\">{}</td>", reason_html(m, state, in.full));
  // A drain began when the operator drained it; otherwise the health state
  // began at the last transition of the mirror.
  const std::string changed = str(m, "changed_at");
  row += fmt::format(
      "<td>{}</td>",
      since_html(state == "drained" && !changed.empty() ? changed : str(uptime, "since"), in.now));
  for (const char* w : {"24h", "7d", "30d"}) {
    row += fmt::format("<td class=\"num uptime-{}\">{}</td>", w,
                       percent(number(member(windows, w), "up_percent")));
  }
  row += fmt::format("<td class=\"num\">{}</td>", per_address(addresses, [](const json& a) {
                       const auto ms = number(a, "latency_ms");
                       return ms ? fmt::format("{:.0f} ms", *ms) : std::string("–");
                     }));
  row += fmt::format("<td class=\"num\">{}</td>", per_address(addresses, [](const json& a) {
                       const auto days = number(a, "tls_days_left");
                       if (!days) return std::string("–");
                       if (*days < 0) return std::string("expired");
                       return fmt::format("{:.0f} d", *days);
                     }));
  if (freshness) {
    row += fmt::format("<td class=\"num\">{}</td>", per_address(addresses, [](const json& a) {
                         const auto lag = number(a, "freshness_lag_seconds");
                         return lag ? span(std::chrono::seconds(static_cast<long long>(*lag)))
                                    : std::string("–");
                       }));
  }
  const auto weight = number(m, "weight");
  row += fmt::format("<td class=\"num\">{}</td>",
                     weight ? fmt::format("{:.0f}", *weight) : std::string("–"));
  row += fmt::format("<td class=\"num\">{}</td>", share_html(in.answers, pool, id));
  row += fmt::format("<td>{}</td>", picture(member(uptime, "days")));
  if (in.full) {
    row += fmt::format("<td>{}</td>", html_escape(str(m, "email")));
    std::string notes = html_escape(str(m, "notes"));
    const std::string note = str(m, "note");
    if (!note.empty()) {
      if (!notes.empty()) notes += "<br>";
      notes += fmt::format("{} ({})", html_escape(note), html_escape(str(m, "changed_by")));
    }
    row += fmt::format("<td class=\"wrap notes\">{}</td>", notes);
  }
  return row + "</tr>\n";
}

std::string pool_section(const json& pool, const StatusPageInputs& in) {
  const std::string name = str(pool, "name");
  const json& mirrors = member(pool, "mirrors");
  const bool freshness = any_freshness(mirrors);
  size_t up = 0;
  for (const json& m : mirrors) up += str(m, "state") == "up" ? 1 : 0;
  std::string out =
      fmt::format("<section>\n<h2>{}</h2>\n<p class=\"pool-info\">{} of {} mirrors up",
                  html_escape(name), up, mirrors.size());
  const json& served = member(pool, "served");
  for (const char* family : {"A", "AAAA"}) {
    const json& f = member(served, family);
    out += fmt::format("; {}: {} address{} served", family, member(f, "addresses").size(),
                       member(f, "addresses").size() == 1 ? "" : "es");
    if (member(f, "degraded").is_boolean() && member(f, "degraded").get<bool>()) {
      out += fmt::format(" <span class=\"degraded\">(degraded: when_all_down {})</span>",
                         html_escape(str(pool, "when_all_down")));
    }
  }
  out +=
      "</p>\n<div class=\"scroll\"><table>\n<thead><tr><th>Mirror</th><th>State</th>"
      "<th>Reason</th><th>Since</th><th>Up 24 h</th><th>Up 7 d</th><th>Up 30 d</th>"
      "<th>Latency</th><th>TLS left</th>";
  if (freshness) out += "<th>Freshness lag</th>";
  out += "<th>Weight</th><th>Share</th><th>Last 30 days</th>";
  if (in.full) out += "<th>Email</th><th>Notes</th>";
  out += "</tr></thead>\n<tbody>\n";
  for (const json& m : mirrors) out += mirror_row(m, name, in, freshness);
  return out + "</tbody></table></div>\n</section>\n";
}

std::string events_section(const StatusPageInputs& in) {
  std::string out =
      "<section>\n<h2>Latest events</h2>\n<div class=\"scroll\"><table>\n<thead><tr>"
      "<th>Time</th><th>Pool</th><th>Mirror</th><th>Address</th><th>What</th><th>Reason</th>";
  if (in.full) out += "<th>Who</th>";
  out += "</tr></thead>\n<tbody>\n";
  if (in.events.empty()) {
    out += fmt::format("<tr><td colspan=\"{}\">none recorded</td></tr>\n", in.full ? 7 : 6);
  }
  // Newest first.
  for (auto it = in.events.rbegin(); it != in.events.rend(); ++it) {
    const JournalEntry& e = *it;
    // A health reason is the probe's; an operator's reason is their note.
    const bool note = e.kind != JournalKind::health;
    out += fmt::format(
        "<tr><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td class=\"wrap\">{}</td>",
        time_html(format_utc(e.time)), html_escape(e.pool), html_escape(e.mirror),
        html_escape(e.address), html_escape(e.what),
        note && !in.full ? std::string() : html_escape(e.reason));
    if (in.full) out += fmt::format("<td>{}</td>", html_escape(e.who));
    out += "</tr>\n";
  }
  return out + "</tbody></table></div>\n</section>\n";
}

}  // namespace

std::string html_escape(std::string_view text) {
  std::string out;
  out.reserve(text.size());
  for (const char c : text) {
    switch (c) {
      case '&':
        out += "&amp;";
        break;
      case '<':
        out += "&lt;";
        break;
      case '>':
        out += "&gt;";
        break;
      case '"':
        out += "&quot;";
        break;
      case '\'':
        out += "&#39;";
        break;
      default:
        out += c;
    }
  }
  return out;
}

std::string render_status_page(const StatusPageInputs& in) {
  const std::string made = format_utc(in.now);
  std::string out = fmt::format(
      "<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n"
      "<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\n"
      // Nothing but the inline stylesheet may load or run, whatever a note says.
      "<meta http-equiv=\"Content-Security-Policy\" content=\"default-src 'none'; style-src "
      "'unsafe-inline'\">\n"
      "<title>Mirror status</title>\n<style>{}</style>\n</head>\n<body>\n"
      "<h1>Mirror status</h1>\n<p class=\"made\">Made {} by mirrorpoold {}.</p>\n",
      kStyle, time_html(made), MIRRORPOOL_VERSION);
  for (const json& pool : member(in.status, "pools")) out += pool_section(pool, in);
  out += events_section(in);
  out +=
      "<p class=\"legend\">Up: the share of the time the daemon watched the mirror in which at "
      "least one of its addresses passed its checks, from the journal; time before it first saw "
      "the mirror is left out (– when there is none). Share: the mirror's addresses given out "
      "per answer of its pool since the daemon started. Last 30 days, one cell per UTC day: "
      "<span class=\"d0\">■</span> never down, "
      "<span class=\"d1\">■</span> under 1 %, "
      "<span class=\"d2\">■</span> under 10 %, "
      "<span class=\"d3\">■</span> under 50 %, "
      "<span class=\"d4\">■</span> more, "
      "<span class=\"dn\">■</span> no data.</p>\n</body>\n</html>\n";
  return out;
}

}  // namespace mirrorpool::dnsd
