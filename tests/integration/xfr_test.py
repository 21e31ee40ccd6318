"""mirrorpool as a hidden primary for stock secondaries (operator guide, section 5): real nsd and
knotd transfer the zone with TSIG, follow a mirror's failure and repair through
NOTIFY and IXFR, never see the serial go back across a restart of mirrorpoold;
transfers without the key, with a bad key, or from outside allow_transfer are
refused. /metrics counts the NOTIFY messages."""

import base64
import json
import os
import re
import signal
import socket
import time
import urllib.request

import dns.message
import dns.opcode
import dns.query
import dns.rcode
import dns.rdatatype
import dns.serial
import dns.tsig
import dns.tsigkeyring
import dns.xfr
import dns.zone

from harness import Failures, Server, free_port, wait_until
from secondaries import Knot, Nsd

ZONE = """$ORIGIN pool.example.
$TTL 3600
@        IN SOA ns1.pool.example. hostmaster.pool.example. 2026112201 3600 900 604800 300
@        IN NS  ns1
ns1      IN A   127.0.0.53
www      IN A   192.0.2.80
"""
# About 44 KB of TXT, so that a full transfer takes several messages.
ZONE += "".join(f'txt{i:03d} IN TXT "{"x" * 200}"\n' for i in range(200))

KEY_NAME = "xfr-key"
SECRET = base64.b64encode(os.urandom(32)).decode()
INTERVAL, FALL, TIMEOUT = 1.0, 1, 0.5
FAILOVER_BUDGET = INTERVAL * FALL + TIMEOUT + 5

MIRRORS = ["127.0.1.1", "127.0.1.2", "127.0.1.3"]
V6_MIRROR = "::1"

CONFIG = """
[server]
listen = ["127.0.0.1:{port}"]
workers = 2
control_socket = "{dir}/control.sock"
state_dir = "{dir}/state"
http_listen = "127.0.0.1:HPORT"
user = "root"

[tsig.xfr-key]
algorithm = "hmac-sha256"
secret = "SECRET"

[tsig.other-key]
algorithm = "hmac-sha512"
secret = "OTHER"

[[zone]]
origin = "pool.example."
file = "pool.example.zone"
notify = [NOTIFY]
allow_transfer = ["127.0.0.0/8"]
tsig = "xfr-key"

[[pool]]
name = "dl.pool.example."
ttl = 30

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

[[pool.mirror]]
id = "m2"
addresses = ["127.0.1.2"]

[[pool.mirror]]
id = "m3"
addresses = ["127.0.1.3"]
"""


def listen(address, port):
    fam = socket.AF_INET6 if ":" in address else socket.AF_INET
    s = socket.socket(fam, socket.SOCK_STREAM)
    s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    s.bind((address, port))
    s.listen(64)
    return s


def pool_set(secondary):
    """The A and AAAA addresses a secondary serves for the pool, or None."""
    out = set()
    for rdtype in ("A", "AAAA"):
        r = secondary.ask("dl.pool.example.", rdtype)
        if r is None or r.rcode() != dns.rcode.NOERROR:
            return None
        for rrset in r.answer:
            out.update(rr.address for rr in rrset)
    return out


def notify_counts(hport):
    """mirrorpool_notify_total by result, from /metrics."""
    with urllib.request.urlopen(f"http://127.0.0.1:{hport}/metrics", timeout=5) as r:
        text = r.read().decode()
    return {m[0]: float(m[1]) for m in
            re.findall(r'^mirrorpool_notify_total\{result="(\w+)"\} (\S+)$', text, re.M)}


def our_serial(server):
    return server.query("pool.example.", "SOA").answer[0][0].serial


def xfr_messages(server, rdtype, keyring=None, keyname=None, algorithm=None, serial=0):
    """A transfer with dnspython: the zone, or the exception it raised."""
    zone = dns.zone.Zone("pool.example.")
    try:
        if rdtype == "AXFR":
            query = dns.message.make_query("pool.example.", "AXFR")
        else:
            query, _ = dns.xfr.make_query(zone, serial=serial)
        if keyring is not None:
            query.use_tsig(keyring, keyname=keyname, algorithm=algorithm)
        dns.query.inbound_xfr("127.0.0.1", zone, query=query, port=server.port, timeout=3)
        return zone
    except Exception as e:  # noqa: BLE001 - the test inspects what was raised
        return e


def enable_transfers_on_reload(f, config):
    """A zone that starts with no allow_transfer and no tsig keeps no records
    for transfers; a reload that allows them serves the whole zone at the
    same serial."""
    closed = (config.replace('allow_transfer = ["127.0.0.0/8"]\n', "")
              .replace('tsig = "xfr-key"\n', "").replace("notify = [", "# notify = ["))
    with Server(closed, files={"pool.example.zone": ZONE}) as server:
        serial = our_serial(server)
        refused = xfr_messages(server, "AXFR")
        f.check(isinstance(refused, Exception), f"no allow_transfer, no tsig: AXFR refused ({refused!r})")
        server.write_config(config.replace('tsig = "xfr-key"\n', "").replace("notify = [", "# notify = ["))
        server.signal(signal.SIGHUP)
        wait_until(lambda: not isinstance(xfr_messages(server, "AXFR"), Exception), 10,
                   "AXFR to work after the reload that allows it")
        zone = xfr_messages(server, "AXFR")
        soa = zone.find_rdataset("@", "SOA")[0]
        names = {str(n) for n in zone.nodes}
        f.check(soa.serial == serial == our_serial(server),
                f"the serial is kept when transfers are enabled ({serial} -> {soa.serial})")
        f.check({"@", "ns1", "www", "txt000", "txt199", "dl"} <= names and len(names) == 204,
                f"the whole zone and the pool are transferred ({len(names)} names)")


def main():
    f = Failures()
    mport, hport = free_port(), free_port()
    listeners = {a: listen(a, mport) for a in MIRRORS + [V6_MIRROR]}
    port = free_port()
    # Each secondary transfers from its own address, so our log tells them apart.
    nsd = Nsd(port, (KEY_NAME, "hmac-sha256", SECRET), "127.0.0.2")
    knot = Knot(port, (KEY_NAME, "hmac-sha256", SECRET), "127.0.0.3")
    other_secret = base64.b64encode(os.urandom(64)).decode()
    # A silent secondary: receives NOTIFY, answers only when the test says so.
    silent = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    silent.bind(("127.0.0.1", 0))
    notify = ", ".join(f'"127.0.0.1:{p}"' for p in (nsd.port, knot.port, silent.getsockname()[1]))
    config = (CONFIG.replace("MPORT", str(mport)).replace("HPORT", str(hport))
              .replace("NOTIFY", notify)
              .replace("SECRET", SECRET).replace("OTHER", other_secret))
    secondaries = (nsd, knot)
    everything = set(MIRRORS) | {V6_MIRROR}
    try:
        with Server(config, files={"pool.example.zone": ZONE}, port=port) as server, nsd, knot:
            # --- NOTIFY: signed, retried after 1 s, then 2 s (the first try may have
            # waited in the socket while the server started, so only the second gap is
            # timed), and no more once answered
            keyring = dns.tsigkeyring.from_text({KEY_NAME: ("hmac-sha256", SECRET)})
            arrivals = []
            silent.settimeout(0.2)
            deadline = time.monotonic() + 10
            while time.monotonic() < deadline and len(arrivals) < 3:
                try:
                    wire, peer = silent.recvfrom(4096)
                except socket.timeout:
                    continue
                arrivals.append((time.monotonic(), dns.message.from_wire(wire, keyring=keyring)))
            f.check(len(arrivals) == 3, f"{len(arrivals)} NOTIFY tries while unanswered")
            if len(arrivals) == 3:
                (_, n1), (t2, n2), (t3, n3) = arrivals
                f.check(n1.opcode() == dns.opcode.NOTIFY and n1.had_tsig and n1.id == n3.id,
                        "NOTIFY is TSIG-signed (verified with the key) and retried with its id")
                f.check(1.7 <= t3 - t2 <= 2.6, f"second retry {t3 - t2:.2f}s after the first")
                reply = dns.message.make_response(n3)
                reply.use_tsig(keyring, keyname=KEY_NAME, algorithm="hmac-sha256")
                silent.sendto(reply.to_wire(), peer)
                extra = 0
                quiet_until = time.monotonic() + 4.5  # the next try would come after 4 s
                while time.monotonic() < quiet_until:
                    try:
                        silent.recvfrom(4096)
                        extra += 1
                    except socket.timeout:
                        pass
                f.check(extra == 0, f"no NOTIFY retry once answered ({extra} more)")
            f.check(re.search(r"NOTIFY of pool\.example\. serial \d+ answered by 127\.0\.0\.1:"
                              + str(silent.getsockname()[1]), server.log()) is not None,
                    "the answer is logged")
            counts = notify_counts(hport)
            f.check(counts.get("sent", 0) >= 3 and counts.get("answered", 0) >= 1
                    and counts.get("given_up") == 0,
                    f"/metrics counts the NOTIFY tries and answers, none given up yet ({counts})")

            # --- initial transfer, TSIG-signed, by both secondaries
            serial = our_serial(server)
            for s in secondaries:
                _, took = wait_until(lambda: s.serial() == serial, 20, f"{s.name} to load the zone")
                f.check(True, f"{s.name}: initial transfer, serial {serial} after {took:.1f}s")
                f.check(pool_set(s) == everything, f"{s.name}: serves every mirror address")
                r = s.ask("www.pool.example.", "A")
                f.check(r is not None and r.answer and r.answer[0][0].address == "192.0.2.80",
                        f"{s.name}: serves the zone file's records")

            # --- our own AXFR matches what we answer, with the key
            zone = xfr_messages(server, "AXFR", keyring, KEY_NAME, "hmac-sha256")
            f.check(isinstance(zone, dns.zone.Zone), f"signed AXFR with dnspython: {zone!r}")
            if isinstance(zone, dns.zone.Zone):
                a = zone.get_rdataset("dl", "A")
                f.check(a is not None and {r.address for r in a} == set(MIRRORS) and a.ttl == 30,
                        "AXFR carries every served A address with the pool TTL")
                f.check(zone.get_soa().serial == serial, "AXFR SOA carries the published serial")
                f.check(len(zone.nodes) > 200, "AXFR carries every record of the zone file")
            multi = re.findall(r"AXFR of pool\.example\. .* to (127\.0\.0\.[23]) over TCP: "
                               r"\d+ record\(s\) in (\d+) message", server.log())
            f.check({a for a, n in multi if int(n) > 1} == {"127.0.0.2", "127.0.0.3"},
                    f"nsd and knot took the signed multi-message AXFR: {multi}")

            # --- a mirror dies: both secondaries drop it in time
            before_kill = serial
            listeners.pop("127.0.1.2").close()
            without = everything - {"127.0.1.2"}
            for s in secondaries:
                _, took = wait_until(lambda: pool_set(s) == without, FAILOVER_BUDGET,
                                     f"{s.name} to drop the dead mirror")
                f.check(took <= FAILOVER_BUDGET, f"{s.name}: dead mirror gone after {took:.1f}s")
            serial = our_serial(server)
            f.check(dns.serial.Serial(serial) > before_kill, f"serial rose {before_kill} -> {serial}")

            # --- repaired: both secondaries serve it again
            listeners["127.0.1.2"] = listen("127.0.1.2", mport)
            for s in secondaries:
                _, took = wait_until(lambda: pool_set(s) == everything, FAILOVER_BUDGET,
                                     f"{s.name} to serve the repaired mirror")
                f.check(True, f"{s.name}: repaired mirror back after {took:.1f}s")
            serial = our_serial(server)

            # --- IXFR was used for both changes by both (our transfer log names the client)
            for s in secondaries:
                pattern = rf"IXFR \(incremental\) of pool\.example\. .* to {s.source} over TCP"
                def incremental():
                    n = len(re.findall(pattern, server.log()))
                    return n if n >= 2 else 0
                count, _ = wait_until(incremental, 5, f"incremental transfers to {s.name}")
                f.check(count >= 2, f"{s.name}: {count} incremental IXFRs (one per change)")
            f.check(re.search(r"IXFR", knot.log()) is not None, "knot's own log shows IXFR")
            f.check(re.search(r"ixfr=[1-9]", server.log()) is not None, "transfer counters logged")

            # --- dnspython IXFR from the serial before the failure: two differences
            messages = list(dns.query.xfr("127.0.0.1", "pool.example.", rdtype="IXFR",
                                          serial=before_kill, port=port, timeout=3,
                                          keyring=keyring, keyname=KEY_NAME,
                                          keyalgorithm="hmac-sha256", relativize=False))
            rrsets = [rrset for m in messages for rrset in m.answer]
            soas = [rrset[0].serial for rrset in rrsets if rrset.rdtype == dns.rdatatype.SOA]
            f.check(soas[:2] == [serial, before_kill] and soas[-1] == serial and len(soas) == 6,
                    f"IXFR from {before_kill} to {serial}: SOA sequence {soas}")

            # --- refusals: no key, wrong key, unknown key, wrong address
            q = dns.message.make_query("pool.example.", "AXFR")
            r = dns.query.tcp(q, "127.0.0.1", port=port, timeout=3)
            f.check(r.rcode() == dns.rcode.REFUSED, "AXFR without the key: REFUSED")
            q = dns.message.make_query("pool.example.", "IXFR")
            r = dns.query.tcp(q, "127.0.0.1", port=port, timeout=3)
            f.check(r.rcode() in (dns.rcode.REFUSED, dns.rcode.FORMERR),
                    f"IXFR without the key: {dns.rcode.to_text(r.rcode())}")
            bad = dns.tsigkeyring.from_text(
                {KEY_NAME: ("hmac-sha256", base64.b64encode(os.urandom(32)).decode())})
            result = xfr_messages(server, "AXFR", bad, KEY_NAME, "hmac-sha256")
            f.check(isinstance(result, dns.tsig.PeerBadSignature),
                    f"AXFR with a wrong secret: NOTAUTH/BADSIG ({result!r})")
            unknown = dns.tsigkeyring.from_text({"nobody": ("hmac-sha256", SECRET)})
            result = xfr_messages(server, "AXFR", unknown, "nobody", "hmac-sha256")
            f.check(isinstance(result, dns.tsig.PeerBadKey),
                    f"AXFR with an unknown key: NOTAUTH/BADKEY ({result!r})")
            other = dns.tsigkeyring.from_text({"other-key": ("hmac-sha512", other_secret)})
            result = xfr_messages(server, "AXFR", other, "other-key", "hmac-sha512")
            f.check(isinstance(result, dns.xfr.TransferError) and
                    result.rcode == dns.rcode.REFUSED,
                    f"AXFR signed with another valid key (hmac-sha512): REFUSED ({result!r})")
            f.check("refused" in server.log(), "refusals are logged")

            # --- IXFR over UDP: SOA only when current
            q = dns.message.make_query("pool.example.", "IXFR")
            q.authority.append(server.query("pool.example.", "SOA").answer[0])
            q.use_tsig(keyring, keyname=KEY_NAME, algorithm="hmac-sha256")
            r = dns.query.udp(q, "127.0.0.1", port=port, timeout=3)
            f.check(r.rcode() == dns.rcode.NOERROR and len(r.answer) == 1 and
                    r.answer[0].rdtype == dns.rdatatype.SOA,
                    "IXFR over UDP from the current serial: the SOA alone, signed")

            # --- NOTIFY sent to us (the primary): REFUSED, as NSD does
            q = dns.message.make_query("pool.example.", "SOA")
            q.set_opcode(dns.opcode.NOTIFY)
            r = dns.query.udp(q, "127.0.0.1", port=port, timeout=3)
            f.check(r.rcode() == dns.rcode.REFUSED, "incoming NOTIFY: REFUSED")

            # --- restart: the secondaries never see the serial go back
            seen = {s.name: s.serial() for s in secondaries}
            persisted = json.load(open(os.path.join(server.dir, "state", "serials.json")))
            f.check(persisted["zones"]["pool.example."]["serial"] == serial,
                    f"serials.json holds the published serial {serial}")
            server.stop()
            server.start()
            after = our_serial(server)
            f.check(after == serial or dns.serial.Serial(after) > serial,
                    f"after restart our serial {after} is not below {serial}")
            listeners.pop("127.0.1.3").close()
            final = everything - {"127.0.1.3"}
            for s in secondaries:
                wait_until(lambda: pool_set(s) == final, FAILOVER_BUDGET + 5,
                           f"{s.name} to follow a change after the restart")
                now = s.serial()
                f.check(now is not None and dns.serial.Serial(now) > seen[s.name],
                        f"{s.name}: serial {seen[s.name]} -> {now} after the restart, never lower")
            for s in secondaries:
                f.check(s.alive(), f"{s.name} still running")

        enable_transfers_on_reload(f, config)
    finally:
        silent.close()
        for s in listeners.values():
            s.close()
    f.finish()


if __name__ == "__main__":
    main()
