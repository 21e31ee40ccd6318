// Crash-safe whole-file replacement: write a temporary file beside the target,
// fsync it, rename it over the target, fsync the directory. After a crash the
// file is either the old or the new version, never a mix. Also the plain
// whole-buffer write that it and the journal's appends share.
#pragma once

#include <string>
#include <string_view>

namespace mirrorpool::dnsd {

// Writes all of `data` to `fd`, retrying short writes and EINTR; false (errno
// set) on any other failure.
bool write_all(int fd, std::string_view data);

// Returns false with `error` set ("path: strerror") on failure; the target is
// then unchanged.
bool write_file_atomically(const std::string& path, std::string_view content, std::string& error);

// The same with the file made with `mode` (before the umask; the plain form
// uses 0640) and, when `uid`/`gid` are not -1, given that owner before it
// replaces the target: a private key is never readable by others, not even
// for a moment.
bool write_file_atomically(const std::string& path, std::string_view content, std::string& error,
                           unsigned mode, int uid = -1, int gid = -1);

// Reads a whole file. Returns false with `error` set when it cannot be read;
// a missing file sets `missing` instead and returns false with no error.
bool read_whole_file(const std::string& path, std::string& content, bool& missing,
                     std::string& error);

}  // namespace mirrorpool::dnsd
