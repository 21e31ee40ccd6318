// Listening sockets. Created on the main thread before privileges are dropped;
// every worker gets its own UDP socket and TCP listener per endpoint, bound
// with SO_REUSEPORT so the kernel spreads queries across workers.
#pragma once

#include <string>

#include "dnsd/config/endpoint.hh"

namespace mirrorpool::dnsd {

// Returns a bound, non-blocking socket fd, or -1 with `error` set.
int bind_udp(const Endpoint& endpoint, std::string& error);
// Returns a bound, listening, non-blocking socket fd, or -1 with `error` set.
int bind_tcp(const Endpoint& endpoint, std::string& error);

}  // namespace mirrorpool::dnsd
