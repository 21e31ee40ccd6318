"""Attacks on what the daemon answers and keeps, on the real binary: an
operator's change is either refused with a reason or on disk, and what the
pool answers follows the contract whatever the operator or the disk does.
Each attack is followed by attack_test's health check.

6. A full disk under state_dir: a change that cannot be journalled and saved
   is refused and changes nothing; a reload needs its journal line too; once
   there is room again, changes work, the journal has no torn fragment glued
   to a good line, and a restart keeps every acknowledged change.
7. A second mirrorpoold on the same config, or on the same state_dir with
   another port and socket, exits 1 naming the running PID and touches
   nothing: the first keeps its control socket, answers and state files.
8. The last enabled mirror of a pool cannot be drained, weighted 0 or
   removed without --force; with --force, when_all_down applies (servfail:
   SERVFAIL) and a disabled mirror is never answered, even by serve-all.
9. A mirror added at run time is answered only after it has passed `rise`
   probes: a dead one never, not even as the only address of a pool whose
   other mirrors are all down.
"""

import errno
import json
import os
import re
import signal
import subprocess
import threading
import time

from attack_test import (DL, POOL, TcpMirror, config, control_socket, ctl, first_line, healthy,
                         mirrors_status, pool_toml, start_mirrors, state_file)
from failover import bound_s, time_until
from harness import MIRRORPOOLD, ZONE, Failures, Server, addresses, free_port, rcode

STATE_FILES = ("state.json", "journal.log")
TMPFS_SIZE = "256k"
# tmpfs hands out whole pages: a journal line fits as long as the last page
# of journal.log has room. The test leaves JOURNAL_ROOM bytes there: a
# LONG_NOTE's line (longer than that) is cut short by the full disk, a short
# line fits while the state file written after it does not.
PAGE = os.sysconf("SC_PAGESIZE")
JOURNAL_ROOM = 350
LONG_NOTE = "disk full " * 40
SECOND_INSTANCE_EXIT_S = 10
MAX_QUERIES = 2000
QUERY_SPAN_S = 3.0


def served(srv, pool=POOL):
    return addresses(srv.query(pool, "A"))


def state_bytes(srv):
    out = {}
    for name in STATE_FILES:
        with open(state_file(srv, name), "rb") as f:
            out[name] = f.read()
    return out


def fill(path, chunk=b"\0" * PAGE):
    """Appends to `path` until the file system is full (ENOSPC)."""
    with open(path, "ab", buffering=0) as f:
        for _ in range(100000):
            try:
                f.write(chunk)
            except OSError as e:
                if e.errno != errno.ENOSPC:
                    raise
                return
    raise AssertionError(f"{path}: the file system never filled up")


def journal_problems(srv):
    """Lines of journal.log that are not whole JSON objects (blank lines are
    allowed: the journal skips them)."""
    problems = []
    with open(state_file(srv, "journal.log"), "rb") as f:
        for number, line in enumerate(f, 1):
            if not line.strip():
                continue
            try:
                if not isinstance(json.loads(line), dict):
                    raise ValueError
            except ValueError:
                problems.append(f"line {number}: {line[:60]!r}…")
    return problems


def history(srv, mirror):
    rc, out, err = ctl(srv, "history", mirror, "--json")
    return json.loads(out) if rc == 0 else {"entries": [], "warnings": [err.strip()]}


def full_disk(f, mport):
    """state_dir on a 256 KiB tmpfs that the test fills up. The daemon must
    acknowledge a change only when its journal line and state file are on
    disk; a journal line cut short must not stay glued in front of the next
    one."""
    srv = Server(config(mport), {"pool.example.zone": ZONE}, start=False)
    state_dir = os.path.join(srv.dir, "state")
    os.makedirs(state_dir)
    subprocess.run(["mount", "-t", "tmpfs", "-o", f"size={TMPFS_SIZE}", "tmpfs", state_dir],
                   check=True)
    try:
        srv.start()
        with srv:
            rc, _, err = ctl(srv, "set-weight", "m3", "7")
            f.check(rc == 0, f"full disk: set-weight m3 7 acknowledged while there is room {err}")
            # Blank lines (the journal skips them) leave JOURNAL_ROOM bytes
            # in the last page of journal.log; then the disk fills up.
            journal = state_file(srv, "journal.log")
            with open(journal, "ab") as j:
                j.write(b"\n" * ((-os.path.getsize(journal) - JOURNAL_ROOM) % PAGE))
            filler = os.path.join(state_dir, "filler")
            fill(filler)
            rc, _, err = ctl(srv, "drain", "m1", "--note", LONG_NOTE)
            f.check(rc == 1 and re.search(r"no space left", err, re.I),
                    f"full disk: a drain whose journal line is cut short fails, saying why "
                    f"(exit {rc}: {first_line(err)[:120]})")
            # A short line still fits in the journal's last page, but the new
            # state file needs a page of its own: the journal line is taken
            # back and the drain fails.
            rc, _, err = ctl(srv, "drain", "m1", "--note", "s")
            f.check(rc == 1 and re.search(r"no space left", err, re.I),
                    f"full disk: a drain whose state file cannot be written fails, saying why "
                    f"(exit {rc}: {first_line(err)[:120]})")
            f.check(not [e for e in history(srv, "m1")["entries"] if e["kind"] == "drain"],
                    "full disk: the journal line of the drain that failed is taken back")
            # Now not even a short line fits.
            fill(journal, b"\n")
            rc, _, err = ctl(srv, "drain", "m1", "--note", "x")
            f.check(rc == 1 and re.search(r"no space left", err, re.I),
                    f"full disk: drain m1 --note x fails, saying why "
                    f"(exit {rc}: {first_line(err)[:120]})")
            f.check(DL["m1"] in served(srv) and mirrors_status(srv)[POOL]["m1"][0] != "drained",
                    "full disk: m1 is still answered and not drained")
            rc, _, err = ctl(srv, "reload")
            f.check(rc == 1, f"full disk: reload fails without its journal line "
                             f"(exit {rc}: {first_line(err)[:120]})")
            f.check(served(srv) == set(DL.values()), "full disk: still serving every mirror")

            os.remove(filler)
            rc, _, err = ctl(srv, "drain", "m1", "--note", "y")
            f.check(rc == 0 and DL["m1"] not in served(srv),
                    f"room again: drain m1 --note y succeeds {first_line(err)}")
            h = history(srv, "m1")
            drains = [e for e in h["entries"] if e["kind"] == "drain"]
            f.check([e["reason"] for e in drains] == ["y"] and not h["warnings"],
                    f"room again: history m1 shows exactly that drain, no skipped line "
                    f"({[e['reason'][:10] for e in drains]}, warnings {h['warnings']})")
            problems = journal_problems(srv)
            f.check(not problems, f"room again: every journal line is whole {problems}")
            healthy(f, srv, "full disk")

            rc = srv.stop()
            srv.start()
            dl = mirrors_status(srv)[POOL]
            h = history(srv, "m1")
            f.check(rc == 0 and dl["m1"][0] == "drained" and dl["m3"][1] == 7 and
                    [e["reason"] for e in h["entries"] if e["kind"] == "drain"] == ["y"],
                    f"full disk: after a restart m1 is drained, m3 has weight 7, history "
                    f"shows the drain ({dl})")
    finally:
        if srv.proc is not None and srv.proc.poll() is None:  # it never got ready
            srv.proc.kill()
            srv.proc.wait(5)
        subprocess.run(["umount", state_dir], check=False)


def inode(path):
    """The inode number of `path`, None when it does not exist."""
    try:
        return os.stat(path).st_ino
    except FileNotFoundError:
        return None


def second_instance(f, mport):
    """A second daemon on the same state must not start: it would share the
    DNS port (SO_REUSEPORT), replace the control socket and write the same
    journal and state file as the first."""
    with Server(config(mport), {"pool.example.zone": ZONE}) as srv:
        rc, _, _ = ctl(srv, "drain", "m4", "--note", "first instance")
        f.check(rc == 0, "second instance: a change on the first")
        other_sock = os.path.join(srv.dir, "other.sock")
        other_config = os.path.join(srv.dir, "other.toml")
        with open(srv.config_path) as c, open(other_config, "w") as o:
            o.write(c.read().replace(f":{srv.port}", f":{free_port()}")
                    .replace(control_socket(srv), other_sock))
        for what, path in (("the same config", srv.config_path),
                           ("another port and control socket, the same state_dir", other_config)):
            before = state_bytes(srv)
            socket_inode = inode(control_socket(srv))
            start = time.monotonic()
            p = subprocess.Popen([MIRRORPOOLD, "-c", path], stdout=subprocess.PIPE,
                                 stderr=subprocess.STDOUT, text=True, errors="replace")
            try:
                output, _ = p.communicate(timeout=SECOND_INSTANCE_EXIT_S)
            except subprocess.TimeoutExpired:
                p.send_signal(signal.SIGTERM)
                output, _ = p.communicate(timeout=10)
            took = time.monotonic() - start
            f.check(p.returncode == 1 and took < SECOND_INSTANCE_EXIT_S and
                    re.search(rf"\b{srv.proc.pid}\b", output),
                    f"second instance on {what}: exits 1 within {SECOND_INSTANCE_EXIT_S} s "
                    f"naming pid {srv.proc.pid} (exit {p.returncode} after {took:.1f} s: "
                    f"{first_line(output)[:150]})")
            f.check(inode(control_socket(srv)) == socket_inode is not None and
                    not os.path.exists(other_sock) and state_bytes(srv) == before,
                    f"second instance on {what}: the control socket, state.json and "
                    f"journal.log are untouched")
            healthy(f, srv, f"second instance on {what}")
        # Another state_dir and port, the same control socket: the socket is
        # live, so it is not taken over either.
        elsewhere = os.path.join(srv.dir, "elsewhere.toml")
        with open(srv.config_path) as c, open(elsewhere, "w") as o:
            o.write(c.read().replace(f":{srv.port}", f":{free_port()}")
                    .replace(f'{srv.dir}/state"', f'{srv.dir}/state-elsewhere"'))
        socket_inode = inode(control_socket(srv))
        p = subprocess.run([MIRRORPOOLD, "-c", elsewhere], capture_output=True, text=True,
                           errors="replace", timeout=SECOND_INSTANCE_EXIT_S + 10)
        output = p.stdout + p.stderr
        f.check(p.returncode == 1 and "is in use by another process" in output and
                inode(control_socket(srv)) == socket_inode,
                f"second instance on another state_dir, the same control socket: exits 1 and "
                f"leaves the socket ({p.returncode}: {first_line(output)[:150]})")
        healthy(f, srv, "second instance on the same control socket")


LAST = {"l1": "127.0.1.165", "l2": "127.0.1.166"}
OPEN = {"o1": "127.0.1.167", "o2": "127.0.1.168"}


def last_enabled_mirror(f, mport):
    """Draining the last enabled mirror empties the pool as surely as its
    failure would: it takes --force, and then when_all_down decides."""
    pools = (pool_toml("last.pool.example.", LAST, mport,
                       'min_healthy = 1\nwhen_all_down = "servfail"') +
             pool_toml("open.pool.example.", OPEN, mport,
                       'min_healthy = 1\nwhen_all_down = "serve-all"'))
    mirrors = start_mirrors(mport, {**LAST, **OPEN})
    try:
        with Server(config(mport, pools=pools), {"pool.example.zone": ZONE}) as srv:
            rc, _, err = ctl(srv, "drain", "l1", "--note", "a")
            f.check(rc == 0, f"last mirror: drain l1 while l2 is left {first_line(err)}")
            # Each wrongly accepted change is undone, so the next one is judged
            # on its own.
            for what, undo in ((["drain", "l2", "--note", "b"], ["undrain", "l2"]),
                               (["set-weight", "l2", "0"], ["set-weight", "l2", "1", "--force"]),
                               (["remove", "l2"], ["add", "--pool", "last.pool.example",
                                                   "--id", "l2", "--address", LAST["l2"]])):
                rc, _, err = ctl(srv, *what)
                f.check(rc == 1 and "min_healthy" in err,
                        f"last mirror: {' '.join(what)} refused without --force "
                        f"(exit {rc}: {first_line(err)[:120]})")
                if rc == 0:
                    ctl(srv, *undo)
            last = mirrors_status(srv)["last.pool.example."]
            f.check(last.get("l2", (None, None))[:2] == ("up", 1) and
                    served(srv, "last.pool.example.") == {LAST["l2"]},
                    f"last mirror: l2 still enabled and answered ({last})")
            rc, _, err = ctl(srv, "drain", "l2", "--note", "b", "--force")
            r = srv.query("last.pool.example.", "A")
            f.check(rc == 0 and rcode(r) == "SERVFAIL",
                    f"last mirror: drained with --force, when_all_down servfail answers "
                    f"{rcode(r)} {sorted(addresses(r))} {first_line(err)}")
            rc1, _, _ = ctl(srv, "drain", "o1", "--note", "a", "--force")
            rc2, _, _ = ctl(srv, "set-weight", "o2", "0", "--force")
            r = srv.query("open.pool.example.", "A")
            f.check(rc1 == rc2 == 0 and rcode(r) == "NOERROR" and not addresses(r),
                    f"last mirror: serve-all with o1 drained and o2 weight 0 answers NOERROR "
                    f"without them ({rcode(r)} {sorted(addresses(r))})")
            healthy(f, srv, "last enabled mirror")
    finally:
        for m in mirrors.values():
            m.stop()


ADD = {"a1": "127.0.1.169", "a2": "127.0.1.170"}
LONE = {"b1": "127.0.1.171"}  # no listener: down from the first round
DEAD_ADDED = "127.0.1.172"
DEAD_ADDED_LONE = "127.0.1.173"
LIVE_ADDED = "127.0.1.174"


def answers_around(srv, pool, action):
    """The answers for `pool` A from a thread querying back to back while
    action() runs and QUERY_SPAN_S after it (at most MAX_QUERIES): a dead
    mirror answered only until its first probe fails shows up within
    milliseconds of the change. Returns (action's result, answers)."""
    seen, done = [], threading.Event()

    def run():
        while not done.is_set() and len(seen) < MAX_QUERIES:
            seen.append(served(srv, pool))
            time.sleep(0.005)
    thread = threading.Thread(target=run, daemon=True)
    thread.start()
    result = action()
    time.sleep(QUERY_SPAN_S)
    done.set()
    thread.join(10)
    return result, seen


def unprobed_mirror(f, mport):
    """A mirror added with `mirrorpoolctl add` has never been probed: it is
    down until it has passed `rise` probes, like any mirror coming back."""
    pools = (pool_toml("add.pool.example.", ADD, mport) +
             pool_toml("lone.pool.example.", LONE, mport,
                       'min_healthy = 1\nwhen_all_down = "serve-all"'))
    mirrors = start_mirrors(mport, ADD)
    try:
        with Server(config(mport, pools=pools), {"pool.example.zone": ZONE}) as srv:
            (rc, _, err), seen = answers_around(srv, "add.pool.example.", lambda: ctl(
                srv, "add", "--pool", "add.pool.example", "--id", "dead", "--address", DEAD_ADDED))
            f.check(rc == 0 and not any(DEAD_ADDED in s for s in seen),
                    f"unprobed: an added dead mirror is never answered "
                    f"({sum(DEAD_ADDED in s for s in seen)}/{len(seen)} answers had it) "
                    f"{first_line(err)}")
            (rc, _, err), seen = answers_around(srv, "lone.pool.example.", lambda: ctl(
                srv, "add", "--pool", "lone.pool.example", "--id", "dead2", "--address",
                DEAD_ADDED_LONE))
            f.check(rc == 0 and all(LONE["b1"] in s for s in seen),
                    f"unprobed: in a pool whose mirrors are all down (serve-all) the added "
                    f"dead mirror is never the only answer "
                    f"({sum(s == {DEAD_ADDED_LONE} for s in seen)}/{len(seen)} were) "
                    f"{first_line(err)}")
            live = TcpMirror(LIVE_ADDED, mport)
            try:
                rc, _, err = ctl(srv, "add", "--pool", "add.pool.example", "--id", "live",
                                 "--address", LIVE_ADDED)
                took = time_until(srv, "add.pool.example.", "A", LIVE_ADDED, True,
                                  bound_s(1.0, 2, 0.5) + 3)
                # The kernel completes a probe's connection before the
                # listener's thread counts it; the next probe is 1 s away.
                time.sleep(0.2)
                f.check(rc == 0 and took is not None and live.accepted >= 2,
                        f"unprobed: an added live mirror is answered after "
                        f"{took and round(took, 1)} s, once it passed {live.accepted} "
                        f"probe(s) (rise 2) {first_line(err)}")
            finally:
                live.stop()
            healthy(f, srv, "mirrors added at run time")
    finally:
        for m in mirrors.values():
            m.stop()


def main():
    f = Failures()
    mport = free_port()
    mirrors = start_mirrors(mport, DL)
    start = time.monotonic()
    try:
        full_disk(f, mport)
        second_instance(f, mport)
        last_enabled_mirror(f, mport)
        unprobed_mirror(f, mport)
    finally:
        for m in mirrors.values():
            m.stop()
    print(f"attack_state_test: {time.monotonic() - start:.0f} s", flush=True)
    f.finish()


if __name__ == "__main__":
    main()
