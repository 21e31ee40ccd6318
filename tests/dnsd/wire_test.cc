// Unit tests for query parsing (header, question, EDNS) and the bounded
// writer, including hostile inputs: truncation and compression loops.
#include "dnsd/wire/wire.hh"

#include <doctest/doctest.h>

#include <array>
#include <cstdint>
#include <string>
#include <vector>

#include "dnsd/wire/query.hh"

using namespace mirrorpool::dnsd;

namespace {

using Bytes = std::vector<uint8_t>;

Bytes header_bytes(uint16_t flags, uint16_t qd, uint16_t an, uint16_t ns, uint16_t ar) {
  return {0x12,
          0x34,
          static_cast<uint8_t>(flags >> 8),
          static_cast<uint8_t>(flags),
          0,
          static_cast<uint8_t>(qd),
          0,
          static_cast<uint8_t>(an),
          0,
          static_cast<uint8_t>(ns),
          0,
          static_cast<uint8_t>(ar)};
}

void append(Bytes& b, std::initializer_list<uint8_t> more) {
  b.insert(b.end(), more);
}

// "www.Example.org" in wire form.
void append_name(Bytes& b) {
  append(b, {3, 'w', 'w', 'w', 7, 'E', 'x', 'a', 'm', 'p', 'l', 'e', 3, 'o', 'r', 'g', 0});
}

void append_opt(Bytes& b, uint16_t size, uint8_t version, bool dnssec_ok) {
  append(b, {0, 0, 41, static_cast<uint8_t>(size >> 8), static_cast<uint8_t>(size), 0, version,
             static_cast<uint8_t>(dnssec_ok ? 0x80 : 0), 0, 0, 0});
}

}  // namespace

TEST_CASE("header parsing") {
  Bytes msg = header_bytes(0x0100, 1, 2, 3, 4);
  Header h;
  REQUIRE(parse_header(msg, h));
  CHECK(h.id == 0x1234);
  CHECK(h.rd());
  CHECK_FALSE(h.qr());
  CHECK(h.opcode() == 0);
  CHECK(h.qdcount == 1);
  CHECK(h.ancount == 2);
  CHECK(h.nscount == 3);
  CHECK(h.arcount == 4);

  msg[2] = 0x80 | (5 << 3);  // QR, opcode UPDATE
  REQUIRE(parse_header(msg, h));
  CHECK(h.qr());
  CHECK(h.opcode() == 5);

  msg.resize(11);
  CHECK_FALSE(parse_header(msg, h));
}

TEST_CASE("question parsing keeps case and rejects truncation") {
  Bytes msg = header_bytes(0, 1, 0, 0, 0);
  append_name(msg);
  append(msg, {0, 28, 0, 1});
  Question q;
  size_t pos = kHeaderSize;
  REQUIRE(parse_question(msg, pos, q));
  CHECK(pos == msg.size());
  CHECK(q.qtype == 28);
  CHECK(q.qclass == 1);
  CHECK(q.name.view() == std::string_view("\3www\7Example\3org\0", 17));
  CHECK(q.name.label_count() == 3);
  CHECK(q.name.suffix(2) == std::string_view("\7Example\3org\0", 13));
  CHECK(q.name.suffix(0) == std::string_view("\0", 1));

  WireName lower;
  q.name.lowercase_into(lower);
  CHECK(lower.view() == std::string_view("\3www\7example\3org\0", 17));

  for (size_t cut = kHeaderSize; cut < msg.size(); ++cut) {
    const Bytes truncated(msg.begin(), msg.begin() + static_cast<long>(cut));
    size_t p = kHeaderSize;
    CHECK_FALSE(parse_question(truncated, p, q));
  }
}

TEST_CASE("lowercasing changes exactly A-Z, whatever the byte's position or the name's length") {
  // lowercase_into works on 8 bytes at once: every byte value 1..255 is
  // tried at every position of names of 1 to 40 label bytes.
  for (size_t length = 1; length <= 40; ++length) {
    for (unsigned value = 1; value < 256; ++value) {
      for (size_t at = 0; at < length; ++at) {
        std::string label(length, 'Q');
        label[at] = static_cast<char>(value);
        std::string wire = std::string(1, static_cast<char>(length)) + label;
        wire.push_back('\0');
        WireName name;
        REQUIRE(name.assign(wire));
        WireName lower;
        name.lowercase_into(lower);
        std::string expected = wire;
        for (size_t i = 1; i <= length; ++i) {
          const auto c = static_cast<unsigned char>(expected[i]);
          if (c >= 'A' && c <= 'Z') expected[i] = static_cast<char>(c + 32);
        }
        REQUIRE(lower.view() == expected);
        REQUIRE(lower.label_count() == 1);
      }
    }
  }
}

TEST_CASE("compression in names: backward pointers only") {
  WireName name;
  SUBCASE("pointer to itself is a loop") {
    Bytes msg = header_bytes(0, 1, 0, 0, 0);
    append(msg, {0xc0, 12, 0, 1, 0, 1});
    size_t pos = kHeaderSize;
    CHECK_FALSE(read_name(msg, pos, name));
  }
  SUBCASE("two labels then a pointer back to the start loops") {
    Bytes msg = header_bytes(0, 1, 0, 0, 0);
    append(msg, {1, 'a', 1, 'b', 0xc0, 12, 0, 1, 0, 1});
    size_t pos = kHeaderSize;
    CHECK_FALSE(read_name(msg, pos, name));
  }
  SUBCASE("forward pointer is rejected") {
    Bytes msg = header_bytes(0, 1, 0, 0, 0);
    append(msg, {0xc0, 14, 1, 'a', 0, 0, 1, 0, 1});
    size_t pos = kHeaderSize;
    CHECK_FALSE(read_name(msg, pos, name));
  }
  SUBCASE("reserved label types are rejected") {
    Bytes msg = header_bytes(0, 1, 0, 0, 0);
    append(msg, {0x41, 'a', 0, 0, 1, 0, 1});
    size_t pos = kHeaderSize;
    CHECK_FALSE(read_name(msg, pos, name));
  }
  SUBCASE("names over 255 octets are rejected") {
    Bytes msg = header_bytes(0, 1, 0, 0, 0);
    for (int i = 0; i < 5; ++i) {
      msg.push_back(63);
      msg.insert(msg.end(), 63, 'x');
    }
    append(msg, {0, 0, 1, 0, 1});
    size_t pos = kHeaderSize;
    CHECK_FALSE(read_name(msg, pos, name));
  }
  SUBCASE("a valid backward pointer is followed") {
    Bytes msg = header_bytes(0, 1, 0, 0, 0);
    append_name(msg);
    append(msg, {0, 1, 0, 1});
    const size_t second = msg.size();
    append(msg, {4, 'm', 'a', 'i', 'l', 0xc0, 16});  // mail + Example.org
    size_t pos = second;
    REQUIRE(read_name(msg, pos, name));
    CHECK(pos == msg.size());
    CHECK(name.view() == std::string_view("\4mail\7Example\3org\0", 18));
  }
}

TEST_CASE("WireName::assign validates uncompressed names") {
  WireName name;
  CHECK(name.assign(std::string_view("\3www\7example\3org\0", 17)));
  CHECK(name.label_count() == 3);
  CHECK(name.assign(std::string_view("\0", 1)));
  CHECK(name.label_count() == 0);
  CHECK_FALSE(name.assign(std::string_view("\3www", 4)));
  CHECK_FALSE(name.assign(std::string_view("\3www\0\0", 6)));
  CHECK_FALSE(name.assign(std::string_view("\xc0\x0c", 2)));
  CHECK_FALSE(name.assign(""));
}

TEST_CASE("EDNS parsing") {
  Bytes msg = header_bytes(0, 1, 0, 0, 1);
  append_name(msg);
  append(msg, {0, 1, 0, 1});
  const size_t after_question = msg.size();
  Edns edns;
  size_t tsig_at = 0;

  SUBCASE("no additional records: no EDNS") {
    Bytes plain = header_bytes(0, 1, 0, 0, 0);
    append_name(plain);
    append(plain, {0, 1, 0, 1});
    CHECK(parse_edns(plain, after_question, Header{0, 0, 1, 0, 0, 0}, edns, tsig_at) ==
          EdnsStatus::ok);
    CHECK_FALSE(edns.present);
  }
  SUBCASE("one OPT") {
    append_opt(msg, 4096, 0, true);
    Header h;
    REQUIRE(parse_header(msg, h));
    REQUIRE(parse_edns(msg, after_question, h, edns, tsig_at) == EdnsStatus::ok);
    CHECK(edns.present);
    CHECK(edns.udp_size == 4096);
    CHECK(edns.version == 0);
    CHECK(edns.dnssec_ok);
    CHECK(edns.opt_at == after_question);
    CHECK(tsig_at == 0);
  }
  SUBCASE("a TSIG record counts only as the last additional record") {
    append_opt(msg, 1232, 0, false);
    const size_t tsig_start = msg.size();
    append(msg, {0, 0, 250, 0, 255, 0, 0, 0, 0, 0, 1, 0});  // TSIG, one byte of RDATA
    msg[11] = 2;
    Header h;
    REQUIRE(parse_header(msg, h));
    REQUIRE(parse_edns(msg, after_question, h, edns, tsig_at) == EdnsStatus::ok);
    CHECK(edns.present);
    CHECK(tsig_at == tsig_start);
    append_opt(msg, 1232, 0, false);
    msg[11] = 3;
    REQUIRE(parse_header(msg, h));
    CHECK(parse_edns(msg, after_question, h, edns, tsig_at) == EdnsStatus::duplicate_opt);
    CHECK(tsig_at == 0);
  }
  SUBCASE("version is reported") {
    append_opt(msg, 1232, 1, false);
    Header h;
    REQUIRE(parse_header(msg, h));
    REQUIRE(parse_edns(msg, after_question, h, edns, tsig_at) == EdnsStatus::ok);
    CHECK(edns.version == 1);
    CHECK_FALSE(edns.dnssec_ok);
  }
  SUBCASE("two OPTs") {
    append_opt(msg, 1232, 0, false);
    append_opt(msg, 1232, 0, false);
    msg[11] = 2;
    Header h;
    REQUIRE(parse_header(msg, h));
    CHECK(parse_edns(msg, after_question, h, edns, tsig_at) == EdnsStatus::duplicate_opt);
  }
  SUBCASE("OPT owner must be the root") {
    append(msg, {0xc0, 12, 0, 41, 4, 0, 0, 0, 0, 0, 0, 0});
    Header h;
    REQUIRE(parse_header(msg, h));
    CHECK(parse_edns(msg, after_question, h, edns, tsig_at) == EdnsStatus::malformed);
  }
  SUBCASE("truncated OPT") {
    append_opt(msg, 1232, 0, false);
    msg.pop_back();
    Header h;
    REQUIRE(parse_header(msg, h));
    CHECK(parse_edns(msg, after_question, h, edns, tsig_at) == EdnsStatus::malformed);
  }
  SUBCASE("RDATA longer than the message") {
    append(msg, {0, 0, 41, 4, 0, 0, 0, 0, 0, 0, 8, 1, 2});
    Header h;
    REQUIRE(parse_header(msg, h));
    CHECK(parse_edns(msg, after_question, h, edns, tsig_at) == EdnsStatus::malformed);
  }
  SUBCASE("answer and authority records are skipped, TSIG-like records ignored") {
    Bytes full = header_bytes(0, 1, 1, 1, 2);
    append_name(full);
    append(full, {0, 1, 0, 1});
    append(full, {0xc0, 12, 0, 1, 0, 1, 0, 0, 0, 60, 0, 4, 192, 0, 2, 1});  // answer A
    append(full, {0xc0, 16, 0, 2, 0, 1, 0, 0, 0, 60, 0, 2, 0xc0, 12});      // authority NS
    append(full, {0xc0, 12, 0, 16, 0, 1, 0, 0, 0, 60, 0, 2, 1, 'x'});       // some TXT
    append_opt(full, 512, 0, false);
    Header h;
    REQUIRE(parse_header(full, h));
    REQUIRE(parse_edns(full, after_question, h, edns, tsig_at) == EdnsStatus::ok);
    CHECK(edns.present);
    CHECK(edns.udp_size == 512);
  }
  SUBCASE("counts larger than the records present") {
    append_opt(msg, 1232, 0, false);
    msg[11] = 3;
    Header h;
    REQUIRE(parse_header(msg, h));
    CHECK(parse_edns(msg, after_question, h, edns, tsig_at) == EdnsStatus::malformed);
  }
}

TEST_CASE("Writer stops at its limit") {
  uint8_t buffer[16] = {};
  Writer w(buffer, 8);
  w.u32(0x01020304);
  w.u16(0x0506);
  CHECK(w.position() == 6);
  CHECK_FALSE(w.overflow());
  w.u32(0x0708090a);
  CHECK(w.overflow());
  CHECK(w.position() == 6);
  w.u8(1);  // nothing after an overflow until rewind
  CHECK(w.position() == 6);
  w.rewind(2);
  CHECK_FALSE(w.overflow());
  w.set_limit(100);  // capped to the buffer
  CHECK(w.limit() == 16);
  w.patch16(0, 0xabcd);
  CHECK(buffer[0] == 0xab);
  CHECK(buffer[1] == 0xcd);
  CHECK(buffer[2] == 0x03);
}

namespace {

// An EDNS option as a query carries it: code, length, data.
Bytes option(uint16_t code, const Bytes& data) {
  Bytes b = {static_cast<uint8_t>(code >> 8), static_cast<uint8_t>(code),
             static_cast<uint8_t>(data.size() >> 8), static_cast<uint8_t>(data.size())};
  b.insert(b.end(), data.begin(), data.end());
  return b;
}

// An ECS option (RFC 7871): FAMILY, SOURCE and SCOPE PREFIX-LENGTH, the
// ADDRESS bytes exactly as given.
Bytes ecs(uint16_t family, uint8_t source, uint8_t scope, const Bytes& address) {
  Bytes data = {static_cast<uint8_t>(family >> 8), static_cast<uint8_t>(family), source, scope};
  data.insert(data.end(), address.begin(), address.end());
  return option(kEdnsOptionClientSubnet, data);
}

// A query for www.Example.org/A whose OPT record's RDATA is `rdata`.
Bytes query_with_options(const Bytes& rdata) {
  Bytes msg = header_bytes(0, 1, 0, 0, 1);
  append_name(msg);
  append(msg, {0, 1, 0, 1});
  append(msg, {0, 0, 41, 4, 0, 0, 0, 0, 0, static_cast<uint8_t>(rdata.size() >> 8),
               static_cast<uint8_t>(rdata.size())});
  msg.insert(msg.end(), rdata.begin(), rdata.end());
  return msg;
}

// The query's `wire` refers to `msg`, which must outlive it.
Query parsed(const Bytes& msg) {
  Query query;
  parse_query(msg, Transport::udp, nullptr, query);
  return query;
}

Bytes concat(std::initializer_list<Bytes> parts) {
  Bytes out;
  for (const Bytes& p : parts) out.insert(out.end(), p.begin(), p.end());
  return out;
}

std::array<uint8_t, 16> padded(const Bytes& address) {
  std::array<uint8_t, 16> out{};
  for (size_t i = 0; i < address.size(); ++i) out[i] = address[i];
  return out;
}

}  // namespace

TEST_CASE("ECS: valid options are read into Edns::ecs") {
  struct Case {
    uint16_t family;
    uint8_t source;
    Bytes address;
  };
  const Case cases[] = {
      {1, 0, {}},
      {1, 24, {192, 0, 2}},
      {1, 32, {198, 51, 100, 7}},
      {1, 25, {203, 0, 113, 0x80}},
      {1, 9, {10, 0x80}},
      {2, 0, {}},
      {2, 56, {0x20, 0x01, 0x0d, 0xb8, 0x12, 0x34, 0x56}},
      {2, 48, {0x20, 0x01, 0x0d, 0xb8, 0, 1}},
      {2, 127, {0x20, 0x01, 0x0d, 0xb8, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 0xfe}},
      {2, 128, {0x20, 0x01, 0x0d, 0xb8, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12}},
  };
  for (const Case& c : cases) {
    CAPTURE(c.family);
    CAPTURE(int{c.source});
    const Query q = parsed(query_with_options(ecs(c.family, c.source, 0, c.address)));
    REQUIRE(q.kind == QueryKind::normal);
    CHECK(q.edns.present);
    CHECK(q.edns.udp_size == 1024);
    const ClientSubnet& e = q.edns.ecs;
    CHECK(e.present);
    CHECK(e.family == c.family);
    CHECK(e.source_prefix == c.source);
    CHECK(e.address == padded(c.address));
  }
}

TEST_CASE("ECS: no option, other options only, or an empty OPT leave it absent") {
  const Bytes cookie = option(10, {1, 2, 3, 4, 5, 6, 7, 8});
  for (const Bytes& rdata :
       {Bytes{}, cookie, concat({cookie, option(12, {0, 0, 0})}), option(65001, {})}) {
    const Query q = parsed(query_with_options(rdata));
    REQUIRE(q.kind == QueryKind::normal);
    CHECK(q.edns.present);
    CHECK_FALSE(q.edns.ecs.present);
  }
  // No OPT record at all.
  Bytes plain = header_bytes(0, 1, 0, 0, 0);
  append_name(plain);
  append(plain, {0, 1, 0, 1});
  const Query q = parsed(plain);
  REQUIRE(q.kind == QueryKind::normal);
  CHECK_FALSE(q.edns.ecs.present);
}

TEST_CASE("ECS: found among and after other options") {
  const Bytes cookie = option(10, {1, 2, 3, 4, 5, 6, 7, 8});
  const Bytes padding = option(12, {0, 0, 0, 0});
  const Bytes v4 = ecs(1, 24, 0, {192, 0, 2});
  for (const Bytes& rdata : {concat({cookie, v4}), concat({cookie, padding, v4}),
                             concat({cookie, v4, padding}), concat({v4, cookie})}) {
    const Query q = parsed(query_with_options(rdata));
    REQUIRE(q.kind == QueryKind::normal);
    CHECK(q.edns.ecs.present);
    CHECK(q.edns.ecs.family == 1);
    CHECK(q.edns.ecs.source_prefix == 24);
    CHECK(q.edns.ecs.address == padded({192, 0, 2}));
  }
  // Also when the OPT record follows another additional record.
  Bytes msg = query_with_options(concat({cookie, v4}));
  const Bytes opt(msg.begin() + 33, msg.end());
  msg.resize(33);
  append(msg, {0xc0, 12, 0, 16, 0, 1, 0, 0, 0, 60, 0, 2, 1, 'x'});  // a TXT record
  msg.insert(msg.end(), opt.begin(), opt.end());
  msg[11] = 2;
  const Query q = parsed(msg);
  REQUIRE(q.kind == QueryKind::normal);
  CHECK(q.edns.ecs.present);
  CHECK(q.edns.ecs.source_prefix == 24);
}

TEST_CASE("ECS: a malformed option makes the OPT record malformed (FORMERR)") {
  const Bytes cookie = option(10, {1, 2, 3, 4, 5, 6, 7, 8});
  const Bytes v4 = ecs(1, 24, 0, {192, 0, 2});
  struct Case {
    const char* what;
    Bytes rdata;
  };
  const Case cases[] = {
      {"family 0", ecs(0, 24, 0, {192, 0, 2})},
      {"family 3", ecs(3, 24, 0, {192, 0, 2})},
      {"family 256+1", ecs(257, 24, 0, {192, 0, 2})},
      {"v4 source 33", ecs(1, 33, 0, {192, 0, 2, 1, 0x80})},
      {"v4 source 255", ecs(1, 255, 0, Bytes(32, 0))},
      {"v6 source 129", ecs(2, 129, 0, Bytes(17, 0))},
      {"scope set in a query", ecs(1, 24, 8, {192, 0, 2})},
      {"scope set with source 0", ecs(2, 0, 1, {})},
      {"address one byte short", ecs(1, 24, 0, {192, 0})},
      {"address one byte long", ecs(1, 24, 0, {192, 0, 2, 0})},
      {"address padded to 4 bytes", ecs(1, 20, 0, {192, 0, 16, 0})},
      {"address with source 0", ecs(1, 0, 0, {0})},
      {"v6 address padded to 16", ecs(2, 56, 0, Bytes(16, 0))},
      {"bit past the prefix (/24)", ecs(1, 23, 0, {192, 0, 3})},
      {"bit past the prefix (/25)", ecs(1, 25, 0, {192, 0, 2, 0x40})},
      {"last bit past the prefix (/31)", ecs(1, 31, 0, {192, 0, 2, 1})},
      {"bit past the prefix (/52)", ecs(2, 52, 0, {0x20, 0x01, 0x0d, 0xb8, 0, 0, 0x08})},
      {"bit past the prefix (/127)",
       ecs(2, 127, 0, {0x20, 0x01, 0x0d, 0xb8, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1})},
      {"option length 0", option(kEdnsOptionClientSubnet, {})},
      {"option length 3", option(kEdnsOptionClientSubnet, {0, 1, 0})},
      {"twice", concat({v4, v4})},
      {"twice, apart", concat({v4, cookie, ecs(2, 0, 0, {})})},
      {"after a good one, a bad one", concat({v4, ecs(1, 24, 1, {192, 0, 2})})},
      {"option length past the RDATA", Bytes{0, 8, 0, 8, 0, 1, 24, 0, 192, 0, 2}},
      {"another option's length past the RDATA", concat({v4, Bytes{0, 10, 0, 9, 1, 2}})},
      {"a trailing partial option header", concat({v4, Bytes{0, 10, 0}})},
      {"a lone byte", Bytes{0}},
  };
  for (const Case& c : cases) {
    CAPTURE(c.what);
    const Bytes msg = query_with_options(c.rdata);
    const Query q = parsed(msg);
    CHECK(q.kind == QueryKind::bad_edns);
    Edns edns;
    size_t tsig_at = 0;
    CHECK(parse_edns(q.wire, q.question_end, q.header, edns, tsig_at) == EdnsStatus::malformed);
  }
}

TEST_CASE("ECS: a malformed option in a second OPT record is a duplicate OPT, not read") {
  Bytes msg = query_with_options(ecs(1, 24, 0, {192, 0, 2}));
  const Bytes second = query_with_options(ecs(1, 24, 9, {192, 0, 2}));
  msg.insert(msg.end(), second.begin() + 33, second.end());
  msg[11] = 2;
  const Query q = parsed(msg);
  CHECK(q.kind == QueryKind::bad_edns);
  Edns edns;
  size_t tsig_at = 0;
  CHECK(parse_edns(q.wire, q.question_end, q.header, edns, tsig_at) == EdnsStatus::duplicate_opt);
}

TEST_CASE("ECS: the reply's option echoes FAMILY, SOURCE and ADDRESS with the given scope") {
  static_assert(client_subnet_option_size(ClientSubnet{true, 2, 128, {}}) ==
                kMaxClientSubnetOptionSize);
  std::array<uint8_t, 64> buffer{};
  auto written = [&](const Bytes& query_rdata, uint8_t scope) {
    const Query q = parsed(query_with_options(query_rdata));
    REQUIRE(q.kind == QueryKind::normal);
    REQUIRE(q.edns.ecs.present);
    buffer.fill(0xee);
    Writer w(buffer, buffer.size());
    w.u8(0x55);  // something before it
    w.client_subnet(q.edns.ecs, scope);
    CHECK_FALSE(w.overflow());
    CHECK(buffer[0] == 0x55);
    CHECK(w.position() == 1 + client_subnet_option_size(q.edns.ecs));
    CHECK(buffer[w.position()] == 0xee);  // nothing past it
    return Bytes(buffer.begin() + 1, buffer.begin() + static_cast<ptrdiff_t>(w.position()));
  };
  CHECK(written(ecs(1, 24, 0, {192, 0, 2}), 16) == Bytes{0, 8, 0, 7, 0, 1, 24, 16, 192, 0, 2});
  CHECK(written(ecs(2, 56, 0, {0x20, 0x01, 0x0d, 0xb8, 0x12, 0x34, 0x56}), 48) ==
        Bytes{0, 8, 0, 11, 0, 2, 56, 48, 0x20, 0x01, 0x0d, 0xb8, 0x12, 0x34, 0x56});
  CHECK(written(ecs(1, 0, 0, {}), 0) == Bytes{0, 8, 0, 4, 0, 1, 0, 0});
  CHECK(written(ecs(2, 0, 0, {}), 0) == Bytes{0, 8, 0, 4, 0, 2, 0, 0});
  CHECK(written(ecs(1, 32, 0, {198, 51, 100, 7}), 24) ==
        Bytes{0, 8, 0, 8, 0, 1, 32, 24, 198, 51, 100, 7});
  const Bytes v6_128 = {0x20, 0x01, 0x0d, 0xb8, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12};
  Bytes expected = {0, 8, 0, 20, 0, 2, 128, 64};
  expected.insert(expected.end(), v6_128.begin(), v6_128.end());
  CHECK(written(ecs(2, 128, 0, v6_128), 64) == expected);
  CHECK(expected.size() == kMaxClientSubnetOptionSize);

  // An option that does not fit is not written, and the writer says so.
  const Query q = parsed(query_with_options(ecs(1, 24, 0, {192, 0, 2})));
  Writer w(buffer, 10);
  w.client_subnet(q.edns.ecs, 24);
  CHECK(w.overflow());
}
