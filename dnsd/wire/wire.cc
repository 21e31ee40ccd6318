// Query parsing and response writing (see wire.hh). Every read is bounds
// checked: queries are untrusted bytes.
#include "dnsd/wire/wire.hh"

#include <cstring>

namespace mirrorpool::dnsd {

namespace {

// Skips one resource record (owner, fixed fields, RDATA) at pos.
bool skip_record(std::span<const uint8_t> msg, size_t& pos) noexcept {
  WireName owner;
  if (!read_name(msg, pos, owner)) return false;
  if (msg.size() - pos < kRrFixedSize) return false;
  const size_t rdlength = get16(msg.data() + pos + kRdlengthAt);
  pos += kRrFixedSize;
  if (msg.size() - pos < rdlength) return false;
  pos += rdlength;
  return true;
}

// Reads the options of an OPT record's RDATA (`rdata`), keeping the ECS,
// COOKIE and NSID options; false for options that run past the RDATA, for an
// ECS option that RFC 7871 calls malformed, a COOKIE option of a length RFC
// 7873 5.2.2 calls malformed, and a second ECS or COOKIE option.
bool parse_options(std::span<const uint8_t> rdata, Edns& edns) noexcept {
  ClientSubnet& ecs = edns.ecs;
  Cookie& cookie = edns.cookie;
  size_t at = 0;
  while (at < rdata.size()) {
    if (rdata.size() - at < 4) return false;
    const uint16_t code = get16(rdata.data() + at);
    const size_t length = get16(rdata.data() + at + 2);
    at += 4;
    if (rdata.size() - at < length) return false;
    if (code == kEdnsOptionClientSubnet) {
      if (ecs.present || length < 4) return false;
      const uint8_t* o = rdata.data() + at;
      const uint16_t family = get16(o);
      const unsigned source = o[2];
      const unsigned max_bits = family == 1 ? 32 : family == 2 ? 128 : 0;
      // RFC 7871 6: SCOPE is 0 in queries; ADDRESS holds exactly the bytes
      // the source prefix needs, and nothing past the prefix is set.
      if (max_bits == 0 || source > max_bits || o[3] != 0 || length - 4 != (source + 7) / 8) {
        return false;
      }
      if (source % 8 != 0 && (o[4 + source / 8] & (0xffu >> (source % 8))) != 0) return false;
      ecs.present = true;
      ecs.family = family;
      ecs.source_prefix = static_cast<uint8_t>(source);
      for (size_t i = 0; i < length - 4; ++i) ecs.address[i] = o[4 + i];
    } else if (code == kEdnsOptionCookie) {
      if (cookie.present) return false;
      if (length != kClientCookieSize && (length < kClientCookieSize + kMinServerCookieSize ||
                                          length > kClientCookieSize + kMaxServerCookieSize)) {
        return false;
      }
      cookie.present = true;
      cookie.size = static_cast<uint8_t>(length);
      copy_bytes(cookie.bytes.data(), rdata.data() + at, length);
    } else if (code == kEdnsOptionNsid) {
      // RFC 5001 2.3: the query's option is empty, but a server ignores
      // what a client put in it.
      edns.nsid = true;
    }
    at += length;
  }
  return true;
}

}  // namespace

bool WireName::assign(std::string_view wire) noexcept {
  length_ = 0;
  labels_ = 0;
  size_t pos = 0;
  while (pos < wire.size()) {
    const auto len = static_cast<uint8_t>(wire[pos]);
    if (len == 0) {
      if (pos + 1 != wire.size()) break;
      std::memcpy(bytes_, wire.data(), wire.size());
      length_ = static_cast<uint8_t>(wire.size());
      return true;
    }
    if (len > 63 || pos + 1 + len >= wire.size() || pos + 1 + len >= kMaxNameLength) break;
    offsets_[labels_++] = static_cast<uint8_t>(pos);
    pos += 1u + len;
  }
  labels_ = 0;
  return false;
}

namespace {

// Lowercases the ASCII letters among 8 bytes at once: a byte gets 0x20 added
// exactly when it is in 'A'..'Z'. Length octets (0..63) are never letters.
uint64_t lowercase_word(uint64_t w) noexcept {
  constexpr uint64_t kOnes = 0x0101010101010101ULL;
  constexpr uint64_t kHigh = 0x8080808080808080ULL;
  const uint64_t low7 = w & ~kHigh;
  const uint64_t ge_a = low7 + (0x80 - 'A') * kOnes;  // high bit: low7 >= 'A'
  const uint64_t gt_z = low7 + (0x7f - 'Z') * kOnes;  // high bit: low7 > 'Z'
  const uint64_t upper = (ge_a & ~gt_z & ~w) & kHigh;
  return w | (upper >> 2);
}

uint8_t lowercase_byte(uint8_t c) noexcept {
  return (c >= 'A' && c <= 'Z') ? static_cast<uint8_t>(c + ('a' - 'A')) : c;
}

}  // namespace

void WireName::lowercase_into(WireName& out) const noexcept {
  const size_t n = length_;
  if (n >= 8) {
    // Whole words, the last one overlapping its predecessor.
    for (size_t i = 0;; i += 8) {
      if (i + 8 > n) i = n - 8;
      uint64_t w;
      std::memcpy(&w, bytes_ + i, 8);
      w = lowercase_word(w);
      std::memcpy(out.bytes_ + i, &w, 8);
      if (i + 8 == n) break;
    }
  } else {
    for (size_t i = 0; i < n; ++i) out.bytes_[i] = lowercase_byte(bytes_[i]);
  }
  copy_bytes(out.offsets_, offsets_, labels_);
  out.length_ = length_;
  out.labels_ = labels_;
}

bool read_name(std::span<const uint8_t> msg, size_t& pos, WireName& name) noexcept {
  name.length_ = 0;
  name.labels_ = 0;
  size_t cursor = pos;
  // Where the message continues after this name: after the first pointer, if any.
  size_t end = 0;
  size_t length = 0;
  while (true) {
    if (cursor >= msg.size()) return false;
    const uint8_t len = msg[cursor];
    if ((len & 0xc0) == 0xc0) {
      if (cursor + 1 >= msg.size()) return false;
      const size_t target = static_cast<size_t>((len & 0x3f) << 8) | msg[cursor + 1];
      if (end == 0) end = cursor + 2;
      // Strictly backwards: every jump lowers the cursor, so no loop is possible.
      if (target >= cursor) return false;
      cursor = target;
      continue;
    }
    if ((len & 0xc0) != 0) return false;  // 0x40 and 0x80 label types are reserved
    if (length + 1u + len > kMaxNameLength) return false;
    if (len == 0) {
      name.bytes_[length++] = 0;
      name.length_ = static_cast<uint8_t>(length);
      pos = end != 0 ? end : cursor + 1;
      return true;
    }
    if (cursor + 1u + len >= msg.size()) return false;
    name.offsets_[name.labels_++] = static_cast<uint8_t>(length);
    copy_bytes(name.bytes_ + length, msg.data() + cursor, 1u + len);
    length += 1u + len;
    cursor += 1u + len;
  }
}

bool parse_header(std::span<const uint8_t> msg, Header& header) noexcept {
  if (msg.size() < kHeaderSize) return false;
  const uint8_t* p = msg.data();
  header.id = get16(p);
  header.flags = get16(p + 2);
  header.qdcount = get16(p + 4);
  header.ancount = get16(p + 6);
  header.nscount = get16(p + 8);
  header.arcount = get16(p + 10);
  return true;
}

bool parse_question(std::span<const uint8_t> msg, size_t& pos, Question& question) noexcept {
  size_t cursor = pos;
  if (!read_name(msg, cursor, question.name)) return false;
  if (msg.size() - cursor < 4) return false;
  question.qtype = get16(msg.data() + cursor);
  question.qclass = get16(msg.data() + cursor + 2);
  pos = cursor + 4;
  return true;
}

EdnsStatus parse_edns(std::span<const uint8_t> msg, size_t pos, const Header& header, Edns& edns,
                      size_t& tsig_at) noexcept {
  edns = Edns{};
  tsig_at = 0;
  const unsigned skipped = unsigned{header.ancount} + header.nscount;
  for (unsigned i = 0; i < skipped; ++i) {
    if (!skip_record(msg, pos)) return EdnsStatus::malformed;
  }
  EdnsStatus status = EdnsStatus::ok;
  for (unsigned i = 0; i < header.arcount; ++i) {
    const size_t start = pos;
    WireName owner;
    const EdnsStatus unreadable = status == EdnsStatus::ok ? EdnsStatus::malformed : status;
    if (!read_name(msg, pos, owner) || msg.size() - pos < kRrFixedSize) return unreadable;
    const uint16_t type = get16(msg.data() + pos);
    if (type == kTypeOpt && status == EdnsStatus::ok) {
      if (edns.present) {
        status = EdnsStatus::duplicate_opt;
      } else if (owner.view().size() != 1) {
        // RFC 6891 6.1.1: the OPT owner must be the root.
        status = EdnsStatus::malformed;
      } else {
        edns.present = true;
        edns.udp_size = get16(msg.data() + pos + 2);
        edns.version = msg[pos + 5];
        edns.dnssec_ok = (msg[pos + 6] & 0x80) != 0;
        edns.opt_at = start;
        const size_t rdlength = get16(msg.data() + pos + kRdlengthAt);
        if (msg.size() - pos - kRrFixedSize >= rdlength &&
            !parse_options(msg.subspan(pos + kRrFixedSize, rdlength), edns)) {
          status = EdnsStatus::malformed;
        }
      }
    }
    if (type == kTypeTsig && i + 1 == header.arcount) tsig_at = start;
    pos = start;
    if (!skip_record(msg, pos)) return unreadable;
  }
  return status;
}

}  // namespace mirrorpool::dnsd
