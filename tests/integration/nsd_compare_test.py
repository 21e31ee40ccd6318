"""Side by side with Debian's NSD: the same zone file served by both, the same
queries sent to both, and the answers compared as sets (rcode, AA/TC, answer,
and the authority and additional sections wherever NSD's default and ours are
meant to agree). Prints the comparison table for the issue note."""

import os
import shutil
import socket
import struct
import subprocess
import tempfile

import dns.flags
import dns.message
import dns.rcode

from harness import BASE_CONFIG, Failures, Server, free_port, query, wait_until
from core_test import ZONE

SECRET = "e5e973e5a6b2a43f48e7dc849e37bfcf"
# Both identify themselves alike and share the cookie secret (RFC 9018).
CONFIG = BASE_CONFIG.replace('user = "root"\n',
                             f'user = "root"\nnsid = "mp-test"\ncookie_secret = "{SECRET}"\n')

NSD_CONF = """server:
  ip-address: 127.0.0.1@{port}
  port: {port}
  username: ""
  chroot: ""
  zonesdir: "{dir}"
  database: ""
  pidfile: "{dir}/nsd.pid"
  xfrdfile: "{dir}/xfrd.state"
  zonelistfile: "{dir}/zone.list"
  logfile: "{dir}/nsd.log"
  server-count: 1
  verbosity: 1
  hide-version: yes
  ipv4-edns-size: 1232
  nsid: "ascii_mp-test"
  answer-cookie: yes
  cookie-secret: "{secret}"
remote-control:
  control-enable: no
zone:
  name: pool.example.
  zonefile: "{dir}/pool.example.zone"
"""

# (name, type, transport, edns)  — every case of the responder issue's item 5.
CASES = [
    ("pool.example.", "SOA", "udp", 0),
    ("pool.example.", "NS", "udp", 0),
    ("pool.example.", "MX", "udp", 0),
    ("www.pool.example.", "A", "udp", 0),
    ("www.pool.example.", "AAAA", "udp", -1),
    ("WwW.PoOl.ExAmPlE.", "A", "udp", 0),
    ("www.pool.example.", "MX", "udp", 0),
    ("nope.pool.example.", "A", "udp", 0),
    ("deeper.nope.pool.example.", "TXT", "udp", 0),
    ("b.c.pool.example.", "A", "udp", 0),
    ("c.pool.example.", "TXT", "udp", 0),
    ("x.wild.pool.example.", "A", "udp", 0),
    ("x.wild.pool.example.", "TXT", "udp", 0),
    ("x.wild.pool.example.", "AAAA", "udp", 0),
    ("y.x.wild.pool.example.", "A", "udp", 0),
    ("alias.pool.example.", "A", "udp", 0),
    ("alias.pool.example.", "CNAME", "udp", 0),
    ("chain.pool.example.", "AAAA", "udp", 0),
    ("away.pool.example.", "A", "udp", 0),
    ("sub.pool.example.", "A", "udp", 0),
    ("host.sub.pool.example.", "A", "udp", 0),
    ("host.sub.pool.example.", "A", "tcp", 0),
    ("sub.pool.example.", "DS", "udp", 0),
    ("example.com.", "A", "udp", 0),
    ("big.pool.example.", "TXT", "udp", -1),
    ("big.pool.example.", "TXT", "udp", 0),
    ("big.pool.example.", "TXT", "tcp", 0),
    ("mid.pool.example.", "TXT", "udp", -1),
    ("mid.pool.example.", "TXT", "udp", 0),
    ("www.pool.example.", "A", "udp", 1),
]


# EDNS options where NSD's behaviour is the reference (issue 20): (what,
# the OPT RDATA of a query for www.pool.example A, transport). Replies are
# compared by rcode, answer and their options' codes and lengths (cookie
# values differ by time).
def opt(code, data):
    return struct.pack("!HH", code, len(data)) + data


OPTION_CASES = [
    ("client cookie", opt(10, bytes(range(8))), "udp"),
    ("client cookie over TCP", opt(10, bytes(range(8))), "tcp"),
    ("client + unknown server cookie", opt(10, bytes(range(24))), "udp"),
    ("40-byte cookie", opt(10, bytes(range(40))), "udp"),
    ("5-byte cookie", opt(10, bytes(5)), "udp"),
    ("12-byte cookie", opt(10, bytes(12)), "udp"),
    ("41-byte cookie", opt(10, bytes(41)), "udp"),
    ("empty cookie", opt(10, b""), "udp"),
    ("NSID", opt(3, b""), "udp"),
    ("NSID and cookie", opt(3, b"") + opt(10, bytes(range(8))), "udp"),
    ("8000-byte query", opt(65001, bytes(8000)), "udp"),
    ("60000-byte query", opt(65001, bytes(60000)), "udp"),
]


def option_query(opt_data):
    head = struct.pack("!HHHHHH", 0x4d50, 0, 1, 0, 0, 1)
    question = b"\x03www\x04pool\x07example\x00" + struct.pack("!HH", 1, 1)
    return head + question + b"\x00" + struct.pack("!HHIH", 41, 1232, 0, len(opt_data)) + opt_data


def send(port, wire, transport):
    if transport == "tcp":
        with socket.create_connection(("127.0.0.1", port), timeout=3) as s:
            s.sendall(struct.pack("!H", len(wire)) + wire)
            data = b""
            while len(data) < 2 or len(data) < 2 + struct.unpack("!H", data[:2])[0]:
                chunk = s.recv(65535)
                if not chunk:
                    break
                data += chunk
            return dns.message.from_wire(data[2:])
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
        s.settimeout(3)
        s.sendto(wire, ("127.0.0.1", port))
        return dns.message.from_wire(s.recv(65535))


def option_summary(r):
    return (dns.rcode.to_text(r.rcode()), r.edns,
            sorted((int(o.otype), len(o.to_wire())) for o in r.options), section(r.answer))


def section(rrsets):
    return sorted(rr.to_text() for rr in rrsets)


def summary(r):
    return (dns.rcode.to_text(r.rcode()), bool(r.flags & dns.flags.AA),
            bool(r.flags & dns.flags.TC), r.edns)


def main():
    f = Failures()
    if not shutil.which("nsd"):
        f.check(False, "nsd is installed (packaging/install-deps installs it)")
        f.finish()
    nsd_dir = tempfile.mkdtemp(prefix="nsd-compare-")
    with open(os.path.join(nsd_dir, "pool.example.zone"), "w") as fz:
        fz.write(ZONE)
    nsd_port = free_port()
    conf = os.path.join(nsd_dir, "nsd.conf")
    with open(conf, "w") as fc:
        fc.write(NSD_CONF.format(port=nsd_port, dir=nsd_dir, secret=SECRET))
    nsd = subprocess.Popen(["nsd", "-d", "-c", conf], stdout=subprocess.DEVNULL,
                           stderr=subprocess.STDOUT)
    try:
        def nsd_up():
            try:
                return query("127.0.0.1", nsd_port, "pool.example.", "SOA", timeout=0.2)
            except Exception:
                return None
        wait_until(nsd_up, 15, "nsd to answer")
        with Server(CONFIG, {"pool.example.zone": ZONE}) as srv:
            print(f"{'query':44} {'nsd':30} {'mirrorpoold':30} same")
            for name, rdtype, transport, edns in CASES:
                kw = dict(tcp=transport == "tcp", edns=edns)
                theirs = query("127.0.0.1", nsd_port, name, rdtype, **kw)
                ours = srv.query(name, rdtype, **kw)
                label = f"{name} {rdtype} {transport} edns={edns}"
                same_head = summary(theirs) == summary(ours)
                same_answer = section(theirs.answer) == section(ours.answer)
                # Authority and additional carry meaning for negative answers
                # and referrals; on positive answers NSD adds optional NS data.
                negative_or_referral = not theirs.answer
                same_auth = (not negative_or_referral or
                             section(theirs.authority) == section(ours.authority))
                same_add = (not negative_or_referral or
                            section(theirs.additional) == section(ours.additional))
                same = same_head and same_answer and same_auth and same_add
                print(f"{label:44} {str(summary(theirs)):30} {str(summary(ours)):30} "
                      f"{'yes' if same else 'NO'}")
                if not same:
                    print("  nsd:", theirs.to_text().replace("\n", "\n       "))
                    print("  ours:", ours.to_text().replace("\n", "\n       "))
                f.check(same, f"same as NSD: {label}")
            for what, data, transport in OPTION_CASES:
                wire = option_query(data)
                theirs = option_summary(send(nsd_port, wire, transport))
                ours = option_summary(send(srv.port, wire, transport))
                print(f"{what:44} {str(theirs[:3]):30} {str(ours[:3]):30} "
                      f"{'yes' if theirs == ours else 'NO'}")
                f.check(theirs == ours, f"same as NSD: {what} ({theirs} / {ours})")
    finally:
        nsd.terminate()
        nsd.wait(10)
    f.finish()


if __name__ == "__main__":
    main()
