// Unit tests of the status page (status_page.hh): escaping of everything an
// operator or a mirror wrote, public against full, the figures shown from
// the status JSON, the optional freshness column, the events.
#include <string>

#include <doctest/doctest.h>

#include "dnsd/http/status_page.hh"

namespace mirrorpool::dnsd {
namespace {

using nlohmann::json;

const TimePoint kNow = *parse_utc("2026-12-01T12:00:00Z");

json day(const std::string& date, double up, long long observed, long long down) {
  return {
      {"date", date}, {"up_percent", up}, {"observed_seconds", observed}, {"down_seconds", down}};
}

json mirror(const std::string& id, const std::string& notes) {
  json days = json::array();
  for (int i = 0; i < 29; ++i) {
    days.push_back({{"date", "2026-11-02"},
                    {"up_percent", nullptr},
                    {"observed_seconds", 0},
                    {"down_seconds", 0}});
  }
  days.push_back(day("2026-12-01", 75.0, 43200, 10800));
  return {{"id", id},
          {"state", "up"},
          {"weight", 3},
          {"notes", notes},
          {"email", "admin@mirror.example"},
          {"addresses",
           {{{"address", "192.0.2.1"},
             {"up", true},
             {"reason", "ok"},
             {"latency_ms", 12},
             {"tls_days_left", 41},
             {"freshness_lag_seconds", nullptr}},
            {{"address", "2001:db8::1"},
             {"up", false},
             {"reason", "http 503 <b>"},
             {"latency_ms", 7},
             {"tls_days_left", nullptr},
             {"freshness_lag_seconds", nullptr}}}},
          {"uptime",
           {{"since", "2026-12-01T06:00:00Z"},
            {"windows",
             {{"24h", {{"up_percent", 75.0}}},
              {"7d", {{"up_percent", 99.94}}},
              {"30d", {{"up_percent", nullptr}}}}},
            {"days", days}}}};
}

StatusPageInputs inputs(bool full) {
  StatusPageInputs in;
  in.status = {{"pools",
                {{{"name", "dl.pool.example."},
                  {"when_all_down", "serve-all"},
                  {"served",
                   {{"A", {{"addresses", {"192.0.2.1"}}, {"degraded", false}}},
                    {"AAAA", {{"addresses", json::array()}, {"degraded", true}}}}},
                  {"mirrors", {mirror("m1\"><i>x", "<script>alert(1)</script>")}}}}}};
  in.events.push_back(JournalEntry{kNow - std::chrono::hours(1), "uid 0 (root)", JournalKind::drain,
                                   "dl.pool.example.", "m1\"><i>x", "", "drained",
                                   "secret <img src=x> note"});
  in.answers.pools["dl.pool.example."] = 200;
  in.answers.mirrors[{"dl.pool.example.", "m1\"><i>x"}] = 50;
  in.now = kNow;
  in.full = full;
  return in;
}

TEST_CASE("html_escape") {
  CHECK(html_escape("<script>alert(1)</script>") == "&lt;script&gt;alert(1)&lt;/script&gt;");
  CHECK(html_escape("a & \"b\" 'c'") == "a &amp; &quot;b&quot; &#39;c&#39;");
  CHECK(html_escape("plain ü") == "plain ü");
}

TEST_CASE("a note with a script is text, and only on the full page") {
  const std::string full = render_status_page(inputs(true));
  CHECK(full.find("&lt;script&gt;alert(1)&lt;/script&gt;") != std::string::npos);
  CHECK(full.find("<script") == std::string::npos);
  CHECK(full.find("<img") == std::string::npos);
  CHECK(full.find("secret &lt;img src=x&gt; note") != std::string::npos);
  CHECK(full.find("admin@mirror.example") != std::string::npos);
  CHECK(full.find("uid 0 (root)") != std::string::npos);
  // An id in an attribute and in text.
  CHECK(full.find("data-mirror=\"m1&quot;&gt;&lt;i&gt;x\"") != std::string::npos);
  CHECK(full.find("<i>") == std::string::npos);

  const std::string pub = render_status_page(inputs(false));
  CHECK(pub.find("alert(1)") == std::string::npos);
  CHECK(pub.find("secret") == std::string::npos);
  CHECK(pub.find("admin@mirror.example") == std::string::npos);
  CHECK(pub.find("uid 0") == std::string::npos);
  CHECK(pub.find("<th>Email</th>") == std::string::npos);
  // The event itself is public.
  CHECK(pub.find("<td>drained</td>") != std::string::npos);
}

TEST_CASE("the figures of a mirror") {
  const std::string page = render_status_page(inputs(false));
  CHECK(page.starts_with("<!DOCTYPE html>"));
  CHECK(page.find("name=\"viewport\"") != std::string::npos);
  CHECK(page.find("<td class=\"num uptime-24h\">75.0 %</td>") != std::string::npos);
  // Rounded down: down at all never reads as 100.0.
  CHECK(page.find("<td class=\"num uptime-7d\">99.9 %</td>") != std::string::npos);
  CHECK(page.find("<td class=\"num uptime-30d\">–</td>") != std::string::npos);
  CHECK(page.find("12 ms<br>7 ms") != std::string::npos);
  CHECK(page.find("41 d<br>–") != std::string::npos);
  CHECK(page.find("25.0 %<span class=\"addr\">50 of 200</span>") != std::string::npos);
  CHECK(page.find("2001:db8::1: http 503 &lt;b&gt;") != std::string::npos);
  CHECK(page.find("6 h 0 min ago") != std::string::npos);
  CHECK(page.find("(degraded: when_all_down serve-all)") != std::string::npos);
  CHECK(page.find("Made <time datetime=\"2026-12-01T12:00:00Z\">") != std::string::npos);
  // The picture: 30 cells, the last a quarter down.
  size_t cells = 0;
  for (size_t at = page.find("<rect"); at != std::string::npos; at = page.find("<rect", at + 1)) {
    ++cells;
  }
  CHECK(cells == 30);
  CHECK(page.find("2026-12-01: 75.0 % up, down 3 h 0 min") != std::string::npos);
  // No freshness check: no column, rather than a made-up figure.
  CHECK(page.find("Freshness lag") == std::string::npos);
}

TEST_CASE("the freshness lag column appears with a freshness check") {
  StatusPageInputs in = inputs(false);
  in.status["pools"][0]["mirrors"][0]["addresses"][0]["freshness_lag_seconds"] = 5400;
  const std::string page = render_status_page(in);
  CHECK(page.find("<th>Freshness lag</th>") != std::string::npos);
  CHECK(page.find("1 h 30 min<br>–") != std::string::npos);
}

TEST_CASE("no pools and no events still make a page") {
  StatusPageInputs in;
  in.status = {{"pools", json::array()}};
  in.now = kNow;
  const std::string page = render_status_page(in);
  CHECK(page.find("none recorded") != std::string::npos);
  CHECK(page.ends_with("</html>\n"));
}

}  // namespace
}  // namespace mirrorpool::dnsd
