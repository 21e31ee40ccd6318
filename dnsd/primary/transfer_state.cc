// Transfer data (transfer_state.hh): zone versions read out of a snapshot,
// their digests and differences, and the bounded history kept between
// snapshots.
#include "dnsd/primary/transfer_state.hh"

#include <algorithm>
#include <iterator>
#include <map>
#include <memory>

#include <fmt/format.h>
#include <openssl/evp.h>

#include "dnsd/primary/serials.hh"
#include "dnsd/snapshot/snapshot.hh"
#include "dnsd/wire/wire.hh"

namespace mirrorpool::dnsd {

namespace {

// Which encoding of a zone's files `z` is: its load id, and for a signed
// zone also when and with which keys it was signed (0: unknown).
uint64_t encoding_id(const EncodedZone& z) {
  if (z.load_id == 0 || !z.is_signed()) return z.load_id;
  return (z.load_id * 0x9e3779b97f4a7c15ULL) ^ (uint64_t{z.sig_inception} << 20) ^
         z.signing_generation ^ 1;
}

// Appends every record of `bytes` (TYPE CLASS TTL RDLENGTH RDATA, back to back) under `owner`.
void read_records(std::string_view owner, std::string_view bytes, std::vector<ZoneRecord>& out) {
  while (bytes.size() >= kRrFixedSize) {
    const size_t rdlength = get16(bytes.data() + kRdlengthAt);
    if (bytes.size() < kRrFixedSize + rdlength) break;
    ZoneRecord r;
    r.owner = std::string(owner);
    r.type = get16(bytes.data());
    r.ttl = get32(bytes.data() + 4);
    r.rdata = std::string(bytes.substr(kRrFixedSize, rdlength));
    out.push_back(std::move(r));
    bytes.remove_prefix(kRrFixedSize + rdlength);
  }
}

}  // namespace

const ZoneTransfer* TransferState::find(std::string_view apex) const noexcept {
  for (const ZoneTransfer& z : zones) {
    if (z.apex == apex) return &z;
  }
  return nullptr;
}

namespace {

class Sha256 {
 public:
  Sha256() : ctx_(EVP_MD_CTX_new(), EVP_MD_CTX_free) {
    ok_ = ctx_ && EVP_DigestInit_ex(ctx_.get(), EVP_sha256(), nullptr) == 1;
  }
  void update(std::string_view data) {
    ok_ = ok_ && EVP_DigestUpdate(ctx_.get(), data.data(), data.size()) == 1;
  }
  // Records are fed in chunks rather than as one copy of the whole zone.
  void update(const std::vector<ZoneRecord>& records) {
    std::string data;
    for (const ZoneRecord& r : records) {
      FileRecords::pack(data, r);
      if (data.size() >= 16384) {
        update(data);
        data.clear();
      }
    }
    update(data);
  }
  // The raw digest, or empty on failure.
  std::string finish() {
    unsigned char md[EVP_MAX_MD_SIZE];
    unsigned int length = 0;
    if (!ok_ || EVP_DigestFinal_ex(ctx_.get(), md, &length) != 1) return {};
    return std::string(reinterpret_cast<const char*>(md), length);
  }

 private:
  std::unique_ptr<EVP_MD_CTX, decltype(&EVP_MD_CTX_free)> ctx_;
  bool ok_ = false;
};

// The zone file's records of `z` (all but the apex SOA), sorted and unique
// (a signed zone's NSEC3 chain last, sorted apart); without `keep`, only
// their count and digest.
std::shared_ptr<const FileRecords> file_records(const EncodedZone& z, bool keep) {
  std::string packed;
  size_t count = 0;
  Sha256 sha;
  std::vector<ZoneRecord> node_records;
  // Nodes are stored in name order, so sorting each node's records sorts
  // them all: linear in the zone rather than n log n over every record.
  for (uint32_t i = 0; i < z.nodes.size(); ++i) {
    const EncodedNode& node = z.nodes[i];
    node_records.clear();
    for (uint32_t r = node.rrset_begin; r < node.rrset_end; ++r) {
      if (node.apex && z.rrsets[r].type == kTypeSoa) continue;
      read_records(z.node_name(i), z.bytes(z.rrsets[r]), node_records);
    }
    std::sort(node_records.begin(), node_records.end());
    node_records.erase(std::unique(node_records.begin(), node_records.end()), node_records.end());
    for (const ZoneRecord& r : node_records) FileRecords::pack(packed, r);
    count += node_records.size();
    if (!keep && packed.size() >= 16384) {
      // Hashed in chunks: the same digest as the whole packed string's.
      sha.update(packed);
      packed.clear();
    }
  }
  // A signed zone's NSEC3 chain (its pool names' are the pools'), in hash order.
  node_records.clear();
  for (const EncodedZone::Nsec3& entry : z.nsec3) {
    const std::string_view bytes = std::string_view(z.nsec3_records).substr(entry.offset);
    read_records(bytes.substr(0, entry.owner_length),
                 bytes.substr(entry.owner_length, entry.length), node_records);
  }
  std::sort(node_records.begin(), node_records.end());
  for (const ZoneRecord& r : node_records) FileRecords::pack(packed, r);
  count += node_records.size();
  if (keep) return std::make_shared<const FileRecords>(encoding_id(z), std::move(packed), count);
  sha.update(packed);
  return std::make_shared<const FileRecords>(encoding_id(z), count, sha.finish());
}

// Every record of a version but the SOA, sorted.
std::vector<ZoneRecord> body_of(const ZoneVersion& v) {
  std::vector<ZoneRecord> out;
  out.reserve(v.size());
  v.each_body([&](const ZoneRecord& r) {
    out.push_back(r);
    return true;
  });
  std::sort(out.begin(), out.end());
  return out;
}

}  // namespace

FileRecords::FileRecords(uint64_t load_id, std::string packed, size_t count)
    : load_id_(load_id), packed_(std::move(packed)), count_(count), has_records_(true) {
  Sha256 sha;
  sha.update(packed_);
  digest_ = sha.finish();
}

FileRecords::FileRecords(uint64_t load_id, size_t count, std::string digest)
    : load_id_(load_id), count_(count), digest_(std::move(digest)), has_records_(false) {}

void FileRecords::pack(std::string& packed, const ZoneRecord& r) {
  packed.push_back(static_cast<char>(r.owner.size()));
  packed.append(r.owner);
  put16(packed, r.type);
  put32(packed, r.ttl);
  put16(packed, static_cast<uint16_t>(r.rdata.size()));
  packed.append(r.rdata);
}

bool FileRecords::each(const std::function<bool(const ZoneRecord&)>& f) const {
  if (!has_records_) return false;
  // One record reused: its strings keep their capacity from one to the next.
  ZoneRecord r;
  std::string_view rest = packed_;
  while (!rest.empty()) {
    const size_t owner_length = static_cast<uint8_t>(rest[0]);
    r.owner.assign(rest.substr(1, owner_length));
    rest.remove_prefix(1 + owner_length);
    r.type = get16(rest.data());
    r.ttl = get32(rest.data() + 2);
    const size_t rdlength = get16(rest.data() + 6);
    r.rdata.assign(rest.substr(8, rdlength));
    rest.remove_prefix(8 + rdlength);
    if (!f(r)) return false;
  }
  return true;
}

bool ZoneVersion::each_body(const std::function<bool(const ZoneRecord&)>& f) const {
  for (const ZoneRecord& r : soa_sigs) {
    if (!f(r)) return false;
  }
  if (!file->each(f)) return false;
  for (const ZoneRecord& r : pooled) {
    if (!f(r)) return false;
  }
  return true;
}

bool ZoneVersion::same_content(const ZoneVersion& other) const {
  return soa == other.soa && pooled == other.pooled && (file == other.file || *file == *other.file);
}

void set_version_soa(ZoneVersion& version, const Snapshot& snapshot, size_t zone) {
  const EncodedZone& z = snapshot.zone(zone);
  std::vector<ZoneRecord> soas;
  read_records(z.apex, snapshot.soa(zone).record, soas);
  if (!soas.empty()) version.soa = std::move(soas.front());
  version.soa_sigs.clear();
  read_records(z.apex, snapshot.soa(zone).rrsig, version.soa_sigs);
}

ZoneVersion zone_version(const Snapshot& snapshot, size_t zone, const ZoneVersion* previous,
                         bool keep_records) {
  const EncodedZone& z = snapshot.zone(zone);
  ZoneVersion version;
  version.serial = snapshot.serial(zone);
  set_version_soa(version, snapshot, zone);
  // Equal non-zero ids mean the same read of the zone's files, signed (if
  // at all) at the same time.
  const uint64_t id = encoding_id(z);
  if (previous != nullptr && id != 0 && previous->file->load_id() == id &&
      previous->file->has_records() == keep_records) {
    version.file = previous->file;
  } else {
    version.file = file_records(z, keep_records);
  }
  for (uint32_t i = 0; i < z.nodes.size(); ++i) {
    const EncodedNode& node = z.nodes[i];
    if (node.pool < 0) continue;
    const auto first = static_cast<std::ptrdiff_t>(version.pooled.size());
    const EncodedPool& pool = snapshot.pools()[static_cast<size_t>(node.pool)];
    for (const EncodedFamily* family : {&pool.v4, &pool.v6}) {
      if (family->mode == FamilyMode::serve) {
        read_records(z.node_name(i), family->records, version.pooled);
        read_records(z.node_name(i), family->full_sigs, version.pooled);
      }
    }
    read_records(pool.nsec_owner, pool.nsec, version.pooled);
    // Nodes are in name order: sorting each node's records sorts them all,
    // but for an NSEC3, whose owner is a hash.
    std::sort(version.pooled.begin() + first, version.pooled.end());
  }
  if (z.uses_nsec3) std::sort(version.pooled.begin(), version.pooled.end());
  version.pooled.erase(std::unique(version.pooled.begin(), version.pooled.end()),
                       version.pooled.end());
  return version;
}

std::string content_digest(const ZoneVersion& version) {
  Sha256 sha;
  sha.update(version.file->digest());
  // The serial is the first of the five numbers that end SOA RDATA.
  ZoneRecord soa = version.soa;
  if (soa.rdata.size() >= kSoaTimersSize)
    set32(soa.rdata.data() + soa.rdata.size() - kSoaTimersSize, 0);
  std::string data;
  FileRecords::pack(data, soa);
  sha.update(data);
  sha.update(version.pooled);
  const std::string md = sha.finish();
  if (md.empty()) return {};
  std::string hex;
  for (unsigned char c : md) hex += fmt::format("{:02x}", c);
  return hex;
}

bool can_diff(const ZoneVersion& from, const ZoneVersion& to) {
  return from.file == to.file || (from.file->has_records() && to.file->has_records());
}

ZoneDiff diff_versions(const ZoneVersion& from, const ZoneVersion& to) {
  ZoneDiff diff;
  diff.old_soa = from.soa;
  diff.new_soa = to.soa;
  if (from.file == to.file) {
    // A health change: only the pools' records (and the SOA's signatures) can differ.
    for (const auto* list : {&from.soa_sigs, &to.soa_sigs}) {
      if (from.soa_sigs == to.soa_sigs) break;
      auto& out = list == &from.soa_sigs ? diff.removed : diff.added;
      out.insert(out.end(), list->begin(), list->end());
    }
    std::set_difference(from.pooled.begin(), from.pooled.end(), to.pooled.begin(), to.pooled.end(),
                        std::back_inserter(diff.removed));
    std::set_difference(to.pooled.begin(), to.pooled.end(), from.pooled.begin(), from.pooled.end(),
                        std::back_inserter(diff.added));
    return diff;
  }
  // Another load of the files: compare everything.
  const std::vector<ZoneRecord> from_body = body_of(from);
  const std::vector<ZoneRecord> to_body = body_of(to);
  std::set_difference(from_body.begin(), from_body.end(), to_body.begin(), to_body.end(),
                      std::back_inserter(diff.removed));
  std::set_difference(to_body.begin(), to_body.end(), from_body.begin(), from_body.end(),
                      std::back_inserter(diff.added));
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
    t.apex = snapshot.zone(z).apex;
    const auto name = zones::Name::from_wire(t.apex);
    t.name = name ? name->to_text() : "?";
    auto version = std::make_shared<const ZoneVersion>(std::move(versions[z]));
    const ZoneTransfer* previous = current_ ? current_->find(t.apex) : nullptr;
    // The same content at the same serial keeps its history, unless the
    // zone's records are kept only now (transfers were just enabled).
    if (previous != nullptr && previous->current->serial == version->serial &&
        previous->current->same_content(*version) &&
        previous->current->file->has_records() == version->file->has_records()) {
      t.current = previous->current;
      t.diffs = previous->diffs;
    } else {
      if (previous != nullptr && serial_gt(version->serial, previous->current->serial) &&
          can_diff(*previous->current, *version)) {
        t.diffs = previous->diffs;
        if (t.diffs.size() >= kMaxDiffs) t.diffs.erase(t.diffs.begin());
        t.diffs.push_back(
            std::make_shared<const ZoneDiff>(diff_versions(*previous->current, *version)));
      }
      // Otherwise the zone is new, its serial did not rise or the previous
      // version kept no records to compare: the history restarts and older
      // serials get a full transfer.
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
