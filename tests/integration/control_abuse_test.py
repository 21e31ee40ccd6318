"""Hostile clients of the control socket against the real mirrorpoold: missing
args, mistyped and out-of-range fields, invalid ids, notes with newlines and
20,000 levels of nesting are refused with an error naming the field; clients
that close before reading their reply, clients that never read a large reply
and more clients than the server takes at once cannot stop it or keep its
fds. Meanwhile, and afterwards, DNS and mirrorpoolctl keep working."""

import datetime
import hashlib
import json
import os
import select
import socket
import subprocess
import time

from harness import BASE_CONFIG, ZONE, Failures, Server, wait_until

CTL = os.environ.get("MIRRORPOOLCTL", "mirrorpoolctl")
POOL = "dl.pool.example."
REPLY_TIMEOUT_S = 5
MAX_CLIENTS = 64

CONFIG = BASE_CONFIG + f"""
[[pool]]
name = "{POOL}"
[pool.check]
type = "tcp"
port = 9
interval = "1s"
timeout = "300ms"
[[pool.mirror]]
id = "m1"
addresses = ["127.0.1.101"]
[[pool.mirror]]
id = "m2"
addresses = ["127.0.1.102"]
"""


def journal(entries):
    """A journal whose `history` answer is far larger than a socket buffers."""
    now = datetime.datetime.now(datetime.timezone.utc)
    lines = []
    for i in range(entries):
        when = now - datetime.timedelta(minutes=entries - i)
        entry = {"time": when.strftime("%Y-%m-%dT%H:%M:%SZ"), "who": "uid 0 (root)",
                 "kind": "drain", "pool": POOL, "mirror": "m1", "what": "drained",
                 "reason": "x" * 150}
        canonical = json.dumps(entry, sort_keys=True, separators=(",", ":"))
        entry["sha256"] = hashlib.sha256(canonical.encode()).hexdigest()
        lines.append(json.dumps(entry, sort_keys=True, separators=(",", ":")) + "\n")
    return "".join(lines)


def connect(path):
    s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    s.connect(path)  # blocking: waits while the listen backlog is full
    s.settimeout(30)
    return s


def request(path, line):
    """Sends one line, returns the reply line parsed ({} if none came)."""
    with connect(path) as s:
        s.sendall(line.encode() + b"\n")
        data = b""
        while not data.endswith(b"\n"):
            chunk = s.recv(65536)
            if not chunk:
                break
            data += chunk
    return json.loads(data) if data.endswith(b"\n") else {}


def fds(srv):
    return len(os.listdir(f"/proc/{srv.proc.pid}/fd"))


def closed_by_server(s):
    """True once the server has closed the connection; reads nothing."""
    poller = select.poll()
    poller.register(s, select.POLLRDHUP)
    return any(events & (select.POLLRDHUP | select.POLLHUP) for _, events in poller.poll(0))


def main():
    f = Failures()
    with Server(CONFIG, files={"pool.example.zone": ZONE}, start=False) as srv:
        os.makedirs(os.path.join(srv.dir, "state"))
        with open(os.path.join(srv.dir, "state", "journal.log"), "w") as j:
            j.write(journal(2000))
        srv.start()
        path = os.path.join(srv.dir, "control.sock")

        def fds_at_most(limit):
            if srv.proc.poll() is not None:
                raise AssertionError(f"mirrorpoold exited with {srv.proc.returncode}")
            return fds(srv) <= limit

        def alive(what):
            f.check(srv.proc.poll() is None and srv.query("pool.example.", "SOA") is not None,
                    f"the daemon still answers after {what}")

        def refused(args_or_line, field, command="drain"):
            line = args_or_line if isinstance(args_or_line, str) else json.dumps(
                {"version": 1, "command": command, "args": args_or_line})
            reply = request(path, line)
            error = reply.get("error", "")
            f.check(reply.get("ok") is False and error.startswith(field + ":"),
                    f"{line[:90]} is refused naming {field}: {error[:120]}")

        refused('{"version":1,"command":"drain"}', "args.mirror")
        refused({"mirror": 5}, "args.mirror")
        refused({"mirror": "m1", "force": "yes"}, "args.force")
        refused({"mirror": "m1", "dry_run": "no"}, "args.dry_run")
        refused({"mirror": "m1", "note": [1]}, "args.note")
        refused({"mirror": "m1", "note": "ok\ninfo: forged"}, "args.note")
        refused({"mirror": "m1", "weight": "x"}, "args.weight", "set-weight")
        refused({"since": 1}, "args.since", "history")
        add = {"pool": POOL, "id": "m3", "addresses": ["127.0.1.103"]}
        refused({**add, "addresses": "x"}, "args.addresses", "add")
        refused({**add, "check": 3}, "args.check", "add")
        for bad_id in ("a/b", "a b", "a\nb", "", "x" * 5000):
            refused({**add, "id": bad_id}, "args.id", "add")
        for bad_weight in (-1, 4294967296, 2.9, True):
            refused({**add, "weight": bad_weight}, "args.weight", "add")
        deep = "malformed request: nested deeper than 16 levels"
        for line in ("[" * 20000 + "]" * 20000, '{"a":' * 10000 + "1" + "}" * 10000):
            reply = request(path, line)
            f.check(reply.get("error") == deep, f"{line.count(line[0])} levels of {line[0]}: {reply}")
        reply = request(path, '{"a":' * 20000 + "1" + "}" * 20000)
        f.check(reply.get("error") == "request longer than 65536 bytes",
                f"a request line over 64 KiB gets an error: {reply}")
        alive("malformed requests")
        logged = srv.log()
        f.check("forged" not in logged, "no note with a newline reached the log")

        # Clients that send `history` and close at once: the reply's write
        # fails with EPIPE, which must not raise a fatal SIGPIPE.
        baseline = fds(srv)
        for _ in range(10):
            with connect(path) as s:
                s.sendall(b'{"version":1,"command":"history","args":{}}\n')
        wait_until(lambda: fds_at_most(baseline), 30, "the closed clients to be gone")
        alive("clients that closed before reading")

        # Clients that never read a 500 kB reply are dropped once it has waited
        # REPLY_TIMEOUT_S, and their fds are closed. (Under sanitizers on a busy
        # machine a client may instead wait out the request timeout while the
        # others' histories are built; it is dropped all the same.)
        readers = [connect(path) for _ in range(3)]
        for s in readers:
            s.sendall(b'{"version":1,"command":"history","args":{}}\n')
        _, took = wait_until(lambda: all(closed_by_server(s) for s in readers), 60,
                             "clients that do not read to be dropped")
        f.check(took >= REPLY_TIMEOUT_S - 1, f"non-readers were kept for the timeout ({took:.1f} s)")
        for s in readers:
            s.close()
        wait_until(lambda: fds_at_most(baseline), 10, "the daemon's fds back to the baseline")
        f.check("reply was not read within 5000 ms" in srv.log(), "a dropped non-reader is logged")
        alive("clients that never read")

        # More clients than the server takes: the 65th is told and closed.
        held = [connect(path) for _ in range(MAX_CLIENTS)]
        time.sleep(0.5)
        start = time.monotonic()
        with connect(path) as extra:
            data = extra.recv(4096)
        reply = json.loads(data) if data.endswith(b"\n") else {}
        f.check(reply.get("error") == f"too many control clients ({MAX_CLIENTS}); try again later"
                and time.monotonic() - start < 2, f"client {MAX_CLIENTS + 1} is refused: {data!r}")
        for s in held:
            s.close()
        wait_until(lambda: fds_at_most(baseline), 10, "the held clients' fds closed")
        p = subprocess.run([CTL, "-s", path, "status"], capture_output=True, text=True,
                           timeout=60)
        f.check(p.returncode == 0 and "m1" in p.stdout,
                f"mirrorpoolctl works after the clients left: {p.stderr}")
        p = subprocess.run([CTL, "-s", path, "drain", "m1", "--note", "maintenance"],
                           capture_output=True, text=True, timeout=60)
        f.check(p.returncode == 0, f"a valid drain still works: {p.stderr}")
        alive("a full house of clients")
    f.finish()


if __name__ == "__main__":
    main()
