// The DNS wire format, said once for all of dnsd: its constants and sizes,
// big-endian reads and writes, and on the query path header, question and
// EDNS parsing of untrusted queries and a bounded writer for responses.
// Pure, fixed-size buffers only: nothing here allocates or throws, except the
// put* appenders, which grow a message built off the query path.
#pragma once

#include <array>
#include <cstddef>
#include <cstdint>
#include <span>
#include <string_view>

#include "dnsd/wire/bytes.hh"

namespace mirrorpool::dnsd {

inline constexpr uint16_t kTypeA = 1;
inline constexpr uint16_t kTypeNs = 2;
inline constexpr uint16_t kTypeCname = 5;
inline constexpr uint16_t kTypeSoa = 6;
inline constexpr uint16_t kTypeHinfo = 13;
inline constexpr uint16_t kTypeMx = 15;
inline constexpr uint16_t kTypeTxt = 16;
inline constexpr uint16_t kTypeAaaa = 28;
inline constexpr uint16_t kTypeSrv = 33;
inline constexpr uint16_t kTypeOpt = 41;
inline constexpr uint16_t kTypeDs = 43;
inline constexpr uint16_t kTypeRrsig = 46;
inline constexpr uint16_t kTypeNsec = 47;
inline constexpr uint16_t kTypeDnskey = 48;
inline constexpr uint16_t kTypeNsec3 = 50;
inline constexpr uint16_t kTypeNsec3param = 51;
inline constexpr uint16_t kTypeCds = 59;
inline constexpr uint16_t kTypeCdnskey = 60;
inline constexpr uint16_t kTypeTsig = 250;
inline constexpr uint16_t kTypeIxfr = 251;
inline constexpr uint16_t kTypeAxfr = 252;
inline constexpr uint16_t kTypeAny = 255;

inline constexpr uint16_t kClassIn = 1;
inline constexpr uint16_t kClassAny = 255;

inline constexpr uint8_t kOpcodeNotify = 4;

inline constexpr uint8_t kRcodeNoError = 0;
inline constexpr uint8_t kRcodeFormErr = 1;
inline constexpr uint8_t kRcodeServFail = 2;
inline constexpr uint8_t kRcodeNxDomain = 3;
inline constexpr uint8_t kRcodeNotImp = 4;
inline constexpr uint8_t kRcodeRefused = 5;
inline constexpr uint8_t kRcodeNotAuth = 9;
inline constexpr uint8_t kRcodeBadVers = 16;    // extended: needs an OPT record
inline constexpr uint8_t kRcodeBadCookie = 23;  // extended (RFC 7873)

// Sizes fixed by the wire format (RFC 1035).
inline constexpr size_t kHeaderSize = 12;
inline constexpr size_t kMaxNameLength = 255;
// TYPE, CLASS, TTL, RDLENGTH: what follows a record's owner name.
inline constexpr size_t kRrFixedSize = 10;
// Where RDLENGTH sits in that fixed part.
inline constexpr size_t kRdlengthAt = 8;
// A message's length is 16 bits: the TCP frame prefix and the largest datagram.
inline constexpr size_t kMaxMessageSize = 65535;
// Without EDNS a UDP message is at most this long; with EDNS the limit never
// goes below it.
inline constexpr size_t kMinUdpMessageSize = 512;
// An SOA's RDATA ends with SERIAL REFRESH RETRY EXPIRE MINIMUM, 4 bytes each.
inline constexpr size_t kSoaTimersSize = 20;
inline constexpr size_t kOptSize = 11;                  // root owner, no options
inline constexpr uint16_t kEdnsOptionNsid = 3;          // RFC 5001
inline constexpr uint16_t kEdnsOptionClientSubnet = 8;  // RFC 7871
inline constexpr uint16_t kEdnsOptionCookie = 10;       // RFC 7873

// Big-endian numbers in byte strings of either char or uint8_t, the way the
// wire writes them. Reads do not check bounds: callers have.
template <typename Byte>
constexpr uint16_t get16(const Byte* p) noexcept {
  return static_cast<uint16_t>((static_cast<uint8_t>(p[0]) << 8) | static_cast<uint8_t>(p[1]));
}
template <typename Byte>
constexpr uint32_t get32(const Byte* p) noexcept {
  return (uint32_t{get16(p)} << 16) | get16(p + 2);
}
template <typename Byte>
constexpr uint64_t get48(const Byte* p) noexcept {
  return (uint64_t{get16(p)} << 32) | get32(p + 2);
}
template <typename Byte>
constexpr void set16(Byte* p, uint16_t v) noexcept {
  p[0] = static_cast<Byte>(v >> 8);
  p[1] = static_cast<Byte>(v);
}
template <typename Byte>
constexpr void set32(Byte* p, uint32_t v) noexcept {
  set16(p, static_cast<uint16_t>(v >> 16));
  set16(p + 2, static_cast<uint16_t>(v));
}

// Appends to a growing message: a std::string or a std::vector<uint8_t>.
// Off the query path only (they allocate).
template <typename Bytes>
void put16(Bytes& out, uint16_t v) {
  using Byte = typename Bytes::value_type;
  out.push_back(static_cast<Byte>(v >> 8));
  out.push_back(static_cast<Byte>(v));
}
template <typename Bytes>
void put32(Bytes& out, uint32_t v) {
  put16(out, static_cast<uint16_t>(v >> 16));
  put16(out, static_cast<uint16_t>(v));
}
template <typename Bytes>
void put48(Bytes& out, uint64_t v) {
  put16(out, static_cast<uint16_t>(v >> 32));
  put32(out, static_cast<uint32_t>(v));
}

// The serial of an SOA RDATA, which is at least kSoaTimersSize long.
inline uint32_t soa_rdata_serial(std::string_view rdata) noexcept {
  return get32(rdata.data() + rdata.size() - kSoaTimersSize);
}

inline constexpr uint16_t kFlagQr = 0x8000;
inline constexpr uint16_t kFlagAa = 0x0400;
inline constexpr uint16_t kFlagTc = 0x0200;
inline constexpr uint16_t kFlagRd = 0x0100;

struct Header {
  uint16_t id = 0;
  uint16_t flags = 0;
  uint16_t qdcount = 0;
  uint16_t ancount = 0;
  uint16_t nscount = 0;
  uint16_t arcount = 0;

  bool qr() const noexcept { return (flags & kFlagQr) != 0; }
  uint8_t opcode() const noexcept { return static_cast<uint8_t>((flags >> 11) & 0xf); }
  bool rd() const noexcept { return (flags & kFlagRd) != 0; }
};

// A domain name as uncompressed wire bytes with its label boundaries, held in
// a fixed buffer so that names can be handled on the stack.
class WireName {
 public:
  // Replaces the contents with an uncompressed wire name; false (and empty)
  // when `wire` is not exactly one valid name.
  bool assign(std::string_view wire) noexcept;

  std::string_view view() const noexcept {
    return {reinterpret_cast<const char*>(bytes_), length_};
  }
  unsigned label_count() const noexcept { return labels_; }
  // The name made of the last n labels (n = 0: the root).
  std::string_view suffix(unsigned n) const noexcept {
    const size_t start = n == 0 ? length_ - 1u : offsets_[labels_ - n];
    return view().substr(start);
  }
  // Offset of the name made of the last n labels within view().
  size_t suffix_offset(unsigned n) const noexcept { return length_ - suffix(n).size(); }

  // The same name with ASCII letters lowercased (canonical form).
  void lowercase_into(WireName& out) const noexcept;

 private:
  friend bool read_name(std::span<const uint8_t>, size_t&, WireName&) noexcept;

  // Only the first length_ bytes and labels_ offsets are meaningful; the
  // rest is left uninitialised, as a name is built on the stack per query.
  uint8_t bytes_[kMaxNameLength];
  uint8_t offsets_[kMaxNameLength / 2];  // start of each label
  uint8_t length_ = 0;
  uint8_t labels_ = 0;  // not counting the root
};

// Reads a possibly compressed name at `pos`, advancing pos past it. Pointers
// must point strictly backwards, which rules out loops. False on a truncated
// or invalid name (reserved label types, more than 255 octets).
bool read_name(std::span<const uint8_t> msg, size_t& pos, WireName& name) noexcept;

bool parse_header(std::span<const uint8_t> msg, Header& header) noexcept;

struct Question {
  WireName name;  // case preserved
  uint16_t qtype = 0;
  uint16_t qclass = 0;
};

// Reads the question at `pos` (normally 12) and advances pos past it.
bool parse_question(std::span<const uint8_t> msg, size_t& pos, Question& question) noexcept;

// The EDNS Client Subnet option of a query (RFC 7871), checked: FAMILY 1
// or 2, the source prefix within the family, SCOPE 0, exactly the address
// bytes the prefix needs and no bit set past it.
struct ClientSubnet {
  bool present = false;
  uint16_t family = 0;  // 1 = IPv4, 2 = IPv6
  uint8_t source_prefix = 0;
  std::array<uint8_t, 16> address{};  // as sent, zero-padded to 4 or 16 bytes
};

// The COOKIE option of a query (RFC 7873 4): an 8-byte client cookie,
// alone or followed by a server cookie of 8 to 32 bytes. Any other length is
// malformed.
inline constexpr size_t kClientCookieSize = 8;
inline constexpr size_t kMinServerCookieSize = 8;
inline constexpr size_t kMaxServerCookieSize = 32;
struct Cookie {
  bool present = false;
  uint8_t size = 0;  // client and server cookie: 8, or 16 to 40
  std::array<uint8_t, kClientCookieSize + kMaxServerCookieSize> bytes;  // the first `size` are set

  std::span<const uint8_t> client() const noexcept { return {bytes.data(), kClientCookieSize}; }
  std::span<const uint8_t> server() const noexcept {
    return {bytes.data() + kClientCookieSize, size - kClientCookieSize};
  }
};

struct Edns {
  bool present = false;
  uint16_t udp_size = 0;
  uint8_t version = 0;
  bool dnssec_ok = false;
  bool nsid = false;  // the NSID option was sent (RFC 5001)
  size_t opt_at = 0;  // where the OPT record starts, when present
  ClientSubnet ecs;
  Cookie cookie;
};

// The bytes the ECS option of a reply to `query` takes: code, length,
// FAMILY, the two prefix lengths and the address as the query sent it.
constexpr size_t client_subnet_option_size(const ClientSubnet& query) noexcept {
  return 8 + (query.source_prefix + 7u) / 8u;
}
// The largest of those: an IPv6 /128 (4 + 4 + 16 bytes), room a responder
// can set aside before it knows the answer's scope.
inline constexpr size_t kMaxClientSubnetOptionSize = 24;

enum class EdnsStatus : uint8_t { ok, malformed, duplicate_opt };

// Skips the answer and authority sections starting at `pos` (just after the
// question) and reads the OPT record, if any, from the additional section.
// Returns the first fault found, but walks on past a bad OPT record as far as
// the records can be skipped, so that `tsig_at` is set whenever the last
// additional record is a TSIG record (its owner and fixed part readable); it
// is 0 otherwise.
EdnsStatus parse_edns(std::span<const uint8_t> msg, size_t pos, const Header& header, Edns& edns,
                      size_t& tsig_at) noexcept;

// Writes into a caller-owned buffer up to a limit. A write that would pass
// the limit is not performed and sets overflow(), so that callers can write a
// whole section and check once.
class Writer {
 public:
  Writer(std::span<uint8_t> out, size_t limit) noexcept
      : out_(out), limit_(limit < out.size() ? limit : out.size()) {}

  size_t position() const noexcept { return pos_; }
  size_t limit() const noexcept { return limit_; }
  bool overflow() const noexcept { return overflow_; }

  void set_limit(size_t limit) noexcept { limit_ = limit < out_.size() ? limit : out_.size(); }
  // Forgets everything written from `pos` on, and any overflow.
  void rewind(size_t pos) noexcept {
    pos_ = pos;
    overflow_ = false;
  }

  void u8(uint8_t v) noexcept { bytes(&v, 1); }
  void u16(uint16_t v) noexcept {
    uint8_t b[2];
    set16(b, v);
    bytes(b, 2);
  }
  void u32(uint32_t v) noexcept {
    uint8_t b[4];
    set32(b, v);
    bytes(b, 4);
  }
  void bytes(std::string_view data) noexcept { bytes(data.data(), data.size()); }
  void bytes(const void* data, size_t n) noexcept {
    if (overflow_ || pos_ + n > limit_) {
      overflow_ = true;
      return;
    }
    copy_bytes(out_.data() + pos_, static_cast<const uint8_t*>(data), n);
    pos_ += n;
  }

  // Overwrites two bytes already written (counts, flags).
  void patch16(size_t at, uint16_t v) noexcept { set16(out_.data() + at, v); }

  // An option as code, length and data.
  void option(uint16_t code, std::span<const uint8_t> data) noexcept {
    u16(code);
    u16(static_cast<uint16_t>(data.size()));
    bytes(data.data(), data.size());
  }

  // The ECS option of a reply (RFC 7871 7.2.1): FAMILY, SOURCE PREFIX-LENGTH
  // and ADDRESS as the query sent them, with the reply's scope.
  void client_subnet(const ClientSubnet& query, uint8_t scope_prefix) noexcept {
    const size_t address_bytes = (query.source_prefix + 7u) / 8u;
    u16(kEdnsOptionClientSubnet);
    u16(static_cast<uint16_t>(4 + address_bytes));
    u16(query.family);
    u8(query.source_prefix);
    u8(scope_prefix);
    bytes(query.address.data(), address_bytes);
  }

 private:
  std::span<uint8_t> out_;
  size_t limit_;
  size_t pos_ = 0;
  bool overflow_ = false;
};

}  // namespace mirrorpool::dnsd
