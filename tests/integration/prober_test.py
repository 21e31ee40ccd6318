"""The prober end to end on the real binary (issue: mirrors leave and rejoin
the answers by themselves). Fake mirrors on 127.0.1.x and ::1 are broken and
repaired by the test; each case asserts that the answers change within the
bound of mirrorpool.toml(5) [pool.check] (interval × fall + timeout, interval × rise + timeout) and come back.
"""

import os
import tempfile
import time

from failover import bound_s, time_until, answer_rcode
from fake_mirror import FakeMirror
from harness import BASE_CONFIG, Failures, Server, addresses, free_port, wait_until

INTERVAL, TIMEOUT, RISE, FALL = 0.5, 0.3, 2, 2
MASS_ROUNDS = 4
DOWN_BOUND = bound_s(INTERVAL, FALL, TIMEOUT)
UP_BOUND = bound_s(INTERVAL, RISE, TIMEOUT)

ZONE = """$ORIGIN pool.example.
$TTL 3600
@   IN SOA ns1 hostmaster 1 3600 900 604800 300
@   IN NS  ns1
ns1 IN A   127.0.0.53
"""

CHECK = f"""
[pool.check]
type = "http"
port = MPORT
path = "/"
expect_body = "ok"
interval = "{int(INTERVAL * 1000)}ms"
timeout = "{int(TIMEOUT * 1000)}ms"
rise = {RISE}
fall = {FALL}
"""


def pool(name, mirrors, extra="", check_extra=""):
    text = f'\n[[pool]]\nname = "{name}."\nttl = 1\nmax_answers = 8\n{extra}\n{CHECK}{check_extra}'
    for mid, addrs in mirrors:
        quoted = ", ".join(f'"{a}"' for a in addrs)
        text += f'\n[[pool.mirror]]\nid = "{mid}"\naddresses = [{quoted}]\n'
    return text


def config(mport, fresh_ref):
    text = BASE_CONFIG
    text += pool("kill.pool.example", [("k1", ["127.0.1.11"]), ("k2", ["127.0.1.12"]),
                                       ("k3", ["127.0.1.13"])])
    text += pool("refused.pool.example", [("r1", ["127.0.1.21"]), ("r2", ["127.0.1.22"])])
    text += pool("fresh.pool.example", [("f1", ["127.0.1.31"]), ("f2", ["127.0.1.32"])],
                 check_extra=f'\n[pool.check.freshness]\npath = "/latest.json"\n'
                             f'reference = "{fresh_ref}"\nmax_lag = "1s"\n')
    text += pool("mass.pool.example", [(f"mass{i}", [f"127.0.1.4{i}"]) for i in range(1, 5)],
                 extra='when_all_down = "servfail"', check_extra=f"mass_failure_rounds = {MASS_ROUNDS}\n")
    text += pool("fam.pool.example", [("fam1", ["127.0.1.51", "::1"]), ("fam2", ["127.0.1.52"])],
                 extra='when_all_down = "nodata"')
    return text.replace("MPORT", str(mport))


def failure_cycle(f, srv, name, pool_name, address, breaks, repair):
    """Breaks a mirror, checks it leaves in time, repairs it, checks it returns."""
    start = time.monotonic()
    breaks()
    gone = time_until(srv, pool_name, "A", address, False, DOWN_BOUND + 3)
    f.check(gone is not None and gone <= DOWN_BOUND,
            f"{name}: {address} out of answers in {gone and round(gone, 2)}s "
            f"(bound {DOWN_BOUND:.2f}s)")
    others = addresses(srv.query(pool_name, "A"))
    f.check(address not in others and others, f"{name}: the other mirrors stay ({sorted(others)})")
    repair()
    back = time_until(srv, pool_name, "A", address, True, UP_BOUND + 3)
    f.check(back is not None and back <= UP_BOUND,
            f"{name}: {address} back in {back and round(back, 2)}s (bound {UP_BOUND:.2f}s)")
    return time.monotonic() - start


def main():
    f = Failures()
    mport = free_port()
    primary = FakeMirror("127.0.1.30", mport).start()
    primary.serve("/latest.json", '{"version": "6.1"}')
    mirrors = {}
    for last in (11, 12, 13, 22, 31, 32, 41, 42, 43, 44, 51, 52):
        mirrors[last] = FakeMirror(f"127.0.1.{last}", mport).start()
    v6 = FakeMirror("::1", mport)  # fam1's IPv6 address: not listening at first
    for last in (31, 32):
        mirrors[last].serve("/latest.json", '{"version": "6.1"}')
    fresh_ref = f"http://127.0.1.30:{mport}/latest.json"
    try:
        with Server(config(mport, fresh_ref), {"pool.example.zone": ZONE}) as srv:
            # Start-up: the first answer already reflects the first probe round.
            first = addresses(srv.query("refused.pool.example.", "A"))
            f.check(first == {"127.0.1.22"},
                    f"first answer after start-up excludes a refused mirror ({sorted(first)})")
            f.check(any("/libcurl.so.4" in p for p in srv.mapped_files()),
                    "HTTP checks load libcurl")
            log = srv.log()
            f.check("r1 127.0.1.21 UP→DOWN: connect: Connection refused" in log,
                    "the state change is logged with its reason")
            r1 = FakeMirror("127.0.1.21", mport)
            r1.start()
            back = time_until(srv, "refused.pool.example.", "A", "127.0.1.21", True, UP_BOUND + 3)
            f.check(back is not None and back <= UP_BOUND,
                    f"connection refused -> listening: back in {back and round(back, 2)}s")
            r1.stop()

            k1 = mirrors[11]
            failure_cycle(f, srv, "killed listener", "kill.pool.example.", "127.0.1.11",
                          k1.close_listener, k1.start)
            failure_cycle(f, srv, "http 500", "kill.pool.example.", "127.0.1.11",
                          lambda: k1.status(500), k1.ok)
            failure_cycle(f, srv, "http 404", "kill.pool.example.", "127.0.1.11",
                          lambda: k1.status(404), k1.ok)
            failure_cycle(f, srv, "accept and hang", "kill.pool.example.", "127.0.1.11",
                          k1.hang, k1.ok)
            failure_cycle(f, srv, "slow beyond timeout", "kill.pool.example.", "127.0.1.11",
                          lambda: k1.slow(int(TIMEOUT * 1000) + 300), lambda: k1.slow(0))
            failure_cycle(f, srv, "wrong body", "kill.pool.example.", "127.0.1.11",
                          k1.wrong_body, k1.ok)
            log = srv.log()
            for reason in ("k1 127.0.1.11 UP→DOWN: http 500", "k1 127.0.1.11 UP→DOWN: http 404",
                           "k1 127.0.1.11 UP→DOWN: timeout", "k1 127.0.1.11 UP→DOWN: body",
                           "k1 127.0.1.11 DOWN→UP: ok"):
                f.check(reason in log, f"log has '{reason}'")

            # Stale: the primary moves on, f1 follows, f2 does not.
            start = time.monotonic()
            primary.serve("/latest.json", '{"version": "6.2"}')
            mirrors[31].serve("/latest.json", '{"version": "6.2"}')
            stale_bound = 1.0 + DOWN_BOUND
            gone = time_until(srv, "fresh.pool.example.", "A", "127.0.1.32", False,
                              stale_bound + 3)
            f.check(gone is not None and gone <= stale_bound,
                    f"stale mirror out in {gone and round(gone, 2)}s (max_lag 1s + "
                    f"{DOWN_BOUND:.2f}s)")
            f.check(time.monotonic() - start >= 1.0, "not before max_lag has passed")
            f.check("127.0.1.31" in addresses(srv.query("fresh.pool.example.", "A")),
                    "the up-to-date mirror stays")
            f.check("f2 127.0.1.32 UP→DOWN: stale" in srv.log(), "logged as stale")
            mirrors[32].serve("/latest.json", '{"version": "6.2"}')
            back = time_until(srv, "fresh.pool.example.", "A", "127.0.1.32", True, UP_BOUND + 3)
            f.check(back is not None and back <= UP_BOUND,
                    f"synced mirror back in {back and round(back, 2)}s")

            # Per family: fam1 is fine on IPv4, its IPv6 address refuses.
            r = srv.query("fam.pool.example.", "A")
            f.check(addresses(r) == {"127.0.1.51", "127.0.1.52"}, "fam1 stays in A answers")
            r = srv.query("fam.pool.example.", "AAAA")
            f.check(not r.answer, "broken IPv6 address: no AAAA (when_all_down = nodata)")
            v6.start()
            back = time_until(srv, "fam.pool.example.", "AAAA", "::1", True, UP_BOUND + 3)
            f.check(back is not None and back <= UP_BOUND, "IPv6 repaired: back in AAAA")
            v6.close_listener()
            gone = time_until(srv, "fam.pool.example.", "AAAA", "::1", False, DOWN_BOUND + 3)
            f.check(gone is not None and "127.0.1.51" in addresses(srv.query(
                "fam.pool.example.", "A")), "IPv6 down again, IPv4 of the same mirror still in A")

            # Mass failure: every mirror of a pool fails at once. The prober
            # suspects itself and keeps the last state for the first rounds.
            # With mass_failure_rounds = 4 the failures are held for three
            # rounds (at least 3 × interval after the break), where fall = 2
            # alone would have taken the pool down after two.
            for last in (41, 42, 43, 44):
                mirrors[last].status(503)
            start = time.monotonic()
            wait_until(lambda: answer_rcode(srv, "mass.pool.example.") == "SERVFAIL",
                       MASS_ROUNDS * INTERVAL * 1.1 + TIMEOUT + 3, "the mass failure accepted")
            took = time.monotonic() - start
            held_at_least = (MASS_ROUNDS - 1) * INTERVAL * 0.9
            f.check(took >= held_at_least,
                    f"mass failure: last state kept {took:.2f}s (>= {held_at_least:.2f}s)")
            f.check(took <= MASS_ROUNDS * INTERVAL * 1.1 + TIMEOUT + 0.3,
                    f"a persistent mass failure is accepted after {MASS_ROUNDS} rounds "
                    f"({took:.2f}s; when_all_down = servfail)")
            log = srv.log()
            f.check("suspecting the prober's own network" in log and "accepting the failures" in log,
                    "mass failure suspected and accepted, both logged")
            for last in (41, 42, 43, 44):
                mirrors[last].ok()
            wait_until(lambda: len(addresses(srv.query("mass.pool.example.", "A"))) == 4,
                       UP_BOUND + 3, "the pool to come back")
            f.check(True, "mass failure repaired: every mirror back")
            f.check(srv.stop() == 0, "clean stop")

        # Without a loadable libcurl every HTTP check fails saying why, and
        # the rest of the zone is served as before.
        with tempfile.TemporaryDirectory() as libs:
            with open(os.path.join(libs, "libcurl.so.4"), "w") as lib:
                lib.write("not a library\n")
            text = BASE_CONFIG + pool("kill.pool.example", [("k1", ["127.0.1.11"])])
            with Server(text.replace("MPORT", str(mport)), {"pool.example.zone": ZONE},
                        env={"LD_LIBRARY_PATH": libs}) as srv:
                reason = f"k1 127.0.1.11 UP→DOWN: internal: cannot load {libs}/libcurl.so.4"
                wait_until(lambda: reason in srv.log(), DOWN_BOUND + 3, "the failure logged")
                f.check(True, "no libcurl: the HTTP check fails saying why")
                f.check(srv.query("pool.example.", "SOA").answer, "no libcurl: the zone is served")
                f.check(srv.stop() == 0, "no libcurl: clean stop")
    finally:
        for m in list(mirrors.values()) + [primary, v6]:
            m.stop()
    f.finish()


if __name__ == "__main__":
    main()
