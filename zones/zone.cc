// The Zone's own methods (file stamps, SOA, serial) and load_zone, which runs
// the steps of zone_load_steps.hh: read, normalize, validate. Also the record
// type names both steps print in their diagnostics.
#include "zones/zone.hh"

#include <ldns/ldns.h>
#include <sys/stat.h>

#include <algorithm>
#include <cstdlib>
#include <ctime>
#include <memory>
#include <stdexcept>

#include "zones/zone_load_steps.hh"

namespace mirrorpool::zones {

namespace {

struct CharFree {
  void operator()(char* text) const { std::free(text); }
};

}  // namespace

std::string type_name(uint16_t type) {
  std::unique_ptr<char, CharFree> text(ldns_rr_type2str(static_cast<ldns_rr_type>(type)));
  return text ? std::string(text.get()) : "TYPE" + std::to_string(type);
}

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
  if (!read_zone_files(zone, diags)) return std::nullopt;
  bool had_parse_errors = diags.size() != before;
  normalize(zone);
  validate(zone, had_parse_errors, diags);
  if (diags.size() != before) return std::nullopt;
  return zone;
}

}  // namespace mirrorpool::zones
