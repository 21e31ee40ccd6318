// Fuzzes what the daemon reads from the control socket and from its own state
// files, which a crash or a careless edit may leave damaged: the request line,
// journal lines and state.json. The request line goes where the daemon sends
// it: through answer_control_line into a real Operations (operations_harness:
// its own config and state_dir, fresh for each input), so the handlers run
// too. Both files carry a SHA-256 that random bytes never match, so each
// input is also tried re-sealed with a correct checksum to reach the field
// validation behind it; what parses must format back to text that parses to
// the same thing.
#include <string>

#include <nlohmann/json.hpp>

#include "dnsd/common/checksum.hh"
#include "dnsd/control/control_server.hh"
#include "dnsd/state/admin_state.hh"
#include "dnsd/state/journal.hh"
#include "tests/dnsd/operations_harness.hh"
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

// Every line gets exactly one reply, at once (nothing here probes), of the
// shape every command uses; one the schema refused says why.
void control_request(std::string_view line) {
  std::string error;
  const bool valid = parse_control_request(line, error).has_value();
  fuzz::check(valid || !error.empty(), "a request refused without a reason");
  test::OperationsHarness harness;
  const json reply = harness.request(line);
  fuzz::check(reply.is_object() && reply.contains("ok") && reply.at("ok").is_boolean(),
              "a request without a well-formed reply");
  fuzz::check(valid || (reply.at("ok") == false && reply.contains("error")),
              "a refused request not answered with an error");
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
  control_request(text.substr(0, text.find('\n')));

  journal_line(text);
  admin_state(text);

  // The re-sealed copies are made by recursive copies and dumps of the JSON,
  // which deep nesting would overflow; the daemon makes none from such input.
  if (nests_deeper_than(text, kMaxControlDepth)) return 0;
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
