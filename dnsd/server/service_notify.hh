// Readiness messages to the service manager (Type=notify): the sd_notify(3)
// datagram protocol, written here rather than linked from libsystemd. That
// library would map libgcrypt, liblzma, libzstd, liblz4 and libcap into the
// daemon (about 1 MiB resident) for one datagram per state change; systemd
// documents the protocol as a stable interface for independent implementations.
#pragma once

#include <string>
#include <string_view>

namespace mirrorpool::dnsd {

// Sends `state` ("READY=1", "STOPPING=1", "KEY=VALUE" lines) as one datagram
// to the AF_UNIX socket $NOTIFY_SOCKET names: a path, or an abstract name
// written with a leading '@'. True when sent, or when NOTIFY_SOCKET is unset
// (not started by a service manager); false, with `error` set, when it is set
// but unusable or the send fails.
bool notify_service(std::string_view state, std::string& error);

// "RELOADING=1" with the CLOCK_MONOTONIC time of the reload's start, which
// systemd wants so that it can tell this reload from an earlier one.
std::string reloading_state();

}  // namespace mirrorpool::dnsd
