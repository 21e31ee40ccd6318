"""Each when_all_down policy on the real binary: three mirrors, min_healthy = 2;
two mirrors die one after the other, so the pool falls below min_healthy."""

import time

from failover import bound_s, time_until
from fake_mirror import FakeMirror
from harness import BASE_CONFIG, Failures, Server, addresses, free_port, rcode, wait_until
from prober_test import ZONE

INTERVAL, TIMEOUT = 0.5, 0.3
BOUND = bound_s(INTERVAL, 2, TIMEOUT)
POLICIES = ["serve-all", "serve-last-good", "servfail", "nodata"]


def config(mport):
    text = BASE_CONFIG
    for p, policy in enumerate(POLICIES):
        text += f"""
[[pool]]
name = "{policy}.pool.example."
max_answers = 8
min_healthy = 2
when_all_down = "{policy}"
[pool.check]
type = "http"
port = {mport}
interval = "{int(INTERVAL * 1000)}ms"
timeout = "{int(TIMEOUT * 1000)}ms"
"""
        for m in range(3):
            text += f'[[pool.mirror]]\nid = "m{m}"\naddresses = ["127.0.1.{101 + p * 3 + m}"]\n'
    return text


def main():
    f = Failures()
    mport = free_port()
    mirrors = {p: [FakeMirror(f"127.0.1.{101 + i * 3 + m}", mport).start() for m in range(3)]
               for i, p in enumerate(POLICIES)}
    try:
        with Server(config(mport), {"pool.example.zone": ZONE}) as srv:
            for policy in POLICIES:
                name = f"{policy}.pool.example."
                a = [m.address for m in mirrors[policy]]
                f.check(addresses(srv.query(name, "A")) == set(a), f"{policy}: all three served")
                mirrors[policy][0].status(503)
                f.check(time_until(srv, name, "A", a[0], False, BOUND + 3) is not None,
                        f"{policy}: one down, two healthy: normal answers")
                mirrors[policy][1].status(503)
                start = time.monotonic()
                expect = {
                    "serve-all": lambda r: rcode(r) == "NOERROR" and addresses(r) == set(a),
                    "serve-last-good": lambda r: addresses(r) == {a[1], a[2]},
                    "servfail": lambda r: rcode(r) == "SERVFAIL",
                    "nodata": lambda r: rcode(r) == "NOERROR" and not r.answer,
                }[policy]
                # serve-last-good looks the same before and after: wait for the
                # log line that marks the episode instead.
                wait_until(lambda: f"pool {name} A: only 1 healthy" in srv.log(), BOUND + 3,
                           f"{policy}: the degraded episode")
                took = time.monotonic() - start
                r = srv.query(name, "A")
                f.check(expect(r), f"{policy}: below min_healthy after {took:.2f}s -> "
                                   f"{rcode(r)} {sorted(addresses(r))}")
                time.sleep(INTERVAL * 2)  # more rounds in the episode change nothing
                r = srv.query(name, "A")
                f.check(expect(r), f"{policy}: stays so while degraded")
                f.check(srv.log().count(f"pool {name} A: only") == 1,
                        f"{policy}: the episode is logged once")
                for m in mirrors[policy]:
                    m.ok()
                # serve-all already answers every address: the log marks the end.
                wait_until(lambda: f"pool {name} A: " in srv.log() and
                           "healthy again" in srv.log().split(f"pool {name} A: only")[-1],
                           BOUND + 3, f"{policy}: the end of the episode")
                wait_until(lambda: addresses(srv.query(name, "A")) == set(a), BOUND + 3,
                           f"{policy}: recovery")
                f.check(True, f"{policy}: recovered, end of the episode logged")
    finally:
        for ms in mirrors.values():
            for m in ms:
                m.stop()
    f.finish()


if __name__ == "__main__":
    main()
