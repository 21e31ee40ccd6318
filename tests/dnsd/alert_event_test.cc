// The texts an alert is told in: the JSON a command or webhook gets, the
// digest, and the mails (headers safe from what a remote server writes).
#include <doctest/doctest.h>

#include "dnsd/alert/alert_event.hh"

namespace mirrorpool::dnsd {
namespace {

TimePoint at(const char* text) {
  return *parse_utc(text);
}

AlertEvent down_event() {
  AlertEvent e;
  e.kind = AlertKind::mirror_down;
  e.pool = "dl.pool.example.";
  e.mirror = "m1";
  e.address = "192.0.2.1";
  e.reason = "http 503";
  e.since = e.time = at("2026-12-05T10:00:00Z");
  return e;
}

TEST_CASE("one event: its JSON with the alert's name") {
  const auto j = message_json(AlertMessage{"ops", {down_event()}});
  CHECK(j.dump() ==
        R"({"address":"192.0.2.1","alert":"ops","event":"mirror-down","mirror":"m1",)"
        R"("pool":"dl.pool.example.","reason":"http 503","since":"2026-12-05T10:00:00Z",)"
        R"("time":"2026-12-05T10:00:00Z"})");
}

TEST_CASE("several events: one digest") {
  AlertEvent up = down_event();
  up.kind = AlertKind::mirror_up;
  up.time = at("2026-12-05T10:05:00Z");
  const auto j = message_json(AlertMessage{"ops", {down_event(), up}});
  CHECK(j["event"] == "digest");
  CHECK(j["count"] == 2);
  CHECK(j["events"][1]["event"] == "mirror-up");
  CHECK(j["events"][1]["since"] == "2026-12-05T10:00:00Z");
}

TEST_CASE("a removal candidate carries its failures") {
  AlertEvent e = down_event();
  e.kind = AlertKind::removal_candidate;
  e.failures = {Failure{at("2026-11-05T00:00:00Z"), {}, "No route to host"},
                Failure{at("2026-12-05T10:00:00Z"), {"192.0.2.1"}, "http 503"}};
  const auto j = event_json(e);
  REQUIRE(j["failures"].size() == 2);
  CHECK(j["failures"][0]["reason"] == "No route to host");
  CHECK(j["failures"][1]["addresses"][0] == "192.0.2.1");
}

TEST_CASE("the operator's mail: RFC 5322 headers, no header injection") {
  AlertEvent e = down_event();
  e.reason = "http: bad\r\nBcc: victim@example.org";
  const std::string mail =
      operator_mail(AlertMessage{"ops", {e}}, {"a@example.org", "b@example.org"}, "ns1",
                    at("2026-12-05T10:00:01Z"), 7);
  CHECK(mail.starts_with("From: mirrorpool <mirrorpool@ns1>\nTo: a@example.org, b@example.org\n"));
  CHECK(mail.find("\nDate: Sat, 05 Dec 2026 10:00:01 +0000\n") != std::string::npos);
  CHECK(mail.find("\nMessage-ID: <mirrorpool.1796464801.7@ns1>\n") != std::string::npos);
  // The reason stays inside the Subject line.
  CHECK(mail.find("\nBcc:") == std::string::npos);
  CHECK(mail.find("Subject: [mirrorpool] mirror-down m1 192.0.2.1 in dl.pool.example.: http: "
                  "bad  Bcc: victim@example.org\n") != std::string::npos);
}

TEST_CASE("the mirror admin's mail: what fails, since when, and whom to write to") {
  AdminMailFacts facts{"dl.pool.example.",
                       "m1",
                       "admin@mirror.example",
                       "ops@example.org",
                       at("2026-12-05T08:00:00Z"),
                       {"192.0.2.1: http 503 (last checked x)"},
                       {Failure{at("2026-12-05T08:00:00Z"), {"192.0.2.1"}, "http 503"}}};
  const std::string mail = admin_mail(facts, "ns1", at("2026-12-05T10:30:00Z"), 1);
  CHECK(mail.find("To: admin@mirror.example\nReply-To: ops@example.org\n") != std::string::npos);
  CHECK(mail.find("Subject: Your mirror m1 has been failing since 2026-12-05T08:00:00Z\n") !=
        std::string::npos);
  CHECK(mail.find("since 2026-12-05T08:00:00Z (2 h 30 min ago)") != std::string::npos);
  CHECK(mail.find("  192.0.2.1: http 503 (last checked x)\n") != std::string::npos);
  CHECK(mail.find("m1 failed 1 time") != std::string::npos);
  CHECK(mail.find("please write to ops@example.org") != std::string::npos);
}

}  // namespace
}  // namespace mirrorpool::dnsd
