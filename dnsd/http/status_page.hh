// The status page served at `/` on http_listen ([server] status_page): one
// server-rendered HTML5 document, no JavaScript, its own inline stylesheet,
// readable on a phone. Pure: the status JSON, the latest journal entries and
// the answer counters in, the HTML out; built on the main loop when
// requested, never on the query path. Every text from the configuration, an
// operator or a mirror (ids, notes, reasons) is HTML-escaped.
#pragma once

#include <string>
#include <string_view>
#include <vector>

#include <nlohmann/json.hpp>

#include "dnsd/common/utc_time.hh"
#include "dnsd/http/metrics.hh"
#include "dnsd/state/journal.hh"

namespace mirrorpool::dnsd {

struct StatusPageInputs {
  // What Operations::status returns (/status.json): pools, their mirrors
  // with addresses, health and "uptime".
  nlohmann::json status;
  std::vector<JournalEntry> events;  // the latest journal entries, oldest first
  AnswerCounts answers;
  TimePoint now{};
  // status_page = "full": each mirror's email and notes, and operators'
  // names and notes in the events. Otherwise they are left out.
  bool full = false;
};

// Text safe in HTML content and in a double- or single-quoted attribute:
// & < > " ' become character references; everything else is kept.
std::string html_escape(std::string_view text);

std::string render_status_page(const StatusPageInputs& in);

}  // namespace mirrorpool::dnsd
