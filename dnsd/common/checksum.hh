// The checksum that lets the state file and each journal line detect a
// corrupt or truncated copy: SHA-256 as lower-case hex. It detects damage; it
// does not authenticate (anyone who can write the file can recompute it).
#pragma once

#include <string>
#include <string_view>

namespace mirrorpool::dnsd {

// 64 lower-case hex digits.
std::string sha256_hex(std::string_view data);

}  // namespace mirrorpool::dnsd
