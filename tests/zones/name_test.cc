// Unit tests of Name: parsing, escapes, case, limits, hierarchy, and of
// Diagnostic formatting.
#include <doctest/doctest.h>

#include <string>

#include "zones/diagnostic.hh"
#include "zones/name.hh"

using mirrorpool::zones::Diagnostic;
using mirrorpool::zones::Name;

namespace {

Name name(std::string_view text) {
  auto parsed = Name::from_text(text);
  REQUIRE_MESSAGE(parsed.has_value(), "cannot parse ", std::string(text));
  return *parsed;
}

std::string wire(std::initializer_list<std::string_view> labels) {
  std::string out;
  for (std::string_view label : labels) {
    out += static_cast<char>(label.size());
    out += label;
  }
  out += '\0';
  return out;
}

}  // namespace

TEST_CASE("the default name is the root") {
  Name root;
  CHECK(root.wire() == std::string(1, '\0'));
  CHECK(root.to_text() == ".");
  CHECK(root.label_count() == 0);
  CHECK(name(".") == root);
}

TEST_CASE("absolute names parse to lowercase wire format") {
  Name n = name("DL.Pool.Example.");
  CHECK(n.wire() == wire({"dl", "pool", "example"}));
  CHECK(n.to_text() == "dl.pool.example.");
  CHECK(n.label_count() == 3);
  CHECK(n == name("dl.pool.example."));
}

TEST_CASE("relative names are completed with the origin") {
  Name origin = name("pool.example.");
  auto n = Name::from_text("dl", &origin);
  REQUIRE(n);
  CHECK(n->to_text() == "dl.pool.example.");
  auto deeper = Name::from_text("a.B", &origin);
  REQUIRE(deeper);
  CHECK(deeper->to_text() == "a.b.pool.example.");
  // A trailing dot makes the origin irrelevant.
  auto absolute = Name::from_text("other.", &origin);
  REQUIRE(absolute);
  CHECK(absolute->to_text() == "other.");
  Name root;
  auto below_root = Name::from_text("tld", &root);
  REQUIRE(below_root);
  CHECK(below_root->to_text() == "tld.");
}

TEST_CASE("a relative name without an origin is invalid") {
  CHECK_FALSE(Name::from_text("dl.pool.example"));
}

TEST_CASE("escapes") {
  SUBCASE("\\DDD is a byte value") {
    auto n = Name::from_text("a\\046b.example.");
    REQUIRE(n);
    CHECK(n->wire() == wire({"a.b", "example"}));
    CHECK(n->label_count() == 2);
    CHECK(n->to_text() == "a\\.b.example.");
  }
  SUBCASE("\\X is the character X") {
    auto n = Name::from_text("a\\.b.example.");
    REQUIRE(n);
    CHECK(n->wire() == wire({"a.b", "example"}));
  }
  SUBCASE("escaped uppercase letters are lowercased too") {
    CHECK(name("\\065\\Bc.") == name("abc."));
  }
  SUBCASE("non-printable bytes print as \\DDD") {
    auto n = Name::from_text("a\\000\\255\\032.");
    REQUIRE(n);
    CHECK(n->wire() == wire({std::string_view("a\0\xff ", 4)}));
    CHECK(n->to_text() == "a\\000\\255\\032.");
  }
  SUBCASE("the escape character itself and quotes are escaped") {
    auto n = Name::from_text("a\\\\b\\\"\\;.");
    REQUIRE(n);
    CHECK(n->wire() == wire({"a\\b\";"}));
    CHECK(n->to_text() == "a\\\\b\\\"\\;.");
  }
  SUBCASE("bad escapes") {
    CHECK_FALSE(Name::from_text("a\\256.example."));
    CHECK_FALSE(Name::from_text("a\\12.example."));
    CHECK_FALSE(Name::from_text("a\\1"));
    CHECK_FALSE(Name::from_text("a\\"));
  }
}

TEST_CASE("text round trips") {
  for (const char* text : {".", "example.", "dl.pool.example.", "a\\.b.c.", "x\\009y.", "\\\\.",
                           "*.wild.example.", "_sip._tcp.example.", "@.example."}) {
    CAPTURE(text);
    auto n = Name::from_text(text);
    REQUIRE(n);
    CHECK(n->to_text() == text);
    auto again = Name::from_text(n->to_text());
    REQUIRE(again);
    CHECK(*again == *n);
    auto from_wire = Name::from_wire(n->wire());
    REQUIRE(from_wire);
    CHECK(*from_wire == *n);
  }
}

TEST_CASE("empty labels are rejected except for the root") {
  CHECK_FALSE(Name::from_text(""));
  CHECK_FALSE(Name::from_text(".."));
  CHECK_FALSE(Name::from_text(".example."));
  CHECK_FALSE(Name::from_text("a..example."));
  Name origin = name("example.");
  CHECK_FALSE(Name::from_text("a..b", &origin));
}

TEST_CASE("unescaped blanks are rejected") {
  CHECK_FALSE(Name::from_text("a b.example."));
  CHECK_FALSE(Name::from_text("a\tb.example."));
  CHECK(Name::from_text("a\\ b.example."));
}

TEST_CASE("label and name length limits") {
  std::string label63(63, 'a');
  std::string label64(64, 'a');
  CHECK(Name::from_text(label63 + ".example."));
  CHECK_FALSE(Name::from_text(label64 + ".example."));
  // An escape counts as one octet.
  std::string escaped63;
  for (int i = 0; i < 63; ++i) escaped63 += "\\097";
  CHECK(Name::from_text(escaped63 + "."));
  CHECK_FALSE(Name::from_text(escaped63 + "\\097."));

  // 4 labels of 63 = 256 octets of labels, + root = 257: too long. With a last
  // label of 61 the name is exactly 255 octets.
  std::string text = label63 + "." + label63 + "." + label63 + ".";
  CHECK(Name::from_text(text + std::string(61, 'b') + "."));
  CHECK(Name::from_text(text + std::string(61, 'b') + ".")->wire().size() == 255);
  CHECK_FALSE(Name::from_text(text + std::string(62, 'b') + "."));
  // The limit holds after adding the origin as well.
  Name origin = *Name::from_text(text);
  CHECK(Name::from_text(std::string(61, 'b'), &origin));
  CHECK_FALSE(Name::from_text(std::string(62, 'b'), &origin));
}

TEST_CASE("from_wire validates and lowercases") {
  auto n = Name::from_wire(wire({"WWW", "Example"}));
  REQUIRE(n);
  CHECK(n->to_text() == "www.example.");
  CHECK(Name::from_wire(std::string(1, '\0')));
  CHECK_FALSE(Name::from_wire(""));
  CHECK_FALSE(Name::from_wire("\3www"));                      // no root label
  CHECK_FALSE(Name::from_wire(std::string("\3www\0\0", 6)));  // trailing bytes
  CHECK_FALSE(Name::from_wire(std::string("\5ab\0", 4)));     // label past the end
  CHECK_FALSE(Name::from_wire(std::string("\xc0\x0c", 2)));   // compression pointer
  CHECK_FALSE(Name::from_wire(std::string(1, '\x40') + std::string(64, 'a') + '\0'));
}

TEST_CASE("is_subdomain_of compares whole labels") {
  Name example = name("example.org.");
  CHECK(name("example.org.").is_subdomain_of(example));
  CHECK(name("www.example.org.").is_subdomain_of(example));
  CHECK(name("a.b.EXAMPLE.org.").is_subdomain_of(example));
  CHECK(name("www.example.org.").is_subdomain_of(Name()));
  CHECK_FALSE(name("org.").is_subdomain_of(example));
  CHECK_FALSE(name("xexample.org.").is_subdomain_of(example));
  CHECK_FALSE(name("example.com.").is_subdomain_of(example));
  // One label holding the bytes of "\7example": a byte-suffix match, not a subdomain.
  Name tricky = name("foo\\007example.org.");
  CHECK(tricky.wire().ends_with(example.wire()));
  CHECK_FALSE(tricky.is_subdomain_of(example));
  CHECK_FALSE(Name().is_subdomain_of(example));
}

TEST_CASE("parent removes the leftmost label") {
  CHECK(name("dl.pool.example.").parent() == name("pool.example."));
  CHECK(name("example.").parent() == Name());
  CHECK(Name().parent() == Name());
  CHECK(name("a\\.b.c.").parent() == name("c."));
}

TEST_CASE("names order and compare by value") {
  CHECK(name("a.example.") != name("b.example."));
  CHECK(name("A.example.") == name("a.example."));
  CHECK((name("a.example.") < name("b.example.") || name("b.example.") < name("a.example.")));
}

TEST_CASE("diagnostic formatting") {
  CHECK(Diagnostic{{"z.zone", 12, 5}, "bad"}.to_string() == "z.zone:12:5: error: bad");
  CHECK(Diagnostic{{"z.zone", 12, 0}, "bad"}.to_string() == "z.zone:12: error: bad");
  CHECK(Diagnostic{{"z.zone", 0, 0}, "bad"}.to_string() == "z.zone: error: bad");
  CHECK(Diagnostic{{"z.zone", 0, 7}, "bad"}.to_string() == "z.zone: error: bad");
  CHECK(Diagnostic{{"", 0, 0}, "bad"}.to_string() == "error: bad");
}
