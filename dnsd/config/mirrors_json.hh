// Tails-style mirrors.json (`[pool] mirrors_json` in mirrorpool.toml(5); the operator guide shows
// one): reading the file a pool takes its mirrors from (`[pool] mirrors_json`). How entries merge
// with [[pool.mirror]] tables is the config parser's business (config_json.cc); writing a pool back
// in this shape is mirrors_json_export.hh.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "health/check_spec.hh"
#include "zones/diagnostic.hh"
#include "zones/pool.hh"

namespace mirrorpool::dnsd {

// "https://mirror.example.org:8443/tails/" taken apart for the check's defaults.
struct UrlPrefix {
  health::CheckType type = health::CheckType::http;  // from the scheme
  std::string host;
  uint16_t port = 80;          // the scheme's default unless written
  bool explicit_port = false;  // the URL wrote ":PORT"
  std::string path = "/";
};

// http:// or https://, a host name, an optional port, an optional path
// (default "/"); no user info, query or fragment. nullopt otherwise.
std::optional<UrlPrefix> parse_url_prefix(std::string_view url);

// One entry of the "mirrors" array.
struct MirrorsJsonEntry {
  std::string id;  // "id" if given, else the url_prefix's host: "mirror-a.example.org"
  UrlPrefix url;
  std::string url_prefix;
  std::string rsync_url;
  uint32_t weight = 0;
  std::string email;
  std::string notes;
  zones::SourcePos notes_pos;  // of the notes' value; line 0 when not found
  // nullopt: the file gives none, so a [[pool.mirror]] with the same id must.
  std::optional<std::vector<zones::Address>> addresses;
  std::string country;  // ISO 3166-1 alpha-2, upper case; empty = not given
  std::optional<zones::GeoPoint> location;
  zones::SourcePos pos;  // the entry's opening brace
};

// Parses the text of a mirrors.json; path is used in diagnostics. Every
// problem is appended as file:line:col, naming the entry ("mirrors[1]
// (https://…)") for problems inside one; nullopt if there was any.
std::optional<std::vector<MirrorsJsonEntry>> parse_mirrors_json(std::string_view text,
                                                                const std::string& path,
                                                                zones::Diagnostics& diags);

// Reads and parses the file at path.
std::optional<std::vector<MirrorsJsonEntry>> load_mirrors_json(const std::string& path,
                                                               zones::Diagnostics& diags);

}  // namespace mirrorpool::dnsd
