"""Nearest-mirror answers on the real binary (mirrorpool.toml(5) [server.geo],
`geo` in [[pool]]): clients placed by EDNS Client Subnet (RFC 7871) or by
their source address in a test geo database (tests/geo/write_mmdb.pl), fake
mirrors on 127.0.1.x placed by the config or by the same database.

- nearest: exactly the nearest with max_answers = 1, rank by distance,
  geo_margin_km, failover to the next nearest and back, weights in the first
  rank (10k queries);
- country: country, else continent, else everyone;
- unknown clients get the ordinary weighted answer; drained and weight 0
  mirrors never appear;
- ECS echo (family, source, address; scope = the deciding network, never
  longer than the source; 0 when the answer does not depend on the client),
  no option without one in the query or with ecs = false, FORMERR for a
  malformed option;
- the query's source address when there is no ECS; [[server.geo.net]]
  overrides (longest prefix); a changed database read again on reload, a
  corrupt one refused while the old one keeps serving.
"""

import collections
import os
import shutil
import signal
import socket
import struct
import subprocess
import tempfile
import time

import dns.dnssec
import dns.message
import dns.name
import dns.rdataclass
import dns.rdatatype
import dns.edns
import dns.exception
import dns.message
import dns.rcode

from failover import POLL_S, bound_s
from fake_mirror import FakeMirror
from geo import (AMSTERDAM, BERLIN, FRANKFURT, NEW_YORK, PARIS, ROME, SAN_FRANCISCO, SYDNEY,
                 TOKYO, VIENNA, ecs_bytes, ecs_of, exchange, header_rcode,
                 location, make_query, write_database)
from harness import Failures, Server, addresses, free_port, rcode, wait_until

CTL = os.environ.get("MIRRORPOOLCTL", "mirrorpoolctl")

INTERVAL, TIMEOUT, RISE, FALL = 0.5, 0.3, 2, 2
DOWN_BOUND = bound_s(INTERVAL, FALL, TIMEOUT)
UP_BOUND = bound_s(INTERVAL, RISE, TIMEOUT)

ZONE = """$ORIGIN pool.example.
$TTL 3600
@   IN SOA ns1 hostmaster 1 3600 900 604800 300
@   IN NS  ns1
ns1 IN A   127.0.0.53
www IN A   192.0.2.80
"""

# Clients. Every network's neighbour (the other half of the next shorter
# prefix) is either absent or holds another place, so that the database
# network of a client is exactly the prefix written here.
CLIENT_NETS = {
    "192.0.2.0/24": FRANKFURT,
    "198.51.100.0/24": SAN_FRANCISCO,
    "203.0.113.0/24": TOKYO,
    "2001:db8:1::/48": FRANKFURT,
    "2001:db8:2::/48": SAN_FRANCISCO,
    "127.0.2.0/24": PARIS,
    "127.0.3.0/24": NEW_YORK,
}
# Mirrors placed by the database: one /28 per place, the mirrors of the
# different pools at consecutive addresses in it.
MIRROR_BLOCKS = {"ams": (16, AMSTERDAM), "sfo": (32, SAN_FRANCISCO), "tyo": (48, TOKYO),
                 "vie": (64, VIENNA), "par": (80, PARIS), "ber": (96, BERLIN)}
# Mirrors placed by the config live in 127.0.1.192/26, which the database
# puts in Sydney: the config must win over the database.
CONFIG_BLOCK = 192
MIRROR_NETS = {f"127.0.1.{base}/28": rec for base, rec in MIRROR_BLOCKS.values()}
MIRROR_NETS[f"127.0.1.{CONFIG_BLOCK}/26"] = SYDNEY
DATABASE = {**CLIENT_NETS, **MIRROR_NETS}

FRA_ECS, SFO_ECS, TYO_ECS = ("192.0.2.0", 24), ("198.51.100.0", 24), ("203.0.113.0", 24)
FRA6_ECS, SFO6_ECS = ("2001:db8:1::", 48), ("2001:db8:2::", 48)
PARIS_SOURCE, NEW_YORK_SOURCE = "127.0.2.5", "127.0.3.5"
UNKNOWN_ECS = ("10.1.2.0", 24)


class Mirrors:
    """Hands out mirror addresses: by the database (the next free address in
    a place's /28) or by the config (the next in 127.0.1.192/26)."""

    def __init__(self):
        self.used = collections.Counter()
        self.all = {}  # id -> address

    def by_database(self, mid, block, **keys):
        base, _ = MIRROR_BLOCKS[block]
        self.used[block] += 1
        return self._add(mid, f"127.0.1.{base + self.used[block]}", keys)

    def by_config(self, mid, **keys):
        self.used["config"] += 1
        return self._add(mid, f"127.0.1.{CONFIG_BLOCK + self.used['config']}", keys)

    def _add(self, mid, address, keys):
        assert mid not in self.all
        self.all[mid] = address
        return (mid, address, keys)


M = Mirrors()

# pool name -> (pool keys, mirrors); mirror keys are written as they are.
POOLS = {
    "near1": ({"geo": '"nearest"', "max_answers": 1}, [
        M.by_config("n1-fra", location=location(FRANKFURT), country='"DE"'),
        M.by_database("n1-ams", "ams"),
        M.by_database("n1-par", "par"),
        M.by_database("n1-sfo", "sfo"),
        M.by_config("n1-nyc", location=location(NEW_YORK)),
        M.by_config("n1-tyo", location=location(TOKYO)),
    ]),
    "near2": ({"geo": '"nearest"', "max_answers": 2}, [
        M.by_config("n2-fra", location=location(FRANKFURT)),
        M.by_database("n2-ams", "ams"),   # 364 km from Frankfurt
        M.by_database("n2-vie", "vie"),   # 597 km
        M.by_database("n2-sfo", "sfo"),
        M.by_config("n2-nyc", location=location(NEW_YORK)),
    ]),
    "margin": ({"geo": '"nearest"', "max_answers": 1, "geo_margin_km": 700}, [
        M.by_config("mg-fra", location=location(FRANKFURT)),
        M.by_database("mg-ams", "ams"),
        M.by_database("mg-vie", "vie"),
        M.by_config("mg-rome", location=location(ROME)),  # 959 km: outside
        M.by_config("mg-nyc", location=location(NEW_YORK)),
    ]),
    "dist": ({"geo": '"nearest"', "max_answers": 1, "geo_margin_km": 500}, [
        M.by_config("ds-fra", location=location(FRANKFURT), weight=1),
        M.by_database("ds-ams", "ams", weight=3),
        M.by_database("ds-vie", "vie", weight=20),  # 597 km: outside the margin
        M.by_config("ds-nyc", location=location(NEW_YORK), weight=20),
    ]),
    "country": ({"geo": '"country"', "max_answers": 8}, [
        M.by_config("c-de1", country='"DE"'),  # in the database's Sydney: config wins
        M.by_database("c-de2", "ber"),
        M.by_database("c-fr", "par"),
        M.by_config("c-us", country='"US"'),
        M.by_database("c-jp", "tyo"),
    ]),
    "drain": ({"geo": '"nearest"', "max_answers": 1}, [
        M.by_config("d-fra", location=location(FRANKFURT), weight=0),
        M.by_database("d-ams", "ams"),
        M.by_database("d-par", "par"),
        M.by_config("d-nyc", location=location(NEW_YORK)),
    ]),
    "off": ({"geo": '"off"', "max_answers": 8}, [
        M.by_database("o-ams", "ams"),
        M.by_config("o-nyc", location=location(NEW_YORK)),
    ]),
}
A = M.all  # id -> address


def fqdn(pool):
    return f"{pool}.pool.example."


def config(mport, database, geo_extra="", pools=POOLS):
    text = f"""
[server]
listen = ["127.0.0.1:{{port}}"]
workers = 1
control_socket = "{{dir}}/control.sock"
state_dir = "{{dir}}/state"
user = "root"

[server.geo]
database = "{database}"
{geo_extra}

[[zone]]
origin = "pool.example."
file = "pool.example.zone"
"""
    for name, (keys, mirrors) in pools.items():
        text += f'\n[[pool]]\nname = "{fqdn(name)}"\nttl = 30\n'
        text += "".join(f"{k} = {v}\n" for k, v in keys.items())
        text += f"""[pool.check]
type = "http"
port = {mport}
path = "/"
expect_body = "ok"
interval = "{int(INTERVAL * 1000)}ms"
timeout = "{int(TIMEOUT * 1000)}ms"
rise = {RISE}
fall = {FALL}
"""
        for mid, address, mkeys in mirrors:
            text += f'[[pool.mirror]]\nid = "{mid}"\naddresses = ["{address}"]\n'
            text += "".join(f"{k} = {v}\n" for k, v in mkeys.items())
    return text


def ask(srv, pool, ecs=None, tcp=False, source="127.0.0.1", rdtype="A"):
    """(reply, reply bytes) for a query with an optional ECS option."""
    name = fqdn(pool) if "." not in pool else pool
    return exchange(make_query(name, rdtype, ecs), srv.port, tcp=tcp, source=source)


def answer(srv, pool, ecs=None, tcp=False, source="127.0.0.1"):
    return readable(*ask(srv, pool, ecs, tcp, source))


def readable(reply, wire):
    """The answer's addresses; a reply dnspython cannot read shows as such."""
    return addresses(reply) if reply is not None else {f"unreadable reply {wire.hex()}"}


def ids(addrs):
    """Mirror ids of a set of addresses, for readable failure messages."""
    back = {a: m for m, a in A.items()}
    return sorted(back.get(a, a) for a in addrs)


def answers_over(srv, pool, ecs, count, source="127.0.0.1"):
    """The union of `count` answers, half over UDP and half over TCP."""
    seen = collections.Counter()
    for i in range(count):
        for a in answer(srv, pool, ecs, tcp=bool(i % 2), source=source):
            seen[a] += 1
    return seen


def until_answer(srv, pool, ecs, want, limit_s, source="127.0.0.1"):
    """Seconds until the answer (polled every 20 ms) is the set `want`; None
    if not within limit_s."""
    start = time.monotonic()
    while time.monotonic() - start < limit_s:
        if answer(srv, pool, ecs, source=source) == want:
            return time.monotonic() - start
        time.sleep(POLL_S)
    return None


def wait_quietly(predicate, limit_s):
    """True once predicate() holds, False if not within limit_s."""
    deadline = time.monotonic() + limit_s
    while time.monotonic() < deadline:
        if predicate():
            return True
        time.sleep(0.05)
    return False


def ctl(srv, *args):
    p = subprocess.run([CTL, "-s", os.path.join(srv.dir, "control.sock"), *args],
                       capture_output=True, text=True, timeout=30)
    return p.returncode, p.stdout, p.stderr


# --- the cases ----------------------------------------------------------------

def check_nearest(f, srv):
    for tcp in (False, True):
        via = "TCP" if tcp else "UDP"
        for ecs, want, who in ((FRA_ECS, "n1-fra", "Frankfurt"), (SFO_ECS, "n1-sfo", "San Francisco"),
                               (TYO_ECS, "n1-tyo", "Tokyo"), (FRA6_ECS, "n1-fra", "Frankfurt (IPv6 ECS)"),
                               (SFO6_ECS, "n1-sfo", "San Francisco (IPv6 ECS)")):
            seen = {a for _ in range(5) for a in answer(srv, "near1", ecs, tcp)}
            f.check(seen == {A[want]}, f"{via} nearest, max_answers 1: a client in {who} gets "
                                       f"exactly {want} ({ids(seen)})")
        got = answer(srv, "near2", FRA_ECS, tcp)
        f.check(got == {A["n2-fra"], A["n2-ams"]},
                f"{via} rank by distance, max_answers 2: Frankfurt gets fra and ams ({ids(got)})")
        got = answer(srv, "near2", SFO_ECS, tcp)
        f.check(got == {A["n2-sfo"], A["n2-nyc"]},
                f"{via} rank by distance, max_answers 2: San Francisco gets sfo and nyc "
                f"({ids(got)})")
    seen = answers_over(srv, "margin", FRA_ECS, 90)
    f.check(set(seen) == {A["mg-fra"], A["mg-ams"], A["mg-vie"]},
            f"geo_margin_km 700: Frankfurt gets fra, ams (364 km) and vie (597 km), "
            f"never rome (959 km) or nyc ({dict(zip(ids(seen), seen.values()))})")


def check_failover(f, srv, mirrors):
    fra = mirrors[A["n1-fra"]]
    fra.close_listener()
    gone = until_answer(srv, "near1", FRA_ECS, {A["n1-ams"]}, DOWN_BOUND + 3)
    f.check(gone is not None and gone <= DOWN_BOUND,
            f"nearest mirror killed: Frankfurt gets the next nearest (ams) after "
            f"{gone and round(gone, 2)}s (bound {DOWN_BOUND:.2f}s)")
    f.check(answer(srv, "near1", SFO_ECS, tcp=True) == {A["n1-sfo"]},
            "meanwhile San Francisco still gets sfo")
    fra.start()
    back = until_answer(srv, "near1", FRA_ECS, {A["n1-fra"]}, UP_BOUND + 3)
    f.check(back is not None and back <= UP_BOUND,
            f"repaired: Frankfurt gets fra again after {back and round(back, 2)}s "
            f"(bound {UP_BOUND:.2f}s)")


def check_country(f, srv, mirrors):
    de, eu_other = {A["c-de1"], A["c-de2"]}, {A["c-fr"]}
    rest = {A["c-us"], A["c-jp"]}
    everyone = de | eu_other | rest
    for tcp in (False, True):
        via = "TCP" if tcp else "UDP"
        for ecs, want, who in ((FRA_ECS, de, "DE"), (SFO_ECS, {A["c-us"]}, "US"),
                               (TYO_ECS, {A["c-jp"]}, "JP"), (("127.0.2.0", 24), eu_other, "FR"),
                               (FRA6_ECS, de, "DE (IPv6 ECS)"), (UNKNOWN_ECS, everyone, "no place")):
            got = answer(srv, "country", ecs, tcp)
            f.check(got == want, f"{via} geo = country: a client in {who} gets {ids(want)} "
                                 f"({ids(got)})")
    for mid in ("c-de1", "c-de2"):
        mirrors[A[mid]].status(503)
    took = until_answer(srv, "country", FRA_ECS, eu_other, DOWN_BOUND + 3)
    f.check(took is not None, f"DE mirrors down: a client in DE gets the other EU mirror "
                              f"(continent) after {took and round(took, 2)}s")
    f.check(answer(srv, "country", SFO_ECS, tcp=True) == {A["c-us"]}, "meanwhile US gets c-us")
    mirrors[A["c-fr"]].status(503)
    took = until_answer(srv, "country", FRA_ECS, rest, DOWN_BOUND + 3)
    f.check(took is not None, f"no EU mirror up: a client in DE gets everyone healthy "
                              f"({ids(answer(srv, 'country', FRA_ECS))})")
    got = answer(srv, "country", ("127.0.2.0", 24), tcp=True)
    f.check(got == rest, f"no EU mirror up: a client in FR gets everyone healthy ({ids(got)})")
    for mid in ("c-de1", "c-de2", "c-fr"):
        mirrors[A[mid]].ok()
    took = until_answer(srv, "country", FRA_ECS, de, UP_BOUND + 3)
    f.check(took is not None, "DE mirrors repaired: a client in DE gets them again")


def check_unknown_drain_weight(f, srv):
    near1 = {a for mid, a in A.items() if mid.startswith("n1-")}
    seen = answers_over(srv, "near1", UNKNOWN_ECS, 120)
    f.check(set(seen) == near1, f"a client not in the database (10.1.2.0/24) gets the ordinary "
                                f"weighted answer: every healthy mirror over 120 queries "
                                f"({ids(seen)})")
    seen = answers_over(srv, "near1", None, 120)
    f.check(set(seen) == near1, f"no ECS from 127.0.0.1 (not in the database): every healthy "
                                f"mirror ({ids(seen)})")

    seen = answers_over(srv, "drain", FRA_ECS, 20)
    f.check(set(seen) == {A["d-ams"]},
            f"weight 0 never answered, though nearest: Frankfurt gets ams ({ids(seen)})")
    rc, out, err = ctl(srv, "drain", "d-ams", "--pool", fqdn("drain"), "--note", "geo test",
                       "--force")
    f.check(rc == 0, f"mirrorpoolctl drain d-ams: exit {rc} {err.strip()}")
    seen = answers_over(srv, "drain", FRA_ECS, 20)
    f.check(set(seen) == {A["d-par"]},
            f"drained never answered, though nearest: Frankfurt gets par ({ids(seen)})")
    seen = answers_over(srv, "drain", UNKNOWN_ECS, 60)
    f.check(set(seen) == {A["d-par"], A["d-nyc"]},
            f"nor to an unknown client ({ids(seen)})")
    rc, _, err = ctl(srv, "undrain", "d-ams", "--pool", fqdn("drain"))
    f.check(rc == 0 and answer(srv, "drain", FRA_ECS) == {A["d-ams"]},
            f"undrained: Frankfurt gets ams again ({err.strip()})")


def dist_shares(f, srv):
    """10k UDP queries from Frankfurt on one socket: first rank fra (weight 1)
    and ams (weight 3) within 500 km; vie (597 km) and nyc never."""
    msg = make_query(fqdn("dist"), "A", FRA_ECS)
    wire = bytearray(msg.to_wire())
    counts = collections.Counter()
    deadline = time.monotonic() + 60
    total = 10000
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
        s.settimeout(2.0)
        s.connect(("127.0.0.1", srv.port))
        for i in range(total):
            if time.monotonic() > deadline:
                break
            struct.pack_into("!H", wire, 0, i & 0xFFFF)
            s.send(wire)
            while True:
                reply = s.recv(2048)
                if reply[:2] == wire[:2]:
                    break
            try:
                counts[frozenset(addresses(dns.message.from_wire(reply)))] += 1
            except dns.exception.DNSException:
                counts[frozenset({"unreadable"})] += 1
    done = sum(counts.values())
    f.check(done == total, f"distribution: {done} of {total} queries answered within 60 s")
    fra = counts[frozenset({A["ds-fra"]})] / max(done, 1)
    ams = counts[frozenset({A["ds-ams"]})] / max(done, 1)
    other = {tuple(ids(k)): v for k, v in counts.items()
             if k not in (frozenset({A["ds-fra"]}), frozenset({A["ds-ams"]}))}
    f.check(abs(fra - 0.25) <= 0.02 and abs(ams - 0.75) <= 0.02 and not other,
            f"distribution in the first rank by weight 1:3: fra {fra:.3f}, ams {ams:.3f} "
            f"(want 0.25/0.75 ±0.02), nothing else ({other})")


def check_ecs_echo(f, srv):
    for tcp in (False, True):
        via = "TCP" if tcp else "UDP"
        cases = [
            # (what, pool or name, ecs (address, source), rdtype, want scope: int or callable)
            ("IPv4 /24 in a /24 network", "near1", FRA_ECS, "A", lambda s: s == 24),
            ("IPv4 /32, cut to 24", "near1", ("192.0.2.77", 32), "A", lambda s: 0 < s <= 24),
            ("IPv4 /24 from the source address network", "near1", ("127.0.3.0", 24), "A",
             lambda s: s == 24),
            ("IPv6 /48 in a /48 network", "near1", FRA6_ECS, "A", lambda s: s == 48),
            ("IPv6 /56 in a /48 network", "near1", ("2001:db8:1:ab00::", 56), "A",
             lambda s: s == 48),
            ("IPv6 /64, cut to 56", "near1", ("2001:db8:2:ab::", 64), "A",
             lambda s: 0 < s <= 56),
            # The weighted answer of an unknown client still depends on the
            # client being unknown: scope 0 would let a resolver give it to
            # every client of the family.
            ("IPv4 /24 not in the database", "near1", UNKNOWN_ECS, "A", lambda s: 0 < s <= 24),
            ("source /0", "near1", ("0.0.0.0", 0), "A", lambda s: s == 0),
            ("geo = country", "country", FRA_ECS, "A", lambda s: 0 < s <= 24),
            ("a static record", "www.pool.example.", FRA_ECS, "A", lambda s: s == 0),
            ("the zone apex SOA", "pool.example.", FRA_ECS, "SOA", lambda s: s == 0),
            ("NXDOMAIN", "nope.pool.example.", FRA_ECS, "A", lambda s: s == 0),
            ("NODATA at a geo pool", "near1", FRA_ECS, "TXT", lambda s: s == 0),
            ("a pool with geo = off", "off", FRA_ECS, "A", lambda s: s == 0),
        ]
        for what, pool, (address, source), rdtype, scope_ok in cases:
            reply, wire = ask(srv, pool, (address, source), tcp, rdtype=rdtype)
            got = ecs_of(wire)
            sent = ecs_bytes(address, source)
            ok = (got is not None and got[0] == struct.unpack("!H", sent[:2])[0]
                  and got[1] == source and got[3] == sent[4:] and scope_ok(got[2]))
            f.check(ok, f"{via} ECS echo, {what}: family, source and address echoed, scope "
                        f"fits ({got and got[:3]}, {rcode(reply) if reply else '?'})")
        for what, name, rdtype in (("a geo pool", fqdn("near1"), "A"),
                                   ("a static record", "www.pool.example.", "A")):
            reply, wire = exchange(make_query(name, rdtype), srv.port, tcp=tcp)
            f.check(reply is not None and reply.edns == 0 and ecs_of(wire) is None,
                    f"{via} no ECS in the query, {what}: none in the reply (OPT still there)")

        malformed = [
            ("SCOPE != 0 in a query", ecs_bytes("192.0.2.0", 24, scope=24)),
            ("source prefix 33 for IPv4", ecs_bytes("192.0.2.0", 33,
                                                   raw_address=bytes([192, 0, 2, 0, 0]))),
            ("source prefix 129 for IPv6", ecs_bytes("2001:db8:1::", 129,
                                                    raw_address=bytes(17))),
            ("address longer than the prefix needs", ecs_bytes("192.0.2.0", 24,
                                                               raw_address=bytes([192, 0, 2, 0]))),
            ("address shorter than the prefix needs", ecs_bytes("192.0.2.0", 24,
                                                                raw_address=bytes([192, 0]))),
            ("bits set past the prefix", ecs_bytes("192.0.2.0", 20)),  # 192.0.2/20: the 2
            ("family 3", ecs_bytes("192.0.2.0", 24, family=3)),
            ("option shorter than its fixed part", b"\x00\x01\x18"),
        ]
        for what, data in malformed:
            msg = make_query(fqdn("near1"), "A", dns.edns.GenericOption(8, data))
            _, wire = exchange(msg, srv.port, tcp=tcp)
            f.check(header_rcode(wire) == dns.rcode.FORMERR,
                    f"{via} malformed ECS ({what}): FORMERR (got "
                    f"{dns.rcode.to_text(header_rcode(wire))})")


def check_source_address(f, srv):
    for tcp in (False, True):
        via = "TCP" if tcp else "UDP"
        for source, want, who in ((PARIS_SOURCE, "n1-par", "Paris"),
                                  (NEW_YORK_SOURCE, "n1-nyc", "New York")):
            reply, wire = ask(srv, "near1", None, tcp, source=source)
            got = readable(reply, wire)
            f.check(got == {A[want]} and ecs_of(wire) is None,
                    f"{via} no ECS, source {source} ({who}): {want}, no ECS option in the "
                    f"reply ({ids(got)})")
        reply, wire = ask(srv, "near1", FRA_ECS, tcp, source=NEW_YORK_SOURCE)
        got = readable(reply, wire)
        f.check(got == {A["n1-fra"]} and ecs_of(wire) is not None,
                f"{via} ECS from Frankfurt via a resolver in New York: the ECS address decides "
                f"({ids(got)})")


def check_reload(f, srv, geo_dir):
    moved = dict(DATABASE)
    moved["192.0.2.0/24"] = NEW_YORK  # from Europe to North America
    write_database(moved, geo_dir)
    rc, out, err = ctl(srv, "reload")
    f.check(rc == 0, f"mirrorpoolctl reload with a changed database: exit {rc} {err.strip()}")
    got = {a for _ in range(5) for a in answer(srv, "near1", FRA_ECS)}
    f.check(got == {A["n1-nyc"]}, f"after the reload 192.0.2.0/24 is in New York: nyc ({ids(got)})")
    got = answer(srv, "near1", SFO_ECS, tcp=True)
    f.check(got == {A["n1-sfo"]}, f"and San Francisco still gets sfo ({ids(got)})")

    database = os.path.join(geo_dir, "geo.mmdb")
    with open(database + ".new", "wb") as out_file:
        out_file.write(os.urandom(3000) + b"not an MMDB file\n")
    os.rename(database + ".new", database)
    log_before = len(srv.log())
    rc, out, err = ctl(srv, "reload")
    f.check(rc != 0, f"reload with a corrupt database fails: exit {rc} ({err.strip()})")
    f.check("geo.mmdb" in err or "geo.mmdb" in srv.log()[log_before:],
            "the failed reload names the database (mirrorpoolctl or the log)")
    got = {a for _ in range(5) for a in answer(srv, "near1", FRA_ECS, tcp=True)}
    f.check(got == {A["n1-nyc"]}, f"the old database keeps serving ({ids(got)})")
    log_before = len(srv.log())
    srv.signal(signal.SIGHUP)
    # The daemon logs "reload failed" (as for a broken config); wait for it,
    # so that the answer below comes after the reload attempt.
    failed = wait_quietly(lambda: "reload failed" in srv.log()[log_before:], 5)
    got = answer(srv, "near1", FRA_ECS)
    f.check(failed and srv.proc.poll() is None and got == {A["n1-nyc"]},
            f"SIGHUP with the corrupt database: the reload fails (logged: {failed}), the old "
            f"database keeps serving ({ids(got)})")

    write_database(DATABASE, geo_dir)
    srv.signal(signal.SIGHUP)
    back = until_answer(srv, "near1", FRA_ECS, {A["n1-fra"]}, 5)
    f.check(back is not None, "the good database again, SIGHUP: Frankfurt gets fra again")


def check_overrides(f, mport, geo_dir):
    """ecs_max_prefix_v4 = 32 so that a /25 override can decide an answer."""
    pools = {"near1": POOLS["near1"]}
    extra = f"""ecs_max_prefix_v4 = 32

[[server.geo.net]]
prefix = "198.51.100.128/25"
country = "DE"
location = {location(FRANKFURT)}

[[server.geo.net]]
prefix = "10.9.0.0/16"
location = {location(TOKYO)}
"""
    database = os.path.join(geo_dir, "geo.mmdb")
    with Server(config(mport, database, extra, pools), {"pool.example.zone": ZONE}) as srv:
        wait_until(lambda: answer(srv, "near1", SFO_ECS) == {A["n1-sfo"]}, UP_BOUND + 3,
                   "the override server's first answers")
        for tcp in (False, True):
            via = "TCP" if tcp else "UDP"
            for ecs, want, scope_ok, what in (
                    (("198.51.100.130", 32), "n1-fra", lambda s: s == 25,
                     "an override /25 inside the database's /24 wins"),
                    (("198.51.100.128", 25), "n1-fra", lambda s: s == 25,
                     "the override's own /25"),
                    (("10.9.8.7", 32), "n1-tyo", lambda s: s == 16,
                     "an override outside the database"),
                    # The other half of the /24: the database decides, but a
                    # scope of 24 would hand its answer to the override's half
                    # in a resolver's cache.
                    (("198.51.100.5", 32), "n1-sfo", lambda s: s >= 25 and s <= 32,
                     "the database's /24 beside the override (scope must not cover it)"),
                    (("192.0.2.77", 32), "n1-fra", lambda s: s == 24,
                     "a /32 source in a /24 network with ecs_max_prefix_v4 = 32")):
                reply, wire = ask(srv, "near1", ecs, tcp)
                got, opt = readable(reply, wire), ecs_of(wire)
                f.check(got == {A[want]} and opt is not None and scope_ok(opt[2]),
                        f"{via} [[server.geo.net]]: {what}: {want} ({ids(got)}, scope "
                        f"{opt and opt[2]})")


def check_ecs_off(f, mport, geo_dir):
    pools = {"near1": POOLS["near1"]}
    database = os.path.join(geo_dir, "geo.mmdb")
    with Server(config(mport, database, "ecs = false", pools), {"pool.example.zone": ZONE}) as srv:
        wait_until(lambda: answer(srv, "near1", None, source=NEW_YORK_SOURCE) == {A["n1-nyc"]},
                   UP_BOUND + 3, "the ecs = false server's first answers")
        for tcp in (False, True):
            via = "TCP" if tcp else "UDP"
            for source, want in ((NEW_YORK_SOURCE, "n1-nyc"), (PARIS_SOURCE, "n1-par")):
                reply, wire = ask(srv, "near1", FRA_ECS, tcp, source=source)
                got = readable(reply, wire)
                f.check(got == {A[want]} and ecs_of(wire) is None,
                        f"{via} ecs = false: ECS from Frankfurt ignored, the source {source} "
                        f"decides ({ids(got)}), no ECS in the reply")


def check_signed(f, mport, database):
    """A signed zone (dnssec = true): DO=1 answers of geo pools come from the
    sets signed per first tier, so validating resolvers' clients still get
    their nearest mirrors, each answer with an RRSIG that validates."""
    pools = {name: POOLS[name] for name in ("near1", "near2", "margin", "country")}
    text = config(mport, database, pools=pools).replace(
        'file = "pool.example.zone"\n', 'file = "pool.example.zone"\ndnssec = true\n', 1)
    with Server(text, {"pool.example.zone": ZONE}) as srv:
        keys = dns.message.make_query("pool.example.", "DNSKEY", want_dnssec=True)
        keys = exchange(keys, srv.port, tcp=True)[0].find_rrset(
            dns.message.ANSWER, dns.name.from_text("pool.example."), dns.rdataclass.IN,
            dns.rdatatype.DNSKEY)
        keyring = {dns.name.from_text("pool.example."): keys}

        def signed_answer(pool, ecs):
            msg = make_query(fqdn(pool), "A", ecs)
            msg.want_dnssec(True)
            reply = exchange(msg, srv.port)[0]
            rrset = next((r for r in reply.answer if r.rdtype == dns.rdatatype.A), None)
            sig = next((r for r in reply.answer if r.rdtype == dns.rdatatype.RRSIG), None)
            if rrset is None or sig is None:
                return None
            try:
                dns.dnssec.validate(rrset, sig, keyring)
            except dns.dnssec.ValidationFailure:
                return None
            return {rr.address for rr in rrset}

        wait_until(lambda: signed_answer("country", UNKNOWN_ECS) is not None, UP_BOUND + 3,
                   "signed answers")
        wait_until(lambda: signed_answer("country", UNKNOWN_ECS) ==
                   {a for mid, a in A.items() if mid.startswith("c-")}, UP_BOUND + 3,
                   "every mirror up")
        for pool, ecs, want, who in (
                ("near1", FRA_ECS, {A["n1-fra"]}, "Frankfurt"),
                ("near1", SFO_ECS, {A["n1-sfo"]}, "San Francisco"),
                ("near1", TYO_ECS, {A["n1-tyo"]}, "Tokyo"),
                ("near2", FRA_ECS, {A["n2-fra"], A["n2-ams"]}, "Frankfurt"),
                ("near2", SFO_ECS, {A["n2-sfo"], A["n2-nyc"]}, "San Francisco"),
                ("country", FRA_ECS, {A["c-de1"], A["c-de2"]}, "DE"),
                ("country", SFO_ECS, {A["c-us"]}, "US")):
            seen = [signed_answer(pool, ecs) for _ in range(5)]
            f.check(all(s == want for s in seen),
                    f"signed {pool}: a client in {who} gets {ids(want)}, validated ({seen[0]})")
        seen = set()
        for _ in range(60):
            seen |= signed_answer("margin", FRA_ECS) or {"unsigned or bogus"}
        f.check(seen == {A["mg-fra"], A["mg-ams"], A["mg-vie"]},
                f"signed margin: Frankfurt gets fra, ams and vie, validated ({ids(seen)})")


def main():
    f = Failures()
    mport = free_port()
    geo_dir = tempfile.mkdtemp(prefix="mirrorpool-geo-")
    mirrors = {a: FakeMirror(a, mport).start() for a in A.values()}
    started = time.monotonic()
    try:
        database = write_database(DATABASE, geo_dir)
        with Server(config(mport, database), {"pool.example.zone": ZONE}) as srv:
            everyone = {a for mid, a in A.items() if mid.startswith("c-")}
            wait_until(lambda: answer(srv, "country", UNKNOWN_ECS) == everyone, UP_BOUND + 3,
                       "every mirror up")
            check_nearest(f, srv)
            check_ecs_echo(f, srv)
            check_source_address(f, srv)
            check_unknown_drain_weight(f, srv)
            check_failover(f, srv, mirrors)
            check_country(f, srv, mirrors)
            dist_shares(f, srv)
            check_reload(f, srv, geo_dir)
            f.check(srv.stop() == 0, "clean stop")
        check_overrides(f, mport, geo_dir)
        check_ecs_off(f, mport, geo_dir)
        check_signed(f, mport, database)
    finally:
        for m in mirrors.values():
            m.stop()
        shutil.rmtree(geo_dir, ignore_errors=True)
    print(f"geo_test took {time.monotonic() - started:.1f}s", flush=True)
    f.finish()


if __name__ == "__main__":
    main()
