// Crash-safe whole-file replacement: write a temporary file beside the target,
// fsync it, rename it over the target, fsync the directory. After a crash the
// file is either the old or the new version, never a mix.
#pragma once

#include <string>
#include <string_view>

namespace mirrorpool::dnsd {

// Returns false with `error` set ("path: strerror") on failure; the target is
// then unchanged.
bool write_file_atomically(const std::string& path, std::string_view content, std::string& error);

// Reads a whole file. Returns false with `error` set when it cannot be read;
// a missing file sets `missing` instead and returns false with no error.
bool read_whole_file(const std::string& path, std::string& content, bool& missing,
                     std::string& error);

}  // namespace mirrorpool::dnsd
