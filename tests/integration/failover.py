"""Measuring failover on the real binary: how long after a mirror breaks the
last answer still contains it, and how long after repair the first answer
contains it again. Shared by the prober tests and the failover benchmark."""

import time

from harness import addresses, rcode

POLL_S = 0.02


def present(srv, pool, rdtype, address):
    return address in addresses(srv.query(pool, rdtype, timeout=1.0))


def time_until(srv, pool, rdtype, address, want_present, limit_s):
    """Seconds from now until answers (polled every 20 ms) first show the
    address present (want_present) or absent; None if not within limit_s."""
    start = time.monotonic()
    while time.monotonic() - start < limit_s:
        if present(srv, pool, rdtype, address) == want_present:
            return time.monotonic() - start
        time.sleep(POLL_S)
    return None


def bound_s(interval_s, rounds, timeout_s):
    """The failover bound of mirrorpool.toml(5) [pool.check] (interval × rounds + timeout) plus what the machinery may
    add on top: the prober's ±10 % interval jitter, the publisher's 100 ms
    coalescing window and one polling step."""
    return interval_s * rounds * 1.1 + timeout_s + 0.1 + 2 * POLL_S


def answer_rcode(srv, pool, rdtype="A"):
    return rcode(srv.query(pool, rdtype))
