"""Nearest-mirror answers through a real ECS-aware resolver: Debian's unbound
(subnetcache module) in front of mirrorpoold, as a user's ISP resolver would
be. Two clients of one resolver, placed in Paris and New York by their
source addresses (127.0.2.5 and 127.0.3.5 in the test geo database), each
get their own nearest mirror, also from the resolver's cache: the ECS scope
mirrorpoold returns keeps one client's answer from the other.

The test unbound never iterates to the internet: "." is refused, only the
test zone is served, through a stub zone pointing at mirrorpoold on
127.0.0.1. It runs in the foreground on a free port and is stopped by PID.
"""

import shutil
import subprocess
import tempfile
import time

from fake_mirror import FakeMirror
from geo import exchange, make_query, write_database
from geo_test import (A, DATABASE, FRA_ECS, NEW_YORK_SOURCE, PARIS_SOURCE, POOLS, UP_BOUND, ZONE,
                      answer, config, ids)
from harness import Failures, Server, addresses, free_port, rcode, wait_until
from unbound import UNBOUND, Unbound

UNBOUND_CONF = """server:
    interface: 127.0.0.1
    port: {port}
    do-ip4: yes
    do-ip6: no
    do-udp: yes
    do-tcp: yes
    access-control: 127.0.0.0/8 allow
    num-threads: 1
    username: ""
    chroot: ""
    directory: "{dir}"
    pidfile: "{dir}/unbound.pid"
    logfile: "{dir}/unbound.log"
    use-syslog: no
    do-daemonize: no
    verbosity: 1
    # No validator: the test zone is unsigned and there is no trust anchor.
    module-config: "subnetcache iterator"
    send-client-subnet: 127.0.0.1
    client-subnet-always-forward: yes
    max-client-subnet-ipv4: 24
    do-not-query-localhost: no
    qname-minimisation: no
    prefetch: no
    # Never the internet: everything but the test zone is refused.
    local-zone: "." refuse
    local-zone: "pool.example." transparent

stub-zone:
    name: "pool.example."
    stub-addr: 127.0.0.1@{auth_port}

remote-control:
    control-enable: no
"""


def soa_answered(resolver):
    try:
        reply, _ = exchange(make_query("pool.example.", "SOA", rd=True), resolver.port, timeout=0.5)
        return reply is not None and rcode(reply) == "NOERROR" and reply.answer
    except OSError:
        return False


def resolve(resolver, name, source, rdtype="A", ecs=None):
    """(reply, bytes) of a recursive query sent from `source`."""
    return exchange(make_query(name, rdtype, ecs, rd=True), resolver.port, source=source)


def main():
    f = Failures()
    version = subprocess.run([UNBOUND, "-V"], capture_output=True, text=True).stdout
    f.check("subnetcache" in version, "unbound is built with the subnetcache module (ECS)")
    mport = free_port()
    geo_dir = tempfile.mkdtemp(prefix="mirrorpool-geo-")
    pools = {name: POOLS[name] for name in ("near1", "off")}
    used = {a for _, (_, ms) in pools.items() for _, a, _ in ms}
    mirrors = [FakeMirror(a, mport).start() for a in sorted(used)]
    resolver = None
    started = time.monotonic()
    try:
        database = write_database(DATABASE, geo_dir)
        with Server(config(mport, database, pools=pools), {"pool.example.zone": ZONE}) as srv:
            wait_until(lambda: answer(srv, "near1", FRA_ECS) == {A["n1-fra"]}, UP_BOUND + 3,
                       "mirrorpoold's first nearest answers")
            resolver = Unbound(UNBOUND_CONF, auth_port=srv.port)
            rc, out = resolver.check()
            f.check(rc == 0, f"unbound-checkconf accepts the test config ({out.strip()})")
            resolver.start(soa_answered)

            reply, _ = resolve(resolver, "example.com.", PARIS_SOURCE)
            f.check(rcode(reply) == "REFUSED", "the resolver refuses names outside the test zone "
                                               f"(no internet): {rcode(reply)}")
            reply, _ = resolve(resolver, "off.pool.example.", PARIS_SOURCE)
            got = addresses(reply)
            f.check(got == {A["o-ams"], A["o-nyc"]},
                    f"a pool with geo = off through the resolver: every mirror ({ids(got)})")

            want = {PARIS_SOURCE: "n1-par", NEW_YORK_SOURCE: "n1-nyc"}
            for round_ in ("first", "again (cached)", "third time"):
                for source in (PARIS_SOURCE, NEW_YORK_SOURCE):
                    reply, _ = resolve(resolver, "near1.pool.example.", source)
                    got = addresses(reply)
                    f.check(got == {A[want[source]]},
                            f"{round_}: client {source} through the resolver gets "
                            f"{want[source]} ({ids(got)}, {rcode(reply)})")
            # Another client of the Paris /24: the resolver's ECS cache serves
            # it the Paris answer; and a client that sends its own ECS (a
            # forwarder in front) is placed by it.
            reply, _ = resolve(resolver, "near1.pool.example.", "127.0.2.77")
            f.check(addresses(reply) == {A["n1-par"]},
                    f"another client in the Paris /24: n1-par ({ids(addresses(reply))})")
            reply, _ = resolve(resolver, "near1.pool.example.", NEW_YORK_SOURCE, ecs=FRA_ECS)
            f.check(addresses(reply) == {A["n1-fra"]},
                    f"a client sending ECS from Frankfurt: n1-fra ({ids(addresses(reply))})")
            reply, _ = resolve(resolver, "near1.pool.example.", NEW_YORK_SOURCE)
            f.check(addresses(reply) == {A["n1-nyc"]},
                    f"and New York without ECS still n1-nyc ({ids(addresses(reply))})")
            if f.items:
                print(f"--- unbound log ---\n{resolver.log()[-3000:]}", flush=True)
            resolver.stop()
            f.check(resolver.proc.returncode == 0, f"unbound stops on SIGTERM "
                                                   f"(exit {resolver.proc.returncode})")
            f.check(srv.stop() == 0, "clean stop")
    finally:
        if resolver is not None:
            resolver.stop()
            shutil.rmtree(resolver.dir, ignore_errors=True)
        for m in mirrors:
            m.stop()
        shutil.rmtree(geo_dir, ignore_errors=True)
    print(f"geo_resolver_test took {time.monotonic() - started:.1f}s", flush=True)
    f.finish()


if __name__ == "__main__":
    main()
