// SOA serials of the served zones (RFC 1982 arithmetic) and the rule that
// keeps them rising across content changes and restarts. Lives on the main
// loop; the only I/O is <state_dir>/serials.json, written crash-safely.
//
// The rule, per zone, each time a snapshot is built:
//   known  = the serial last published (in memory, else from serials.json)
//   base   = known + 1 when the content differs from what known was
//            published with, else known
//   serial = the zone file's serial when it is greater than base (RFC 1982),
//            else base
// A zone never seen before starts at its file serial. The content compared is
// every record of the zone as transferred (pool addresses included) with the
// SOA serial left out, so that only real changes count. The new serial is
// written to disk before the snapshot that carries it is published.
#pragma once

#include <cstdint>
#include <map>
#include <string>
#include <string_view>

namespace mirrorpool::dnsd {

// RFC 1982 §3.2: a is greater than b. Undefined pairs (exactly 2^31 apart)
// compare false both ways.
bool serial_gt(uint32_t a, uint32_t b) noexcept;

class SerialBook {
 public:
  // path: the serials.json file; its directory is created when missing.
  explicit SerialBook(std::string path);

  // Reads the file. A missing file is an empty book; an unreadable or
  // malformed one is reported in `error` and the book stays empty (so that
  // serials restart from the zone files, which is logged by the caller).
  bool load(std::string& error);

  // The serial to publish for `zone` (presentation form) whose content digest
  // is `digest` and whose zone file says `file_serial` (see the rule above).
  // Remembers the result; save() writes it.
  uint32_t next(const std::string& zone, uint32_t file_serial, std::string_view digest);

  // Writes the book when anything changed since the last save.
  bool save(std::string& error);

  const std::string& path() const { return path_; }

 private:
  struct Entry {
    uint32_t serial = 0;
    std::string digest;
  };
  std::string path_;
  std::map<std::string, Entry> entries_;
  bool dirty_ = false;
};

}  // namespace mirrorpool::dnsd
