// Fuzzes what the daemon reads from the control socket and from its own state
// files, which a crash or a careless edit may leave damaged: the request line,
// journal lines and state.json. Both files carry a SHA-256 that random bytes
// never match, so each input is also tried re-sealed with a correct checksum
// to reach the field validation behind it; what parses must format back to
// text that parses to the same thing.
#include <string>

#include <nlohmann/json.hpp>

#include "dnsd/admin_state.hh"
#include "dnsd/checksum.hh"
#include "dnsd/control_schema.hh"
#include "dnsd/journal.hh"
#include "tests/fuzz/fuzz_target.hh"

using namespace mirrorpool;
using namespace mirrorpool::dnsd;
using json = nlohmann::json;

namespace {

// How journal.cc and admin_state.cc checksum their JSON.
std::string canonical(const json& j) {
  return j.dump(-1, ' ', false, json::error_handler_t::replace);
}

void journal_line(std::string_view line) {
  std::string error;
  const auto entry = parse_journal_line(line, error);
  fuzz::check(entry.has_value() || !error.empty(), "a journal line refused without a reason");
  if (!entry) return;
  const std::string formatted = format_journal_line(*entry);
  const auto again = parse_journal_line(formatted, error);
  fuzz::check(again.has_value(), "a formatted journal line does not parse");
  fuzz::check(format_journal_line(*again) == formatted, "a journal entry changes on a round trip");
}

void admin_state(std::string_view text) {
  AdminState state;
  std::string error;
  const LoadStatus status = parse_admin_state(text, state, error);
  fuzz::check(status == LoadStatus::ok || !error.empty(), "state.json refused without a reason");
  if (status != LoadStatus::ok) return;
  const std::string formatted = format_admin_state(state);
  AdminState again;
  fuzz::check(parse_admin_state(formatted, again, error) == LoadStatus::ok,
              "a formatted state.json does not parse");
  fuzz::check(format_admin_state(again) == formatted, "state.json changes on a round trip");
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::string_view text = fuzz::as_text(data, size);
  std::string error;
  const auto request = parse_control_request(text.substr(0, text.find('\n')), error);
  fuzz::check(request.has_value() || !error.empty(), "a request refused without a reason");

  journal_line(text);
  admin_state(text);

  json j = json::parse(text, nullptr, false);
  if (j.is_discarded() || !j.is_object()) return 0;
  json line = j;
  line.erase("sha256");
  line["sha256"] = sha256_hex(canonical(line));
  journal_line(canonical(line));
  if (j.contains("state")) {
    j["sha256"] = sha256_hex(canonical(j["state"]));
    admin_state(canonical(j));
  }
  return 0;
}
