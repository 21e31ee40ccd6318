#!/usr/bin/python3
"""Soak test: for --minutes, the real mirrorpoold answers a steady query load
over UDP and TCP while its fake mirrors flap, the zone is edited and reloaded
(SIGHUP and `mirrorpoolctl reload`) and mirrors are drained, re-weighted,
added and removed with mirrorpoolctl. Every answer is checked; so is every
acknowledged change, in the answers and in `status --json`.

    tests/bench/soak.py --minutes 2        # what CI runs (meson test soak_test)

Reports queries sent, answered and lost per transport, errors, and the
daemon's RSS and open file descriptors after the warm-up and at the end.
Exits 1 on any wrong answer, failed command, lost acknowledged change (a
change acknowledged by mirrorpoolctl, or a SIGHUP reload, whose effect does
not show), error in the daemon's log, lost TCP query, UDP loss above
--max-udp-loss, or growth beyond --max-rss-growth-mib / --max-fd-growth.
Binaries from $MIRRORPOOLD and $MIRRORPOOLCTL (else from PATH); fake mirrors
on 127.0.1.141-147, the daemon on a free port of 127.0.0.1.
"""

import argparse
import json
import os
import random
import signal
import socket
import struct
import subprocess
import sys
import threading
import time

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "integration"))

import dns.flags  # noqa: E402
import dns.message  # noqa: E402
import dns.query  # noqa: E402
import dns.rcode  # noqa: E402
import dns.rdatatype  # noqa: E402

from fake_mirror import FakeMirror  # noqa: E402
from harness import Server, addresses, free_port, wait_until  # noqa: E402

CTL = os.environ.get("MIRRORPOOLCTL", "mirrorpoolctl")
POOL = "dl.pool.example."
MIRRORS = {f"s{i}": f"127.0.1.{140 + i}" for i in range(1, 7)}
EXTRA_ID, EXTRA_ADDRESS = "s7", "127.0.1.147"  # added and removed at run time
MAX_ANSWERS = 4
QUERY_TIMEOUT_S = 3.0
# Most mirrors that may be drained or at weight 0 at once, so that answers
# never need the fail-open path to be non-empty.
MAX_EXCLUDED = 3

ZONE = """$ORIGIN pool.example.
$TTL 60
@     IN SOA ns1 hostmaster {serial} 3600 900 604800 30
@     IN NS  ns1
ns1   IN A   127.0.0.53
www   IN A   192.0.2.80
gen   IN TXT "{gen}"
"""

CONFIG = """
[server]
listen = ["127.0.0.1:{{port}}"]
workers = 2
control_socket = "{{dir}}/control.sock"
state_dir = "{{dir}}/state"
user = "root"
tcp_idle_timeout = "5s"

[[zone]]
origin = "pool.example."
file = "pool.example.zone"

[[pool]]
name = "{pool}"
ttl = 5
max_answers = {max_answers}
when_all_down = "serve-all"
[pool.check]
type = "http"
port = {mport}
interval = "400ms"
timeout = "300ms"
rise = 2
fall = 2
mass_failure_rounds = 2
"""


def config_text(mport):
    text = CONFIG.format(pool=POOL, max_answers=MAX_ANSWERS, mport=mport)
    for mid, address in MIRRORS.items():
        text += f'\n[[pool.mirror]]\nid = "{mid}"\naddresses = ["{address}"]\nweight = 5\n'
    return text


def zone_text(gen):
    return ZONE.format(serial=1000 + gen, gen=f"gen-{gen}")


class Model:
    """What the answers may contain, from acknowledged changes only.

    excluded: address -> monotonic time of the acknowledgement from which on
    it must not be answered (drained, weight 0, removed, not yet added).
    gens: (time, generation) of each acknowledged zone edit."""

    def __init__(self):
        self.lock = threading.Lock()
        self.excluded = {EXTRA_ADDRESS: 0.0}
        self.gens = [(0.0, 0)]
        self.known = set(MIRRORS.values()) | {EXTRA_ADDRESS}

    def exclude(self, address, since):
        with self.lock:
            self.excluded[address] = since

    def include(self, address):
        with self.lock:
            self.excluded.pop(address, None)

    def acknowledge_gen(self, gen, since):
        with self.lock:
            self.gens.append((since, gen))

    def min_gen(self, sent):
        with self.lock:
            return max(g for t, g in self.gens if t <= sent)

    def forbidden(self, answered, sent):
        """Addresses of `answered` that were out when the query was sent,
        with how long before (seconds)."""
        with self.lock:
            return {a: sent - self.excluded.get(a, sent) for a in answered
                    if a not in self.known or self.excluded.get(a, sent + 1) <= sent}


class Stats:
    def __init__(self):
        self.lock = threading.Lock()
        self.counts = {}
        self.problems = []

    def add(self, key, n=1):
        with self.lock:
            self.counts[key] = self.counts.get(key, 0) + n

    def problem(self, text):
        with self.lock:
            self.problems.append(text)
        print(f"PROBLEM: {text}", flush=True)

    def get(self, key):
        with self.lock:
            return self.counts.get(key, 0)


# (name, type) of every query; checked by check_answer.
QUESTIONS = [(POOL, "A")] * 6 + [(POOL, "AAAA"), ("www.pool.example.", "A"),
                                 ("gen.pool.example.", "TXT"), ("nx.pool.example.", "A"),
                                 ("example.org.", "A")]


def check_answer(model, question, response, sent):
    """The first thing wrong with `response`, or None."""
    name, rdtype = question
    rc = dns.rcode.to_text(response.rcode())
    if not response.flags & dns.flags.QR:
        return "QR not set"
    if name == "example.org.":
        return None if rc == "REFUSED" else f"outside the zone: {rc}"
    if not response.flags & dns.flags.AA:
        return f"{name} {rdtype}: AA not set"
    if name == "nx.pool.example.":
        return None if rc == "NXDOMAIN" else f"nx: {rc}"
    if rc != "NOERROR":
        return f"{name} {rdtype}: {rc}"
    if name == "www.pool.example.":
        return None if addresses(response) == {"192.0.2.80"} else f"www: {addresses(response)}"
    if name == "gen.pool.example.":
        texts = [r.strings[0].decode() for rrset in response.answer for r in rrset]
        want = model.min_gen(sent)
        if len(texts) != 1 or not texts[0].startswith("gen-") or int(texts[0][4:]) < want:
            return f"gen TXT {texts}, acknowledged gen-{want}: lost acknowledged change"
        return None
    got = addresses(response)
    if rdtype == "AAAA":
        return None if not got else f"{POOL} AAAA: {got} (no IPv6 mirror)"
    if not got or len(got) > MAX_ANSWERS:
        return f"{POOL} A: {len(got)} addresses"
    bad = model.forbidden(got, sent)
    if bad:
        out = ", ".join(f"{a} ({ago:.3f} s)" for a, ago in sorted(bad.items()))
        return (f"{POOL} A: {out} answered to a query sent that long after it was taken out: "
                "lost acknowledged change")
    return None


def make_query(question):
    msg = dns.message.make_query(*question)
    msg.flags &= ~dns.flags.RD
    return msg


def udp_load(port, model, stats, stop, rng):
    while not stop.is_set():
        question = rng.choice(QUESTIONS)
        sent = time.monotonic()
        stats.add("udp sent")
        try:
            r = dns.query.udp(make_query(question), "127.0.0.1", port=port,
                              timeout=QUERY_TIMEOUT_S, ignore_unexpected=True)
        except dns.exception.Timeout:
            stats.add("udp lost")
            continue
        stats.add("udp answered")
        if (why := check_answer(model, question, r, sent)) is not None:
            stats.problem(f"udp at {sent:.3f}: {why}")
        stop.wait(0.01)


def recv_exactly(sock, n):
    data = b""
    while len(data) < n:
        chunk = sock.recv(n - len(data))
        if not chunk:
            raise ConnectionError("closed by the server")
        data += chunk
    return data


def tcp_load(port, model, stats, stop, rng):
    """One connection with up to 4 pipelined queries at a time; a new
    connection only when the server closed the old one (idle timeout)."""
    sock = None
    while not stop.is_set():
        if sock is None:
            sock = socket.create_connection(("127.0.0.1", port), timeout=QUERY_TIMEOUT_S)
            stats.add("tcp connections")
        pending = {}
        while len(pending) < rng.randint(1, 4):
            question = rng.choice(QUESTIONS)
            msg = make_query(question)
            pending.setdefault(msg.id, (msg, question))
        sent = time.monotonic()
        wire = b"".join(struct.pack("!H", len(w)) + w
                        for w in (msg.to_wire() for msg, _ in pending.values()))
        stats.add("tcp sent", len(pending))
        try:
            sock.sendall(wire)
            while pending:
                length = struct.unpack("!H", recv_exactly(sock, 2))[0]
                r = dns.message.from_wire(recv_exactly(sock, length))
                if r.id not in pending:
                    stats.problem(f"tcp: answer with unknown id {r.id}")
                    continue
                _, question = pending.pop(r.id)
                stats.add("tcp answered")
                if (why := check_answer(model, question, r, sent)) is not None:
                    stats.problem(f"tcp at {sent:.3f}: {why}")
        except (OSError, ConnectionError) as e:
            # Answers owed on a connection the server closed are lost.
            stats.add("tcp lost", len(pending))
            stats.problem(f"tcp: {type(e).__name__} {e} with {len(pending)} queries outstanding")
            sock.close()
            sock = None
        stop.wait(0.02)
    if sock is not None:
        sock.close()


def flap(mirrors, stop, rng, stats):
    """Breaks and repairs mirrors: 503, refused connections, back to 200."""
    while not stop.wait(rng.uniform(0.5, 2.0)):
        mirror = rng.choice(mirrors)
        what = rng.choice(["503", "refuse", "ok", "ok"])
        if what == "503":
            mirror.status(503)
        elif what == "refuse":
            mirror.close_listener()
        else:
            if mirror._server is None:
                mirror.start()
            mirror.ok()
        stats.add(f"flap {what}")


def proc_sample(pid):
    """(RSS in KiB, open file descriptors) of the process."""
    with open(f"/proc/{pid}/status") as f:
        rss = next(int(line.split()[1]) for line in f if line.startswith("VmRSS:"))
    return rss, len(os.listdir(f"/proc/{pid}/fd"))


class Operator:
    """Runs mirrorpoolctl and SIGHUP reloads, and checks that each
    acknowledged change shows in `status --json` and, through the model, in
    every answer to a query sent after the acknowledgement."""

    def __init__(self, srv, model, stats, rng):
        self.srv = srv
        self.model = model
        self.stats = stats
        self.rng = rng
        self.socket = os.path.join(srv.dir, "control.sock")
        self.drained = set()
        self.zero = set()
        self.extra = False
        self.gen = 0

    def ctl(self, *args):
        print(f"{time.monotonic():.3f} mirrorpoolctl {' '.join(args)}", flush=True)
        p = subprocess.run([CTL, "-s", self.socket, *args], capture_output=True, text=True,
                           timeout=60)
        ok = p.returncode == 0
        self.stats.add("ctl ok" if ok else "ctl failed")
        if not ok:
            self.stats.problem(f"mirrorpoolctl {' '.join(args)}: exit {p.returncode}: "
                               f"{p.stderr.strip()}")
        return ok, p.stdout

    def mirror_states(self):
        ok, out = self.ctl("status", "--json")
        if not ok:
            return {}
        for pool in json.loads(out)["pools"]:
            if pool["name"] == POOL:
                return {m["id"]: m for m in pool["mirrors"]}
        return {}

    def expect_state(self, mid, what, test):
        m = self.mirror_states().get(mid)
        if not test(m):
            self.stats.problem(f"{what} acknowledged but status --json shows {m}: "
                               "lost acknowledged change")

    def step(self):
        excluded = len(self.drained | self.zero)
        actions = ["reload", "sighup", "status"]
        if excluded < MAX_EXCLUDED:
            actions += ["drain", "weight0"]
        if self.drained:
            actions.append("undrain")
        if self.zero:
            actions.append("weight5")
        actions.append("remove" if self.extra else "add")
        getattr(self, "do_" + self.rng.choice(actions))()

    def candidates(self):
        """Mirrors neither drained nor at weight 0: the two never overlap, so
        that putting one back puts its address back."""
        return sorted(set(MIRRORS) - self.drained - self.zero)

    def do_drain(self):
        mid = self.rng.choice(self.candidates())
        ok, _ = self.ctl("drain", mid, "--note", "soak", "--force")
        if ok:
            self.model.exclude(MIRRORS[mid], time.monotonic())
            self.drained.add(mid)
            self.expect_state(mid, f"drain {mid}", lambda m: m and m["state"] == "drained")

    def enabling(self, address, *args):
        """Runs a command that puts `address` back: the daemon may answer it
        before the command returns, so the model allows it from the start."""
        self.model.include(address)
        ok, _ = self.ctl(*args)
        if not ok:
            self.model.exclude(address, time.monotonic())
        return ok

    def do_undrain(self):
        mid = self.rng.choice(sorted(self.drained))
        if self.enabling(MIRRORS[mid], "undrain", mid):
            self.drained.discard(mid)
            self.expect_state(mid, f"undrain {mid}", lambda m: m and m["state"] != "drained")

    def do_weight0(self):
        mid = self.rng.choice(self.candidates())
        ok, _ = self.ctl("set-weight", mid, "0", "--force")
        if ok:
            self.model.exclude(MIRRORS[mid], time.monotonic())
            self.zero.add(mid)
            self.expect_state(mid, f"set-weight {mid} 0", lambda m: m and m["weight"] == 0)

    def do_weight5(self):
        mid = self.rng.choice(sorted(self.zero))
        if self.enabling(MIRRORS[mid], "set-weight", mid, "5"):
            self.zero.discard(mid)
            self.expect_state(mid, f"set-weight {mid} 5", lambda m: m and m["weight"] == 5)

    def do_add(self):
        if self.enabling(EXTRA_ADDRESS, "add", "--pool", POOL, "--id", EXTRA_ID, "--address",
                         EXTRA_ADDRESS, "--weight", "3"):
            self.extra = True
            self.expect_state(EXTRA_ID, f"add {EXTRA_ID}", lambda m: m is not None)

    def do_remove(self):
        ok, _ = self.ctl("remove", EXTRA_ID, "--force")
        if ok:
            self.extra = False
            self.model.exclude(EXTRA_ADDRESS, time.monotonic())
            self.expect_state(EXTRA_ID, f"remove {EXTRA_ID}", lambda m: m is None)

    def edit_zone(self):
        self.gen += 1
        with open(os.path.join(self.srv.dir, "pool.example.zone"), "w") as f:
            f.write(zone_text(self.gen))

    def do_reload(self):
        self.edit_zone()
        ok, _ = self.ctl("reload")
        if ok:
            self.model.acknowledge_gen(self.gen, time.monotonic())
            self.stats.add("reloads")

    def do_sighup(self):
        """No acknowledgement comes back: the edit must show within 15 s."""
        edit = self.rng.random() < 0.5
        if edit:
            self.edit_zone()
        print(f"{time.monotonic():.3f} SIGHUP", flush=True)
        self.srv.signal(signal.SIGHUP)
        self.stats.add("sighup")
        if not edit:
            return
        want = f"gen-{self.gen}"

        def visible():
            r = self.srv.query("gen.pool.example.", "TXT", timeout=QUERY_TIMEOUT_S)
            return any(r.strings[0].decode() == want for rrset in r.answer for r in rrset)
        try:
            _, took = wait_until(visible, 15, f"{want} after SIGHUP", interval=0.05)
            self.model.acknowledge_gen(self.gen, time.monotonic())
            self.stats.add("sighup reloads seen")
            self.stats.add("sighup ms", int(took * 1000))
        except (AssertionError, dns.exception.Timeout) as e:
            self.stats.problem(f"SIGHUP reload with {want} not visible: {e}")

    def do_status(self):
        states = self.mirror_states()
        for mid in self.drained:
            if states.get(mid, {}).get("state") != "drained":
                self.stats.problem(f"{mid} drained but status --json shows {states.get(mid)}")


def error_lines(log_text):
    return [line for line in log_text.splitlines() if line.startswith("error:")]


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--minutes", type=float, default=2.0)
    ap.add_argument("--warmup", type=float, default=10.0,
                    help="seconds of load before the first RSS/fd sample")
    ap.add_argument("--max-rss-growth-mib", type=float, default=24.0)
    ap.add_argument("--max-fd-growth", type=int, default=16,
                    help="probe connections in flight vary by a few")
    ap.add_argument("--max-udp-loss", type=float, default=0.001,
                    help="fraction of UDP queries that may go unanswered")
    ap.add_argument("--seed", type=int, default=None)
    args = ap.parse_args()
    seed = args.seed if args.seed is not None else random.randrange(1 << 30)
    print(f"soak: {args.minutes} min, seed {seed}", flush=True)
    rng = random.Random(seed)

    # Under AddressSanitizer freed memory sits in a quarantine of up to 256 MiB
    # by default, which would read as growth; a small one keeps RSS meaningful.
    # Ignored by a build without it.
    asan = os.environ.get("ASAN_OPTIONS", "")
    os.environ["ASAN_OPTIONS"] = (asan + ":" if asan else "") + "quarantine_size_mb=8"

    mport = free_port()
    mirrors = [FakeMirror(a, mport).start() for a in list(MIRRORS.values()) + [EXTRA_ADDRESS]]
    model, stats, stop = Model(), Stats(), threading.Event()
    failures = []
    srv = None
    try:
        srv = Server(config_text(mport), files={"pool.example.zone": zone_text(0)})
        loaders = [threading.Thread(target=udp_load, daemon=True,
                                    args=(srv.port, model, stats, stop, random.Random(rng.random())))
                   for _ in range(2)]
        loaders.append(threading.Thread(target=tcp_load, daemon=True,
                                        args=(srv.port, model, stats, stop,
                                              random.Random(rng.random()))))
        loaders.append(threading.Thread(target=flap, daemon=True,
                                        args=(mirrors[:-1], stop, random.Random(rng.random()),
                                              stats)))
        for t in loaders:
            t.start()
        operator = Operator(srv, model, stats, random.Random(rng.random()))
        start = time.monotonic()
        end = start + args.minutes * 60
        sampled = None
        while time.monotonic() < end and srv.proc.poll() is None:
            if sampled is None and time.monotonic() - start >= args.warmup:
                sampled = proc_sample(srv.proc.pid)
            operator.step()
            time.sleep(rng.uniform(0.3, 1.2))
        running = srv.proc.poll() is None
        final = proc_sample(srv.proc.pid) if running else None
        stop.set()
        for t in loaders:
            t.join(QUERY_TIMEOUT_S + 10)
        if not running:
            failures.append(f"mirrorpoold exited with {srv.proc.returncode}")
        else:
            code = srv.stop()
            if code != 0:
                failures.append(f"mirrorpoold exit code {code} on SIGTERM")
    finally:
        stop.set()
        for m in mirrors:
            m.stop()
        if srv is not None:
            srv.__exit__(None, None, None)

    elapsed = time.monotonic() - start
    print(f"\nsoak report ({elapsed:.0f} s, seed {seed}):")
    for transport in ("udp", "tcp"):
        sent, answered, lost = (stats.get(f"{transport} {k}") for k in ("sent", "answered", "lost"))
        print(f"  {transport}: {sent} sent, {answered} answered, {lost} lost "
              f"({answered / elapsed:.0f}/s)")
    print(f"  tcp connections: {stats.get('tcp connections')}")
    print(f"  mirrorpoolctl: {stats.get('ctl ok')} ok, {stats.get('ctl failed')} failed; "
          f"reloads {stats.get('reloads')}, SIGHUP {stats.get('sighup')} "
          f"({stats.get('sighup reloads seen')} with a zone edit, seen after "
          f"{stats.get('sighup ms') / max(1, stats.get('sighup reloads seen')):.0f} ms on average)")
    print("  flaps: " + ", ".join(f"{k[5:]} {v}" for k, v in sorted(stats.counts.items())
                                  if k.startswith("flap ")))
    errors = error_lines(srv.log())
    print(f"  errors in the daemon log: {len(errors)}")
    for line in errors[:10]:
        print(f"    {line}")
    if stats.problems:
        print(f"  problems: {len(stats.problems)}")
        for p in stats.problems[:20]:
            print(f"    {p}")
    if sampled and final:
        rss_growth = (final[0] - sampled[0]) / 1024
        fd_growth = final[1] - sampled[1]
        print(f"  RSS {sampled[0] / 1024:.1f} -> {final[0] / 1024:.1f} MiB "
              f"(+{rss_growth:.1f}, bound {args.max_rss_growth_mib}); "
              f"fds {sampled[1]} -> {final[1]} (+{fd_growth}, bound {args.max_fd_growth})")
        if rss_growth > args.max_rss_growth_mib:
            failures.append(f"RSS grew by {rss_growth:.1f} MiB")
        if fd_growth > args.max_fd_growth:
            failures.append(f"open fds grew by {fd_growth}")
    else:
        failures.append("the run ended before the warm-up: no RSS/fd figures")
    if errors:
        failures.append(f"{len(errors)} error line(s) in the daemon log")
    if stats.problems:
        failures.append(f"{len(stats.problems)} problem(s) in answers or commands")
    if stats.get("tcp lost"):
        failures.append(f"{stats.get('tcp lost')} TCP queries lost")
    udp_sent = stats.get("udp sent")
    if udp_sent and stats.get("udp lost") / udp_sent > args.max_udp_loss:
        failures.append(f"{stats.get('udp lost')} of {udp_sent} UDP queries lost")
    if not stats.get("udp answered") or not stats.get("tcp answered"):
        failures.append("no answers at all")
    for f in failures:
        print(f"FAIL: {f}")
    print("soak: " + ("FAILED" if failures else "passed"), flush=True)
    if failures:
        print(f"daemon log: {srv.log_path}")
    sys.exit(1 if failures else 0)


if __name__ == "__main__":
    main()
