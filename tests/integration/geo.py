"""Test geo databases and ECS (RFC 7871) options for the nearest-mirror tests.

    db = write_database({"192.0.2.0/24": FRANKFURT, "127.0.3.0/24": NEW_YORK}, directory)
    msg = ecs_query("dl.pool.example.", "A", "192.0.2.0", 24)
    opt = ecs_of(response)      # (family, source, scope, address bytes) or None

The database is written by tests/geo/write_mmdb.pl (libmaxmind-db-writer-perl)
in the GeoLite2-City schema; the records here are the few keys mirrorpool
reads. The ECS helpers build and read the option bytes themselves, so that a
test can send malformed options dnspython would refuse to build.
"""

import ipaddress
import json
import math
import os
import socket
import struct
import subprocess
import tempfile

import dns.edns
import dns.exception
import dns.flags
import dns.message

SOURCE_ROOT = os.environ.get("SOURCE_ROOT") or os.path.dirname(os.path.dirname(os.path.dirname(
    os.path.abspath(__file__))))
WRITER = os.path.join(SOURCE_ROOT, "tests", "geo", "write_mmdb.pl")

ECS_CODE = 8  # EDNS option code of Client Subnet


def place(country, continent, latitude, longitude, city=None):
    """A GeoLite2-City record."""
    record = {"country": {"iso_code": country}, "continent": {"code": continent},
              "location": {"latitude": float(latitude), "longitude": float(longitude)}}
    if city:
        record["city"] = {"names": {"en": city}}
    return record


FRANKFURT = place("DE", "EU", 50.11, 8.68, "Frankfurt")
BERLIN = place("DE", "EU", 52.52, 13.40, "Berlin")
PARIS = place("FR", "EU", 48.86, 2.35, "Paris")
AMSTERDAM = place("NL", "EU", 52.37, 4.90, "Amsterdam")
VIENNA = place("AT", "EU", 48.21, 16.37, "Vienna")
ROME = place("IT", "EU", 41.90, 12.50, "Rome")
SAN_FRANCISCO = place("US", "NA", 37.77, -122.42, "San Francisco")
NEW_YORK = place("US", "NA", 40.71, -74.00, "New York")
TOKYO = place("JP", "AS", 35.68, 139.69, "Tokyo")
SYDNEY = place("AU", "OC", -33.87, 151.21, "Sydney")


def location(record):
    """[lat, lon] of a record, as a config's `location`."""
    return [record["location"]["latitude"], record["location"]["longitude"]]


def distance_km(a, b):
    """Great-circle distance between two records (or [lat, lon] pairs)."""
    (lat1, lon1), (lat2, lon2) = (location(x) if isinstance(x, dict) else x for x in (a, b))
    p1, p2 = math.radians(lat1), math.radians(lat2)
    dp, dl = p2 - p1, math.radians(lon2 - lon1)
    h = math.sin(dp / 2) ** 2 + math.cos(p1) * math.cos(p2) * math.sin(dl / 2) ** 2
    return 2 * 6371.0 * math.asin(math.sqrt(h))


def write_database(networks, directory=None, name="geo.mmdb"):
    """Writes {network: record} as an MMDB file in directory (a new temporary
    one if None); returns its path. Raises with the writer's output on error."""
    directory = directory or tempfile.mkdtemp(prefix="mirrorpool-geo-")
    path = os.path.join(directory, name)
    with tempfile.NamedTemporaryFile("w", suffix=".json", dir=directory, delete=False) as f:
        json.dump({"networks": networks}, f)
        description = f.name
    try:
        p = subprocess.run(["/usr/bin/perl", WRITER, "--quiet", "--json", description,
                            "--out", path], capture_output=True, text=True, timeout=60)
    finally:
        os.unlink(description)
    if p.returncode != 0:
        raise RuntimeError(f"write_mmdb.pl failed ({p.returncode}): {p.stderr}")
    return path


# --- EDNS Client Subnet -------------------------------------------------------

def ecs_bytes(address, source, scope=0, family=None, raw_address=None):
    """The option data: FAMILY, SOURCE PREFIX-LENGTH, SCOPE PREFIX-LENGTH,
    ADDRESS truncated to the prefix (RFC 7871 §6). raw_address overrides the
    address bytes, family the family number: for malformed options."""
    ip = ipaddress.ip_address(address)
    if family is None:
        family = 1 if ip.version == 4 else 2
    if raw_address is None:
        raw_address = ip.packed[:(source + 7) // 8]
    return struct.pack("!HBB", family, source, scope) + raw_address


def ecs_option(address, source, **kw):
    return dns.edns.GenericOption(ECS_CODE, ecs_bytes(address, source, **kw))


def make_query(name, rdtype="A", ecs=None, payload=1232, rd=False):
    """A query with EDNS, RD clear unless rd (for a resolver); ecs = (address,
    source) or an option."""
    msg = dns.message.make_query(name, rdtype)
    options = []
    if ecs is not None:
        options.append(ecs if isinstance(ecs, dns.edns.Option) else ecs_option(*ecs))
    msg.use_edns(0, payload=payload, options=options)
    if not rd:
        msg.flags &= ~dns.flags.RD
    return msg


def _skip_name(wire, i):
    while True:
        n = wire[i]
        if n == 0:
            return i + 1
        if n & 0xC0 == 0xC0:
            return i + 2
        i += 1 + n


def edns_options(wire):
    """[(code, data)] of the OPT record of a DNS message as sent (read from the
    bytes, not through dnspython, which would normalize an ECS option), or None
    when the message has no OPT record."""
    qd, an, ns, ar = struct.unpack("!HHHH", wire[4:12])
    i = 12
    for _ in range(qd):
        i = _skip_name(wire, i) + 4
    for n in range(an + ns + ar):
        i = _skip_name(wire, i)
        rtype, _, _, rdlen = struct.unpack("!HHIH", wire[i:i + 10])
        i += 10
        if rtype == 41 and n >= an + ns:
            options, j = [], i
            while j < i + rdlen:
                code, length = struct.unpack("!HH", wire[j:j + 4])
                options.append((code, bytes(wire[j + 4:j + 4 + length])))
                j += 4 + length
            return options
        i += rdlen
    return None


def ecs_of(wire):
    """(family, source, scope, address bytes) of the ECS option in a reply's
    bytes, or None; raises if there are several."""
    found = [data for code, data in edns_options(wire) or [] if code == ECS_CODE]
    if not found:
        return None
    if len(found) > 1:
        raise AssertionError(f"{len(found)} ECS options in one reply")
    family, source, scope = struct.unpack("!HBB", found[0][:4])
    return family, source, scope, found[0][4:]


def exchange(msg, port, tcp=False, source="127.0.0.1", host="127.0.0.1", timeout=2.0):
    """Sends a query (a dns.message or bytes) from `source` to host:port over
    UDP or TCP; returns (the parsed reply, its bytes); the parsed reply is
    None when dnspython cannot read it (a FORMERR echoing a malformed option).
    A UDP reply that is not for this query is an error, not something to wait
    past."""
    wire = msg if isinstance(msg, bytes) else msg.to_wire()
    with bound_socket(source, socket.SOCK_STREAM if tcp else socket.SOCK_DGRAM) as s:
        s.settimeout(timeout)
        if tcp:
            s.connect((host, port))
            s.sendall(struct.pack("!H", len(wire)) + wire)
            length = struct.unpack("!H", _recv_exactly(s, 2))[0]
            reply = _recv_exactly(s, length)
        else:
            s.sendto(wire, (host, port))
            reply = s.recv(65535)
    if reply[:2] != wire[:2]:
        raise AssertionError("a reply with another message ID")
    try:
        return dns.message.from_wire(reply), reply
    except dns.exception.DNSException:
        return None, reply


def header_rcode(wire):
    """The RCODE of the header (4 bits; enough for FORMERR and NOERROR)."""
    return wire[3] & 0x0F


def _recv_exactly(s, n):
    out = b""
    while len(out) < n:
        chunk = s.recv(n - len(out))
        if not chunk:
            raise ConnectionError("connection closed mid-message")
        out += chunk
    return out


def bound_socket(source, kind=socket.SOCK_DGRAM):
    """A client socket bound to a loopback source address (any 127/8 address
    is local on Linux), so that the server sees a chosen client."""
    s = socket.socket(socket.AF_INET, kind)
    s.bind((source, 0))
    return s
