// Lexing of an RFC 1035 master file into logical entries, one per record or
// directive, with comments removed and parenthesised continuations joined.
// Lexing only: record syntax, names and directives are the zone loader's job.
#pragma once

#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "zones/diagnostic.hh"

namespace mirrorpool::zones {

struct MasterEntry {
  int line = 0;  // where the entry starts
  // One line of text. Starts with a space when the entry starts with blank
  // space (the owner is the previous one), else with the owner or directive.
  std::string text;
};

// Splits text into entries. Unbalanced parentheses and unterminated quoted
// strings are appended to diags, naming file and line; lexing goes on after them.
std::vector<MasterEntry> split_master_text(std::string_view text, const std::string& file,
                                           Diagnostics& diags);

// Reads and splits the file at path. When the file cannot be read, returns
// nullopt and sets open_error to the system's reason; diags is left alone so
// the caller can say who wanted the file.
std::optional<std::vector<MasterEntry>> read_master_file(const std::string& path,
                                                         std::string& open_error,
                                                         Diagnostics& diags);

// The whitespace-separated token starting at or after pos, honouring
// backslash escapes and double quotes; empty when none is left. pos is moved
// past the token.
std::string_view next_master_token(std::string_view text, size_t& pos);

}  // namespace mirrorpool::zones
