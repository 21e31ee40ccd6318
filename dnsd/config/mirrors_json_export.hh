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

// The pool as mirrors.json: every mirror, with its effective weight (0 when
// it is drained or any of its addresses is down), its addresses, and its id
// when that is not its url_prefix's host, so that importing the text gives the
// same mirrors. nullopt with `error` set, naming them, when a mirror has no
// url_prefix (the format's one required key), or when the text would exceed
// kMirrorsJsonMaxBytes.
std::optional<std::string> export_mirrors_json(const PoolConfig& effective,
                                               const health::HealthView& health,
                                               std::string& error);

}  // namespace mirrorpool::dnsd
