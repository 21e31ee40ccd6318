// Fuzzes the mirrors.json reader (a file that may come from another party's
// download page) and the URL prefix parser it uses.
#include "dnsd/config/mirrors_json.hh"
#include "tests/fuzz/fuzz_target.hh"

using namespace mirrorpool;

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::string_view text = fuzz::as_text(data, size);
  zones::Diagnostics diags;
  const auto entries = dnsd::parse_mirrors_json(text, "mirrors.json", diags);
  fuzz::check(entries.has_value() == diags.empty(),
              "mirrors.json refused without a diagnostic, or accepted with one");
  if (entries) {
    for (const auto& entry : *entries) {
      fuzz::check(dnsd::parse_url_prefix(entry.url_prefix).has_value(),
                  "an accepted entry whose url_prefix does not parse");
    }
  }
  // The first line on its own as a URL, so the URL parser sees short inputs too.
  (void)dnsd::parse_url_prefix(text.substr(0, text.find('\n')));
  return 0;
}
