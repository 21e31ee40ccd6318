"""The authoritative core end to end on the real binary: every answer rule of
mirrorpool.toml(5) ([[pool]]) over UDP and TCP, IPv4 and IPv6, pool sampling, signals and reload."""

import collections
import os
import signal
import socket
import struct
import time

import dns.edns
import dns.flags
import dns.message
import dns.opcode
import dns.query
import dns.rcode
import dns.rdatatype
import dns.rrset

from harness import Failures, Server, addresses, free_port, rcode, wait_until

ZONE = """$ORIGIN pool.example.
$TTL 3600
@        IN SOA ns1.pool.example. hostmaster.pool.example. 2026112201 3600 900 604800 300
@        IN NS  ns1
@        IN NS  ns2.elsewhere.example.
@        IN MX  10 mail
ns1      IN A   127.0.0.53
mail     IN A   192.0.2.25
www      IN A   192.0.2.80
www      IN AAAA 2001:db8::80
alias    IN CNAME www
chain    IN CNAME alias
away     IN CNAME www.elsewhere.example.
*.wild   IN A   192.0.2.99
*.wild   IN TXT "wildcard"
a.b.c    IN TXT "deep"
sub      IN NS  ns.sub
sub      IN NS  ns.elsewhere.example.
ns.sub   IN A   192.0.2.53
"""
# "mid" needs EDNS (over 512 bytes, under 1232); "big" needs TCP (over 1232).
ZONE += "".join(f'mid IN TXT "{i:02d}{"x" * 180}"\n' for i in range(4))
ZONE += "".join(f'big IN TXT "{i:02d}{"x" * 180}"\n' for i in range(10))

OTHER_ZONE = """$ORIGIN other.example.
$TTL 300
@   IN SOA ns1.pool.example. hostmaster.pool.example. 1 3600 900 604800 60
@   IN NS  ns1.pool.example.
www IN A   192.0.2.90
"""

CONFIG = """
[server]
listen = ["127.0.0.1:{port}", "[::1]:{port}"]
workers = 2
control_socket = "{dir}/control.sock"
state_dir = "{dir}/state"
tcp_idle_timeout = "1s"
user = "root"

[[zone]]
origin = "pool.example."
file = "pool.example.zone"

[[pool]]
name = "dl.pool.example."
ttl = 30
max_answers = 4

[pool.check]
type = "tcp"
port = MPORT
interval = "1s"
timeout = "500ms"
rise = 1
fall = 1

[[pool.mirror]]
id = "m1"
addresses = ["127.0.1.1", "::1"]
weight = 10

[[pool.mirror]]
id = "m2"
addresses = ["127.0.1.2"]
weight = 5

[[pool.mirror]]
id = "m3"
addresses = ["127.0.1.3"]
weight = 5

[[pool.mirror]]
id = "m4"
addresses = ["127.0.1.4"]
weight = 2

[[pool.mirror]]
id = "m5"
addresses = ["127.0.1.5"]
weight = 1

[[pool.mirror]]
id = "m6"
addresses = ["127.0.1.6"]
weight = 1

[[pool.mirror]]
id = "disabled"
addresses = ["127.0.1.7"]
weight = 0
"""

ENABLED_V4 = {f"127.0.1.{i}" for i in range(1, 7)}


def raw_udp(port, payload, timeout=0.5):
    """Sends bytes; returns the reply bytes or None when nothing comes back."""
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
        s.settimeout(timeout)
        s.sendto(payload, ("127.0.0.1", port))
        try:
            return s.recv(65535)
        except socket.timeout:
            return None


def mirror_listeners(port):
    """TCP listeners on every enabled mirror address so the tcp checks pass."""
    socks = []
    for addr in sorted(ENABLED_V4) + ["::1"]:
        fam = socket.AF_INET6 if ":" in addr else socket.AF_INET
        s = socket.socket(fam, socket.SOCK_STREAM)
        s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        s.bind((addr, port))
        s.listen(64)
        socks.append(s)
    return socks


def main():
    f = Failures()
    mport = free_port()
    listeners = mirror_listeners(mport)
    config = CONFIG.replace("MPORT", str(mport))
    with Server(config, {"pool.example.zone": ZONE}) as srv:
        port = srv.port

        # --- basics: AA, RA clear, apex data
        r = srv.query("pool.example.", "SOA")
        f.check(rcode(r) == "NOERROR" and r.flags & dns.flags.AA, "SOA: NOERROR with AA")
        f.check(not r.flags & dns.flags.RA, "RA is clear")
        f.check(r.answer and r.answer[0].rdtype == dns.rdatatype.SOA, "SOA in answer")
        r = srv.query("pool.example.", "NS")
        ns = {str(x.target) for x in r.answer[0]} if r.answer else set()
        f.check(ns == {"ns1.pool.example.", "ns2.elsewhere.example."}, f"apex NS {ns}")
        glue = {(str(x.name), a.address) for x in r.additional for a in x
                if x.rdtype == dns.rdatatype.A}
        f.check(("ns1.pool.example.", "127.0.0.53") in glue, f"apex NS glue {glue}")

        # --- pool answers
        seen = collections.Counter()
        sizes = set()
        for _ in range(300):
            r = srv.query("dl.pool.example.", "A")
            got = addresses(r)
            sizes.add(len(got))
            seen.update(got)
            if not got <= ENABLED_V4:
                f.check(False, f"pool A answer outside the enabled set: {got}")
                break
        f.check(sizes == {4}, f"pool A answers always carry max_answers=4 ({sizes})")
        f.check(set(seen) == ENABLED_V4, f"every enabled mirror is answered ({sorted(seen)})")
        f.check("127.0.1.7" not in seen, "weight 0 never answered")
        f.check(seen["127.0.1.1"] > seen["127.0.1.5"] and seen["127.0.1.1"] > seen["127.0.1.6"],
                f"weights bias the sample ({dict(seen)})")
        r = srv.query("dl.pool.example.", "A")
        f.check(r.answer and r.answer[0].ttl == 30, "pool TTL")
        f.check(r.flags & dns.flags.AA, "pool answer is authoritative")
        orders = {tuple(x.address for x in srv.query("dl.pool.example.", "A").answer[0])
                  for _ in range(30)}
        f.check(len(orders) > 5, f"answers come in random order ({len(orders)} orders)")
        curl = sorted(p for p in srv.mapped_files() if "libcurl" in p)
        f.check(not curl, f"TCP checks only: libcurl is never loaded ({curl})")
        r = srv.query("dl.pool.example.", "AAAA")
        f.check(addresses(r) == {"::1"}, f"pool AAAA {addresses(r)}")
        r = srv.query("dl.pool.example.", "MX")
        f.check(rcode(r) == "NOERROR" and not r.answer and r.authority and
                r.authority[0].rdtype == dns.rdatatype.SOA, "pool MX: NODATA with SOA")

        # --- negative answers (RFC 2308)
        r = srv.query("nope.pool.example.", "A")
        f.check(rcode(r) == "NXDOMAIN" and r.flags & dns.flags.AA, "NXDOMAIN with AA")
        f.check(r.authority and r.authority[0].rdtype == dns.rdatatype.SOA and
                r.authority[0].ttl == 300, "NXDOMAIN: SOA with negative TTL min(3600, 300)")
        r = srv.query("www.pool.example.", "MX")
        f.check(rcode(r) == "NOERROR" and not r.answer and r.authority and
                r.authority[0].rdtype == dns.rdatatype.SOA, "NODATA with SOA")
        r = srv.query("b.c.pool.example.", "A")
        f.check(rcode(r) == "NOERROR" and not r.answer, "empty non-terminal is NODATA")

        # --- wildcard, CNAME, referral
        r = srv.query("anything.wild.pool.example.", "A")
        f.check(addresses(r) == {"192.0.2.99"} and
                str(r.answer[0].name) == "anything.wild.pool.example.", "wildcard synthesis")
        r = srv.query("anything.wild.pool.example.", "AAAA")
        f.check(rcode(r) == "NOERROR" and not r.answer, "wildcard NODATA")
        r = srv.query("chain.pool.example.", "A")
        types = [(str(x.name), dns.rdatatype.to_text(x.rdtype)) for x in r.answer]
        f.check(types == [("chain.pool.example.", "CNAME"), ("alias.pool.example.", "CNAME"),
                          ("www.pool.example.", "A")], f"CNAME chain {types}")
        r = srv.query("away.pool.example.", "A")
        f.check(rcode(r) == "NOERROR" and len(r.answer) == 1 and
                r.answer[0].rdtype == dns.rdatatype.CNAME, "CNAME out of zone: CNAME only")
        r = srv.query("host.sub.pool.example.", "A")
        f.check(rcode(r) == "NOERROR" and not r.flags & dns.flags.AA and not r.answer,
                "referral: NOERROR, no AA, no answer")
        f.check(r.authority and r.authority[0].rdtype == dns.rdatatype.NS and
                str(r.authority[0].name) == "sub.pool.example.", "referral NS in authority")
        glue = {a.address for x in r.additional for a in x if x.rdtype == dns.rdatatype.A}
        f.check(glue == {"192.0.2.53"}, f"referral glue {glue}")

        # --- outside our zones
        r = srv.query("example.com.", "A")
        f.check(rcode(r) == "REFUSED" and not r.flags & dns.flags.AA, "REFUSED outside zones")

        # --- EDNS0, truncation, TCP
        r = srv.query("www.pool.example.", "A", edns=0, payload=4096)
        f.check(r.edns == 0 and r.payload >= 512, "OPT echoed")
        r = srv.query("www.pool.example.", "A", edns=1)
        f.check(r.rcode() == dns.rcode.BADVERS and not r.answer, "EDNS version 1: BADVERS")
        r = srv.query("big.pool.example.", "TXT", edns=-1)
        f.check(r.flags & dns.flags.TC and not r.answer, "no EDNS, 2 KB answer: TC over UDP")
        r = srv.query("big.pool.example.", "TXT", edns=0, payload=1232)
        f.check(r.flags & dns.flags.TC, "EDNS 1232, 2 KB answer: TC")
        r = srv.query("big.pool.example.", "TXT", edns=0, payload=4096)
        f.check(r.flags & dns.flags.TC, "EDNS 4096 is capped by udp_max_size 1232: TC")
        r = srv.query("mid.pool.example.", "TXT", edns=-1)
        f.check(r.flags & dns.flags.TC, "no EDNS, 800-byte answer: TC")
        r = srv.query("mid.pool.example.", "TXT", edns=0, payload=1232)
        f.check(not r.flags & dns.flags.TC and r.answer and len(r.answer[0]) == 4,
                "EDNS 1232, 800-byte answer: fits over UDP")
        r = srv.query("big.pool.example.", "TXT", tcp=True)
        f.check(not r.flags & dns.flags.TC and r.answer and len(r.answer[0]) == 10,
                "full answer over TCP")
        r = srv.query("dl.pool.example.", "A", tcp=True)
        f.check(len(addresses(r)) == 4, "pool answer over TCP")
        r = srv.query("dl.pool.example.", "A", host="::1")
        f.check(len(addresses(r)) == 4, "UDP over IPv6")
        r = srv.query("dl.pool.example.", "AAAA", host="::1", tcp=True)
        f.check(addresses(r) == {"::1"}, "TCP over IPv6")

        # --- question case is preserved
        r = srv.query("DL.Pool.EXAMPLE.", "A")
        f.check(str(r.question[0].name) == "DL.Pool.EXAMPLE." and
                str(r.answer[0].name) == "DL.Pool.EXAMPLE.", "question case preserved")

        # --- ANY (RFC 8482)
        r = srv.query("www.pool.example.", "ANY")
        f.check(len(r.answer) == 1 and r.answer[0].rdtype == dns.rdatatype.HINFO,
                "ANY: one HINFO RR (RFC 8482)")

        # --- opcode, QDCOUNT, QR, garbage
        q = dns.message.make_query("www.pool.example.", "A", use_edns=False)
        q.set_opcode(dns.opcode.STATUS)
        reply = raw_udp(port, q.to_wire())
        f.check(reply is not None and dns.message.from_wire(reply).rcode() == dns.rcode.NOTIMP,
                "opcode STATUS: NOTIMP")
        header = struct.pack("!HHHHHH", 0x1234, 0, 0, 0, 0, 0)
        reply = raw_udp(port, header)
        f.check(reply is not None and (reply[3] & 0x0F) == dns.rcode.FORMERR, "QDCOUNT 0: FORMERR")
        wire = q.to_wire()
        two = struct.pack("!HHHHHH", 0x4321, 0, 2, 0, 0, 0) + wire[12:] + wire[12:]
        reply = raw_udp(port, two)
        f.check(reply is not None and (reply[3] & 0x0F) == dns.rcode.FORMERR, "QDCOUNT 2: FORMERR")
        resp = bytearray(dns.message.make_query("www.pool.example.", "A").to_wire())
        resp[2] |= 0x80
        f.check(raw_udp(port, bytes(resp)) is None, "QR=1 never answered")
        f.check(raw_udp(port, b"\x00\x01\x02") is None, "3-byte garbage dropped")
        f.check(raw_udp(port, header[:4] + b"\x00\x01\x00\x00\x00\x00\x00\x00\x3fabc") is None,
                "truncated question dropped")
        f.check(rcode(srv.query("www.pool.example.", "A")) == "NOERROR",
                "still answering after malformed packets")

        # --- TCP pipelining and idle timeout
        with socket.create_connection(("127.0.0.1", port), timeout=3) as s:
            ids = []
            batch = b""
            for i, name in enumerate(["www", "mail", "dl"]):
                m = dns.message.make_query(f"{name}.pool.example.", "A")
                m.id = 1000 + i
                ids.append(m.id)
                w = m.to_wire()
                batch += struct.pack("!H", len(w)) + w
            s.sendall(batch)
            got = []
            buf = b""
            deadline = time.monotonic() + 3
            while len(got) < 3 and time.monotonic() < deadline:
                chunk = s.recv(65535)
                if not chunk:
                    break
                buf += chunk
                while len(buf) >= 2 and len(buf) >= 2 + struct.unpack("!H", buf[:2])[0]:
                    n = struct.unpack("!H", buf[:2])[0]
                    got.append(dns.message.from_wire(buf[2:2 + n]).id)
                    buf = buf[2 + n:]
            f.check(got == ids, f"TCP pipelining answers in order {got}")
            s.settimeout(5)
            start = time.monotonic()
            try:
                closed = s.recv(10) == b""
            except (ConnectionResetError, socket.timeout):
                closed = False
            waited = time.monotonic() - start
            f.check(closed and waited < 3, f"idle TCP closed after tcp_idle_timeout ({waited:.1f}s)")

        # --- SIGHUP: a good reload
        srv.files["pool.example.zone"] = ZONE.replace("2026112201", "2026112202") + \
            "new IN A 192.0.2.77\n"
        srv.write_config(config)
        srv.signal(signal.SIGHUP)
        wait_until(lambda: addresses(srv.query("new.pool.example.", "A")) == {"192.0.2.77"},
                   5, "the reloaded record")
        f.check(True, "SIGHUP reload serves the new record")
        # --- SIGHUP with no file changed: the zone is kept, not read again
        unchanged = f"zone pool.example.: {srv.dir}/pool.example.zone unchanged, not read again"
        before = srv.log().count(unchanged)
        # A file written within the last second is read again (its time stamp
        # could hide a second write); after that it is kept.
        time.sleep(1.2)
        for _ in range(2):
            srv.signal(signal.SIGHUP)
            time.sleep(0.5)
        wait_until(lambda: srv.log().count(unchanged) >= before + 1, 5, "the unchanged zone kept")
        before = srv.log().count(unchanged)
        f.check(addresses(srv.query("new.pool.example.", "A")) == {"192.0.2.77"},
                "the kept zone still serves")
        # --- A pool added, the zone file unchanged: the served zone gave up its
        # parsed records once encoded, so it is read again to encode the new pool
        get_pool = ('\n[[pool]]\nname = "get.pool.example."\n[pool.check]\ntype = "tcp"\n'
                    f'port = {mport}\n[[pool.mirror]]\nid = "g1"\naddresses = ["127.0.1.2"]\n')
        srv.write_config(config + get_pool)
        srv.signal(signal.SIGHUP)
        wait_until(lambda: addresses(srv.query("get.pool.example.", "A")) == {"127.0.1.2"},
                   5, "the added pool")
        f.check(srv.log().count(unchanged) == before,
                "a zone that must be encoded anew is read again, not kept")
        f.check(addresses(srv.query("new.pool.example.", "A")) == {"192.0.2.77"} and
                len(addresses(srv.query("dl.pool.example.", "A"))) == 4,
                "after the pool was added the zone and the first pool still serve")
        srv.write_config(config)
        srv.signal(signal.SIGHUP)
        wait_until(lambda: rcode(srv.query("get.pool.example.", "A")) == "NXDOMAIN",
                   5, "the added pool gone again")
        # --- A second zone; then an edit of the first zone's file of the same
        # size, at once, is still seen (stamps include ctime), and only the
        # edited zone is read again
        srv.files["other.example.zone"] = OTHER_ZONE
        two_zones = config + '\n[[zone]]\norigin = "other.example."\nfile = "other.example.zone"\n'
        srv.write_config(two_zones)
        time.sleep(1.2)  # so that the second zone's file is read aged (see above)
        srv.signal(signal.SIGHUP)
        wait_until(lambda: addresses(srv.query("www.other.example.", "A")) == {"192.0.2.90"},
                   5, "the second zone")
        other_kept = (f"zone other.example.: {srv.dir}/other.example.zone unchanged, "
                      "not read again")
        before = srv.log().count(unchanged)
        edited = srv.files["pool.example.zone"].replace("192.0.2.77", "192.0.2.78")
        srv.files["pool.example.zone"] = edited
        srv.write_config(two_zones, files={"pool.example.zone": edited})
        srv.signal(signal.SIGHUP)
        wait_until(lambda: addresses(srv.query("new.pool.example.", "A")) == {"192.0.2.78"},
                   5, "the same-size edit")
        f.check(srv.log().count(unchanged) == before,
                "an edited zone file is read again, not kept")
        f.check(srv.log().count(other_kept) == 1,
                "the other zone, unchanged, is kept while the edited one is read again")
        f.check(addresses(srv.query("www.other.example.", "A")) == {"192.0.2.90"},
                "the kept second zone still serves")
        # --- SIGHUP: a broken zone keeps the old data
        srv.files["pool.example.zone"] = ZONE + "broken IN A not-an-address\n"
        srv.write_config(config)
        srv.signal(signal.SIGHUP)
        wait_until(lambda: "reload failed" in srv.log(), 5, "the reload failure in the log")
        f.check("pool.example.zone:" in srv.log(), "failed reload names the zone file and line")
        f.check(addresses(srv.query("new.pool.example.", "A")) == {"192.0.2.78"},
                "after a failed reload the old data still serves")
        f.check(len(addresses(srv.query("dl.pool.example.", "A"))) == 4,
                "pool still answered after a failed reload")
        # --- SIGTERM
        start = time.monotonic()
        rc = srv.stop()
        f.check(rc == 0 and time.monotonic() - start < 5, f"SIGTERM: clean exit ({rc})")

    # --- under systemd, stderr is the journal: each line carries its priority
    with Server(config, {"pool.example.zone": ZONE}, start=False) as journal:
        open(journal.log_path, "ab").close()
        st = os.stat(journal.log_path)
        journal.env = {**os.environ, "JOURNAL_STREAM": f"{st.st_dev}:{st.st_ino}"}
        journal.start()
        wait_until(lambda: "info: serving" in journal.log(), 5, "the serving line")
        lines = [line for line in journal.log().splitlines() if line]
        f.check(any(line.startswith("<6>info: serving") for line in lines) and
                all(line[:3] in ("<3>", "<4>", "<6>", "<7>") for line in lines),
                f"journal priorities ({lines[:3]})")

    for s in listeners:
        s.close()
    f.finish()


if __name__ == "__main__":
    main()
