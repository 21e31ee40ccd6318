#include "dnsd/control/control_schema.hh"

#include <algorithm>

#include <fmt/core.h>

#include "dnsd/config/mirror_limits.hh"
#include "dnsd/config/mirrors_json.hh"
#include "zones/name.hh"
#include "zones/pool.hh"

namespace mirrorpool::dnsd {

// Counts '[' and '{' outside strings, as the JSON lexer does: up to the
// first error nlohmann agrees with this scan, and it stops there.
bool nests_deeper_than(std::string_view text, size_t limit) {
  size_t depth = 0;
  bool in_string = false;
  bool escaped = false;
  for (const char c : text) {
    if (in_string) {
      if (escaped) {
        escaped = false;
      } else if (c == '\\') {
        escaped = true;
      } else if (c == '"') {
        in_string = false;
      }
    } else if (c == '"') {
      in_string = true;
    } else if (c == '[' || c == '{') {
      if (++depth > limit) return true;
    } else if ((c == ']' || c == '}') && depth > 0) {
      --depth;
    }
  }
  return false;
}

namespace {

using nlohmann::json;

constexpr size_t kMaxPoolBytes = 255;    // a DNS name as text
constexpr size_t kMaxAddressBytes = 64;  // the longest IPv6 text has 45
constexpr size_t kMaxSinceBytes = 64;    // "2026-11-01T00:00:00Z", "7d"
constexpr size_t kMaxShownBytes = 40;    // of a client's value in a message
constexpr size_t kMaxUrlBytes = 2048;    // what browsers and servers commonly take
constexpr size_t kMaxEmailBytes = 254;   // RFC 5321's limit on a path

// C0 controls, DEL and C1 controls (U+0080 to U+009F; the parser has made
// sure the text is UTF-8, where they are C2 80 to C2 9F). A newline in a note
// would start a forged line in the log; escapes would reach terminals.
bool has_control_characters(std::string_view text) {
  for (size_t i = 0; i < text.size(); ++i) {
    const auto c = static_cast<unsigned char>(text[i]);
    if (c < 0x20 || c == 0x7f) return true;
    if (c == 0xc2 && i + 1 < text.size() && static_cast<unsigned char>(text[i + 1]) <= 0x9f) {
      return true;
    }
  }
  return false;
}

// What a client sent, for a message: short values as JSON (escaped, so the
// message stays one printable line), longer ones by their size.
std::string shown(const json& value) {
  std::string text = value.dump(-1, ' ', true, json::error_handler_t::replace);
  if (text.size() <= kMaxShownBytes) return text;
  if (value.is_string()) {
    return fmt::format("a string of {} bytes", value.get_ref<const std::string&>().size());
  }
  // Numbers, booleans and null are always short.
  return fmt::format("{} of {} values", value.is_array() ? "an array" : "an object", value.size());
}

// A field name for a message: as it is when it is plain, else as JSON.
std::string field_name(const std::string& key) {
  const bool plain = !key.empty() && key.size() <= kMaxShownBytes &&
                     std::all_of(key.begin(), key.end(), [](char c) {
                       return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
                              (c >= '0' && c <= '9') || c == '_' || c == '-';
                     });
  return plain ? key : shown(json(key));
}

bool read_text(const json& value, size_t max_bytes, std::string& out) {
  const auto* text = value.get_ptr<const json::string_t*>();
  if (text == nullptr || text->size() > max_bytes || has_control_characters(*text)) return false;
  out = *text;
  return true;
}

bool read_id(const json& value, std::string& out) {
  const auto* text = value.get_ptr<const json::string_t*>();
  if (text == nullptr || !is_valid_id(*text)) return false;
  out = *text;
  return true;
}

bool read_bool(const json& value, bool& out) {
  const auto* flag = value.get_ptr<const json::boolean_t*>();
  if (flag == nullptr) return false;
  out = *flag;
  return true;
}

// Only a JSON integer without sign, fraction or exponent is a weight: -1,
// 2.9, 2.0, 1e3 and true are refused rather than converted.
bool read_weight(const json& value, uint32_t& out) {
  const auto* number = value.get_ptr<const json::number_unsigned_t*>();
  if (number == nullptr || *number > kMaxMirrorWeight) return false;
  out = static_cast<uint32_t>(*number);
  return true;
}

// A domain name, with or without its final dot, as its canonical text.
bool read_zone(const json& value, std::string& out) {
  std::string text;
  if (!read_text(value, kMaxPoolBytes, text) || text.empty()) return false;
  if (text.back() != '.') text += '.';
  const auto name = zones::Name::from_text(text);
  if (!name) return false;
  out = name->to_text();
  return true;
}

bool read_addresses(const json& value, std::vector<std::string>& out) {
  if (!value.is_array() || value.empty() || value.size() > kMaxAddedAddresses) return false;
  std::vector<std::string> addresses;
  for (const json& element : value) {
    std::string text;
    if (!read_text(element, kMaxAddressBytes, text)) return false;
    addresses.push_back(std::move(text));
  }
  out = std::move(addresses);
  return true;
}

// One argument: what it must be (for messages) and how it is read into
// ControlArgs; read is false for a value that is not what `expected` says.
struct ArgRule {
  std::string expected;
  bool (*read)(const json& value, ControlArgs& args);
};

const ArgRule& rule_of(Arg arg) {
  static const ArgRule mirror{"a mirror id: 1 to 63 letters, digits, '-', '_' or '.'",
                              [](const json& v, ControlArgs& a) { return read_id(v, a.mirror); }};
  static const ArgRule pool{
      fmt::format("a pool name of at most {} bytes", kMaxPoolBytes),
      [](const json& v, ControlArgs& a) { return read_text(v, kMaxPoolBytes, a.pool); }};
  static const ArgRule note{
      fmt::format("one line of text of at most {} bytes, without control characters (a note "
                  "goes into the journal and the log as one line)",
                  kMaxNoteBytes),
      [](const json& v, ControlArgs& a) { return read_text(v, kMaxNoteBytes, a.note); }};
  static const ArgRule dry_run{
      "true or false", [](const json& v, ControlArgs& a) { return read_bool(v, a.dry_run); }};
  static const ArgRule force{"true or false",
                             [](const json& v, ControlArgs& a) { return read_bool(v, a.force); }};
  static const ArgRule weight{
      fmt::format("a whole number from 0 to {}", kMaxMirrorWeight),
      [](const json& v, ControlArgs& a) { return read_weight(v, a.weight); }};
  static const ArgRule id{mirror.expected,
                          [](const json& v, ControlArgs& a) { return read_id(v, a.id); }};
  static const ArgRule addresses{
      fmt::format("an array of 1 to {} IPv4 or IPv6 addresses as strings", kMaxAddedAddresses),
      [](const json& v, ControlArgs& a) { return read_addresses(v, a.addresses); }};
  static const ArgRule check{"an object of [pool.check] keys and their values",
                             [](const json& v, ControlArgs& a) {
                               if (!v.is_object()) return false;
                               a.check = v;
                               return true;
                             }};
  static const ArgRule since{
      fmt::format("an RFC 3339 time or a duration of at most {} bytes", kMaxSinceBytes),
      [](const json& v, ControlArgs& a) {
        std::string text;
        if (!read_text(v, kMaxSinceBytes, text)) return false;
        a.since = std::move(text);
        return true;
      }};
  static const ArgRule address{"an IPv4 or IPv6 address", [](const json& v, ControlArgs& a) {
                                 std::string text;
                                 if (!read_text(v, kMaxAddressBytes, text)) return false;
                                 if (!zones::Address::parse(text)) return false;
                                 a.address = std::move(text);
                                 return true;
                               }};
  static const ArgRule url_prefix{
      fmt::format("an http:// or https:// URL with a host name, such as "
                  "\"https://mirror.example.org/tails/\", of at most {} bytes",
                  kMaxUrlBytes),
      [](const json& v, ControlArgs& a) {
        std::string text;
        if (!read_text(v, kMaxUrlBytes, text) || !parse_url_prefix(text)) return false;
        a.url_prefix = std::move(text);
        return true;
      }};
  static const ArgRule email{
      fmt::format("a mail address (with an '@') of at most {} bytes", kMaxEmailBytes),
      [](const json& v, ControlArgs& a) {
        std::string text;
        if (!read_text(v, kMaxEmailBytes, text) || text.find('@') == std::string::npos) {
          return false;
        }
        a.email = std::move(text);
        return true;
      }};
  static const ArgRule zone{
      "a zone name, such as \"pool.example.\" (labels of 1 to 63 bytes, at most 255 in all)",
      [](const json& v, ControlArgs& a) { return read_zone(v, a.zone); }};
  switch (arg) {
    case Arg::mirror:
      return mirror;
    case Arg::pool:
      return pool;
    case Arg::note:
      return note;
    case Arg::dry_run:
      return dry_run;
    case Arg::force:
      return force;
    case Arg::weight:
      return weight;
    case Arg::id:
      return id;
    case Arg::addresses:
      return addresses;
    case Arg::check:
      return check;
    case Arg::since:
      return since;
    case Arg::address:
      return address;
    case Arg::url_prefix:
      return url_prefix;
    case Arg::email:
      return email;
    case Arg::zone:
      return zone;
  }
  // Unreachable: the switch names every Arg.
  return mirror;
}

template <class Range, class Name>
std::string names(const Range& items, Name name) {
  std::string out;
  for (const auto& item : items) out += (out.empty() ? "" : ", ") + std::string(name(item));
  return out.empty() ? "none" : out;
}

bool read_args(const CommandSpec& spec, const json& args, ControlArgs& out, std::string& error) {
  if (!args.is_object()) {
    error = fmt::format("args: expected an object, got {}", shown(args));
    return false;
  }
  for (const auto& item : args.items()) {
    const auto use = std::find_if(spec.args.begin(), spec.args.end(),
                                  [&](const ArgUse& u) { return arg_key(u.arg) == item.key(); });
    if (use == spec.args.end()) {
      error =
          fmt::format("args.{}: not an argument of {} (it takes {})", field_name(item.key()),
                      spec.name, names(spec.args, [](const ArgUse& u) { return arg_key(u.arg); }));
      return false;
    }
    const ArgRule& rule = rule_of(use->arg);
    if (!rule.read(item.value(), out)) {
      error = fmt::format("args.{}: expected {}, got {}", item.key(), rule.expected,
                          shown(item.value()));
      return false;
    }
  }
  for (const ArgUse& use : spec.args) {
    const std::string key(arg_key(use.arg));
    if (use.required && !args.contains(key)) {
      error = fmt::format("args.{}: missing; expected {}", key, rule_of(use.arg).expected);
      return false;
    }
  }
  return true;
}

}  // namespace

std::optional<ControlCall> parse_control_request(std::string_view line, std::string& error) {
  if (nests_deeper_than(line, kMaxControlDepth)) {
    error = fmt::format("malformed request: nested deeper than {} levels", kMaxControlDepth);
    return std::nullopt;
  }
  const json body = json::parse(line, nullptr, false);
  const auto command = body.is_object() ? body.find(request_field::kCommand) : body.end();
  if (!body.is_object() || command == body.end() || !command->is_string()) {
    error = "malformed request: expected one JSON object with a command";
    return std::nullopt;
  }
  // Compared as JSON: a version that is not a number ("1") is refused too.
  const auto version = body.find(request_field::kVersion);
  if (version == body.end() || !version->is_number() || *version != kControlProtocolVersion) {
    error = fmt::format("protocol version {} is not supported (daemon speaks {})",
                        version == body.end() ? "0" : shown(*version), kControlProtocolVersion);
    return std::nullopt;
  }
  for (const auto& item : body.items()) {
    if (item.key() != request_field::kVersion && item.key() != request_field::kCommand &&
        item.key() != request_field::kArgs) {
      error = fmt::format("{}: not a field of a request (version, command, args)",
                          field_name(item.key()));
      return std::nullopt;
    }
  }
  const auto named = command_named(command->get_ref<const json::string_t&>());
  if (!named) {
    error = fmt::format("unknown command {} (commands: {})", shown(*command),
                        names(kCommands, [](const CommandSpec& c) { return c.name; }));
    return std::nullopt;
  }
  static const json kNoArgs = json::object();
  const auto args = body.find(request_field::kArgs);
  ControlCall call;
  call.command = *named;
  if (!read_args(command_spec(*named), args == body.end() ? kNoArgs : *args, call.args, error))
    return std::nullopt;
  return call;
}

}  // namespace mirrorpool::dnsd
