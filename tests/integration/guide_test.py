"""docs/operator-guide.md, exercised: every block marked `<!-- file: DIR/NAME -->`
is written out; every DIR/mirrorpool.toml passes `mirrorpoold --check-config`
(with the zone file of section 3 where the guide says it is the same); every
```toml block is such a file; the parent's delegation agrees with the child
zone (the parent delegates dl.amnesia.boum.org itself, with glue, and the pool
is the apex of the child zone); the gdnsd, NSD and Knot snippets pass gdnsd
checkconf (when gdnsd is installed), nsd-checkconf and knotc conf-check; the
Tails example starts with its mirror addresses moved to loopback fake mirrors
and answers dl.amnesia.boum.org A with them (SOA, NS and the name servers'
addresses from the zone file), probing with the Host header the guide
promises; the daily-operations commands run against it, and every metric the
guide names is served."""

import ipaddress
import os
import re
import shlex
import shutil
import subprocess
import tempfile
import tomllib
import urllib.request

import dns.flags
import dns.name
import dns.rdatatype
import dns.zone

from fake_mirror import FakeMirror
from harness import Failures, Server, addresses, free_port

SOURCE_ROOT = os.environ.get("SOURCE_ROOT", os.path.join(os.path.dirname(__file__), "..", ".."))
GUIDE = os.path.join(SOURCE_ROOT, "docs", "operator-guide.md")
DAEMON = os.environ.get("MIRRORPOOLD", "mirrorpoold")
CTL = os.environ.get("MIRRORPOOLCTL", "mirrorpoolctl")
ZONE_FILE = "dl.amnesia.boum.org.zone"
# The pool is the apex of the delegated zone.
POOL = "dl.amnesia.boum.org."
FENCE = re.compile(r"^(<!-- (file|run): (\S+) -->\n)?```(\w*)\n(.*?)^```\n", re.M | re.S)


def blocks(text):
    """(marker kind, marker value, language, body) for every fenced block."""
    return [(m.group(2), m.group(3), m.group(4), m.group(5)) for m in FENCE.finditer(text)]


def write_files(f, found, root):
    files = {}
    for kind, name, lang, body in found:
        if lang == "toml":
            f.check(kind == "file", f"the toml block starting {body.splitlines()[0]!r} is a "
                                    f"checked file")
        if kind != "file":
            continue
        path = os.path.join(root, name)
        os.makedirs(os.path.dirname(path), exist_ok=True)
        with open(path, "w") as out:
            out.write(body)
        files[name] = body
    return files


def check_configs(f, files, root):
    configs = sorted(n for n in files if n.endswith("/mirrorpool.toml"))
    f.check({"tails/mirrorpool.toml", "tails-json/mirrorpool.toml",
             "hidden-primary/mirrorpool.toml"} <= set(configs), f"guide configs: {configs}")
    # The [[alert]] keys the guide shows, added to the Tails configuration.
    if "alerts/alert-keys.toml" in files:
        with_alerts = os.path.join(root, "tails", "with-alerts.toml")
        with open(with_alerts, "w") as out:
            out.write(files["tails/mirrorpool.toml"] + "\n" + files["alerts/alert-keys.toml"])
        r = subprocess.run([DAEMON, "--check-config", "-c", with_alerts],
                           capture_output=True, text=True, timeout=60)
        f.check(r.returncode == 0, f"the guide's [[alert]] keys pass --check-config "
                                   f"(rc {r.returncode}: {r.stderr.strip()[-500:]})")
    else:
        f.check(False, "the guide shows its [[alert]] keys as alerts/alert-keys.toml")
    for name in configs:
        d = os.path.join(root, os.path.dirname(name))
        # The guide gives the zone file once (section 3) and says the other
        # configurations use the same text.
        if not os.path.exists(os.path.join(d, ZONE_FILE)):
            shutil.copy(os.path.join(root, "tails", ZONE_FILE), d)
        r = subprocess.run([DAEMON, "--check-config", "-c", os.path.join(root, name)],
                           capture_output=True, text=True, timeout=60)
        f.check(r.returncode == 0, f"mirrorpoold --check-config {name} (rc {r.returncode}: "
                                   f"{r.stdout}{r.stderr})")


def rdatas(zone, name, rdtype):
    rds = zone.get_rdataset(name, rdtype)
    return {r.to_text() for r in rds} if rds else set()


def child_zone(files):
    return dns.zone.from_text(files["tails/" + ZONE_FILE], origin=dns.name.from_text(POOL),
                              relativize=False)


def check_delegation(f, files):
    origin = dns.name.from_text(POOL)
    child = child_zone(files)
    parent = dns.zone.from_text(files["delegation/parent.zone"],
                                origin=dns.name.from_text("amnesia.boum.org."),
                                relativize=False, check_origin=False)

    ns = rdatas(parent, origin, "NS")
    f.check(ns == {"ns1.dl.amnesia.boum.org.", "ns2.dl.amnesia.boum.org."},
            f"the parent delegates {POOL} to ns1 and ns2 inside it ({ns})")
    f.check(ns and ns == rdatas(child, origin, "NS"), f"parent and child agree on the NS set {ns}")
    for target in ns:
        f.check(dns.name.from_text(target).is_subdomain(origin),
                f"{target} lies inside the delegated zone, so the parent needs glue")
        for rdtype in ("A", "AAAA"):
            glue = rdatas(parent, target, rdtype)
            f.check(glue and glue == rdatas(child, target, rdtype),
                    f"glue {target} {rdtype} {glue} matches the child zone")
    for rdtype in ("A", "AAAA", "CNAME"):
        f.check(not rdatas(parent, origin, rdtype),
                f"the delegation point {POOL} has no {rdtype} in the parent")
        f.check(not rdatas(child, origin, rdtype),
                f"the zone file has no {rdtype} at the pool's name {POOL}")
    f.check(rdatas(child, origin, "SOA"), f"the zone file has an SOA at {POOL}")
    f.check("CNAME" not in files["delegation/parent.zone"], "no CNAME in the parent's records")
    for name in ("tails", "tails-json", "hidden-primary"):
        config = tomllib.loads(files[f"{name}/mirrorpool.toml"])
        zones = [(z["origin"], z["file"]) for z in config.get("zone", [])]
        pools = [p["name"] for p in config.get("pool", [])]
        f.check(zones == [(POOL, ZONE_FILE)] and pools == [POOL],
                f"{name}: the zone {POOL} from {ZONE_FILE} with the pool at its apex "
                f"({zones}, {pools})")


def check_secondaries(f, root):
    if shutil.which("nsd-checkconf"):
        r = subprocess.run(["nsd-checkconf", os.path.join(root, "secondaries", "nsd.conf")],
                           capture_output=True, text=True, timeout=60)
        f.check(r.returncode == 0, f"nsd-checkconf accepts the NSD snippet ({r.stdout}{r.stderr})")
    else:
        f.check(False, "nsd-checkconf is installed (packaging/install-deps: nsd)")
    if shutil.which("gdnsd"):
        # The guide shows the DYNA line only; gdnsd wants a whole zone.
        conf = os.path.join(root, "gdnsd-check")
        os.makedirs(os.path.join(conf, "zones"))
        shutil.copy(os.path.join(root, "gdnsd", "config"), conf)
        with open(os.path.join(root, "gdnsd", "amnesia.boum.org")) as src, \
                open(os.path.join(conf, "zones", "amnesia.boum.org"), "w") as dst:
            dst.write("@ SOA ns1 hostmaster 1 3600 900 604800 300\n@ NS ns1\nns1 A 192.0.2.1\n")
            dst.write(src.read())
        r = subprocess.run(["gdnsd", "-c", conf, "checkconf"], capture_output=True, text=True,
                           timeout=60)
        f.check(r.returncode == 0, f"gdnsd checkconf accepts the gdnsd starting point "
                                   f"({r.stdout}{r.stderr})")
    else:
        # Only the starting point of a migration: not needed for mirrorpool.
        print("gdnsd not installed: the gdnsd snippet is not checked", flush=True)
    if shutil.which("knotc"):
        r = subprocess.run(["knotc", "-c", os.path.join(root, "secondaries", "knot.conf"),
                            "conf-check"], capture_output=True, text=True, timeout=60)
        f.check(r.returncode == 0, f"knotc conf-check accepts the Knot snippet "
                                   f"({r.stdout}{r.stderr})")
    else:
        f.check(False, "knotc is installed (packaging/install-deps: knot)")


def loopback_only(config):
    """Every address and URL in the config is on loopback: nothing else is probed."""
    bad = []
    for token in re.findall(r'"\[?([0-9a-fA-F:.]+)\]?(?::\d+)?(?:/\d+)?"', config):
        try:
            if not ipaddress.ip_address(token).is_loopback:
                bad.append(token)
        except ValueError:
            continue
    # A url_prefix is published by export-mirrors-json, never fetched: probes
    # connect to the mirrors' addresses.
    urls = re.sub(r"^url_prefix = .*$", "", config, flags=re.M)
    bad += [u for u in re.findall(r"https?://[^\"/]+", urls)
            if not re.match(r"https?://(127\.|\[::1\])", u)]
    return bad


def local_tails(text, mirror_port, http_port):
    """The Tails example on loopback: each mirror's IPv4 address becomes a fake
    mirror on 127.0.1.x (its IPv6 address is dropped: there is one ::1), the
    daemon listens on a free port and keeps its files in the test's directory."""
    fakes = {}

    def move(match):
        kept = [a for a in re.findall(r'"([^"]+)"', match.group(1)) if ":" not in a]
        for a in kept:
            fakes.setdefault(a, f"127.0.1.{151 + len(fakes)}")
        return "addresses = [" + ", ".join(f'"{fakes[a]}"' for a in kept) + "]"

    config = re.sub(r"^addresses = \[(.*)\]$", move, text, flags=re.M)
    for key, value in (("listen", '["127.0.0.1:{port}"]'),
                       ("control_socket", '"{dir}/control.sock"'),
                       ("state_dir", '"{dir}/state"'),
                       ("user", '"root"'),
                       ("http_listen", f'"127.0.0.1:{http_port}"'),
                       ("interval", '"300ms"'),
                       ("timeout", '"200ms"')):
        config = re.sub(rf"^{key} = .*$", f"{key} = {value}", config, flags=re.M)
    config = re.sub(r"^port = 80$", f"port = {mirror_port}", config, flags=re.M)
    return config, sorted(fakes.values())


def run_tails(f, files, guide):
    mirror_port, http_port = free_port(), free_port()
    config, fake_addresses = local_tails(files["tails/mirrorpool.toml"], mirror_port, http_port)
    f.check(len(fake_addresses) == 4, f"four mirrors moved to loopback ({fake_addresses})")
    bad = loopback_only(config)
    f.check(not bad, f"the local Tails configuration names loopback only ({bad})")
    if bad:
        return
    fakes = [FakeMirror(a, mirror_port, body=b"<a href=\"stable/\">stable/</a>").start()
             for a in fake_addresses]
    try:
        with Server(config, {ZONE_FILE: files["tails/" + ZONE_FILE]}, start=False) as srv:
            srv.start()
            seen = set()
            for _ in range(200):
                seen |= _answers(srv) or set()
                if seen == set(fake_addresses):
                    break
            f.check(seen == set(fake_addresses), f"{POOL} answers with every mirror ({sorted(seen)})")
            check_apex(f, srv, child_zone(files))
            hosts = {host for m in fakes for _, host in m.requests}
            paths = {path for m in fakes for path, _ in m.requests}
            # The port is part of Host when it is not 80, as for any HTTP client.
            f.check(hosts == {f"dl.amnesia.boum.org:{mirror_port}"},
                    f"probes send Host: dl.amnesia.boum.org ({hosts})")
            f.check(paths == {"/tails/", "/pub/tails/"}, f"probes fetch the paths of the guide ({paths})")
            run_daily_operations(f, guide, srv)
            check_metrics(f, guide, http_port)
            f.check(srv.stop() == 0, "the Tails example stops cleanly")
    finally:
        for m in fakes:
            m.stop()


def check_apex(f, srv, child):
    """At the apex the pool gives A, the zone file SOA and NS; the name
    servers' addresses come from the zone file too."""
    origin = dns.name.from_text(POOL)
    r = srv.query(POOL, "A")
    types = {dns.rdatatype.to_text(rrset.rdtype) for rrset in r.answer}
    f.check(types == {"A"} and r.flags & dns.flags.AA,
            f"{POOL} A is an authoritative A answer, no CNAME ({types})")
    want_soa = child.get_rdataset(origin, "SOA")[0]
    r = srv.query(POOL, "SOA")
    soa = [rd for rrset in r.answer if rrset.rdtype == dns.rdatatype.SOA for rd in rrset]
    # mirrorpool raises the serial when an answer set changes; the rest is the file's.
    same = len(soa) == 1 and all(
        getattr(soa[0], k) == getattr(want_soa, k)
        for k in ("mname", "rname", "refresh", "retry", "expire", "minimum"))
    f.check(same and soa[0].serial >= want_soa.serial,
            f"{POOL} SOA comes from the zone file ({[s.to_text() for s in soa]})")
    r = srv.query(POOL, "NS")
    ns = {rd.to_text() for rrset in r.answer if rrset.rdtype == dns.rdatatype.NS for rd in rrset}
    f.check(ns and ns == rdatas(child, origin, "NS"), f"{POOL} NS comes from the zone file ({ns})")
    for target in sorted(ns):
        for rdtype in ("A", "AAAA"):
            r = srv.query(target, rdtype)
            got = {rd.to_text() for rrset in r.answer for rd in rrset}
            f.check(got and got == rdatas(child, target, rdtype),
                    f"{target} {rdtype} comes from the zone file ({got})")


def _answers(srv):
    try:
        return addresses(srv.query(POOL, "A", timeout=0.5))
    except Exception:  # noqa: BLE001 - not answering yet
        return None


def run_daily_operations(f, guide, srv):
    commands = [body for kind, name, _, body in blocks(guide)
                if kind == "run" and name == "daily-operations"]
    f.check(len(commands) == 1, "the guide has one daily-operations block")
    for line in (commands[0] if commands else "").splitlines():
        f.check(line.startswith("mirrorpoolctl "), f"a mirrorpoolctl command: {line}")
        # The guide relies on the default config; here the socket is the test's.
        args = shlex.split(line)[1:]
        r = subprocess.run([CTL, "-c", srv.config_path, *args], capture_output=True, text=True,
                           timeout=60)
        f.check(r.returncode == 0, f"{line} (rc {r.returncode}: {r.stderr.strip()})")


def check_metrics(f, guide, http_port):
    with urllib.request.urlopen(f"http://127.0.0.1:{http_port}/metrics", timeout=5) as r:
        served = set(re.findall(r"^# TYPE (\w+)", r.read().decode(), re.M))
    named = set(re.findall(r"\bmirrorpool_[a-z_]+", guide))
    missing = sorted(named - served)
    f.check(named and not missing, f"every metric the guide names is served ({missing})")


def main():
    f = Failures()
    with open(GUIDE) as g:
        guide = g.read()
    root = tempfile.mkdtemp(prefix="mirrorpool-guide-")
    found = blocks(guide)
    files = write_files(f, found, root)
    check_configs(f, files, root)
    check_delegation(f, files)
    check_secondaries(f, root)
    run_tails(f, files, guide)
    shutil.rmtree(root, ignore_errors=True)
    f.finish()


if __name__ == "__main__":
    main()
