"""DNSSEC (mirrorpool.toml(5) dnssec, SPEC 9) checked by other implementations'
validators: BIND's delv with the zone's key as trust anchor validates pool
answers, static names, wildcards, NXDOMAIN and NODATA, under NSEC and NSEC3;
ldns-verify-zone accepts an AXFR of the signed zone. DO=0 answers are byte
for byte those of the same zone unsigned; DO=1 pool answers, drawn from the
pre-signed sets, give each mirror the share of answers the unsigned sampler
gives it (within 0.03 over 10,000 answers). A failing mirror leaves the
signed answers; keys survive a restart; a broken key file stops the start.
"""

import collections
import os
import re
import socket
import subprocess
import tempfile

import dns.flags
import dns.message
import dns.query
import dns.rcode
import dns.rdatatype

from fake_mirror import FakeMirror
from harness import Failures, Server, free_port, wait_until

DELV = "/usr/bin/delv"
LDNS_VERIFY = "/usr/bin/ldns-verify-zone"
DIG = "/usr/bin/dig"

ZONE = """$ORIGIN pool.example.
$TTL 300
@           IN SOA ns1.pool.example. hostmaster.pool.example. 2026120501 3600 900 604800 60
@           IN NS  ns1
ns1         IN A   127.0.0.53
www         IN A   192.0.2.80
www         IN TXT "hello"
host.deep   IN A   192.0.2.81
*.wild      IN TXT "wildcard"
alias       IN CNAME www
sub         IN NS  ns.sub
ns.sub      IN A   192.0.2.53
secure      IN NS  ns.secure
secure      IN DS  12345 13 2 0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef
ns.secure   IN A   192.0.2.54
"""

# Six mirrors of weights 1..6, two addresses per answer: pre-signed sets.
MIRRORS = [(f"m{i}", f"127.0.1.{i}", i) for i in range(1, 7)]

CONFIG = """
[server]
listen = ["127.0.0.1:{port}"]
workers = 2
control_socket = "{dir}/control.sock"
state_dir = "{dir}/state"
user = "root"

[[zone]]
origin = "pool.example."
file = "pool.example.zone"
allow_transfer = ["127.0.0.0/8"]
DNSSEC

[[pool]]
name = "dl.pool.example."
ttl = 30
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
addresses = ["{address}"{v6}]
weight = {weight}
""" for mid, address, weight in MIRRORS for v6 in [', "::1"' if mid == "m1" else ""])


def config(mport, dnssec="dnssec = true"):
    return CONFIG.replace("MPORT", str(mport)).replace("DNSSEC", dnssec)


def ask(server, name, rdtype, do=True, tcp=False):
    msg = dns.message.make_query(name, rdtype, want_dnssec=do)
    if not do:
        msg.use_edns(0, payload=1232)
    msg.flags &= ~dns.flags.RD
    if tcp:
        return dns.query.tcp(msg, "127.0.0.1", port=server.port, timeout=3)
    return dns.query.udp(msg, "127.0.0.1", port=server.port, timeout=3, ignore_unexpected=True)


def raw(server, name, rdtype, do):
    """The response bytes, with the ID zeroed."""
    msg = dns.message.make_query(name, rdtype, want_dnssec=do)
    msg.use_edns(0, payload=1232, ednsflags=dns.flags.DO if do else 0)
    msg.flags &= ~dns.flags.RD
    msg.id = 4242
    wire = msg.to_wire()
    s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    s.settimeout(3)
    try:
        s.sendto(wire, ("127.0.0.1", server.port))
        data, _ = s.recvfrom(65535)
    finally:
        s.close()
    return data


def dnskeys(server):
    r = ask(server, "pool.example.", "DNSKEY")
    return [rr for rrset in r.answer if rrset.rdtype == dns.rdatatype.DNSKEY for rr in rrset]


def anchor_file(server, directory):
    """A delv trust-anchors file with the zone's keys as static keys."""
    path = os.path.join(directory, f"anchors-{server.port}.conf")
    with open(path, "w") as f:
        f.write("trust-anchors {\n")
        for key in dnskeys(server):
            text = key.to_text().split(" ", 3)
            f.write(f'  pool.example. static-key {text[0]} {text[1]} {text[2]} "{text[3].replace(" ", "")}";\n')
        f.write("};\n")
    return path


def delv(port, anchors, name, rdtype):
    """delv's verdict on one answer: its text output."""
    p = subprocess.run([DELV, "@127.0.0.1", "-p", str(port), "-a", anchors, "+root=pool.example.",
                        name, rdtype], capture_output=True, text=True, timeout=30)
    return p.stdout + p.stderr


def validates(out):
    return "; fully validated" in out or "; negative response, fully validated" in out


def axfr_file(server, directory):
    path = os.path.join(directory, f"axfr-{server.port}.zone")
    p = subprocess.run([DIG, "@127.0.0.1", "-p", str(server.port), "pool.example.", "AXFR",
                        "+nocomments", "+nostats", "+nocmd"], capture_output=True, text=True,
                       timeout=30)
    with open(path, "w") as f:
        f.write(p.stdout)
    return path


def check_validation(f, server, workdir, label):
    anchors = anchor_file(server, workdir)
    cases = [
        ("dl.pool.example.", "A", "pool A"),
        ("dl.pool.example.", "AAAA", "pool AAAA"),
        ("www.pool.example.", "A", "static name"),
        ("alias.pool.example.", "A", "CNAME to a static name"),
        ("nope.pool.example.", "A", "NXDOMAIN"),
        ("www.pool.example.", "MX", "NODATA"),
        ("dl.pool.example.", "MX", "NODATA at the pool name"),
        ("deep.pool.example.", "A", "NODATA at an empty non-terminal"),
        ("x.wild.pool.example.", "TXT", "wildcard answer"),
        ("x.wild.pool.example.", "A", "wildcard NODATA"),
        ("x.deep.pool.example.", "A", "NXDOMAIN below an empty non-terminal"),
        ("secure.pool.example.", "DS", "DS of a secure delegation"),
        ("sub.pool.example.", "DS", "no DS at an insecure delegation"),
        ("pool.example.", "DNSKEY", "DNSKEY"),
        ("pool.example.", "SOA", "SOA"),
    ]
    for name, rdtype, what in cases:
        out = delv(server.port, anchors, name, rdtype)
        f.check(validates(out), f"{label}: delv validates {what} ({name} {rdtype}):\n{out[-600:]}")
    path = axfr_file(server, workdir)
    p = subprocess.run([LDNS_VERIFY, path], capture_output=True, text=True, timeout=60)
    f.check(p.returncode == 0 and "Zone is verified" in p.stdout,
            f"{label}: ldns-verify-zone accepts the AXFR:\n{(p.stdout + p.stderr)[-800:]}")


def check_do0_identical(f, signed, unsigned):
    """DO=0 answers are byte for byte those of the unsigned zone (pool
    answers, which are random, are compared by size and record set)."""
    static = [("www.pool.example.", "A"), ("www.pool.example.", "TXT"), ("pool.example.", "SOA"),
              ("pool.example.", "NS"), ("nope.pool.example.", "A"), ("www.pool.example.", "MX"),
              ("deep.pool.example.", "A"), ("x.wild.pool.example.", "TXT"),
              ("host.deep.pool.example.", "A"), ("a.sub.pool.example.", "A"),
              ("alias.pool.example.", "A"), ("www.pool.example.", "ANY"),
              ("dl.pool.example.", "MX"), ("dl.pool.example.", "ANY")]
    for name, rdtype in static:
        a, b = raw(signed, name, rdtype, False), raw(unsigned, name, rdtype, False)
        # The SOA serials may differ: compare with them masked.
        ma, mb = dns.message.from_wire(a), dns.message.from_wire(b)
        for m in (ma, mb):
            for section in (m.answer, m.authority):
                for rrset in section:
                    if rrset.rdtype == dns.rdatatype.SOA:
                        rrset.update_ttl(rrset.ttl)
        same = len(a) == len(b) and ma.to_text().replace(str(serial(ma)), "S") == \
            mb.to_text().replace(str(serial(mb)), "S")
        f.check(same, f"DO=0 {name} {rdtype}: same answer signed and unsigned")
    for rdtype in ("A", "AAAA"):
        a, b = raw(signed, "dl.pool.example.", rdtype, False), raw(unsigned, "dl.pool.example.", rdtype, False)
        f.check(len(a) == len(b), f"DO=0 dl {rdtype}: same size signed and unsigned ({len(a)}, {len(b)})")


def serial(message):
    for section in (message.answer, message.authority):
        for rrset in section:
            if rrset.rdtype == dns.rdatatype.SOA:
                return rrset[0].serial
    return "no-soa"


def shares(server, do, count):
    seen = collections.Counter()
    for _ in range(count):
        r = ask(server, "dl.pool.example.", "A", do=do)
        for rrset in r.answer:
            if rrset.rdtype == dns.rdatatype.A:
                for rr in rrset:
                    seen[rr.address] += 1
    return {a: n / count for a, n in seen.items()}


def pool_addresses(server, rdtype="A"):
    r = ask(server, "dl.pool.example.", rdtype)
    return {rr.address for rrset in r.answer if rrset.rdtype == dns.rdatatype.from_text(rdtype)
            for rr in rrset}


def main():
    f = Failures()
    mport = free_port()
    workdir = tempfile.mkdtemp(prefix="mirrorpool-dnssec-")
    mirrors = [FakeMirror(address, mport).start() for _, address, _ in MIRRORS]
    mirrors.append(FakeMirror("::1", mport).start())
    try:
        files = {"pool.example.zone": ZONE}
        with Server(config(mport), files) as signed, \
                Server(config(mport, "dnssec = false"), files) as unsigned:
            everything = {a for _, a, _ in MIRRORS}
            wait_until(lambda: len(signed.query("dl.pool.example.").answer) > 0, 15, "pool answers")
            # --- keys made at first start, BIND format, private files 0600
            keydir = os.path.join(signed.dir, "state", "keys", "pool.example")
            names = sorted(os.listdir(keydir))
            f.check(len(names) == 2 and re.match(r"Kpool\.example\.\+013\+\d{5}\.key$", names[0])
                    and names[1].endswith(".private"), f"one ECDSA P-256 key made: {names}")
            private = [n for n in names if n.endswith(".private")]
            f.check(private and os.stat(os.path.join(keydir, private[0])).st_mode & 0o777 == 0o600,
                    "the private key file is mode 0600")

            # --- DO=1: signatures on pool answers, DO=0: none
            r = ask(signed, "dl.pool.example.", "A")
            types = [rrset.rdtype for rrset in r.answer]
            f.check(dns.rdatatype.RRSIG in types and len(pool_addresses(signed)) == 2,
                    f"DO=1 pool answer: 2 addresses and their RRSIG ({r.answer})")
            r0 = ask(signed, "dl.pool.example.", "A", do=False)
            f.check(all(rrset.rdtype == dns.rdatatype.A for rrset in r0.answer),
                    "DO=0 pool answer: no RRSIG")

            check_do0_identical(f, signed, unsigned)
            check_validation(f, signed, workdir, "NSEC")

            # --- shares of the pre-signed sets against the unsigned sampler
            unsigned_shares = shares(signed, False, 10000)
            signed_shares = shares(signed, True, 10000)
            worst = max(abs(unsigned_shares.get(a, 0) - signed_shares.get(a, 0)) for a in everything)
            f.check(worst <= 0.03, f"signed shares within 0.03 of unsigned ones (worst {worst:.4f}):"
                    f" unsigned {sorted(unsigned_shares.items())} signed {sorted(signed_shares.items())}")

            # --- a failing mirror leaves the signed answers, which still validate
            mirrors[5].close_listener()  # m6, the heaviest
            wait_until(lambda: all("127.0.1.6" not in pool_addresses(signed) for _ in range(30)),
                       15, "m6 to leave the signed answers")
            check_validation(f, signed, workdir, "after a mirror failed")
            mirrors[5].reopen()

            # --- keys survive a restart: the same DNSKEY afterwards
            before = {k.to_text() for k in dnskeys(signed)}
            signed.stop()
            signed.start()
            after = {k.to_text() for k in dnskeys(signed)}
            f.check(before == after and len(after) == 1, "the key is the same after a restart")

        # --- NSEC3
        with Server(config(mport, 'dnssec = true\ndnssec_denial = "nsec3"\n'
                           'dnssec_algorithm = "ed25519"'), files) as nsec3:
            wait_until(lambda: len(nsec3.query("dl.pool.example.").answer) > 0, 15, "pool answers")
            r = ask(nsec3, "nope.pool.example.", "A")
            f.check(any(rrset.rdtype == dns.rdatatype.NSEC3 for rrset in r.authority),
                    "NSEC3 zone: NXDOMAIN carries NSEC3 records")
            f.check(dnskeys(nsec3) and dnskeys(nsec3)[0].algorithm == 15, "ed25519 key")
            check_validation(f, nsec3, workdir, "NSEC3 + Ed25519")
    finally:
        for m in mirrors:
            m.stop()
    f.finish()


if __name__ == "__main__":
    main()
