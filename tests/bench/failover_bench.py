#!/usr/bin/python3
"""Failover benchmark: for each failure kind, the time from breaking a mirror
to the last answer that still contains it, and from repairing it to the first
answer that contains it again; median and max over several trials, next to
the bounds of mirrorpool.toml(5) [pool.check]. Everything runs on loopback (fake mirrors on 127.0.1.x).

    tests/bench/failover_bench.py [--trials N] [--interval-ms MS] [--timeout-ms MS]

Needs a built tree (build/dnsd/mirrorpoold, or $MIRRORPOOLD)."""

import argparse
import os
import statistics
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "integration"))
os.environ.setdefault("MIRRORPOOLD", os.path.join(HERE, "..", "..", "build", "dnsd",
                                                  "mirrorpoold"))

from fake_mirror import FakeMirror  # noqa: E402
from harness import Server, addresses, free_port  # noqa: E402

ZONE = """$ORIGIN pool.example.
$TTL 3600
@   IN SOA ns1 hostmaster 1 3600 900 604800 300
@   IN NS  ns1
ns1 IN A   127.0.0.53
"""
POLL_S = 0.01


def last_seen_after(srv, address, want_present, limit_s):
    """Polls every 10 ms. Going away: seconds until the last answer that still
    contained the address. Coming back: seconds until the first answer with it."""
    start = time.monotonic()
    last_with = None
    while time.monotonic() - start < limit_s:
        t = time.monotonic() - start
        got = address in addresses(srv.query("dl.pool.example.", "A", timeout=1.0))
        if got:
            last_with = t
        if got == want_present:
            return t if want_present else (last_with or 0.0)
        time.sleep(POLL_S)
    return None


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--trials", type=int, default=5)
    ap.add_argument("--interval-ms", type=int, default=1000)
    ap.add_argument("--timeout-ms", type=int, default=500)
    args = ap.parse_args()
    interval, timeout = args.interval_ms / 1000, args.timeout_ms / 1000
    rise = fall = 2
    mport = free_port()
    mirrors = [FakeMirror(f"127.0.1.{200 + i}", mport).start() for i in range(4)]
    victim = mirrors[0]
    config = f"""
[server]
listen = ["127.0.0.1:{{port}}"]
workers = 1
control_socket = "{{dir}}/control.sock"
state_dir = "{{dir}}/state"

[[zone]]
origin = "pool.example."
file = "pool.example.zone"

[[pool]]
name = "dl.pool.example."
max_answers = 8
[pool.check]
type = "http"
port = {mport}
expect_body = "ok"
interval = "{args.interval_ms}ms"
timeout = "{args.timeout_ms}ms"
rise = {rise}
fall = {fall}
""" + "".join(f'[[pool.mirror]]\nid = "m{i}"\naddresses = ["{m.address}"]\n'
              for i, m in enumerate(mirrors))
    kinds = [
        ("listener killed", victim.close_listener, victim.start),
        ("http 503", lambda: victim.status(503), victim.ok),
        ("http 404", lambda: victim.status(404), victim.ok),
        ("accept and hang", victim.hang, victim.ok),
        ("slow beyond timeout", lambda: victim.slow(args.timeout_ms + 500),
         lambda: victim.slow(0)),
        ("wrong body", victim.wrong_body, victim.ok),
    ]
    down_bound = interval * fall + timeout
    up_bound = interval * rise + timeout
    rows = []
    try:
        with Server(config, {"pool.example.zone": ZONE}) as srv:
            for name, breaks, repair in kinds:
                downs, ups = [], []
                for _ in range(args.trials):
                    breaks()
                    downs.append(last_seen_after(srv, victim.address, False, down_bound * 3))
                    repair()
                    ups.append(last_seen_after(srv, victim.address, True, up_bound * 3))
                    # Start the next trial at a random phase of the probe round.
                    time.sleep(interval * 0.37)
                rows.append((name, downs, ups))
            srv.stop()
    finally:
        for m in mirrors:
            m.stop()

    def fmt(values):
        ok = [v for v in values if v is not None]
        missed = len(values) - len(ok)
        text = f"{statistics.median(ok):6.2f} {max(ok):6.2f}" if ok else "     -      -"
        return text + (f" ({missed} missed)" if missed else "")

    print(f"interval {interval}s, timeout {timeout}s, rise {rise}, fall {fall}, "
          f"{args.trials} trials each")
    print(f"bounds: out within {down_bound:.2f}s, back within {up_bound:.2f}s")
    print(f"{'failure kind':22} {'out: median    max':20} {'back: median   max':20}")
    for name, downs, ups in rows:
        print(f"{name:22} {fmt(downs):20} {fmt(ups):20}")


if __name__ == "__main__":
    main()
