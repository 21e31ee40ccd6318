// Reading of one zone from an RFC 1035 master file and its $INCLUDEs, with
// ldns parsing each record, into the Zone's records in file order. Reading
// only: normalizing and checking the records is zone_validator.cc's job.
#include "zones/zone_load_steps.hh"

#include <arpa/inet.h>
#include <ldns/ldns.h>

#include <algorithm>
#include <cstdint>
#include <filesystem>
#include <iterator>
#include <memory>
#include <new>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "zones/master_file.hh"
#include "zones/zone.hh"

namespace mirrorpool::zones {

namespace {

// The TTL of records before any $TTL or explicit TTL, as NSD and BIND use.
constexpr uint32_t kDefaultTtl = 3600;
// Deep enough for any real layout, shallow enough to stop an include loop.
constexpr int kMaxIncludeDepth = 16;
constexpr size_t kMaxRdata = 65535;

struct RrFree {
  void operator()(ldns_rr* rr) const { ldns_rr_free(rr); }
};
struct RdfFree {
  void operator()(ldns_rdf* rdf) const { ldns_rdf_deep_free(rdf); }
};
struct BufferFree {
  void operator()(ldns_buffer* buffer) const { ldns_buffer_free(buffer); }
};
using RrPtr = std::unique_ptr<ldns_rr, RrFree>;
using RdfPtr = std::unique_ptr<ldns_rdf, RdfFree>;
using BufferPtr = std::unique_ptr<ldns_buffer, BufferFree>;

RdfPtr to_rdf(const Name& name) {
  return RdfPtr(
      ldns_dname_new_frm_data(static_cast<uint16_t>(name.wire().size()), name.wire().data()));
}

// ldns messages are sentences ("Syntax error, ..."); ours follow "error: ".
std::string ldns_message(ldns_status status) {
  std::string text = ldns_get_errorstr_by_id(status);
  if (!text.empty() && text[0] >= 'A' && text[0] <= 'Z') text[0] = static_cast<char>(text[0] + 32);
  return text;
}

bool is_digit(char c) {
  return c >= '0' && c <= '9';
}

// A TTL as ldns reads it (seconds, or units such as 1h30m), but whole and
// without the silent 32-bit wrap-around of ldns_str2period.
std::optional<uint32_t> parse_ttl(std::string_view token) {
  if (token.empty() || !is_digit(token[0])) return std::nullopt;
  if (std::all_of(token.begin(), token.end(), is_digit)) {
    uint64_t value = 0;
    for (char c : token) {
      value = value * 10 + static_cast<uint64_t>(c - '0');
      if (value > UINT32_MAX) return std::nullopt;
    }
    return static_cast<uint32_t>(value);
  }
  std::string text(token);
  const char* end = nullptr;
  uint32_t value = ldns_str2period(text.c_str(), &end);
  if (end == nullptr || *end != '\0') return std::nullopt;
  return value;
}

std::string_view unquote(std::string_view token) {
  if (token.size() >= 2 && token.front() == '"' && token.back() == '"') {
    return token.substr(1, token.size() - 2);
  }
  return token;
}

// Reads a master file and its includes into zone.records, one ldns parse per
// record so that every record keeps its file and line.
class Loader {
 public:
  Loader(Zone& zone, Diagnostics& diags) : zone_(zone), diags_(diags) {}

  // Returns false when the file could not be read at all.
  bool read(const std::string& path, const Name& origin, int depth, const SourcePos& from) {
    std::string open_error;
    // Lexing errors are held back and merged in by line, so that the file's
    // diagnostics come out in file order.
    Diagnostics lexing;
    // Stamped before reading: a write during the read changes the file's
    // ctime, so the next reload reads it again. File times advance in clock
    // ticks of some milliseconds, so two writes close together may share one:
    // the stamp of a file changed within the last second is never trusted
    // (left empty, which matches no file).
    FileStamp stamp = stamp_file(path).value_or(FileStamp{});
    if (changed_recently(stamp)) stamp = FileStamp{};
    auto entries = read_master_file(path, open_error, lexing);
    if (!entries) {
      if (depth == 0) {
        diags_.push_back({{path, 0, 0}, "cannot open: " + open_error});
      } else {
        diags_.push_back({from, "cannot open $INCLUDE file " + path + ": " + open_error});
      }
      return false;
    }
    auto file_index = static_cast<unsigned>(zone_.files.size());
    zone_.files.push_back(path);
    zone_.stamps.push_back(stamp);
    reading_.push_back(file_key(path));
    // $ORIGIN and the previous owner are per file: RFC 1035 section 5.1 has
    // an included file leave the includer's origin unchanged.
    FileState state{origin, to_rdf(origin), origin, to_rdf(origin)};
    auto next_lexing = lexing.begin();
    for (const MasterEntry& entry : *entries) {
      for (; next_lexing != lexing.end() && next_lexing->pos.line <= entry.line; ++next_lexing) {
        diags_.push_back(std::move(*next_lexing));
      }
      SourcePos pos{path, entry.line, 0};
      if (entry.text[0] == '$') {
        directive(entry.text, pos, state, depth);
      } else {
        record(entry.text, pos, state, file_index);
      }
    }
    std::move(next_lexing, lexing.end(), std::back_inserter(diags_));
    reading_.pop_back();
    return true;
  }

 private:
  struct FileState {
    Name origin;
    RdfPtr origin_rdf;
    // The previous owner, for records that omit theirs: as a Name for the
    // fast path, and as ldns wants it, made from the Name only when needed.
    std::optional<Name> prev_name;
    RdfPtr prev_owner;
    bool prev_owner_stale = false;
  };

  // Two spellings of one file compare equal; a path that cannot be resolved
  // stands for itself (it fails to open anyway).
  static std::string file_key(const std::string& path) {
    std::error_code ec;
    auto canonical = std::filesystem::weakly_canonical(path, ec);
    return ec ? path : canonical.string();
  }

  void error(const SourcePos& pos, std::string message) {
    diags_.push_back({pos, std::move(message)});
  }

  void directive(std::string_view text, const SourcePos& pos, FileState& state, int depth) {
    size_t at = 0;
    std::string_view word = next_master_token(text, at);
    std::string_view arg = next_master_token(text, at);
    std::string_view arg2 = next_master_token(text, at);
    bool extra = !next_master_token(text, at).empty();
    if (word == "$ORIGIN") {
      auto name = arg.empty() ? std::nullopt : Name::from_text(arg, &state.origin);
      if (!name || !arg2.empty()) {
        error(pos, "$ORIGIN needs one valid domain name");
        return;
      }
      state.origin = *name;
      state.origin_rdf = to_rdf(*name);
    } else if (word == "$TTL") {
      auto ttl = parse_ttl(arg);
      if (!ttl || !arg2.empty()) {
        error(pos, "$TTL needs one valid TTL");
        return;
      }
      default_ttl_ = *ttl;
      ttl_from_directive_ = true;
    } else if (word == "$INCLUDE") {
      std::optional<Name> origin = state.origin;
      if (!arg2.empty()) origin = Name::from_text(arg2, &state.origin);
      if (arg.empty() || !origin || extra) {
        error(pos, "$INCLUDE needs a file name and optionally a valid origin");
        return;
      }
      if (depth + 1 > kMaxIncludeDepth) {
        error(pos, "$INCLUDE nested too deeply (a loop?)");
        return;
      }
      // Relative to the including file, like the zone file to the config:
      // a zone directory then works wherever it is installed.
      std::filesystem::path file(unquote(arg));
      if (file.is_relative()) file = std::filesystem::path(pos.file).parent_path() / file;
      // Refused at once rather than at the depth limit: a file including
      // itself twice would otherwise be read 2^16 times (found by fuzzing).
      if (std::find(reading_.begin(), reading_.end(), file_key(file.string())) != reading_.end()) {
        error(pos, "$INCLUDE loop: " + file.string() + " is already being read");
        return;
      }
      read(file.string(), *origin, depth + 1, pos);
    } else {
      error(pos, "unsupported directive " + std::string(word));
    }
  }

  void record(std::string_view text, const SourcePos& pos, FileState& state, unsigned file_index) {
    // The head is [owner] [ttl] [class] type with ttl and class in either
    // order (RFC 1035); ldns only takes ttl first, so the head is checked
    // here and handed on in that order.
    size_t at = 0;
    std::string_view owner = text[0] == ' ' ? std::string_view() : next_master_token(text, at);
    std::string_view ttl_token;
    std::string_view class_token;
    std::string_view type_token;
    for (int i = 0; i < 3 && type_token.empty(); ++i) {
      std::string_view token = next_master_token(text, at);
      if (token.empty()) break;
      if (ttl_token.empty() && is_digit(token[0])) {
        ttl_token = token;
      } else if (class_token.empty() &&
                 ldns_get_rr_class_by_name(std::string(token).c_str()) != 0) {
        class_token = token;
      } else {
        type_token = token;
      }
    }
    if (type_token.empty()) {
      error(pos, "missing record type");
      return;
    }
    std::optional<uint32_t> ttl;
    if (!ttl_token.empty()) {
      ttl = parse_ttl(ttl_token);
      if (!ttl) {
        error(pos, "invalid TTL " + std::string(ttl_token));
        return;
      }
    }
    if (!class_token.empty() &&
        ldns_get_rr_class_by_name(std::string(class_token).c_str()) != LDNS_RR_CLASS_IN) {
      error(pos, "class " + std::string(class_token) + " is not supported (only IN)");
      return;
    }
    auto type = static_cast<uint16_t>(ldns_get_rr_type_by_name(std::string(type_token).c_str()));
    if (type == 0) {
      error(pos, "unknown record type " + std::string(type_token));
      return;
    }

    if ((type == kTypeA || type == kTypeAaaa) &&
        fast_address(owner, ttl, type, text.substr(at), pos, state, file_index)) {
      return;
    }

    std::string line(owner);
    if (ttl) line += ' ' + std::to_string(*ttl);
    line += " IN ";
    line += type_token;
    line += text.substr(at);

    ldns_rr* raw_rr = nullptr;
    if (state.prev_owner_stale) {
      state.prev_owner = to_rdf(*state.prev_name);
      state.prev_owner_stale = false;
    }
    ldns_rdf* prev = state.prev_owner.release();
    ldns_status status =
        ldns_rr_new_frm_str(&raw_rr, line.c_str(), default_ttl_, state.origin_rdf.get(), &prev);
    state.prev_owner.reset(prev);
    RrPtr rr(raw_rr);
    if (status != LDNS_STATUS_OK || !rr) {
      error(pos, "invalid " + type_name(type) + " record: " + ldns_message(status));
      return;
    }
    if (ttl) {
      // RFC 1035 5.1: without $TTL, an omitted TTL is the last one written.
      if (!ttl_from_directive_) default_ttl_ = *ttl;
    } else {
      // ldns swaps a default of 0 for its own; $TTL 0 must stay 0.
      ldns_rr_set_ttl(rr.get(), default_ttl_);
    }
    convert(rr.get(), pos, state, file_index);
  }

  // A and AAAA records in their plain form (an owner of letters, digits,
  // '-', '_', '*' and dots, one address) are most of a large zone: they are
  // read here, several times faster than through ldns, with the same result.
  // Anything else returns false and goes to ldns, which also words the errors.
  bool fast_address(std::string_view owner_text, std::optional<uint32_t> ttl, uint16_t type,
                    std::string_view rest, const SourcePos& pos, FileState& state,
                    unsigned file_index) {
    size_t at = 0;
    const std::string_view address = next_master_token(rest, at);
    if (address.empty() || !next_master_token(rest, at).empty() || address.size() > 45) {
      return false;
    }
    const bool plain = std::all_of(owner_text.begin(), owner_text.end(), [](char c) {
      return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || is_digit(c) || c == '-' ||
             c == '_' || c == '*' || c == '.';
    });
    if (!plain && owner_text != "@") return false;
    std::optional<Name> owner;
    if (owner_text.empty()) {
      owner = state.prev_name;
    } else if (owner_text == "@") {
      owner = state.origin;
    } else {
      owner = Name::from_text(owner_text, &state.origin);
    }
    if (!owner) return false;
    char text[46] = {};
    std::copy(address.begin(), address.end(), text);
    uint8_t bytes[16];
    if (inet_pton(type == kTypeA ? AF_INET : AF_INET6, text, bytes) != 1) return false;

    if (ttl && !ttl_from_directive_) default_ttl_ = *ttl;
    state.prev_name = owner;
    state.prev_owner_stale = true;
    add(std::move(*owner), type, ttl.value_or(default_ttl_),
        std::string(reinterpret_cast<const char*>(bytes), type == kTypeA ? 4 : 16), pos,
        file_index);
    return true;
  }

  void convert(ldns_rr* rr, const SourcePos& pos, FileState& state, unsigned file_index) {
    ldns_rr2canonical(rr);
    const ldns_rdf* owner_rdf = ldns_rr_owner(rr);
    auto owner = Name::from_wire(std::string_view(
        reinterpret_cast<const char*>(ldns_rdf_data(owner_rdf)), ldns_rdf_size(owner_rdf)));
    if (!owner) {
      error(pos, "invalid owner name");
      return;
    }
    auto type = static_cast<uint16_t>(ldns_rr_get_type(rr));
    if (!buffer_) buffer_.reset(ldns_buffer_new(LDNS_MAX_PACKETLEN));
    if (!buffer_) throw std::bad_alloc();
    ldns_buffer_clear(buffer_.get());
    if (ldns_rr_rdata2buffer_wire(buffer_.get(), rr) != LDNS_STATUS_OK ||
        ldns_buffer_position(buffer_.get()) > kMaxRdata) {
      error(pos, "cannot encode " + type_name(type) + " record data");
      return;
    }
    state.prev_name = owner;
    add(std::move(*owner), type, ldns_rr_ttl(rr),
        std::string(reinterpret_cast<const char*>(ldns_buffer_begin(buffer_.get())),
                    ldns_buffer_position(buffer_.get())),
        pos, file_index);
  }

  void add(Name owner, uint16_t type, uint32_t ttl, std::string rdata, const SourcePos& pos,
           unsigned file_index) {
    if (!owner.is_subdomain_of(zone_.origin)) {
      error(pos, owner.to_text() + " is out of zone " + zone_.origin.to_text());
      return;
    }
    Record record;
    record.owner = std::move(owner);
    record.type = type;
    record.ttl = ttl;
    record.rdata = std::move(rdata);
    record.line = pos.line;
    record.file_index = file_index;
    zone_.records.push_back(std::move(record));
  }

  Zone& zone_;
  Diagnostics& diags_;
  std::vector<std::string> reading_;  // the files being read, outermost first
  BufferPtr buffer_;                  // reused for every record's wire form
  uint32_t default_ttl_ = kDefaultTtl;
  bool ttl_from_directive_ = false;
};

}  // namespace

bool read_zone_files(Zone& zone, Diagnostics& diags) {
  return Loader(zone, diags).read(zone.file, zone.origin, 0, {});
}

}  // namespace mirrorpool::zones
