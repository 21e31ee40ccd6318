"""Dropping root (`[server] user` in mirrorpool.toml(5)): started as root with
user = "nobody", every thread of mirrorpoold runs as nobody with no
capability left, an empty bounding set and no_new_privs, still answers on its
port and owns its state directory and control socket. A user that does not
exist is a start-up error; user = "root" stays root and says so. Started as
an unprivileged user (with CAP_NET_BIND_SERVICE, as systemd gives it), it
just runs."""

import os
import pwd
import subprocess
import sys

from fake_mirror import FakeMirror
from harness import BASE_CONFIG, ZONE, Failures, Server, addresses, free_port, rcode

CTL = os.environ.get("MIRRORPOOLCTL", "mirrorpoolctl")
MIRROR = "127.0.1.161"
CAP_SETS = ("CapInh", "CapPrm", "CapEff", "CapBnd", "CapAmb")


def config(user, mport):
    return BASE_CONFIG.replace('user = "root"', f'user = "{user}"') + f"""
[[pool]]
name = "dl.pool.example."
[pool.check]
type = "http"
port = {mport}
interval = "500ms"
timeout = "300ms"
rise = 1
fall = 1

[[pool.mirror]]
id = "m1"
addresses = ["{MIRROR}"]
"""


def task_status(pid):
    """/proc/PID/task/TID/status of every thread, as {tid: {key: value}}."""
    out = {}
    for tid in os.listdir(f"/proc/{pid}/task"):
        try:
            with open(f"/proc/{pid}/task/{tid}/status") as f:
                out[tid] = dict(line.rstrip("\n").split(":\t", 1) for line in f if ":\t" in line)
        except FileNotFoundError:
            pass  # a thread that ended while we listed them
    return out


def main():
    if os.geteuid() != 0:
        print("privileges_test needs root: it checks what mirrorpoold drops")
        sys.exit(77)  # meson: skipped
    # LeakSanitizer (the ASan build of tests/run) checks at exit from a
    # helper that ptrace()s the process, which the kernel refuses once it
    # has changed credentials (no longer dumpable): it would fail every exit.
    # Ignored by a build without it.
    asan = os.environ.get("ASAN_OPTIONS", "")
    os.environ["ASAN_OPTIONS"] = (asan + ":" if asan else "") + "detect_leaks=0"
    f = Failures()
    nobody = pwd.getpwnam("nobody")
    mport = free_port()
    with FakeMirror(MIRROR, mport):
        with Server(config("nobody", mport), files={"pool.example.zone": ZONE}) as srv:
            r = srv.query("dl.pool.example.", "A")
            f.check(rcode(r) == "NOERROR" and addresses(r) == {MIRROR},
                    f"answers on its port after dropping root: {addresses(r)}")
            r = srv.query("dl.pool.example.", "A", tcp=True)
            f.check(addresses(r) == {MIRROR}, "answers over TCP too")

            threads = task_status(srv.proc.pid)
            f.check(len(threads) >= 2, f"threads seen: {len(threads)}")
            for tid, st in sorted(threads.items()):
                uids = st["Uid"].split()
                gids = st["Gid"].split()
                groups = st.get("Groups", "").split()
                f.check(uids == [str(nobody.pw_uid)] * 4,
                        f"thread {tid} ({st['Name']}): Uid {uids} is nobody's, real to fs")
                f.check(gids == [str(nobody.pw_gid)] * 4,
                        f"thread {tid}: Gid {gids} is nobody's, real to fs")
                f.check("0" not in groups, f"thread {tid}: no supplementary group 0: {groups}")
                for cap in CAP_SETS:
                    f.check(int(st[cap], 16) == 0, f"thread {tid}: {cap} {st[cap]} is empty")
                f.check(st["NoNewPrivs"] == "1", f"thread {tid}: NoNewPrivs {st['NoNewPrivs']}")

            state_dir = os.path.join(srv.dir, "state")
            sock = os.path.join(srv.dir, "control.sock")
            for path in [state_dir, sock] + [os.path.join(state_dir, n) for n in os.listdir(state_dir)]:
                st = os.lstat(path)
                f.check(st.st_uid == nobody.pw_uid,
                        f"{os.path.relpath(path, srv.dir)} is owned by nobody (uid {st.st_uid})")

            # The control socket works, and a change is written to the state
            # directory by the unprivileged daemon.
            p = subprocess.run([CTL, "-s", sock, "drain", "m1", "--note", "privileges test",
                                "--force"], capture_output=True, text=True, timeout=30)
            f.check(p.returncode == 0, f"drain through the control socket: {p.stdout}{p.stderr}")
            state_file = os.path.join(state_dir, "state.json")
            f.check(os.path.exists(state_file) and os.stat(state_file).st_uid == nobody.pw_uid,
                    "state.json written by nobody")
            f.check(srv.stop() == 0, "stops cleanly on SIGTERM")

    # A user that does not exist: a clear error at start-up, nothing served.
    with Server(config("no-such-user-mirrorpool", mport), files={"pool.example.zone": ZONE},
                start=False) as srv:
        srv.start(wait=False)
        try:
            code = srv.proc.wait(30)
        except subprocess.TimeoutExpired:
            code = None
        f.check(code == 1, f"unknown user: exit code {code} (1, a runtime error)")
        f.check("user 'no-such-user-mirrorpool' does not exist" in srv.log(),
                "unknown user: the log names it")
        srv.log_file.close()

    # user = "root": stays root, with a warning.
    with FakeMirror(MIRROR, mport):
        with Server(config("root", mport), files={"pool.example.zone": ZONE}) as srv:
            st = task_status(srv.proc.pid)[str(srv.proc.pid)]
            f.check(st["Uid"].split() == ["0"] * 4, f"user root: still uid 0 ({st['Uid']})")
            f.check('running as root because [server] user = "root"' in srv.log(),
                    "user root: a warning in the log")
            f.check(srv.stop() == 0, "user root: stops cleanly")

    # Started as an unprivileged user holding CAP_NET_BIND_SERVICE (as under
    # systemd's AmbientCapabilities): nothing to drop, it just runs.
    with FakeMirror(MIRROR, mport):
        with Server(config("nobody", mport), files={"pool.example.zone": ZONE},
                    start=False, wrapper=unprivileged(nobody)) as srv:
            os.chown(srv.dir, nobody.pw_uid, nobody.pw_gid)
            srv.start()
            r = srv.query("dl.pool.example.", "A")
            f.check(addresses(r) == {MIRROR}, f"unprivileged start: answers ({addresses(r)})")
            st = task_status(srv.proc.pid)[str(srv.proc.pid)]
            f.check(st["Uid"].split() == [str(nobody.pw_uid)] * 4,
                    f"unprivileged start: runs as nobody ({st['Uid']})")
            f.check(int(st["CapEff"], 16) == 1 << CAP_NET_BIND_SERVICE,
                    f"unprivileged start: keeps only the capability it was given ({st['CapEff']})")
            f.check("running as user" not in srv.log() and "cannot switch" not in srv.log(),
                    "unprivileged start: no switch attempted")
            f.check(srv.stop() == 0, "unprivileged start: stops cleanly")
    f.finish()


CAP_NET_BIND_SERVICE = 10


def unprivileged(account):
    """setpriv (util-linux) arguments that exec as `account`, keeping
    CAP_NET_BIND_SERVICE as an ambient capability."""
    return ["setpriv", f"--reuid={account.pw_uid}", f"--regid={account.pw_gid}",
            "--clear-groups", "--inh-caps=+net_bind_service",
            "--ambient-caps=+net_bind_service"]


if __name__ == "__main__":
    main()
