// A pool written as a Tails-style mirrors.json for `export-mirrors-json`, the
// shape mirrors_json.hh reads, with weights that say what is served now.
#pragma once

#include <cstddef>
#include <optional>
#include <string>

#include "dnsd/config/config.hh"
#include "health/health_view.hh"

namespace mirrorpool::dnsd {

// Tails' download page fetches mirrors.json from a size-limited location.
inline constexpr size_t kMirrorsJsonMaxBytes = 8192;

// The pool as mirrors.json: every mirror that has a url_prefix (mirrors
// defined only in TOML have no URL to publish and are left out), with its
// effective weight, or 0 when it is drained or any of its addresses is down.
// nullopt with `error` set when the text would exceed kMirrorsJsonMaxBytes.
std::optional<std::string> export_mirrors_json(const PoolConfig& effective,
                                               const health::HealthView& health,
                                               std::string& error);

}  // namespace mirrorpool::dnsd
