"""mirrorpoold's command line on the real binary: --check-config on the shipped
examples and on broken files, exit codes, --version and --help."""

import os
import socket
import subprocess
import tempfile

from harness import MIRRORPOOLD, Failures, free_port

SOURCE_ROOT = os.environ.get("SOURCE_ROOT", os.path.join(os.path.dirname(__file__), "..", ".."))

GOOD_ZONE = """$ORIGIN pool.example.
$TTL 3600
@ IN SOA ns1 hostmaster 1 3600 900 604800 300
@ IN NS ns1
ns1 IN A 127.0.0.53
"""

BAD_CONFIG = """[server]
listen = ["127.0.0.1:5353"]
wrokers = 2

[[zone]]
origin = "pool.example."
file = "pool.example.zone"

[[pool]]
name = "dl.pool.example."
ttl = -5
when_all_down = "panic"

[pool.check]
interval = "5 parsecs"
"""


def run(*args):
    p = subprocess.run([MIRRORPOOLD, *args], capture_output=True, text=True, timeout=30)
    return p.returncode, p.stdout + p.stderr


def write(d, name, text):
    path = os.path.join(d, name)
    with open(path, "w") as f:
        f.write(text)
    return path


def main():
    f = Failures()
    for example in ("packaging/mirrorpool.toml", "packaging/demo/mirrorpool.toml"):
        rc, out = run("--check-config", "-c", os.path.join(SOURCE_ROOT, example))
        f.check(rc == 0, f"{example} passes --check-config ({rc}: {out.strip()})")

    d = tempfile.mkdtemp(prefix="mirrorpool-check-")
    write(d, "pool.example.zone", GOOD_ZONE)
    cfg = write(d, "bad.toml", BAD_CONFIG)
    rc, out = run("--check-config", "-c", cfg)
    f.check(rc == 2, f"bad config: exit 2 ({rc})")
    for line_col, what in (("3:1", "wrokers"), ("11:7", "ttl"), ("12:17", "when_all_down"),
                           ("15:12", "interval")):
        f.check(f"{cfg}:{line_col}: error:" in out and what in out,
                f"diagnostic for {what} at {line_col}")
    print(out)

    # A broken zone file is reported with its file and line.
    write(d, "pool.example.zone", GOOD_ZONE + "www IN A 999.1.2.3\n")
    good = write(d, "good.toml", """[server]
listen = ["127.0.0.1:5353"]
[[zone]]
origin = "pool.example."
file = "pool.example.zone"
""")
    rc, out = run("--check-config", "-c", good)
    f.check(rc == 2 and os.path.join(d, "pool.example.zone") + ":6" in out,
            f"bad zone: exit 2 and file:line ({out.strip()})")

    # A pool that can never answer loads, with a warning naming it.
    write(d, "pool.example.zone", GOOD_ZONE)
    parked = write(d, "parked.toml", """[server]
listen = ["127.0.0.1:5353"]
[[zone]]
origin = "pool.example."
file = "pool.example.zone"
[[pool]]
name = "dl.pool.example."
[[pool.mirror]]
id = "m1"
addresses = ["127.0.1.1"]
weight = 0
""")
    rc, out = run("--check-config", "-c", parked)
    f.check(rc == 0 and f"{parked}:6:1: warning: pool dl.pool.example. has no mirror with a "
            "weight above 0" in out, f"a pool that can never answer: a warning ({out.strip()})")

    # A ca_file that is not there fails the check at the pool (and again
    # where a mirror names another missing one), not at the first probe.
    ca = write(d, "ca.toml", """[server]
listen = ["127.0.0.1:5353"]
[[zone]]
origin = "pool.example."
file = "pool.example.zone"
[[pool]]
name = "dl.pool.example."
[pool.check]
type = "https"
ca_file = "missing-ca.pem"
[[pool.mirror]]
id = "m1"
addresses = ["127.0.1.1"]
[[pool.mirror]]
id = "m2"
addresses = ["127.0.1.2"]
ca_file = "other-missing.pem"
""")
    rc, out = run("--check-config", "-c", ca)
    f.check(rc == 2 and f"{ca}:6:1: error: pool dl.pool.example.: ca_file "
            f"'{d}/missing-ca.pem' cannot be read: No such file or directory" in out and
            f"{ca}:14:1: error: mirror m2: ca_file '{d}/other-missing.pem'" in out,
            f"a missing ca_file fails --check-config at its pool and mirror ({out.strip()})")

    # Nearest-mirror keys: checked at file:line:col; the database is opened,
    # and a mirror that cannot be placed is a warning.
    geo_bad = write(d, "geo-bad.toml", """[server]
listen = ["127.0.0.1:5353"]
[server.geo]
ecs_max_prefix_v4 = 40
[[server.geo.net]]
prefix = "198.51.100.0/24"
location = [95.5, 8]
[[zone]]
origin = "pool.example."
file = "pool.example.zone"
[[pool]]
name = "dl.pool.example."
geo = "nearest"
[[pool.mirror]]
id = "m1"
addresses = ["127.0.1.1"]
country = "Germany"
""")
    rc, out = run("--check-config", "-c", geo_bad)
    for line_col, what in (("4:21", "ecs_max_prefix_v4"), ("7:12", "location"),
                           ("17:11", "country")):
        f.check(rc == 2 and f"{geo_bad}:{line_col}: error:" in out and what in out,
                f"geo: diagnostic for {what} at {line_col} ({out.strip()})")
    write(d, "not.mmdb", "this is not a geo database\n")
    geo_db = """[server]
listen = ["127.0.0.1:5353"]
[server.geo]
database = "{db}"
[[zone]]
origin = "pool.example."
file = "pool.example.zone"
[[pool]]
name = "dl.pool.example."
geo = "country"
[[pool.mirror]]
id = "m1"
addresses = ["127.0.1.1"]
[[pool.mirror]]
id = "m2"
addresses = ["127.0.1.2"]
country = "DE"
"""
    rc, out = run("--check-config", "-c", write(d, "geo-corrupt.toml", geo_db.format(db="not.mmdb")))
    f.check(rc == 2 and "[server.geo] database: cannot read geo database" in out
            and "not.mmdb" in out, f"geo: a file that is not a database fails the check ({out.strip()})")
    database = os.path.join(SOURCE_ROOT, "tests", "dnsd", "data", "geo.mmdb")
    geo_ok = write(d, "geo-ok.toml", geo_db.format(db=database))
    rc, out = run("--check-config", "-c", geo_ok)
    f.check(rc == 0 and f"{geo_ok}:11:1: warning: mirror m1 of pool dl.pool.example. cannot be "
            "placed" in out and "mirror m2" not in out,
            f"geo: an unplaced mirror is a warning, a placed one is not ({out.strip()})")

    # A signed zone's keys are read by the check, and nothing is made: no key
    # yet is a note, a key ldns-keygen made is listed, a broken one fails the
    # check naming its file.
    write(d, "pool.example.zone", GOOD_ZONE)
    state = os.path.join(d, "dnssec-state")
    signed = write(d, "signed.toml", f"""[server]
listen = ["127.0.0.1:5353"]
state_dir = "{state}"
[[zone]]
origin = "pool.example."
file = "pool.example.zone"
dnssec = true
""")
    keys = os.path.join(state, "keys", "pool.example")
    rc, out = run("--check-config", "-c", signed)
    f.check(rc == 0 and f"zone pool.example.: no DNSSEC key yet: one will be made at start in {keys}"
            in out and not os.path.exists(state),
            f"dnssec without a key: ok, a note, nothing made ({rc}: {out.strip()})")
    os.makedirs(keys, mode=0o700)
    base = subprocess.run(["ldns-keygen", "-a", "ECDSAP256SHA256", "-k", "pool.example."],
                          cwd=keys, capture_output=True, text=True, check=True).stdout.strip()
    tag = int(base.rsplit("+", 1)[1])
    rc, out = run("--check-config", "-c", signed)
    f.check(rc == 0 and f"zone pool.example.: DNSSEC key {tag} (ecdsap256sha256, flags 257)" in out,
            f"dnssec with a BIND-format key: ok, listed ({rc}: {out.strip()})")
    private = os.path.join(keys, base + ".private")
    with open(private, "w") as key_file:
        key_file.write("Private-key-format: v1.2\nAlgorithm: 13 (ECDSAP256SHA256)\n"
                       "PrivateKey: not*base64\n")
    rc, out = run("--check-config", "-c", signed)
    f.check(rc == 2 and f"{signed}:4:1: error: zone pool.example.: DNSSEC key: {private}: "
            "PrivateKey is not valid base64" in out,
            f"dnssec with a corrupt .private: exit 2 naming the file ({rc}: {out.strip()})")

    # The daemon itself refuses a bad config with exit 2, before binding anything.
    rc, out = run("-c", cfg)
    f.check(rc == 2 and "error:" in out, f"daemon with a bad config: exit 2 ({rc})")
    rc, out = run("-c", os.path.join(d, "missing.toml"))
    f.check(rc == 2 and "missing.toml" in out, f"missing config file: exit 2 ({rc}, {out.strip()})")

    # A port that is taken: runtime error, exit 1.
    write(d, "pool.example.zone", GOOD_ZONE)
    port = free_port()
    holder = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    holder.bind(("127.0.0.1", port))
    taken = write(d, "taken.toml", f"""[server]
listen = ["127.0.0.1:{port}"]
user = "root"
state_dir = "{d}/state"
control_socket = "{d}/control.sock"
[[zone]]
origin = "pool.example."
file = "pool.example.zone"
""")
    rc, out = run("-c", taken)
    holder.close()
    f.check(rc == 1 and "cannot listen" in out, f"port in use: exit 1 ({rc}: {out.strip()})")

    rc, out = run("--version")
    f.check(rc == 0 and "mirrorpoold" in out, "--version")
    rc, out = run("-V")
    f.check(rc == 0 and "mirrorpoold" in out, "-V")
    rc, out = run("--help")
    f.check(rc == 0 and "--check-config" in out, "--help")
    rc, out = run("--no-such-flag")
    f.check(rc == 2, f"unknown flag: exit 2 ({rc})")
    rc, out = run("--log-level", "chatty", "--check-config")
    f.check(rc == 2, f"bad --log-level: exit 2 ({rc})")
    f.finish()


if __name__ == "__main__":
    main()
