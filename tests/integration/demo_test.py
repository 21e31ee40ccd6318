"""The README's quick start, exercised: what packaging/demo/start runs, the
demo mirrors script and the demo config (ports moved to free ones so a running
demo does not interfere), asked with the README's dig line over IPv4 and
IPv6."""

import json
import os
import subprocess

from harness import Failures, Server, free_port, wait_until

SOURCE_ROOT = os.environ.get("SOURCE_ROOT", os.path.join(os.path.dirname(__file__), "..", ".."))
DEMO = os.path.join(SOURCE_ROOT, "packaging", "demo")
DEMO_V4 = {f"127.0.1.{i}" for i in range(1, 5)}


def dig(port, name, rdtype):
    out = subprocess.run(["dig", "@127.0.0.1", "-p", str(port), name, rdtype, "+short"],
                         capture_output=True, text=True, timeout=10).stdout
    return set(out.split())


def check_start_script(f):
    """packaging/demo/start itself installs and builds (not repeated here: the
    suite runs on that build); what it then runs is what this test runs."""
    path = os.path.join(DEMO, "start")
    with open(path) as fs:
        script = fs.read()
    r = subprocess.run(["bash", "-n", path], capture_output=True, text=True, timeout=10)
    f.check(r.returncode == 0, f"packaging/demo/start parses ({r.stderr.strip()})")
    f.check(os.access(path, os.X_OK), "packaging/demo/start is executable")
    for step in ("packaging/install-deps", "meson setup build", "ninja -C build",
                 "packaging/demo/run build/dnsd/mirrorpoold -c packaging/demo/mirrorpool.toml"):
        f.check(step in script, f"packaging/demo/start runs {step}")


# Stands in for the daemon: succeeds only if all four demo mirrors accept a
# connection the moment it starts, as the daemon's first probe round needs.
FIRST_PROBE = """
import socket, sys
for i in range(1, 5):
    try:
        socket.create_connection((f"127.0.1.{i}", int(sys.argv[1])), timeout=1).close()
    except OSError:
        sys.exit(1)
"""


def check_run_order(f):
    port = free_port()
    r = subprocess.run([os.path.join(DEMO, "run"), "/usr/bin/python3", "-c", FIRST_PROBE,
                        str(port)], env={**os.environ, "DEMO_MIRROR_PORT": str(port)},
                       capture_output=True, text=True, timeout=30)
    f.check(r.returncode == 0,
            f"packaging/demo/run starts the daemon only once the mirrors listen ({r.stderr})")


def main():
    f = Failures()
    check_start_script(f)
    check_run_order(f)
    with open(os.path.join(DEMO, "mirrorpool.toml")) as fc:
        config = fc.read()
    with open(os.path.join(DEMO, "pool.example.zone")) as fz:
        zone = fz.read()
    f.check("127.0.0.1:5353" in config and "port = 8080" in config,
            "the demo config listens where the README says")
    mirror_port = free_port()
    config = (config.replace("5353", "{port}").replace("port = 8080", f"port = {mirror_port}")
              .replace("/tmp/mirrorpool-demo", "{dir}"))
    # What packaging/demo/start runs: the mirrors, then the daemon once
    # they listen, so that the first status already shows them up.
    with Server(config, {"pool.example.zone": zone}, wrapper=[os.path.join(DEMO, "run")],
                env={"DEMO_MIRROR_PORT": str(mirror_port)}) as srv:
        first = json.loads(subprocess.run(
            [os.environ["MIRRORPOOLCTL"], "-c", srv.config_path, "status", "--json"],
            capture_output=True, text=True, timeout=10).stdout)
        states = [m["state"] for p in first["pools"] for m in p["mirrors"]]
        f.check(len(states) == 4 and all(s == "up" for s in states),
                f"the first status shows the four demo mirrors up ({states})")
        got, _ = wait_until(lambda: dig(srv.port, "dl.pool.example", "A"), 10, "an answer")
        f.check(len(got) == 2 and got <= DEMO_V4, f"dig dl.pool.example A -> {sorted(got)}")
        seen = set()
        for _ in range(40):
            seen |= dig(srv.port, "dl.pool.example", "A")
        f.check(seen == DEMO_V4, f"all four demo mirrors are served ({sorted(seen)})")
        # The README: mirrorpoold answers on [::1]:5353 too.
        got = set(subprocess.run(["dig", "@::1", "-p", str(srv.port), "dl.pool.example", "A",
                                  "+short"], capture_output=True, text=True,
                                 timeout=10).stdout.split())
        f.check(len(got) == 2 and got <= DEMO_V4, f"dig @::1 dl.pool.example A -> {sorted(got)}")
        f.check(srv.stop() == 0, "demo daemon stops cleanly")
    f.finish()


if __name__ == "__main__":
    main()
