// The control request schema, table-driven: every command with the args
// mirrorpoolctl sends passes, and every field of every command, missing
// (when required), mistyped, out of range, or given to a command that does
// not take it, is refused with a message naming it, by the validator and by
// the daemon's real dispatch into Operations. Also the depth limit and the
// request envelope (version, command, args).
#include <cstddef>
#include <string>
#include <vector>

#include <doctest/doctest.h>
#include <nlohmann/json.hpp>

#include "dnsd/control/control_protocol.hh"
#include "dnsd/control/control_schema.hh"
#include "tests/dnsd/operations_harness.hh"

namespace mirrorpool::dnsd {
namespace {

using nlohmann::json;

struct FieldCase {
  std::string name;
  bool required = false;
  json valid;                      // a value the command accepts
  std::vector<json> wrong_type;    // not the field's JSON type
  std::vector<json> out_of_range;  // its type, not an acceptable value
};

FieldCase text_id(std::string name, bool required, std::string valid) {
  return {std::move(name),
          required,
          std::move(valid),
          {5, true, nullptr, json::array({"m1"}), json::object()},
          {"", "a/b", "a b", "a\nb", "../etc", std::string(64, 'x'), std::string(5000, 'x')}};
}

FieldCase mirror(bool required) {
  return text_id("mirror", required, "m2");
}

FieldCase pool(bool required) {
  return {"pool",
          required,
          "dl.pool.example.",
          {5, false, json::array(), json::object()},
          {std::string(256, 'p'), "dl\npool"}};
}

FieldCase note(bool required = false) {
  return {"note",
          required,
          "maintenance until 14:00",
          {json::array({1}), 5, true, json::object()},
          {std::string(1001, 'n'), "ok\ninfo: a forged log line", "a\rb", "\x1b[31m", "tab\there",
           "\xc2\x85next line", "del\x7f"}};
}

FieldCase flag(std::string name) {
  return {std::move(name), false, true, {"yes", "no", 1, 0, nullptr, json::array()}, {}};
}

FieldCase weight(bool required) {
  return {"weight",
          required,
          7,
          {"x", "7", true, nullptr, json::array({7})},
          {-1, 1000001, 4294967296ULL, 4294967295ULL, 2.9, 2.0, 1e3, -0.0}};
}

FieldCase addresses() {
  return {"addresses",
          true,
          json::array({"192.0.2.9", "2001:db8::9"}),
          {"192.0.2.9", 5, json::object(), nullptr},
          {json::array(), json::array({5}), json::array({json::array({"192.0.2.9"})}),
           json(std::vector<std::string>(65, "192.0.2.9")), json::array({std::string(65, '1')}),
           json::array({"192.0.2.9\n"})}};
}

FieldCase check_overrides() {
  return {"check", false, json{{"port", 8080}}, {3, "port=8080", json::array(), true}, {}};
}

FieldCase since() {
  return {"since", false, "7d", {1, true, json::array({"7d"})}, {std::string(65, '1'), "7d\n"}};
}

FieldCase address() {
  return {"address",
          true,
          "198.51.100.7",
          {5, true, nullptr, json::array({"198.51.100.7"})},
          {"", "198.51.100", "198.51.100.7/24", "host.example", "2001:db8::1::2", "198.51.100.7\n",
           std::string(65, '1')}};
}

FieldCase url_prefix() {
  return {"url_prefix",
          false,
          "https://m9.example.org/tails/",
          {5, true, nullptr, json::array({"https://m9.example.org/"})},
          {"", "m9.example.org/tails/", "ftp://m9.example.org/", "https://user@m9.example.org/",
           "https://m9.example.org/?q", "https://m9.example.org:0/", "https://m9.example.org/\n",
           "https://m9.example.org/" + std::string(2048, 'x')}};
}

FieldCase email() {
  return {"email",
          false,
          "admin@m9.example.org",
          {5, true, nullptr, json::array({"a@b"})},
          {"", "admin", "a@b\nc", std::string(250, 'a') + "@b.org"}};
}

FieldCase zone(bool required) {
  return {"zone",
          required,
          "pool.example.",
          {5, true, nullptr, json::array({"pool.example."}), json::object()},
          {"", "pool..example.", "..", std::string(64, 'x') + ".example.", std::string(300, 'a'),
           "pool example.", "pool\nexample.", "pool.example.\t"}};
}

struct CommandCase {
  std::string name;
  std::vector<FieldCase> fields;  // all it takes
};

// Per command what it takes, as mirrorpoolctl sends it (dnsd/ctl/ctl_main.cc).
const std::vector<CommandCase>& commands() {
  static const std::vector<CommandCase> cases = {
      {"status", {}},
      {"drain", {mirror(true), pool(false), note(true), flag("dry_run"), flag("force")}},
      {"undrain", {mirror(true), pool(false), flag("dry_run"), flag("force")}},
      {"set-weight",
       {mirror(true), weight(true), pool(false), note(), flag("dry_run"), flag("force")}},
      {"add",
       {pool(true), text_id("id", true, "m9"), addresses(), weight(false), check_overrides(),
        note(), flag("dry_run"), flag("force"), url_prefix(), email()}},
      {"remove", {mirror(true), pool(false), note(), flag("dry_run"), flag("force")}},
      {"check", {mirror(true), pool(false)}},
      {"history", {mirror(false), since()}},
      {"reload", {}},
      {"export-mirrors-json", {pool(false)}},
      {"locate", {address(), pool(false)}},
      {"dnssec status", {zone(false)}},
      {"dnssec ds", {zone(true)}},
      {"dnssec rollover", {zone(true)}},
      {"dnssec ds-seen", {zone(true)}},
  };
  return cases;
}

json valid_args(const CommandCase& command) {
  json args = json::object();
  for (const FieldCase& f : command.fields) args[f.name] = f.valid;
  return args;
}

std::string request_line(const std::string& command, const json& args) {
  return json{{"version", 1}, {"command", command}, {"args", args}}.dump();
}

// The request is refused, by the validator and by the daemon's dispatch,
// with a message that starts by naming `field`.
void refused(test::OperationsHarness& harness, const std::string& line, const std::string& field) {
  CAPTURE(line);
  std::string error;
  CHECK_FALSE(parse_control_request(line, error).has_value());
  CHECK_MESSAGE(error.starts_with(field + ":"), error);
  const json reply = harness.request(line);
  REQUIRE(reply.is_object());
  CHECK(reply["ok"] == false);
  CHECK(reply["error"] == error);
}

// The cases above are written out on purpose (they are the protocol's
// contract); this keeps them and control_protocol.hh from drifting apart.
TEST_CASE("the cases cover every command of the protocol and every arg it takes") {
  REQUIRE(commands().size() == kCommands.size());
  for (size_t i = 0; i < kCommands.size(); ++i) {
    const CommandSpec& spec = kCommands[i];
    const CommandCase& command = commands()[i];
    CAPTURE(command.name);
    CHECK(command.name == spec.name);
    REQUIRE(command.fields.size() == spec.args.size());
    for (size_t j = 0; j < spec.args.size(); ++j) {
      CHECK(command.fields[j].name == arg_key(spec.args[j].arg));
      CHECK(command.fields[j].required == spec.args[j].required);
    }
  }
}

TEST_CASE("every command with what mirrorpoolctl sends passes the schema") {
  for (const CommandCase& command : commands()) {
    const std::string line = request_line(command.name, valid_args(command));
    CAPTURE(line);
    std::string error;
    CHECK_MESSAGE(parse_control_request(line, error).has_value(), error);
  }
}

TEST_CASE("every field of every command: missing, mistyped, out of range, extra") {
  test::OperationsHarness harness;
  std::vector<std::string> all_fields;
  for (const CommandCase& command : commands()) {
    for (const FieldCase& f : command.fields) all_fields.push_back(f.name);
  }
  for (const CommandCase& command : commands()) {
    CAPTURE(command.name);
    const json full = valid_args(command);
    for (const FieldCase& f : command.fields) {
      CAPTURE(f.name);
      const std::string field = "args." + f.name;
      json args = full;
      args.erase(f.name);
      const std::string line = request_line(command.name, args);
      if (f.required) {
        refused(harness, line, field);
      } else {
        std::string error;
        CHECK_MESSAGE(parse_control_request(line, error).has_value(), error);
      }
      for (const json& bad : f.wrong_type) {
        args = full;
        args[f.name] = bad;
        refused(harness, request_line(command.name, args), field);
      }
      for (const json& bad : f.out_of_range) {
        args = full;
        args[f.name] = bad;
        refused(harness, request_line(command.name, args), field);
      }
    }
    // A field of another command, or of none, is refused by name.
    for (const std::string& other : all_fields) {
      if (full.contains(other)) continue;
      json args = full;
      args[other] = true;
      refused(harness, request_line(command.name, args), "args." + other);
    }
    json args = full;
    args["bogus"] = 1;
    refused(harness, request_line(command.name, args), "args.bogus");
  }
}

TEST_CASE("the messages say what was expected and what came") {
  std::string error;
  const auto refuse = [&](const std::string& line) {
    error.clear();
    CHECK_FALSE(parse_control_request(line, error).has_value());
    return error;
  };
  CHECK(refuse(R"({"version":1,"command":"drain"})") ==
        "args.mirror: missing; expected a mirror id: 1 to 63 letters, digits, '-', '_' or '.'");
  CHECK(refuse(R"({"version":1,"command":"set-weight","args":{"mirror":"m1","weight":-1}})") ==
        "args.weight: expected a whole number from 0 to 1000000, got -1");
  CHECK(refuse(R"({"version":1,"command":"drain","args":{"mirror":"m1","force":"yes"}})") ==
        R"(args.force: expected true or false, got "yes")");
  CHECK(refuse(R"({"version":1,"command":"drain","args":{"mirror":")" + std::string(5000, 'x') +
               R"("}})") ==
        "args.mirror: expected a mirror id: 1 to 63 letters, digits, '-', '_' or '.', got a "
        "string of 5000 bytes");
  CHECK(refuse(R"({"version":1,"command":"drain","args":{"mirror":"m1","weight":1}})") ==
        "args.weight: not an argument of drain (it takes mirror, pool, note, dry_run, force)");
  CHECK(refuse(R"({"version":1,"command":"reload","args":{"x\ny":1}})") ==
        R"(args."x\ny": not an argument of reload (it takes none))");
}

TEST_CASE("valid args come out typed") {
  std::string error;
  auto call = parse_control_request(
      R"({"version":1,"command":"add","args":{"pool":"dl.pool.example","id":"m9",)"
      R"("addresses":["192.0.2.9","2001:db8::9"],"weight":0,"check":{"port":8080},)"
      R"("note":"","dry_run":true,"force":false}})",
      error);
  REQUIRE_MESSAGE(call, error);
  CHECK(call->command == Command::add);
  CHECK(call->args.pool == "dl.pool.example");
  CHECK(call->args.id == "m9");
  CHECK(call->args.addresses == std::vector<std::string>{"192.0.2.9", "2001:db8::9"});
  CHECK(call->args.weight == 0);
  CHECK(call->args.check == json{{"port", 8080}});
  CHECK(call->args.dry_run);
  CHECK_FALSE(call->args.force);

  call = parse_control_request(R"({"version":1,"command":"set-weight","args":{"mirror":"m1",)"
                               R"("weight":1000000}})",
                               error);
  REQUIRE_MESSAGE(call, error);
  CHECK(call->command == Command::set_weight);
  CHECK(call->args.weight == 1000000);

  // A zone name is given back as zones::Name writes it.
  for (const char* text : {"Pool.Example", "pool.example."}) {
    call = parse_control_request(
        json{{"version", 1}, {"command", "dnssec ds"}, {"args", {{"zone", text}}}}.dump(), error);
    REQUIRE_MESSAGE(call, error);
    CHECK(call->command == Command::dnssec_ds);
    CHECK(call->args.zone == "pool.example.");
  }
  call = parse_control_request(R"({"version":1,"command":"dnssec status"})", error);
  REQUIRE_MESSAGE(call, error);
  CHECK(call->args.zone.empty());

  // "args" may be left out when the command requires none.
  call = parse_control_request(R"({"version":1,"command":"history"})", error);
  REQUIRE_MESSAGE(call, error);
  CHECK(call->command == Command::history);
  CHECK(call->args.mirror.empty());
  CHECK_FALSE(call->args.since);
}

TEST_CASE("the request envelope: version, command, args, other fields") {
  test::OperationsHarness harness;
  const auto error_of = [&](const std::string& line) {
    CAPTURE(line);
    std::string error;
    CHECK_FALSE(parse_control_request(line, error).has_value());
    const json reply = harness.request(line);
    CHECK(reply["ok"] == false);
    CHECK(reply["error"] == error);
    return error;
  };
  const std::string malformed = "malformed request: expected one JSON object with a command";
  CHECK(error_of("") == malformed);
  CHECK(error_of("not json") == malformed);
  CHECK(error_of("[1,2]") == malformed);
  CHECK(error_of(R"({"version":1})") == malformed);
  CHECK(error_of(R"({"version":1,"command":5})") == malformed);
  CHECK(error_of(R"({"command":"status"})") ==
        "protocol version 0 is not supported (daemon speaks 1)");
  CHECK(error_of(R"({"version":"1","command":"status"})") ==
        R"(protocol version "1" is not supported (daemon speaks 1))");
  CHECK(error_of(R"({"version":2,"command":"status"})") ==
        "protocol version 2 is not supported (daemon speaks 1)");
  CHECK(error_of(R"({"version":1,"command":"status","extra":1})") ==
        "extra: not a field of a request (version, command, args)");
  CHECK(error_of(R"({"version":1,"command":"status","args":[]})") ==
        "args: expected an object, got []");
  CHECK(error_of(R"({"version":1,"command":"frobnicate"})")
            .starts_with(R"(unknown command "frobnicate" (commands: status, drain,)"));
}

TEST_CASE("nesting deeper than the limit is refused before parsing") {
  test::OperationsHarness harness;
  const std::string deep = "malformed request: nested deeper than 16 levels";
  const auto nested = [](size_t levels) {
    return std::string(levels, '[') + std::string(levels, ']');
  };
  std::string error;
  CHECK_FALSE(parse_control_request(nested(kMaxControlDepth), error));
  CHECK(error.starts_with("malformed request: expected"));
  CHECK_FALSE(parse_control_request(nested(kMaxControlDepth + 1), error));
  CHECK(error == deep);
  for (const std::string& line :
       {nested(20000), std::string(20000, '['), R"({"a":)" + std::string(20000, '{'),
        [] {
          std::string objects;
          for (int i = 0; i < 20000; ++i) objects += R"({"a":)";
          return objects + "1" + std::string(20000, '}');
        }(),
        R"({"version":1,"command":"add","args":{"check":)" + nested(15) + "}}"}) {
    CHECK_FALSE(parse_control_request(line, error));
    CHECK(error == deep);
    CHECK(harness.request(line)["error"] == deep);
  }
  // Brackets inside strings, escaped quotes included, are text.
  const std::string in_note =
      R"({"version":1,"command":"drain","args":{"mirror":"m3","note":"\"[{)" +
      std::string(100, '[') + R"(","dry_run":true}})";
  CHECK_MESSAGE(parse_control_request(in_note, error), error);
  const auto in_note_reply = harness.request(in_note);
  CHECK_MESSAGE(in_note_reply["ok"] == true, in_note_reply.dump());
  CHECK(nests_deeper_than(R"("\\"[[)", 1));
  CHECK_FALSE(nests_deeper_than(R"("\"[[")", 0));
}

TEST_CASE("valid requests reach the handlers") {
  test::OperationsHarness harness;
  const auto ok = [&](const std::string& command, const json& args) {
    const json reply = harness.request(request_line(command, args));
    CAPTURE(reply.dump());
    CHECK(reply["ok"] == true);
    return reply;
  };
  const json flags = {{"dry_run", false}, {"force", true}};
  ok("status", json::object());
  json args = flags;
  args.update({{"mirror", "m2"}, {"note", "maintenance"}});
  CHECK(ok("drain", args)["result"]["message"] == "drained m2 in dl.pool.example.");
  args = flags;
  args["mirror"] = "m2";
  ok("undrain", args);
  args.update({{"weight", 3}, {"pool", "dl.pool.example"}});
  CHECK(ok("set-weight", args)["result"]["message"] == "weight of m2 in dl.pool.example. set to 3");
  args = flags;
  args.update({{"pool", "dl.pool.example"},
               {"id", "m9"},
               {"addresses", {"192.0.2.9"}},
               {"weight", 2},
               {"check", {{"port", 8080}}},
               {"note", ""}});
  CHECK(ok("add", args)["result"]["message"] == "added m9 to dl.pool.example.");
  args = flags;
  args.update({{"mirror", "m9"}, {"note", "done"}});
  ok("remove", args);
  ok("history", {{"mirror", "m2"}, {"since", "1d"}});

  // The handlers' own refusals still come through.
  const auto error_of = [&](const std::string& command, const json& args) {
    const json reply = harness.request(request_line(command, args));
    CHECK(reply["ok"] == false);
    return reply["error"].get<std::string>();
  };
  CHECK(error_of("drain", {{"mirror", "m1"}, {"note", "x"}}) ==
        "mirror id 'm1' is in several pools: name one with --pool");
  CHECK(error_of("drain", {{"mirror", "nosuch"}, {"note", "x"}}) == "no mirror 'nosuch'");
  CHECK(error_of("check", {{"mirror", "m3"}}) == "m3 is not probed yet; try again in a moment");
  CHECK(error_of("history", {{"since", "yesterday"}}).starts_with("--since 'yesterday'"));
  CHECK(error_of("reload", json::object()).starts_with("reload failed with 1 error(s)"));
  CHECK(error_of("export-mirrors-json", json::object()) == "several pools: name one with --pool");
  // The harness has no signing keys (Hooks::dnssec unset).
  CHECK(error_of("dnssec status", json::object()) == "DNSSEC commands are not available here");
  CHECK(error_of("dnssec rollover", {{"zone", "pool.example"}}) ==
        "DNSSEC commands are not available here");
  // The harness's mirrors come from TOML without a url_prefix.
  CHECK(error_of("export-mirrors-json", {{"pool", "dl.pool.example"}})
            .starts_with("cannot export pool 'dl.pool.example.': every mirrors.json entry needs a "
                         "url_prefix, and these mirrors have none: m1, m2, m3"));
  CHECK(error_of("add", {{"pool", "dl.pool.example"}, {"id", "m9"}, {"addresses", {"x"}}}) ==
        "cannot add m9 to dl.pool.example.: \"x\" is not an IPv4 or IPv6 address");
}

}  // namespace
}  // namespace mirrorpool::dnsd
