// Loading and validation of one zone from an RFC 1035 master file, with ldns
// parsing each record. Builds the immutable Zone; knows nothing of pools.
#include "zones/zone.hh"

#include <arpa/inet.h>
#include <ldns/ldns.h>
#include <sys/stat.h>

#include <algorithm>
#include <cstdlib>
#include <ctime>
#include <filesystem>
#include <iterator>
#include <memory>
#include <numeric>
#include <set>
#include <span>
#include <stdexcept>
#include <string_view>
#include <tuple>
#include <utility>

#include "zones/master_file.hh"

namespace mirrorpool::zones {

namespace {

// The TTL of records before any $TTL or explicit TTL, as NSD and BIND use.
constexpr uint32_t kDefaultTtl = 3600;
// Deep enough for any real layout, shallow enough to stop an include loop.
constexpr int kMaxIncludeDepth = 16;
constexpr size_t kMaxRdata = 65535;

constexpr uint16_t kTypeA = LDNS_RR_TYPE_A;
constexpr uint16_t kTypeNs = LDNS_RR_TYPE_NS;
constexpr uint16_t kTypeCname = LDNS_RR_TYPE_CNAME;
constexpr uint16_t kTypeSoa = LDNS_RR_TYPE_SOA;
constexpr uint16_t kTypeAaaa = LDNS_RR_TYPE_AAAA;
constexpr uint16_t kTypeDs = LDNS_RR_TYPE_DS;
constexpr uint16_t kTypeRrsig = LDNS_RR_TYPE_RRSIG;
constexpr uint16_t kTypeNsec = LDNS_RR_TYPE_NSEC;

struct RrFree {
  void operator()(ldns_rr* rr) const { ldns_rr_free(rr); }
};
struct RdfFree {
  void operator()(ldns_rdf* rdf) const { ldns_rdf_deep_free(rdf); }
};
struct BufferFree {
  void operator()(ldns_buffer* buffer) const { ldns_buffer_free(buffer); }
};
struct CharFree {
  void operator()(char* text) const { std::free(text); }
};
using RrPtr = std::unique_ptr<ldns_rr, RrFree>;
using RdfPtr = std::unique_ptr<ldns_rdf, RdfFree>;
using BufferPtr = std::unique_ptr<ldns_buffer, BufferFree>;

std::string type_name(uint16_t type) {
  std::unique_ptr<char, CharFree> text(ldns_rr_type2str(static_cast<ldns_rr_type>(type)));
  return text ? std::string(text.get()) : "TYPE" + std::to_string(type);
}

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

// Identical records collapse into one and an RRset takes the TTL of its first
// record, as NSD and BIND do. RRSIGs keep their own TTLs: one owner's
// signatures over different types legitimately differ. Sorting indices keeps
// this fast for zones of a million records.
void normalize(Zone& zone) {
  const std::vector<Record>& records = zone.records;
  std::vector<uint32_t> order(records.size());
  std::iota(order.begin(), order.end(), 0);
  // By owner, type and data; equal records stay in file order.
  std::stable_sort(order.begin(), order.end(), [&](uint32_t a, uint32_t b) {
    const Record& x = records[a];
    const Record& y = records[b];
    if (const int c = x.owner.wire().compare(y.owner.wire()); c != 0) return c < 0;
    if (x.type != y.type) return x.type < y.type;
    return x.rdata < y.rdata;
  });
  std::vector<bool> duplicate(records.size());
  std::vector<uint32_t> ttl(records.size());
  for (size_t i = 0; i < order.size();) {
    const Record& head = records[order[i]];
    size_t end = i;
    uint32_t first = order[i];
    while (end < order.size() && records[order[end]].type == head.type &&
           records[order[end]].owner == head.owner) {
      first = std::min(first, order[end]);
      ++end;
    }
    for (size_t k = i; k < end; ++k) {
      const Record& record = records[order[k]];
      duplicate[order[k]] = k > i && record.rdata == records[order[k - 1]].rdata;
      ttl[order[k]] = record.type == kTypeRrsig ? record.ttl : records[first].ttl;
    }
    i = end;
  }
  std::vector<Record> kept;
  kept.reserve(records.size());
  for (size_t i = 0; i < zone.records.size(); ++i) {
    if (duplicate[i]) continue;
    kept.push_back(std::move(zone.records[i]));
    kept.back().ttl = ttl[i];
  }
  zone.records = std::move(kept);
}

// The structural checks, run after every record is read.
class Validator {
 public:
  Validator(const Zone& zone, bool had_parse_errors)
      : zone_(zone), had_parse_errors_(had_parse_errors) {
    by_owner_.reserve(zone.records.size());
    for (const Record& record : zone.records) {
      by_owner_.push_back(&record);
      if (record.type == kTypeNs && record.owner != zone.origin) cuts_.insert(record.owner);
    }
    // Grouped by owner, file order within a group.
    std::stable_sort(by_owner_.begin(), by_owner_.end(), [](const Record* a, const Record* b) {
      return a->owner.wire() < b->owner.wire();
    });
  }

  void run(Diagnostics& diags) {
    check_apex();
    check_cnames();
    check_delegations();
    // Reported in file order, whatever order the checks found them in.
    std::stable_sort(found_.begin(), found_.end(), [](const Found& a, const Found& b) {
      return std::tie(a.file_index, a.diag.pos.line) < std::tie(b.file_index, b.diag.pos.line);
    });
    for (Found& found : found_) diags.push_back(std::move(found.diag));
  }

 private:
  struct Found {
    unsigned file_index;
    Diagnostic diag;
  };

  void error(const Record& record, std::string message) {
    found_.push_back({record.file_index, {zone_.pos_of(record), std::move(message)}});
  }

  std::string where(const Record& record) const {
    SourcePos pos = zone_.pos_of(record);
    return pos.file + ":" + std::to_string(pos.line);
  }

  void check_apex() {
    const Record* apex_soa = nullptr;
    bool apex_ns = false;
    for (const Record& record : zone_.records) {
      bool at_apex = record.owner == zone_.origin;
      if (record.type == kTypeNs && at_apex) apex_ns = true;
      if (record.type != kTypeSoa) continue;
      if (!at_apex) {
        error(record, "SOA record at " + record.owner.to_text() + " is not at the zone apex " +
                          zone_.origin.to_text());
      } else if (apex_soa != nullptr) {
        error(record,
              "more than one SOA record at the zone apex (first at " + where(*apex_soa) + ")");
      } else {
        apex_soa = &record;
      }
    }
    // After a parse error the missing record is most likely the unparsable
    // one; saying it is missing as well would mislead.
    if (had_parse_errors_) return;
    if (apex_soa == nullptr) {
      found_.push_back(
          {0, {{zone_.file, 0, 0}, "no SOA record at the zone apex " + zone_.origin.to_text()}});
    }
    if (!apex_ns) {
      found_.push_back(
          {0, {{zone_.file, 0, 0}, "no NS records at the zone apex " + zone_.origin.to_text()}});
    }
  }

  // The records of `owner`, in file order.
  std::span<const Record* const> records_of(const Name& owner) const {
    const auto [first, last] =
        std::equal_range(by_owner_.begin(), by_owner_.end(), owner.wire(), OwnerLess{});
    return {first, last};
  }

  void check_cnames() {
    for (auto group = by_owner_.begin(); group != by_owner_.end();) {
      const Name& owner = (*group)->owner;
      const auto end =
          std::find_if(group, by_owner_.end(), [&](const Record* r) { return r->owner != owner; });
      const std::span<const Record* const> records(group, end);
      group = end;
      const Record* cname = nullptr;
      const Record* other = nullptr;
      for (const Record* record : records) {
        if (record->type == kTypeCname) {
          if (cname == nullptr) {
            cname = record;
          } else {
            error(*record, "more than one CNAME record at " + owner.to_text() + " (first at " +
                               where(*cname) + ")");
          }
        } else if (record->type != kTypeRrsig && record->type != kTypeNsec && other == nullptr) {
          // RFC 4035 lets DNSSEC records sit beside a CNAME; nothing else may.
          other = record;
        }
      }
      if (cname == nullptr) continue;
      if (owner == zone_.origin) {
        error(*cname, "CNAME record at the zone apex " + owner.to_text());
      } else if (other != nullptr) {
        error(*cname, "CNAME at " + owner.to_text() + " beside other data (" +
                          type_name(other->type) + " record at " + where(*other) + ")");
      }
    }
  }

  // The highest delegation point at or above name, if any: everything below
  // it belongs to the child zone, whatever further cuts it holds.
  std::optional<Name> top_cut(const Name& name) const {
    std::optional<Name> top;
    for (Name at = name; at != zone_.origin && at.label_count() > 0; at = at.parent()) {
      if (cuts_.count(at) != 0) top = at;
    }
    return top;
  }

  bool has_address(const Name& name) const {
    const auto records = records_of(name);
    return std::any_of(records.begin(), records.end(), [](const Record* record) {
      return record->type == kTypeA || record->type == kTypeAaaa;
    });
  }

  void check_delegations() {
    if (cuts_.empty()) return;
    for (const Record& record : zone_.records) {
      std::optional<Name> cut = top_cut(record.owner);
      if (!cut) continue;
      bool glue = record.type == kTypeA || record.type == kTypeAaaa;
      bool at_cut = *cut == record.owner;
      // At the cut the parent holds the NS set and DS (with its NSEC and
      // signatures); below it only glue addresses make sense.
      bool allowed = glue || (at_cut && (record.type == kTypeNs || record.type == kTypeDs ||
                                         record.type == kTypeNsec || record.type == kTypeRrsig));
      if (!allowed) {
        error(record, type_name(record.type) + " record at " + record.owner.to_text() +
                          " is occluded by delegation at " + cut->to_text());
        continue;
      }
      if (record.type != kTypeNs) continue;
      auto target = Name::from_wire(record.rdata);
      if (target && target->is_subdomain_of(record.owner) && !has_address(*target)) {
        error(record, "delegation " + record.owner.to_text() + " to " + target->to_text() +
                          " has no glue (no A or AAAA record for it)");
      }
    }
  }

  const Zone& zone_;
  bool had_parse_errors_;
  struct OwnerLess {
    bool operator()(const Record* r, const std::string& wire) const {
      return r->owner.wire() < wire;
    }
    bool operator()(const std::string& wire, const Record* r) const {
      return wire < r->owner.wire();
    }
  };

  std::vector<const Record*> by_owner_;  // sorted by owner
  std::set<Name> cuts_;
  std::vector<Found> found_;
};

}  // namespace

std::optional<FileStamp> stamp_file(const std::string& path) {
  struct stat st {};
  if (stat(path.c_str(), &st) != 0) return std::nullopt;
  FileStamp stamp;
  stamp.device = static_cast<uint64_t>(st.st_dev);
  stamp.inode = static_cast<uint64_t>(st.st_ino);
  stamp.size = static_cast<uint64_t>(st.st_size);
  stamp.mtime_ns = int64_t{st.st_mtim.tv_sec} * 1'000'000'000 + st.st_mtim.tv_nsec;
  stamp.ctime_ns = int64_t{st.st_ctim.tv_sec} * 1'000'000'000 + st.st_ctim.tv_nsec;
  return stamp;
}

bool changed_recently(const FileStamp& stamp) {
  constexpr int64_t kTrustAfterNs = 1'000'000'000;
  timespec now{};
  clock_gettime(CLOCK_REALTIME, &now);
  const int64_t now_ns = int64_t{now.tv_sec} * 1'000'000'000 + now.tv_nsec;
  return now_ns - std::max(stamp.mtime_ns, stamp.ctime_ns) < kTrustAfterNs;
}

bool Zone::files_unchanged() const {
  if (files.empty() || stamps.size() != files.size()) return false;
  for (size_t i = 0; i < files.size(); ++i) {
    const auto now = stamp_file(files[i]);
    if (!now || *now != stamps[i]) return false;
  }
  return true;
}

Zone Zone::without_records() const {
  Zone lean;
  lean.origin = origin;
  lean.file = file;
  lean.files = files;
  lean.stamps = stamps;
  lean.load_id = load_id;
  lean.records_released = true;
  return lean;
}

SourcePos Zone::pos_of(const Record& record) const {
  const std::string& name = record.file_index < files.size() ? files[record.file_index] : file;
  return {name, record.line, 0};
}

const Record& Zone::soa() const {
  for (const Record& record : records) {
    if (record.type == kTypeSoa && record.owner == origin) return record;
  }
  // load_zone never returns such a zone; only a hand-built one can get here.
  throw std::logic_error("zone " + origin.to_text() + " has no SOA record at its apex");
}

uint32_t Zone::serial() const {
  const std::string& rdata = soa().rdata;
  // SOA RDATA: MNAME, RNAME (uncompressed), then SERIAL in network order.
  size_t at = 0;
  for (int name = 0; name < 2; ++name) {
    while (at < rdata.size() && rdata[at] != 0) at += 1 + static_cast<unsigned char>(rdata[at]);
    ++at;
  }
  if (at + 4 > rdata.size()) throw std::logic_error("malformed SOA record data");
  uint32_t serial = 0;
  for (size_t i = 0; i < 4; ++i) serial = serial << 8 | static_cast<unsigned char>(rdata[at + i]);
  return serial;
}

std::optional<Zone> load_zone(const std::string& path, const Name& origin, Diagnostics& diags) {
  Zone zone;
  zone.origin = origin;
  zone.file = path;
  size_t before = diags.size();
  if (!Loader(zone, diags).read(path, origin, 0, {})) return std::nullopt;
  bool had_parse_errors = diags.size() != before;
  normalize(zone);
  Validator(zone, had_parse_errors).run(diags);
  if (diags.size() != before) return std::nullopt;
  return zone;
}

}  // namespace mirrorpool::zones
