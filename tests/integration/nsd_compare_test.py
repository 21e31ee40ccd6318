"""Side by side with Debian's NSD: the same zone file served by both, the same
queries sent to both, and the answers compared as sets (rcode, AA/TC, answer,
and the authority and additional sections wherever NSD's default and ours are
meant to agree). Prints the comparison table for the issue note."""

import os
import shutil
import subprocess
import tempfile

import dns.flags
import dns.rcode

from harness import BASE_CONFIG, Failures, Server, free_port, query, wait_until
from core_test import ZONE

CONFIG = BASE_CONFIG

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
        fc.write(NSD_CONF.format(port=nsd_port, dir=nsd_dir))
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
    finally:
        nsd.terminate()
        nsd.wait(10)
    f.finish()


if __name__ == "__main__":
    main()
