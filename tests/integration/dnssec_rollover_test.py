"""A DNSSEC key rollover end to end (mirrorpoolctl(8) dnssec, SPEC 9) while a
real validating resolver keeps validating every second: zero validation
failures.

mirrorpoold serves two signed zones: the parent example. (static records and
the delegation of pool.example. with its DS, written here from `mirrorpoolctl
dnssec ds`) and the child pool.example. with the pool dl.pool.example. of
fake mirrors, all with TTLs of 2 s and dnssec_parent_ds_ttl = 2s,
dnssec_propagation_delay = 1s. Debian's unbound validates with example.'s
DNSKEY as its trust anchor and a stub zone to mirrorpoold; a thread asks it
for dl.pool.example. A and pool.example. DNSKEY every second, and any answer
that is not NOERROR with AD=1 is a failure, as is any "validation failure"
in unbound's log (val-log-level 2).

The rollover: `dnssec rollover` (the new key rolling in, both keys in the
DNSKEY RRset and both signing), a restart of mirrorpoold in the middle (the
keys and their states survive; while it restarts, only the resolver's
"unreachable" answers are forgiven, never a DNSSEC one), the parent given
the new DS set and reloaded, `dnssec ds-seen`, and the old key removed. A
second rollover during one, and ds-seen without one, are refused.
"""

import json
import os
import re
import shutil
import signal
import subprocess
import threading
import time

import dns.dnssec
import dns.exception
import dns.flags
import dns.message
import dns.query
import dns.rcode
import dns.rdatatype

from fake_mirror import FakeMirror
from harness import Failures, Server, free_port, wait_until
from unbound import Unbound

CTL = os.environ.get("MIRRORPOOLCTL", "mirrorpoolctl")

PARENT_ZONE = """$ORIGIN example.
$TTL 2
@         IN SOA ns1.example. hostmaster.example. 2026120501 3600 900 604800 2
@         IN NS  ns1
ns1       IN A   127.0.0.1
www       IN A   192.0.2.10
pool      IN NS  ns1.pool
ns1.pool  IN A   127.0.0.1
"""

CHILD_ZONE = """$ORIGIN pool.example.
$TTL 2
@         IN SOA ns1.pool.example. hostmaster.pool.example. 2026120501 3600 900 604800 2
@         IN NS  ns1
ns1       IN A   127.0.0.1
www       IN A   192.0.2.80
"""

MIRRORS = [("m1", "127.0.1.1"), ("m2", "127.0.1.2")]

CONFIG = """
[server]
listen = ["127.0.0.1:{port}"]
workers = 1
control_socket = "{dir}/control.sock"
state_dir = "{dir}/state"
user = "root"

[[zone]]
origin = "example."
file = "example.zone"
dnssec = true
dnssec_parent_ds_ttl = "2s"
dnssec_propagation_delay = "1s"

[[zone]]
origin = "pool.example."
file = "pool.example.zone"
dnssec = true
dnssec_parent_ds_ttl = "2s"
dnssec_propagation_delay = "1s"

[[pool]]
name = "dl.pool.example."
ttl = 2
max_answers = 2

[pool.check]
type = "http"
port = MPORT
path = "/"
interval = "1s"
timeout = "500ms"
rise = 1
fall = 1
""" + "".join(f"""
[[pool.mirror]]
id = "{mid}"
addresses = ["{address}"]
""" for mid, address in MIRRORS)

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
    module-config: "validator iterator"
    trust-anchor: "{anchor}"
    val-log-level: 2
    val-bogus-ttl: 1
    ede: yes
    cache-max-ttl: 2
    cache-max-negative-ttl: 2
    infra-host-ttl: 2
    do-not-query-localhost: no
    qname-minimisation: no
    prefetch: no
    prefetch-key: no
    # Never the internet: everything but the test zones is refused.
    local-zone: "." refuse
    local-zone: "example." transparent

stub-zone:
    name: "example."
    stub-addr: 127.0.0.1@{auth_port}

remote-control:
    control-enable: no
"""

# Extended DNS Errors (RFC 8914) that say a validation failed, as opposed to
# a server that could not be reached.
DNSSEC_EDE = {1, 2, 5, 6, 7, 8, 9, 10, 11, 12}
EDE_OPTION = 15

# How long the resolver loop may run at most, whatever happens.
LOOP_LIMIT_S = 240


def ctl(srv, *args):
    p = subprocess.run([CTL, "-s", os.path.join(srv.dir, "control.sock"), *args],
                       capture_output=True, text=True, timeout=30)
    return p.returncode, p.stdout, p.stderr


def ctl_json(srv, *args):
    rc, out, err = ctl(srv, *args, "--json")
    if rc != 0:
        raise AssertionError(f"mirrorpoolctl {' '.join(args)} failed ({rc}): {err}")
    return json.loads(out)


def key_states(srv, zone="pool.example."):
    """{tag: state} of the zone's keys, per `dnssec status`."""
    status = ctl_json(srv, "dnssec", "status", zone)
    return {k["tag"]: k["state"] for k in status["zones"][0]["keys"]}


def ask(port, name, rdtype, rd=False, timeout=2.0):
    msg = dns.message.make_query(name, rdtype, want_dnssec=True)
    msg.use_edns(0, ednsflags=dns.flags.DO, payload=1232)
    if rd:
        msg.flags |= dns.flags.RD
    else:
        msg.flags &= ~dns.flags.RD
    return dns.query.udp(msg, "127.0.0.1", port=port, timeout=timeout, ignore_unexpected=True)


def rrset(reply, rdtype, covers=None):
    for r in reply.answer:
        if r.rdtype == rdtype and (covers is None or r.covers == covers):
            return r
    return None


def dnskey_tags(srv, zone):
    r = ask(srv.port, zone, "DNSKEY")
    keys = rrset(r, dns.rdatatype.DNSKEY)
    return sorted(dns.dnssec.key_id(k) for k in keys) if keys else []


def signer_tags(srv, name, rdtype):
    r = ask(srv.port, name, rdtype)
    sigs = rrset(r, dns.rdatatype.RRSIG, dns.rdatatype.from_text(rdtype))
    return sorted(s.key_tag for s in sigs) if sigs else []


def ds_tags(srv):
    r = ask(srv.port, "pool.example.", "DS")
    ds = rrset(r, dns.rdatatype.DS)
    return sorted(d.key_tag for d in ds) if ds else []


def ede_codes(reply):
    codes = set()
    for option in reply.options:
        if option.otype == EDE_OPTION:
            wire = option.to_wire() if hasattr(option, "to_wire") else b""
            code = getattr(option, "code", None)
            if code is None and len(wire) >= 2:
                code = int.from_bytes(wire[:2], "big")
            if code is not None:
                codes.add(int(code))
    return codes


def www_answered(resolver):
    try:
        r = ask(resolver.port, "www.example.", "A", rd=True, timeout=0.5)
        return r.rcode() == dns.rcode.NOERROR and r.answer
    except (dns.exception.Timeout, OSError):
        return False


class Validation(threading.Thread):
    """Asks the resolver every second; records every answer that is not a
    validated one. While `restarting` is set, an answer that only says the
    server could not be reached is counted apart, not as a failure."""

    QUESTIONS = [("dl.pool.example.", "A"), ("pool.example.", "DNSKEY")]

    def __init__(self, resolver):
        super().__init__(daemon=True)
        self.resolver = resolver
        self.stop_event = threading.Event()
        self.restarting = threading.Event()
        self.lock = threading.Lock()
        self.asked = 0
        self.validated = 0
        self.unreachable = 0
        self.failures = []

    def run(self):
        deadline = time.monotonic() + LOOP_LIMIT_S
        while not self.stop_event.is_set() and time.monotonic() < deadline:
            for name, rdtype in self.QUESTIONS:
                self.check(name, rdtype)
            self.stop_event.wait(1.0)

    def check(self, name, rdtype):
        when = time.strftime("%H:%M:%S")
        try:
            r = ask(self.resolver.port, name, rdtype, rd=True, timeout=3)
            verdict = (r.rcode() == dns.rcode.NOERROR and bool(r.flags & dns.flags.AD)
                       and rrset(r, dns.rdatatype.from_text(rdtype)) is not None)
            what = (f"{when} {name} {rdtype}: {dns.rcode.to_text(r.rcode())} "
                    f"AD={int(bool(r.flags & dns.flags.AD))} EDE={sorted(ede_codes(r))}")
            dnssec = bool(ede_codes(r) & DNSSEC_EDE) or r.rcode() == dns.rcode.NOERROR
        except dns.exception.Timeout:
            verdict, what, dnssec = False, f"{when} {name} {rdtype}: no answer from unbound", False
        with self.lock:
            self.asked += 1
            if verdict:
                self.validated += 1
            elif self.restarting.is_set() and not dnssec:
                self.unreachable += 1
            else:
                self.failures.append(what)
                print(f"validation failure: {what}", flush=True)

    def finish(self):
        self.stop_event.set()
        self.join(10)


def timings(keys):
    """What `dnssec status` says of each key, but for its roles in the
    signing (the daemon may not have published the new one a moment after
    its start)."""
    return [{k: v for k, v in key.items() if k not in ("published", "signing", "in_cds")}
            for key in keys]


def write_parent(srv, ds_lines):
    srv.files["example.zone"] = PARENT_ZONE + "".join(line + "\n" for line in ds_lines)
    with open(os.path.join(srv.dir, "example.zone"), "w") as f:
        f.write(srv.files["example.zone"])


def main():
    f = Failures()
    mport = free_port()
    mirrors = [FakeMirror(address, mport).start() for _, address in MIRRORS]
    resolver = None
    validation = None
    try:
        with Server(CONFIG.replace("MPORT", str(mport)),
                    {"example.zone": PARENT_ZONE, "pool.example.zone": CHILD_ZONE}) as srv:
            wait_until(lambda: rrset(ask(srv.port, "dl.pool.example.", "A"), dns.rdatatype.A),
                       15, "pool answers")
            # The parent delegates securely: the child's DS from `dnssec ds`.
            ds = ctl_json(srv, "dnssec", "ds", "pool.example.")
            f.check(len(ds["ds"]) == 1 and re.fullmatch(
                r"pool\.example\. IN DS \d+ 13 2 [0-9A-F]{64}", ds["ds"][0]) is not None,
                f"dnssec ds prints the child's DS ({ds['ds']})")
            f.check(len(ds["dnskey"]) == 1 and ds["dnskey"][0].startswith(
                "pool.example. IN DNSKEY 257 3 13 "), f"and its DNSKEY ({ds['dnskey']})")
            old_tag = ds["tags"][0]
            write_parent(srv, ds["ds"])
            srv.signal(signal.SIGHUP)
            wait_until(lambda: ds_tags(srv) == [old_tag], 15, "the parent to serve the DS")

            rc, _, err = ctl(srv, "dnssec", "ds-seen", "pool.example.")
            f.check(rc == 1 and "no rollover of pool.example. is under way" in err,
                    f"ds-seen without a rollover is refused ({rc}: {err.strip()})")
            rc, _, err = ctl(srv, "dnssec", "status", "www.pool.example.")
            f.check(rc == 1 and "no zone www.pool.example. is served here" in err,
                    f"status of a zone not served is an error ({err.strip()})")

            anchor = rrset(ask(srv.port, "example.", "DNSKEY"), dns.rdatatype.DNSKEY)
            anchor_text = f"example. DNSKEY {anchor[0].to_text()}"
            resolver = Unbound(UNBOUND_CONF, auth_port=srv.port, anchor=anchor_text)
            rc, out = resolver.check()
            f.check(rc == 0, f"unbound-checkconf accepts the test config ({out.strip()})")
            resolver.start(www_answered)

            def validated():
                r = ask(resolver.port, "dl.pool.example.", "A", rd=True, timeout=2)
                return r.rcode() == dns.rcode.NOERROR and bool(r.flags & dns.flags.AD)
            wait_until(validated, 20, "unbound to validate the pool answer (AD=1)", interval=0.5)
            f.check(True, "unbound validates dl.pool.example. A from the trust anchor of example.")
            validation = Validation(resolver)
            validation.start()
            time.sleep(3)

            # The rollover starts: the new key rolls in beside the old one.
            rc, out, err = ctl(srv, "dnssec", "rollover", "pool.example.")
            f.check(rc == 0 and "rollover of pool.example. started" in out,
                    f"dnssec rollover starts ({rc}: {out.strip()} {err.strip()})")
            states = key_states(srv)
            new_tag = next((t for t in states if t != old_tag), None)
            f.check(len(states) == 2 and states.get(old_tag) == "active"
                    and states.get(new_tag) == "rolling in",
                    f"status: the old key active, the new one rolling in ({states})")
            rc, out, _ = ctl(srv, "dnssec", "status", "pool.example.")
            f.check("rolling in: waiting for the parent's DS (mirrorpoolctl dnssec ds-seen "
                    "pool.example.)" in out, "the text status says what to do next")
            rc, _, err = ctl(srv, "dnssec", "rollover", "pool.example.")
            f.check(rc == 1 and "is under way" in err,
                    f"a second rollover during one is refused ({err.strip()})")
            want = sorted([old_tag, new_tag])
            wait_until(lambda: dnskey_tags(srv, "pool.example.") == want, 5,
                       "both keys in the DNSKEY RRset")
            f.check(True, f"the DNSKEY RRset has both keys ({want})")
            f.check(signer_tags(srv, "dl.pool.example.", "A") == want,
                    "pool answers are signed by both keys")
            f.check(signer_tags(srv, "www.pool.example.", "A") == want,
                    "static answers are signed by both keys")
            time.sleep(3)

            # A restart in the middle: the keys and their states are in the files.
            status_before = ctl_json(srv, "dnssec", "status", "pool.example.")["zones"][0]["keys"]
            validation.restarting.set()
            srv.stop()
            srv.start()
            wait_until(validated, 20, "validated answers after the restart", interval=0.5)
            validation.restarting.clear()
            status_after = ctl_json(srv, "dnssec", "status", "pool.example.")["zones"][0]["keys"]
            f.check(timings(status_before) == timings(status_after),
                    f"the keys and states are the same after a restart ({key_states(srv)})")
            f.check(dnskey_tags(srv, "pool.example.") == want, "both keys published after it")
            time.sleep(3)

            # The parent gets the new DS set; then ds-seen retires the old key.
            ds = ctl_json(srv, "dnssec", "ds", "pool.example.")
            f.check(sorted(ds["tags"]) == want and len(ds["ds"]) == 2,
                    f"dnssec ds lists both keys during the rollover ({ds['tags']})")
            write_parent(srv, ds["ds"])
            srv.signal(signal.SIGHUP)
            wait_until(lambda: ds_tags(srv) == want, 15, "the parent to serve both DS records")
            rc, out, err = ctl(srv, "dnssec", "ds-seen", "pool.example.")
            f.check(rc == 0 and f"key {old_tag} of pool.example. stops signing" in out,
                    f"dnssec ds-seen retires the old key ({rc}: {out.strip()} {err.strip()})")
            f.check(key_states(srv).get(old_tag) == "retiring", "status: the old key retiring")
            wait_until(lambda: key_states(srv).get(old_tag) == "removed"
                       and dnskey_tags(srv, "pool.example.") == [new_tag], 30,
                       "the old key to be removed")
            f.check(key_states(srv) == {old_tag: "removed", new_tag: "active"},
                    f"status: the old key removed, the new one active ({key_states(srv)})")
            f.check(signer_tags(srv, "dl.pool.example.", "A") == [new_tag],
                    "pool answers are signed by the new key alone")
            ds = ctl_json(srv, "dnssec", "ds", "pool.example.")
            f.check(ds["tags"] == [new_tag], f"dnssec ds lists the new key alone ({ds['tags']})")
            rc, _, err = ctl(srv, "dnssec", "ds-seen", "pool.example.")
            f.check(rc == 1 and "no rollover" in err, "ds-seen after the rollover is refused")
            # Caches fill with what the new key alone signed.
            time.sleep(6)
            validation.finish()

            log = resolver.log()
            bogus = [line for line in log.splitlines() if "validation failure" in line]
            f.check(validation.validated >= 40,
                    f"the resolver validated answers all along ({validation.validated} of "
                    f"{validation.asked}; {validation.unreachable} unreachable during the "
                    "restart)")
            f.check(validation.failures == [],
                    f"zero validation failures ({validation.failures})")
            f.check(bogus == [], f"unbound logged no validation failure ({bogus[:5]})")
            srv.stop()
    finally:
        if validation is not None:
            validation.finish()
        if resolver is not None:
            if f.items:
                print(f"--- unbound log ---\n{resolver.log()[-6000:]}", flush=True)
            resolver.stop()
            shutil.rmtree(resolver.dir, ignore_errors=True)
        for m in mirrors:
            m.stop()
    f.finish()


if __name__ == "__main__":
    main()
