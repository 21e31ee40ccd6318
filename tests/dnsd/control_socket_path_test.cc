// mirrorpoolctl finds the control socket in a config that does not load: a
// wrong type elsewhere, a syntax error, no [server] table at all.
#include "dnsd/config/control_socket_path.hh"

#include <doctest/doctest.h>

namespace mirrorpool::dnsd {
namespace {

constexpr const char* kDefault = "/run/mirrorpool/control.sock";

TEST_CASE("the socket of a config that parses but does not validate") {
  CHECK(control_socket_in("[server]\ncontrol_socket = \"/tmp/a.sock\"\nworkers = \"two\"\n"
                          "[[pool]]\nttl = \"60s\"\n") == "/tmp/a.sock");
  CHECK(control_socket_in("[server]\nworkers = 1\n") == kDefault);
  CHECK(control_socket_in("") == kDefault);
  CHECK(control_socket_in("[server]\ncontrol_socket = 5\n") == kDefault);
}

TEST_CASE("the socket of a file that is not valid TOML") {
  CHECK(control_socket_in("[server]\n  control_socket = \"/tmp/b.sock\"  # ours\n"
                          "listen = [\"127.0.0.1:53\",,]\n[[zone]\n") == "/tmp/b.sock");
  // Only inside [server].
  CHECK(control_socket_in("[other]\ncontrol_socket = \"/tmp/c.sock\"\nbroken = \n") == kDefault);
  CHECK(control_socket_in("[server]\ncontrol_socket = \"/tmp/d.sock\"\r\n[server\n") ==
        "/tmp/d.sock");
  CHECK(control_socket_in("[server]\ncontrol_socket = \"\"\nbroken =\n") == kDefault);
}

}  // namespace
}  // namespace mirrorpool::dnsd
