// A domain name in canonical form: uncompressed wire format, ASCII letters
// lowercased, ending in the root label. A value type for the loaders and the
// snapshot builder; the query path works on raw bytes instead.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace mirrorpool::zones {

class Name {
 public:
  Name();  // the root name "."

  // Parses presentation format ("dl.pool.example." or relative to origin when
  // the text has no trailing dot and origin is given). Handles \DDD and \X
  // escapes. Returns nullopt for an invalid name (empty label, label > 63,
  // name > 255 octets, relative name without origin).
  static std::optional<Name> from_text(std::string_view text, const Name* origin = nullptr);

  // From uncompressed wire bytes (must be a complete, valid name).
  static std::optional<Name> from_wire(std::string_view wire);

  // Lowercase presentation format with a trailing dot ("." for the root).
  std::string to_text() const;

  const std::string& wire() const { return wire_; }
  unsigned label_count() const;  // root = 0

  // True when this name equals other or lies below it.
  bool is_subdomain_of(const Name& other) const;

  // The name with the leftmost label removed (root stays root).
  Name parent() const;

  bool operator==(const Name&) const = default;
  auto operator<=>(const Name&) const = default;

 private:
  explicit Name(std::string wire) : wire_(std::move(wire)) {}
  std::string wire_;
};

}  // namespace mirrorpool::zones
