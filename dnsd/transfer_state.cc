// Transfer data (transfer_state.hh): zone versions read out of a snapshot,
// their digests and differences, and the bounded history kept between
// snapshots.
#include "dnsd/transfer_state.hh"

#include <algorithm>
#include <iterator>
#include <map>
#include <memory>

#include <fmt/format.h>
#include <openssl/evp.h>

#include "dnsd/serials.hh"
#include "dnsd/snapshot.hh"
#include "dnsd/wire.hh"

namespace mirrorpool::dnsd {

namespace {

uint16_t get16(std::string_view b, size_t at) {
  return static_cast<uint16_t>((static_cast<uint8_t>(b[at]) << 8) |
                               static_cast<uint8_t>(b[at + 1]));
}

// Appends every record of `bytes` (TYPE CLASS TTL RDLENGTH RDATA, back to back) under `owner`.
void read_records(std::string_view owner, std::string_view bytes, std::vector<ZoneRecord>& out) {
  while (bytes.size() >= 10) {
    const size_t rdlength = get16(bytes, 8);
    if (bytes.size() < 10 + rdlength) break;
    ZoneRecord r;
    r.owner = std::string(owner);
    r.type = get16(bytes, 0);
    r.ttl = (uint32_t{get16(bytes, 4)} << 16) | get16(bytes, 6);
    r.rdata = std::string(bytes.substr(10, rdlength));
    out.push_back(std::move(r));
    bytes.remove_prefix(10 + rdlength);
  }
}

void put(std::string& out, uint32_t v, int bytes) {
  for (int i = bytes - 1; i >= 0; --i) out.push_back(static_cast<char>(v >> (8 * i)));
}

}  // namespace

const ZoneTransfer* TransferState::find(std::string_view apex) const noexcept {
  for (const ZoneTransfer& z : zones) {
    if (z.apex == apex) return &z;
  }
  return nullptr;
}

ZoneVersion zone_version(const Snapshot& snapshot, size_t zone) {
  const EncodedZone& z = snapshot.zones()[zone];
  ZoneVersion version;
  version.serial = snapshot.serial(zone);
  // Nodes are stored in name order, so sorting each node's records sorts
  // them all: linear in the zone rather than n log n over every record.
  std::vector<ZoneRecord> records;
  for (uint32_t i = 0; i < z.nodes.size(); ++i) {
    const EncodedNode& node = z.nodes[i];
    const std::string_view owner = z.node_name(i);
    const auto first = static_cast<std::ptrdiff_t>(records.size());
    for (uint32_t r = node.rrset_begin; r < node.rrset_end; ++r) {
      read_records(owner, z.bytes(z.rrsets[r]), records);
    }
    if (node.pool >= 0) {
      const EncodedPool& pool = snapshot.pools()[static_cast<size_t>(node.pool)];
      for (const EncodedFamily* family : {&pool.v4, &pool.v6}) {
        if (family->mode == FamilyMode::serve) read_records(owner, family->records, records);
      }
    }
    std::sort(records.begin() + first, records.end());
  }
  records.erase(std::unique(records.begin(), records.end()), records.end());
  const auto soa = std::find_if(records.begin(), records.end(), [&](const ZoneRecord& r) {
    return r.type == kTypeSoa && r.owner == z.apex;
  });
  version.records.reserve(records.size());
  if (soa != records.end()) version.records.push_back(*soa);
  for (auto it = records.begin(); it != records.end(); ++it) {
    if (it != soa) version.records.push_back(std::move(*it));
  }
  return version;
}

std::string content_digest(const ZoneVersion& version) {
  // Fed in chunks rather than as one copy of the whole zone.
  std::unique_ptr<EVP_MD_CTX, decltype(&EVP_MD_CTX_free)> ctx(EVP_MD_CTX_new(), EVP_MD_CTX_free);
  if (!ctx || EVP_DigestInit_ex(ctx.get(), EVP_sha256(), nullptr) != 1) return {};
  std::string data;
  bool ok = true;
  for (size_t i = 0; i < version.records.size(); ++i) {
    const ZoneRecord& r = version.records[i];
    put(data, static_cast<uint32_t>(r.owner.size()), 1);
    data.append(r.owner);
    put(data, r.type, 2);
    put(data, r.ttl, 4);
    put(data, static_cast<uint32_t>(r.rdata.size()), 2);
    const size_t rdata_at = data.size();
    data.append(r.rdata);
    // The serial is the first of the five numbers that end SOA RDATA.
    if (i == 0 && r.type == kTypeSoa && r.rdata.size() >= 20) {
      std::fill_n(data.begin() + static_cast<std::ptrdiff_t>(rdata_at + r.rdata.size() - 20), 4,
                  '\0');
    }
    if (data.size() >= 16384 || i + 1 == version.records.size()) {
      ok = ok && EVP_DigestUpdate(ctx.get(), data.data(), data.size()) == 1;
      data.clear();
    }
  }
  unsigned char md[EVP_MAX_MD_SIZE];
  unsigned int length = 0;
  if (!ok || EVP_DigestFinal_ex(ctx.get(), md, &length) != 1) return {};
  std::string hex;
  for (unsigned i = 0; i < length; ++i) hex += fmt::format("{:02x}", md[i]);
  return hex;
}

ZoneDiff diff_versions(const ZoneVersion& from, const ZoneVersion& to) {
  ZoneDiff diff;
  if (!from.records.empty()) diff.old_soa = from.records.front();
  if (!to.records.empty()) diff.new_soa = to.records.front();
  auto body = [](const ZoneVersion& v) {
    return std::pair(v.records.begin() + (v.records.empty() ? 0 : 1), v.records.end());
  };
  const auto [from_begin, from_end] = body(from);
  const auto [to_begin, to_end] = body(to);
  std::set_difference(from_begin, from_end, to_begin, to_end, std::back_inserter(diff.removed));
  std::set_difference(to_begin, to_end, from_begin, from_end, std::back_inserter(diff.added));
  return diff;
}

void TransferHistory::configure(const Config& config) {
  keys_.clear();
  std::map<std::string, std::string> wire_of;
  for (const auto& [name, key] : config.tsig) {
    // Keys were validated with the config; from_config cannot fail on them.
    if (auto material = TsigKeyMaterial::from_config(key)) {
      wire_of[name] = material->name;
      keys_.push_back(std::move(*material));
    }
  }
  access_.clear();
  for (const ZoneConfig& zone : config.zones) {
    Access access;
    access.apex = zone.origin.wire();
    access.allow_transfer = zone.allow_transfer;
    if (!zone.tsig.empty()) access.required_key = wire_of[zone.tsig];
    access_.push_back(std::move(access));
  }
}

std::shared_ptr<const TransferState> TransferHistory::advance(const Snapshot& snapshot,
                                                              std::vector<ZoneVersion> versions) {
  auto state = std::make_shared<TransferState>();
  state->keys = keys_;
  for (size_t z = 0; z < versions.size(); ++z) {
    ZoneTransfer& t = state->zones.emplace_back();
    t.apex = snapshot.zones()[z].apex;
    const auto name = zones::Name::from_wire(t.apex);
    t.name = name ? name->to_text() : "?";
    auto version = std::make_shared<const ZoneVersion>(std::move(versions[z]));
    const ZoneTransfer* previous = current_ ? current_->find(t.apex) : nullptr;
    if (previous != nullptr && previous->current->serial == version->serial &&
        previous->current->records == version->records) {
      t.current = previous->current;
      t.diffs = previous->diffs;
    } else {
      if (previous != nullptr && serial_gt(version->serial, previous->current->serial)) {
        t.diffs = previous->diffs;
        if (t.diffs.size() >= kMaxDiffs) t.diffs.erase(t.diffs.begin());
        t.diffs.push_back(
            std::make_shared<const ZoneDiff>(diff_versions(*previous->current, *version)));
      }
      // Otherwise the zone is new or its serial did not rise: the history
      // restarts and older serials get a full transfer.
      t.current = std::move(version);
    }
    for (const Access& access : access_) {
      if (access.apex != t.apex) continue;
      t.allow_transfer = access.allow_transfer;
      t.required_key = access.required_key;
    }
  }
  current_ = state;
  return state;
}

}  // namespace mirrorpool::dnsd
