"""What every peer answers (issue 20), on the real binary with real clients:
DNS cookies with kdig (round trip, forged and malformed cookies, one secret
shared by two servers, rate limiting that spares a proven address), TSIG on
ordinary queries with dig -y (signed answer, BADKEY, BADSIG) and dnspython
(BADTIME), NSID, and UDP queries of 8000 and 60000 bytes."""

import re
import select
import socket
import struct
import subprocess
import time
from unittest import mock

import dns.edns
import dns.message
import dns.query
import dns.rcode
import dns.tsig
import dns.tsigkeyring

from harness import ZONE, Failures, Server, free_port, metric

SECRET = "e5e973e5a6b2a43f48e7dc849e37bfcf"
KEY = "c2VjcmV0c2VjcmV0c2VjcmV0c2VjcmV0c2VjcmV0MTI="
OTHER_KEY = "c2VjcmV0c2VjcmV0c2VjcmV0c2VjcmV0c2VjcmV0MTM="
LIMIT = 20

CONFIG = """
[server]
listen = ["127.0.0.1:{port}"]
workers = 1
control_socket = "{dir}/control.sock"
state_dir = "{dir}/state"
user = "root"
http_listen = "127.0.0.1:%(hport)d"
nsid = "%(nsid)s"
%(cookie)s

[server.rrl]
responses_per_second = %(limit)d
slip = 0
ipv4_prefix = 32

[tsig.k1]
algorithm = "hmac-sha256"
secret = "%(key)s"

[[zone]]
origin = "pool.example."
file = "pool.example.zone"
"""


def config(hport, nsid, cookie):
    return CONFIG % dict(hport=hport, nsid=nsid, cookie=cookie, limit=LIMIT, key=KEY)



def kdig(port, *args):
    out = subprocess.run(["kdig", "@127.0.0.1", "-p", str(port), "+retry=0", "+time=3",
                          "www.pool.example", "A", *args],
                         capture_output=True, text=True, timeout=20).stdout
    # The last reply's, when kdig retried (+badcookie).
    status = re.findall(r"status: (\w+)", out)
    cookie = re.findall(r";; COOKIE: ([0-9A-F]+)", out)
    return (status[-1] if status else None, cookie[-1] if cookie else None, out)


def dig(port, *args):
    return subprocess.run(["dig", "@127.0.0.1", "-p", str(port), "+tries=1", "+time=3",
                           "www.pool.example", "A", *args],
                          capture_output=True, text=True, timeout=20).stdout


def cookie_query(port, cookie, source="127.0.0.1"):
    m = dns.message.make_query("www.pool.example.", "A", use_edns=0,
                               options=[dns.edns.GenericOption(10, cookie)])
    return dns.query.udp(m, "127.0.0.1", port=port, timeout=3, source=source)


def raw_query(opt_data):
    """www.pool.example A with an OPT record whose RDATA is `opt_data`."""
    head = struct.pack("!HHHHHH", 0x4d50, 0, 1, 0, 0, 1)
    question = b"\x03www\x04pool\x07example\x00" + struct.pack("!HH", 1, 1)
    opt = b"\x00" + struct.pack("!HHIH", 41, 1232, 0, len(opt_data)) + opt_data
    return head + question + opt


def option(code, data):
    return struct.pack("!HH", code, len(data)) + data


def udp_raw(port, wire):
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
        s.settimeout(3)
        s.sendto(wire, ("127.0.0.1", port))
        try:
            return dns.message.from_wire(s.recv(65535))
        except socket.timeout:
            return None


def tcp_raw(port, wire):
    with socket.create_connection(("127.0.0.1", port), timeout=3) as s:
        s.sendall(struct.pack("!H", len(wire)) + wire)
        data = b""
        while len(data) < 2:
            data += s.recv(2 - len(data))
        size = struct.unpack("!H", data)[0]
        data = b""
        while len(data) < size:
            data += s.recv(size - len(data))
        return dns.message.from_wire(data)


def flood(port, source, count, cookie=None):
    """Sends `count` queries from `source` as fast as possible; the answers
    received within a second."""
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
        s.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 1 << 20)
        s.bind((source, 0))
        s.setblocking(False)
        opts = [dns.edns.GenericOption(10, cookie)] if cookie else []
        for i in range(count):
            m = dns.message.make_query("www.pool.example.", "A", use_edns=0, options=opts)
            m.id = i
            try:
                s.sendto(m.to_wire(), ("127.0.0.1", port))
            except BlockingIOError:
                pass
        answered = 0
        deadline = time.monotonic() + 1.0
        while time.monotonic() < deadline:
            if not select.select([s], [], [], 0.1)[0]:
                continue
            while True:
                try:
                    s.recv(4096)
                    answered += 1
                except BlockingIOError:
                    break
        return answered


def check_cookies(f, srv, hport):
    status, cookie, out = kdig(srv.port, "+cookie")
    f.check(status == "NOERROR" and cookie is not None and len(cookie) == 48,
            f"kdig +cookie: a 16-byte server cookie after the client's ({cookie})")
    if cookie is None:
        print(out)
        return None
    valid = metric(hport, "mirrorpool_cookies_total", cookie="valid")
    status, again, _ = kdig(srv.port, f"+cookie={cookie}")
    f.check(status == "NOERROR" and again is not None and again[:16] == cookie[:16],
            "the returned cookie sent back: answered, the client cookie echoed")
    f.check(metric(hport, "mirrorpool_cookies_total", cookie="valid") == valid + 1,
            "the returned cookie counts as a valid server cookie")
    forged = cookie[:-2] + ("00" if cookie[-2:] != "00" else "01")
    bad = metric(hport, "mirrorpool_cookies_total", cookie="bad")
    status, fresh, _ = kdig(srv.port, f"+cookie={forged}")
    f.check(status == "NOERROR" and fresh is not None and fresh != forged,
            "a forged server cookie: a normal answer with a fresh cookie")
    f.check(metric(hport, "mirrorpool_cookies_total", cookie="bad") == bad + 1,
            "the forged cookie counts as bad")
    for size in (5, 12, 41):
        r = udp_raw(srv.port, raw_query(option(10, b"\x01" * size)))
        f.check(r is not None and r.rcode() == dns.rcode.FORMERR,
                f"a {size}-byte COOKIE option: FORMERR")
    r = udp_raw(srv.port, raw_query(option(10, b"\x01" * 8) + option(10, b"\x02" * 8)))
    f.check(r is not None and r.rcode() == dns.rcode.FORMERR, "two COOKIE options: FORMERR")
    return bytes.fromhex(cookie)


def check_shared_secret(f, cookie_from_x, hport_y, cookie_secret_y):
    """A second server, requiring cookies, with the same secret as the first."""
    with Server(config(hport_y, "mp-y", f'cookie_secret = "{cookie_secret_y}"\n'
                       "require_cookie = true"), {"pool.example.zone": ZONE}) as y:
        r = cookie_query(y.port, cookie_from_x)
        f.check(r.rcode() == dns.rcode.NOERROR and len(r.answer) == 1,
                "server B (same cookie_secret, require_cookie) answers A's cookie")
        r = cookie_query(y.port, cookie_from_x[:8])
        f.check(r.rcode() == dns.rcode.BADCOOKIE, "server B: a client cookie alone gets BADCOOKIE")
        ours = [o for o in r.options if o.otype == 10]
        r = cookie_query(y.port, ours[0].to_wire() if ours else b"")
        f.check(r.rcode() == dns.rcode.NOERROR, "server B: its own cookie from BADCOOKIE is then accepted")
        status, _, out = kdig(y.port, "+cookie", "+badcookie")
        f.check(status == "NOERROR",
                "kdig +cookie +badcookie against B: resent with the server cookie, answered")
        out = dig(y.port, "+norec")
        f.check("BADCOOKIE, retrying" in out and "status: NOERROR" in out and "(good)" in out,
                "dig against B: retried after BADCOOKIE, answered, the cookie judged good")


def check_other_secret(f, cookie_from_x, hport_z):
    with Server(config(hport_z, "mp-z", "require_cookie = true"), {"pool.example.zone": ZONE}) as z:
        r = cookie_query(z.port, cookie_from_x)
        f.check(r.rcode() == dns.rcode.BADCOOKIE,
                "server C (its own drawn secret) refuses A's cookie with BADCOOKIE")


def check_rrl_exemption(f, srv, hport):
    cookie = cookie_query(srv.port, b"\x07" * 8, source="127.0.0.3")
    server_cookie = [o for o in cookie.options if o.otype == 10][0].to_wire()
    exempt = metric(hport, "mirrorpool_rrl_exempt_total")
    plain = flood(srv.port, "127.0.0.2", 300)
    proven = flood(srv.port, "127.0.0.3", 300, cookie=server_cookie)
    f.check(plain < 300 - LIMIT, f"a cookie-less flood from 127.0.0.2 is limited ({plain}/300)")
    f.check(proven >= 290, f"a flood with a valid cookie from 127.0.0.3 is not ({proven}/300)")
    f.check(metric(hport, "mirrorpool_rrl_exempt_total") >= exempt + proven,
            "the exempted queries are counted")


def check_tsig(f, srv, hport):
    out = dig(srv.port, "+norec", "-y", f"hmac-sha256:k1:{KEY}")
    f.check("status: NOERROR" in out and "Couldn't verify" not in out and
            "could not be validated" not in out and
            re.search(r"^k1\.\s.*TSIG", out, re.M) is not None,
            "dig -y with the known key: a signed answer that dig verifies")
    out = dig(srv.port, "-y", f"hmac-sha256:nokey:{KEY}")
    f.check("status: NOTAUTH" in out and "BADKEY" in out, "an unknown key: NOTAUTH, BADKEY")
    out = dig(srv.port, "-y", f"hmac-sha256:k1:{OTHER_KEY}")
    f.check("status: NOTAUTH" in out and "BADSIG" in out, "a wrong secret: NOTAUTH, BADSIG")
    out = dig(srv.port, "+tcp", "-y", f"hmac-sha256:k1:{KEY}")
    f.check("status: NOERROR" in out and "Couldn't verify" not in out, "signed over TCP too")
    keyring = dns.tsigkeyring.from_text({"k1.": ("hmac-sha256", KEY)})
    m = dns.message.make_query("www.pool.example.", "A")
    m.use_tsig(keyring, "k1.")
    with mock.patch("time.time", return_value=time.time() - 3600):
        wire = m.to_wire()
    try:
        reply = dns.message.from_wire(_udp_bytes(srv.port, wire), keyring=keyring,
                                      request_mac=m.mac)
        f.check(False, f"a query signed an hour ago: BADTIME (got {dns.rcode.to_text(reply.rcode())})")
    except dns.tsig.PeerBadTime:
        f.check(True, "a query signed an hour ago: NOTAUTH, BADTIME, signed")
    f.check(metric(hport, "mirrorpool_tsig_queries_total", result="bad_time") == 1 and
            metric(hport, "mirrorpool_tsig_queries_total", result="bad_key") == 1,
            "TSIG outcomes are counted")


def _udp_bytes(port, wire):
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
        s.settimeout(3)
        s.sendto(wire, ("127.0.0.1", port))
        return s.recv(65535)


def check_nsid(f, srv, hport):
    out = kdig(srv.port, "+nsid")[2]
    f.check('"mp-x"' in out, "kdig +nsid: the configured NSID")
    out = dig(srv.port, "+nsid")
    f.check("NSID: 6d 70 2d 78" in out or '("mp-x")' in out, "dig +nsid: the configured NSID")
    f.check("NSID" not in kdig(srv.port)[2], "not asked, not sent")
    f.check(metric(hport, "mirrorpool_nsid_requests_total") == 2, "NSID requests are counted")


def check_large(f, srv):
    for size in (8000, 60000):
        wire = raw_query(option(65001, b"\x00" * (size - 45)))
        udp = udp_raw(srv.port, wire)
        tcp = tcp_raw(srv.port, wire)
        same = (udp is not None and udp.rcode() == tcp.rcode() and
                sorted(r.to_text() for r in udp.answer) == sorted(r.to_text() for r in tcp.answer))
        f.check(same and len(tcp.answer) == 1, f"a {len(wire)}-byte UDP query gets TCP's answer")


def main():
    f = Failures()
    hport = free_port()
    with Server(config(hport, "mp-x", f'cookie_secret = "{SECRET}"'),
                {"pool.example.zone": ZONE}) as srv:
        cookie = check_cookies(f, srv, hport)
        check_nsid(f, srv, hport)
        check_tsig(f, srv, hport)
        check_large(f, srv)
        check_rrl_exemption(f, srv, hport)
    if cookie is not None:
        check_shared_secret(f, cookie, free_port(), SECRET)
        check_other_secret(f, cookie, free_port())
    f.finish()


if __name__ == "__main__":
    main()
