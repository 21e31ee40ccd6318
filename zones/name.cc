// Domain names in canonical wire form: parsing, printing and label-wise
// comparison. No zone-file syntax ("@", $ORIGIN) and no compression here.
#include "zones/name.hh"

namespace mirrorpool::zones {

namespace {

constexpr size_t kMaxLabel = 63;
constexpr size_t kMaxName = 255;

char lower(char c) {
  return (c >= 'A' && c <= 'Z') ? static_cast<char>(c - 'A' + 'a') : c;
}

bool is_digit(char c) {
  return c >= '0' && c <= '9';
}

// Characters that must be escaped to survive a round trip through a master
// file: the label separator, the escape itself and the tokens RFC 1035 gives
// a meaning to (quotes, comments, grouping).
bool needs_backslash(unsigned char c) {
  return c == '.' || c == '\\' || c == '"' || c == ';' || c == '(' || c == ')';
}

}  // namespace

Name::Name() : wire_(1, '\0') {}

std::optional<Name> Name::from_text(std::string_view text, const Name* origin) {
  if (text.empty()) return std::nullopt;
  if (text == ".") return Name();

  std::string wire;
  std::string label;
  bool absolute = false;
  auto end_label = [&]() {
    if (label.empty() || label.size() > kMaxLabel) return false;
    wire += static_cast<char>(label.size());
    wire += label;
    label.clear();
    return true;
  };

  for (size_t i = 0; i < text.size(); ++i) {
    char c = text[i];
    if (c == '.') {
      if (!end_label()) return std::nullopt;
      if (i + 1 == text.size()) absolute = true;
      continue;
    }
    if (c == '\\') {
      if (i + 1 >= text.size()) return std::nullopt;
      if (is_digit(text[i + 1])) {
        if (i + 3 >= text.size() || !is_digit(text[i + 2]) || !is_digit(text[i + 3])) {
          return std::nullopt;
        }
        int value = (text[i + 1] - '0') * 100 + (text[i + 2] - '0') * 10 + (text[i + 3] - '0');
        if (value > 255) return std::nullopt;
        label += lower(static_cast<char>(value));
        i += 3;
      } else {
        label += lower(text[i + 1]);
        i += 1;
      }
      continue;
    }
    // Unescaped whitespace and control characters cannot be part of a name
    // token; accepting them would hide a typo in a config file.
    if (static_cast<unsigned char>(c) <= ' ' || c == '\x7f') return std::nullopt;
    label += lower(c);
  }
  if (!absolute && !end_label()) return std::nullopt;

  if (absolute) {
    wire += '\0';
  } else {
    if (origin == nullptr) return std::nullopt;
    wire += origin->wire_;
  }
  if (wire.size() > kMaxName) return std::nullopt;
  return Name(std::move(wire));
}

std::optional<Name> Name::from_wire(std::string_view wire) {
  if (wire.empty() || wire.size() > kMaxName) return std::nullopt;
  std::string out;
  out.reserve(wire.size());
  size_t i = 0;
  while (true) {
    if (i >= wire.size()) return std::nullopt;
    auto len = static_cast<unsigned char>(wire[i]);
    // Compression pointers and the obsolete extended label types are not
    // names in canonical form.
    if (len > kMaxLabel) return std::nullopt;
    if (i + 1 + len > wire.size()) return std::nullopt;
    out += static_cast<char>(len);
    for (size_t k = 0; k < len; ++k) out += lower(wire[i + 1 + k]);
    i += 1 + len;
    if (len == 0) break;
  }
  if (i != wire.size()) return std::nullopt;
  return Name(std::move(out));
}

std::string Name::to_text() const {
  if (wire_.size() == 1) return ".";
  std::string out;
  size_t i = 0;
  while (true) {
    auto len = static_cast<unsigned char>(wire_[i]);
    if (len == 0) break;
    for (size_t k = 0; k < len; ++k) {
      auto c = static_cast<unsigned char>(wire_[i + 1 + k]);
      if (needs_backslash(c)) {
        out += '\\';
        out += static_cast<char>(c);
      } else if (c <= ' ' || c >= 0x7f) {
        out += '\\';
        out += static_cast<char>('0' + c / 100);
        out += static_cast<char>('0' + c / 10 % 10);
        out += static_cast<char>('0' + c % 10);
      } else {
        out += static_cast<char>(c);
      }
    }
    out += '.';
    i += 1 + len;
  }
  return out;
}

unsigned Name::label_count() const {
  unsigned count = 0;
  for (size_t i = 0; wire_[i] != 0; i += 1 + static_cast<unsigned char>(wire_[i])) ++count;
  return count;
}

bool Name::is_subdomain_of(const Name& other) const {
  unsigned mine = label_count();
  unsigned theirs = other.label_count();
  if (mine < theirs) return false;
  // Compare from a label boundary: a plain byte suffix would wrongly put
  // "foo\007example.org." (one label holding the bytes 7,"example") below
  // "example.org.".
  size_t i = 0;
  for (unsigned skip = mine - theirs; skip > 0; --skip) {
    i += 1 + static_cast<unsigned char>(wire_[i]);
  }
  return std::string_view(wire_).substr(i) == other.wire_;
}

Name Name::parent() const {
  if (wire_.size() == 1) return *this;
  return Name(wire_.substr(1 + static_cast<unsigned char>(wire_[0])));
}

}  // namespace mirrorpool::zones
