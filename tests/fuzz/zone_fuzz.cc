// Fuzzes zone loading: the master-file lexer in memory, then load_zone on the
// same bytes written to a file in a private directory (the loader reads
// files only, and $INCLUDE resolves beside them).
#include <unistd.h>

#include <cstdio>
#include <cstdlib>
#include <string>

#include "tests/fuzz/fuzz_target.hh"
#include "zones/master_file.hh"
#include "zones/name.hh"
#include "zones/zone.hh"

using namespace mirrorpool;

namespace {

struct ScratchDir {
  std::string dir;
  std::string zone_file;

  ScratchDir() {
    const char* tmp = std::getenv("TMPDIR");
    std::string pattern =
        std::string(tmp != nullptr && *tmp != '\0' ? tmp : "/tmp") + "/mirrorpool-zone-fuzz-XXXXXX";
    fuzz::check(mkdtemp(pattern.data()) != nullptr, "cannot create a scratch directory");
    dir = pattern;
    zone_file = dir + "/fuzz.zone";
  }
  ~ScratchDir() {
    std::remove(zone_file.c_str());
    rmdir(dir.c_str());
  }
};

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  static ScratchDir scratch;
  const std::string_view text = fuzz::as_text(data, size);
  zones::Diagnostics lexing;
  const auto entries = zones::split_master_text(text, "fuzz.zone", lexing);
  for (const auto& entry : entries) {
    fuzz::check(!entry.text.empty(), "an empty master-file entry");
  }
  if (fuzz::names_special_files(text)) return 0;
  std::FILE* f = std::fopen(scratch.zone_file.c_str(), "wb");
  fuzz::check(f != nullptr, "cannot write the scratch zone file");
  const size_t written = size == 0 ? 0 : std::fwrite(data, 1, size, f);
  fuzz::check(std::fclose(f) == 0 && written == size, "cannot write the scratch zone file");
  static const zones::Name origin = *zones::Name::from_text("example.org.");
  zones::Diagnostics diags;
  const auto zone = zones::load_zone(scratch.zone_file, origin, diags);
  fuzz::check(zone.has_value() == diags.empty(),
              "a zone is refused without a diagnostic, or loaded with one");
  if (zone) fuzz::check(zone->records.size() >= 2, "a loaded zone without SOA and NS");
  return 0;
}
