// [[alert]] (mirrorpool.toml(5)): the events each alert is about and its
// channels. Whether a command can run or a mail is delivered is only known
// when it is tried, and is logged and counted then.
#include <chrono>
#include <set>

#include "dnsd/config/config_parser.hh"
#include "dnsd/config/mirror_limits.hh"

namespace mirrorpool::dnsd::config_detail {

using std::chrono::days;
using std::chrono::seconds;

namespace {

// Loose on purpose: the MTA judges addresses; this catches a missing '@' or
// a stray space, the typos that would otherwise surface as a bounced mail.
bool looks_like_address(std::string_view text) {
  const auto at = text.find('@');
  return at != std::string_view::npos && at > 0 && at + 1 < text.size() &&
         text.find_first_of(" \t\r\n,<>") == std::string_view::npos;
}

}  // namespace

void Parser::read_alerts(TableReader& top, std::vector<AlertConfig>& alerts) {
  std::set<std::string> names;
  for (const toml::table* table : top.tables("alert")) {
    TableReader r = reader(*table, "[[alert]]");
    AlertConfig alert;
    alert.pos = reporter_.pos(table->source());
    if (auto name = r.string("name")) {
      if (!is_valid_id(*name)) {
        reporter_.error(r.find("name")->source(),
                        fmt::format("'name' in [[alert]] must be letters, digits, '.', '_' or "
                                    "'-' (got \"{}\")",
                                    *name));
      } else if (!names.insert(*name).second) {
        reporter_.error(r.find("name")->source(),
                        fmt::format("a second [[alert]] named \"{}\"", *name));
      }
      alert.name = std::move(*name);
    } else if (!r.find("name")) {
      r.missing("name");
    }
    if (auto events = r.strings("events")) {
      for (const Item& item : *events) {
        if (auto kind = parse_alert_kind(item.text)) {
          alert.events.set(static_cast<size_t>(*kind));
        } else {
          std::string known;
          for (std::string_view k : kAlertKindNames) known += fmt::format(" {}", k);
          reporter_.error(item.where, fmt::format("unknown event \"{}\" in [[alert]]; one of:{}",
                                                  item.text, known));
        }
      }
      if (events->empty()) {
        reporter_.error(r.find("events")->source(),
                        "'events' in [[alert]] is empty: leave it out for every event");
      }
    } else {
      alert.events.set();
    }
    if (auto command = r.strings("command")) {
      for (Item& item : *command) alert.command.push_back(std::move(item.text));
      if (alert.command.empty() || !alert.command[0].starts_with('/')) {
        reporter_.error(r.find("command")->source(),
                        "'command' in [[alert]] must start with the program's absolute path");
      }
    }
    if (auto webhook = r.string("webhook")) {
      if (!webhook->starts_with("http://") && !webhook->starts_with("https://")) {
        reporter_.error(r.find("webhook")->source(),
                        fmt::format("'webhook' in [[alert]] must be an http:// or https:// URL "
                                    "(got \"{}\")",
                                    *webhook));
      }
      alert.webhook = std::move(*webhook);
    }
    if (auto mail_to = r.strings("mail_to")) {
      for (Item& item : *mail_to) {
        if (!looks_like_address(item.text)) {
          reporter_.error(item.where,
                          fmt::format("\"{}\" in 'mail_to' is not a mail address", item.text));
        }
        alert.mail_to.push_back(std::move(item.text));
      }
    }
    if (auto admins = r.boolean("mirror_admins")) alert.mirror_admins = *admins;
    if (auto after = r.duration("admin_after", seconds(1), days(30))) alert.admin_after = *after;
    if (auto interval = r.duration("min_interval", seconds(0), days(1))) {
      alert.min_interval = *interval;
    }
    if (auto contact = r.string("contact")) {
      if (!looks_like_address(*contact)) {
        reporter_.error(
            r.find("contact")->source(),
            fmt::format("'contact' in [[alert]] is not a mail address (got \"{}\")", *contact));
      }
      alert.contact = std::move(*contact);
    }
    if (alert.contact.empty() && !alert.mail_to.empty()) alert.contact = alert.mail_to.front();
    if (alert.command.empty() && alert.webhook.empty() && alert.mail_to.empty() &&
        !alert.mirror_admins) {
      reporter_.error(table->source(),
                      "[[alert]] needs a channel: 'command', 'webhook', 'mail_to' or "
                      "'mirror_admins'");
    }
    if (alert.mirror_admins && alert.contact.empty()) {
      reporter_.error(r.key_where("mirror_admins"),
                      "'mirror_admins' in [[alert]] needs 'contact' or 'mail_to': the mail to a "
                      "mirror's admin says how to reach you");
    }
    r.report_unknown_keys();
    alerts.push_back(std::move(alert));
  }
}

}  // namespace mirrorpool::dnsd::config_detail
