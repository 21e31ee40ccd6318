#include "dnsd/alert/alert_event.hh"

#include <ctime>

#include <fmt/format.h>

namespace mirrorpool::dnsd {

using nlohmann::json;

namespace {

// A header value from text that may hold anything a remote server or an
// operator wrote: no line breaks (header injection) and no other controls.
std::string header_text(std::string_view text) {
  std::string out;
  out.reserve(text.size());
  for (const char c : text) out += static_cast<unsigned char>(c) < 0x20 || c == 0x7f ? ' ' : c;
  return out;
}

// RFC 5322 §3.3: "Sat, 05 Dec 2026 11:40:00 +0000".
std::string mail_date(TimePoint now) {
  const std::time_t t = std::chrono::system_clock::to_time_t(now);
  std::tm tm{};
  gmtime_r(&t, &tm);
  char text[64];
  std::strftime(text, sizeof text, "%a, %d %b %Y %H:%M:%S +0000", &tm);
  return text;
}

std::string join(const std::vector<std::string>& items, std::string_view separator) {
  std::string out;
  for (const std::string& item : items) out += (out.empty() ? "" : std::string(separator)) + item;
  return out;
}

// "3 h 20 min", "45 min", "2 d 4 h": how long an outage has lasted.
std::string span_text(std::chrono::seconds span) {
  using namespace std::chrono;
  const auto d = duration_cast<days>(span);
  const auto h = duration_cast<hours>(span - d);
  const auto m = duration_cast<minutes>(span - d - h);
  if (d.count() > 0) return fmt::format("{} d {} h", d.count(), h.count());
  if (h.count() > 0) return fmt::format("{} h {} min", h.count(), m.count());
  return fmt::format("{} min", m.count());
}

// "mirror-down m1 127.0.1.1 in dl.pool.example.: http 503", on one line
// whatever the reason holds.
std::string one_line(const AlertEvent& e) {
  std::string where;
  if (!e.mirror.empty()) where += " " + e.mirror;
  if (!e.address.empty()) where += " " + e.address;
  if (!e.pool.empty()) where += " in " + e.pool;
  return header_text(fmt::format("{}{}: {}", to_string(e.kind), where, e.reason));
}

std::string headers(const std::string& from, const std::vector<std::string>& to,
                    const std::string& reply_to, const std::string& subject,
                    const std::string& host, TimePoint now, uint64_t unique) {
  std::string h = fmt::format("From: {}\nTo: {}\n", header_text(from), header_text(join(to, ", ")));
  if (!reply_to.empty()) h += fmt::format("Reply-To: {}\n", header_text(reply_to));
  const auto seconds = std::chrono::duration_cast<std::chrono::seconds>(now.time_since_epoch());
  h += fmt::format(
      "Subject: {}\nDate: {}\nMessage-ID: <mirrorpool.{}.{}@{}>\nAuto-Submitted: "
      "auto-generated\nMIME-Version: 1.0\nContent-Type: text/plain; charset=utf-8\n"
      "Content-Transfer-Encoding: 8bit\n\n",
      header_text(subject), mail_date(now), seconds.count(), unique, header_text(host));
  return h;
}

}  // namespace

json event_json(const AlertEvent& e) {
  json j = {{"event", to_string(e.kind)}, {"pool", e.pool},     {"mirror", e.mirror},
            {"address", e.address},       {"reason", e.reason}, {"since", format_utc(e.since)},
            {"time", format_utc(e.time)}};
  if (e.kind == AlertKind::removal_candidate) {
    json failures = json::array();
    for (const Failure& f : e.failures) {
      failures.push_back(
          {{"time", format_utc(f.time)}, {"reason", f.reason}, {"addresses", f.addresses}});
    }
    j["failures"] = std::move(failures);
  }
  return j;
}

json message_json(const AlertMessage& message) {
  if (message.events.size() == 1) {
    json j = event_json(message.events.front());
    j["alert"] = message.alert;
    return j;
  }
  json events = json::array();
  for (const AlertEvent& e : message.events) events.push_back(event_json(e));
  return {{"event", "digest"},
          {"alert", message.alert},
          {"count", message.events.size()},
          {"events", std::move(events)}};
}

std::string operator_mail(const AlertMessage& message, const std::vector<std::string>& to,
                          const std::string& host, TimePoint now, uint64_t unique) {
  const auto& events = message.events;
  const std::string subject =
      events.size() == 1 ? fmt::format("[mirrorpool] {}", one_line(events.front()))
                         : fmt::format("[mirrorpool] {} events for {}", events.size(),
                                       events.front().mirror.empty() ? events.front().pool
                                                                     : events.front().mirror);
  std::string body;
  for (const AlertEvent& e : events) {
    body += fmt::format("{}  {}\n", format_utc(e.time), one_line(e));
    if (e.since != e.time) body += fmt::format("    since {}\n", format_utc(e.since));
    for (const Failure& f : e.failures) {
      body += fmt::format("    failed {}: {} ({})\n", format_utc(f.time), f.reason,
                          join(f.addresses, ", "));
    }
  }
  body += fmt::format("\n-- \nmirrorpool on {}, [[alert]] \"{}\"\n", host, message.alert);
  return headers(fmt::format("mirrorpool <mirrorpool@{}>", host), to, "", subject, host, now,
                 unique) +
         body;
}

std::string admin_mail(const AdminMailFacts& facts, const std::string& host, TimePoint now,
                       uint64_t unique) {
  const auto down_for = std::chrono::duration_cast<std::chrono::seconds>(now - facts.down_since);
  std::string body = fmt::format(
      "Hello,\n\n"
      "the download mirror {} is part of the pool {}, which we run. Our health\n"
      "checks have found it failing since {} ({} ago), so it is no longer given\n"
      "to users for now. This is what the last checks saw:\n\n",
      facts.mirror, facts.pool, format_utc(facts.down_since), span_text(down_for));
  for (const std::string& line : facts.evidence) body += fmt::format("  {}\n", line);
  if (!facts.failures.empty()) {
    body += "\n" + failure_report(facts.mirror, facts.failures, now);
    if (!body.ends_with('\n')) body += '\n';
  }
  body += fmt::format(
      "\nOnce it works again it is given to users by itself within minutes;\n"
      "nothing else is needed. If the mirror has moved or closed, or something\n"
      "here looks wrong, please write to {}.\n\n"
      "Thank you for mirroring.\n\n"
      "-- \nmirrorpool on {}, for {}\n",
      facts.contact, host, facts.contact);
  return headers(fmt::format("mirrorpool <mirrorpool@{}>", host), {facts.email}, facts.contact,
                 fmt::format("Your mirror {} has been failing since {}", facts.mirror,
                             format_utc(facts.down_since)),
                 host, now, unique) +
         body;
}

}  // namespace mirrorpool::dnsd
