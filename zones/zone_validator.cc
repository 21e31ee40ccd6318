// The checks of one zone's records once they are read: identical records
// collapsed, RRset TTLs made one, then the structural checks (apex SOA and NS,
// CNAMEs, delegations). Reading the records is zone_reader.cc's job.
#include "zones/zone_load_steps.hh"

#include <algorithm>
#include <cstdint>
#include <numeric>
#include <optional>
#include <set>
#include <span>
#include <string>
#include <tuple>
#include <utility>
#include <vector>

#include "zones/zone.hh"

namespace mirrorpool::zones {

// Sorting indices keeps this fast for zones of a million records.
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

namespace {

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

void validate(const Zone& zone, bool had_parse_errors, Diagnostics& diags) {
  Validator(zone, had_parse_errors).run(diags);
}

}  // namespace mirrorpool::zones
