// Fuzzes the TOML config parser and its validation. Files the config names
// (mirrors_json) resolve inside a directory that does not exist, so only
// absolute paths can reach the file system.
#include "dnsd/config/config.hh"
#include "tests/fuzz/fuzz_target.hh"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::string_view text = mirrorpool::fuzz::as_text(data, size);
  if (mirrorpool::fuzz::names_special_files(text)) return 0;
  mirrorpool::zones::Diagnostics diags;
  const auto config =
      mirrorpool::dnsd::parse_config(text, "/nonexistent-mirrorpool-fuzz/mirrorpool.toml", diags);
  mirrorpool::fuzz::check(config.has_value() == diags.empty(),
                          "a config is refused without a diagnostic, or accepted with one");
  return 0;
}
