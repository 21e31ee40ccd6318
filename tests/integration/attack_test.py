"""Peers that try to take the daemon down, on the real binary.

No client of the DNS ports or of the control socket, however broken or
hostile, may end the daemon or wedge it: it costs that client its own
connection and nothing else. Each attack below is followed by the same health
check: the process still runs, answers `dl.pool.example A` and the apex SOA
over UDP and TCP, and answers `mirrorpoolctl status`.

1. TCP clients that pipeline 2,000 queries and then reset the connection
   (SO_LINGER 0), over IPv4 and IPv6: the answers still being written must not
   raise SIGPIPE.
2. A half-closed TCP client still gets every answer, then EOF; TCP clients
   that send thousands of queries and never read do not stop the others.
3. Control clients that leave while a large (> 1 MB) `history` reply is being
   written: `mirrorpoolctl history | head -1`, a mirrorpoolctl killed while
   its reply is on the way, raw clients that close (or reset) without reading
   or after the first 64 KB.
4. A table of malformed control requests (every command × every field ×
   missing, wrong type, out of range; unknown fields; oversized, invalid UTF-8,
   deeply nested lines): each gets an error reply, none changes anything.
5. 100 control clients that ask for `history` and never read are dropped
   within the reply write timeout, so descriptors and memory come back; more
   than 64 idle control connections: the extras are closed at once.

Changes acknowledged before the attacks are checked after a restart.
The state of the daemon itself (full disk, second instance, last mirror,
unprobed mirrors) is attacked in attack_state_test.py.
"""

import datetime
import json
import os
import select
import signal
import socket
import struct
import subprocess
import threading
import time

import dns.message

from ctl_test import journal_line
from harness import BASE_CONFIG, ZONE, Failures, Server, addresses, free_port, rcode, wait_until
from tcp_abuse_test import Probes

CTL = os.environ.get("MIRRORPOOLCTL", "mirrorpoolctl")
POOL = "dl.pool.example."
# The pool every health check asks for: four mirrors behind loopback listeners.
DL = {f"m{i}": f"127.0.1.{160 + i}" for i in range(1, 5)}

PIPELINED = 2000
RESETS_PER_FAMILY = 10
HALF_CLOSED_QUERIES = 50
NEVER_READING = 4
NEVER_READING_QUERIES = 5000

# Enough for a `history` reply over a megabyte. Not more: under
# AddressSanitizer every history request re-reads the journal, about 0.3 s
# for these 1,200 lines (0.5-0.8 s for 3,000 short ones), and this file makes
# some 150 of them.
JOURNAL_LINES = 1200
CTL_RUNS = 10
RAW_CLOSERS = 10
NEVER_READING_CTL = 100
CONTROL_LIMIT = 64
# The daemon drops a control client that does not take its reply within this.
CTL_WRITE_TIMEOUT_S = 5
FD_SLACK = 4
RSS_SLACK_MIB = 32


class TcpMirror:
    """A mirror for `type = "tcp"` checks: a loopback listener that accepts
    every connection and closes it at once, counting them (a thread of the
    test)."""

    def __init__(self, address, port):
        self.address = address
        self.accepted = 0
        family = socket.AF_INET6 if ":" in address else socket.AF_INET
        self._sock = socket.socket(family, socket.SOCK_STREAM)
        self._sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self._sock.bind((address, port))
        self._sock.listen(64)
        self._sock.settimeout(0.1)
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)
        self._thread.start()

    def _run(self):
        while not self._stop.is_set():
            try:
                conn, _ = self._sock.accept()
            except socket.timeout:
                continue
            self.accepted += 1
            conn.close()

    def stop(self):
        self._stop.set()
        self._thread.join(5)
        self._sock.close()


def pool_toml(name, mirrors, mport, extra=""):
    """A [[pool]] of `mirrors` ({id: address}) with fast TCP checks, each with
    the url_prefix that export-mirrors-json needs."""
    text = f"""
[[pool]]
name = "{name}"
max_answers = 8
{extra}
[pool.check]
type = "tcp"
port = {mport}
interval = "1s"
timeout = "500ms"
rise = 2
fall = 1
"""
    for mid, address in mirrors.items():
        text += f'[[pool.mirror]]\nid = "{mid}"\naddresses = ["{address}"]\n' \
                f'url_prefix = "http://{mid}.example.org/"\n'
    return text


def config(mport, ipv6=False, pools=""):
    """BASE_CONFIG (127.0.0.1, and ::1 with ipv6) with the dl pool and `pools`."""
    text = BASE_CONFIG
    if ipv6:
        text = text.replace('listen = ["127.0.0.1:{port}"]',
                            'listen = ["127.0.0.1:{port}", "[::1]:{port}"]')
    return text + pool_toml(POOL, DL, mport) + pools


def start_mirrors(mport, mirrors):
    return {mid: TcpMirror(address, mport) for mid, address in mirrors.items()}


# --- talking to the daemon -------------------------------------------------

def control_socket(srv):
    return os.path.join(srv.dir, "control.sock")


def state_file(srv, name):
    return os.path.join(srv.dir, "state", name)


def ctl(srv, *args, timeout=60):
    p = subprocess.run([CTL, "-s", control_socket(srv), *args], capture_output=True,
                       text=True, errors="replace", timeout=timeout)
    return p.returncode, p.stdout, p.stderr


def mirrors_status(srv):
    """{pool: {id: (state, weight, note)}} from `status --json`."""
    rc, out, err = ctl(srv, "status", "--json")
    assert rc == 0, err
    return {p["name"]: {m["id"]: (m["state"], m["weight"], m.get("note"))
                        for m in p["mirrors"]} for p in json.loads(out)["pools"]}


def first_line(text):
    lines = text.strip().splitlines()
    return lines[0] if lines else ""


def control_connect(srv, timeout=5.0):
    """A connection to the control socket. A full listen backlog (the daemon
    busy) refuses a non-blocking connect with EAGAIN: retried until `timeout`."""
    deadline = time.monotonic() + timeout
    while True:
        s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        s.settimeout(timeout)
        try:
            s.connect(control_socket(srv))
            return s
        except BlockingIOError:
            s.close()
            if time.monotonic() > deadline:
                raise
            time.sleep(0.01)
        except OSError:
            s.close()
            raise


def request_line(command, args=..., **top):
    """A request as mirrorpoolctl sends it; without args when args is `...`."""
    body = {"version": 1, "command": command, **top}
    if args is not ...:
        body["args"] = args
    return (json.dumps(body) + "\n").encode()


def control_exchange(srv, line, timeout=10.0):
    """Sends one raw line on a new control connection; returns the parsed
    reply, or a string saying why there is none."""
    try:
        s = control_connect(srv, timeout)
    except OSError as e:
        return f"connect: {e}"
    with s:
        try:
            s.sendall(line)
        except OSError:
            pass  # a daemon that stops reading may still have replied
        data = b""
        deadline = time.monotonic() + timeout
        try:
            while b"\n" not in data and time.monotonic() < deadline:
                chunk = s.recv(1 << 20)
                if not chunk:
                    break
                data += chunk
        except OSError as e:
            return f"no reply: {type(e).__name__} {e} after {len(data)} bytes"
    if b"\n" not in data:
        return f"no reply line ({len(data)} bytes)"
    try:
        return json.loads(data.split(b"\n", 1)[0])
    except ValueError:
        return f"not JSON: {data[:80]!r}"


def framed_query(qid, name=POOL, rdtype="A"):
    q = dns.message.make_query(name, rdtype)
    q.id = qid
    wire = q.to_wire()
    return struct.pack("!H", len(wire)) + wire


def read_framed(sock, deadline):
    """The DNS messages a TCP connection carries until EOF (or the deadline):
    (messages, saw_eof)."""
    data, eof = b"", False
    while time.monotonic() < deadline:
        sock.settimeout(max(0.01, deadline - time.monotonic()))
        try:
            chunk = sock.recv(65536)
        except OSError:  # the deadline, or a reset
            break
        if not chunk:
            eof = True
            break
        data += chunk
    messages = []
    while len(data) >= 2:
        length = struct.unpack("!H", data[:2])[0]
        if len(data) < 2 + length:
            break
        messages.append(dns.message.from_wire(data[2:2 + length]))
        data = data[2 + length:]
    return messages, eof


def dropped(sock):
    """True once the daemon has closed this control connection, whatever it
    wrote before (say, a line telling why); reads what is there, never blocks."""
    sock.setblocking(False)
    try:
        while sock.recv(65536):
            pass
        return True
    except BlockingIOError:
        return False
    except OSError:
        return True


def fd_count(srv):
    return len(os.listdir(f"/proc/{srv.proc.pid}/fd"))


def rss_mib(srv):
    with open(f"/proc/{srv.proc.pid}/status") as f:
        return next(int(line.split()[1]) for line in f if line.startswith("VmRSS:")) / 1024


# --- the health check after every attack ------------------------------------

def restart(srv):
    """Starts the daemon again on the same config and state_dir."""
    srv.log_file.close()
    srv.start()


def healthy(f, srv, when, hosts=("127.0.0.1",)):
    """The check after every attack: the process still runs, answers DNS over
    UDP and TCP on every address in `hosts` and answers `status`. A dead
    daemon is reported, then started again so the next attack has a target."""
    if srv.proc.poll() is not None:
        f.check(False, f"{when}: the daemon is still running (exit status "
                       f"{srv.proc.returncode}{', SIGPIPE' if srv.proc.returncode == -13 else ''})")
        print("--- daemon log tail ---\n" + "\n".join(srv.log().splitlines()[-8:]), flush=True)
        restart(srv)
        return
    problems = []
    for host in hosts:
        for tcp in (False, True):
            where = f"{'TCP' if tcp else 'UDP'} {host}"
            try:
                r = srv.query(POOL, "A", tcp=tcp, host=host)
                if rcode(r) != "NOERROR" or not addresses(r):
                    problems.append(f"{where} dl A: {rcode(r)} {sorted(addresses(r))}")
                r = srv.query("pool.example.", "SOA", tcp=tcp, host=host)
                if rcode(r) != "NOERROR" or not r.answer:
                    problems.append(f"{where} SOA: {rcode(r)}")
            except Exception as e:  # noqa: BLE001 - any failure is a finding
                problems.append(f"{where}: {type(e).__name__} {e}")
    rc, _, err = ctl(srv, "status")
    if rc != 0:
        problems.append(f"status: exit {rc} {err.strip()}")
    alive = srv.proc.poll() is None
    f.check(alive and not problems,
            f"{when}: the daemon still runs, answers dl A and SOA over UDP and TCP "
            f"({', '.join(hosts)}) and status {problems if problems else ''}"
            f"{'' if alive else f'(exit status {srv.proc.returncode})'}")
    if not alive:
        restart(srv)


# --- 1, 2: DNS over TCP -----------------------------------------------------

def tcp_resets(f, srv):
    """RESETS_PER_FAMILY connections per family each pipeline PIPELINED
    queries, read a few bytes and reset. The daemon is still writing answers
    to each when the reset arrives: that write must fail quietly (EPIPE /
    ECONNRESET), not raise SIGPIPE and end the process."""
    burst = b"".join(framed_query(i) for i in range(PIPELINED))
    for family, host in ((socket.AF_INET, "127.0.0.1"), (socket.AF_INET6, "::1")):
        for _ in range(RESETS_PER_FAMILY):
            with socket.socket(family, socket.SOCK_STREAM) as s:
                s.settimeout(2)
                try:
                    s.connect((host, srv.port))
                    s.sendall(burst)
                    s.recv(16)
                except OSError:
                    pass  # a full window or a daemon gone: the health check tells
                s.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
    time.sleep(0.5)  # the daemon meets the resets while writing
    healthy(f, srv, "TCP reset after pipelined queries", ("127.0.0.1", "::1"))


def tcp_half_closed(f, srv):
    """A client may send its queries and shut down its sending side
    (RFC 7766 §6.2.4 allows it): every query is still answered, then the
    daemon closes."""
    for host, family in (("127.0.0.1", socket.AF_INET), ("::1", socket.AF_INET6)):
        with socket.socket(family, socket.SOCK_STREAM) as s:
            s.settimeout(5)
            s.connect((host, srv.port))
            s.sendall(b"".join(framed_query(i) for i in range(1, HALF_CLOSED_QUERIES + 1)))
            s.shutdown(socket.SHUT_WR)
            messages, eof = read_framed(s, time.monotonic() + 10)
        ids = {m.id for m in messages if rcode(m) == "NOERROR" and addresses(m)}
        f.check(ids == set(range(1, HALF_CLOSED_QUERIES + 1)) and eof,
                f"half-closed TCP client ({host}): {len(ids)}/{HALF_CLOSED_QUERIES} answered, "
                f"{'then EOF' if eof else 'no EOF within 10 s'}")
    healthy(f, srv, "half-closed TCP client", ("127.0.0.1", "::1"))


def tcp_never_reading(f, srv):
    """NEVER_READING clients each push up to NEVER_READING_QUERIES queries and
    never read an answer: their answers back up in the daemon, which must
    neither block on them nor stop answering everyone else."""
    burst = b"".join(framed_query(i % 65536) for i in range(NEVER_READING_QUERIES))
    hogs = []
    with Probes(srv) as probes:
        for _ in range(NEVER_READING):
            s = socket.create_connection(("127.0.0.1", srv.port), timeout=5)
            s.settimeout(1)  # until the daemon stops taking more
            try:
                s.sendall(burst)
            except OSError:
                pass
            hogs.append(s)
        time.sleep(3)
    for s in hogs:
        s.close()
    f.check(not probes.failures and probes.latencies["tcp"],
            f"never-reading TCP clients: fresh UDP and TCP clients answered meanwhile "
            f"({probes.summary()}) {probes.failures[:3]}")
    healthy(f, srv, "never-reading TCP clients", ("127.0.0.1", "::1"))


# --- 3: control clients that leave early ------------------------------------

def prepared_journal():
    """JOURNAL_LINES operator entries of the last hours, each with a note of
    900 bytes (the most a request may carry is 1000)."""
    now = datetime.datetime.now(datetime.timezone.utc)
    return "".join(
        journal_line(now - datetime.timedelta(minutes=JOURNAL_LINES - i), "drain", POOL,
                     "retired", "drained", f"entry {i}: " + "disk trouble again; " * 45)
        for i in range(JOURNAL_LINES))


def io_bytes(pid, field):
    """rchar or wchar of /proc/PID/io: bytes read or written by any system
    call, sockets included."""
    with open(f"/proc/{pid}/io") as f:
        return next(int(line.split()[1]) for line in f if line.startswith(field + ":"))


def kill_while_reading(srv, sock):
    """Runs `mirrorpoolctl history` and kills it (SIGKILL) while its reply is
    being written: once the daemon has read the journal for it, it is frozen
    (SIGSTOP) so that the reply backs up, and killed when the daemon has
    written the first 64 KB. True when it got that far."""
    daemon = srv.proc.pid
    read, written = io_bytes(daemon, "rchar"), io_bytes(daemon, "wchar")
    p = subprocess.Popen([CTL, "-s", sock, "history"], stdout=subprocess.DEVNULL,
                         stderr=subprocess.DEVNULL)
    reached = False
    try:
        wait_until(lambda: io_bytes(daemon, "rchar") > read + 1_000_000, 10,
                   "the daemon to read the journal", 0.001)
        p.send_signal(signal.SIGSTOP)
        wait_until(lambda: io_bytes(daemon, "wchar") > written + 65536, 10,
                   "the daemon to write the reply", 0.005)
        reached = True
    except (OSError, AssertionError):
        pass  # the daemon is gone: the health check tells
    p.send_signal(signal.SIGKILL)
    p.wait(10)
    return reached


def ctl_early_close(f, srv):
    """Clients of the control socket that go away while their large reply is
    being written: each costs only its own connection."""
    sock = control_socket(srv)
    for _ in range(CTL_RUNS):
        subprocess.run(f"'{CTL}' -s '{sock}' history | head -1", shell=True,
                       stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, timeout=60)
    healthy(f, srv, f"{CTL_RUNS}× mirrorpoolctl history | head -1")

    reached = 0
    for _ in range(CTL_RUNS):
        if srv.proc.poll() is not None:
            break  # the health check tells
        reached += kill_while_reading(srv, sock)
    healthy(f, srv, f"{CTL_RUNS}× mirrorpoolctl history killed (SIGKILL) while its reply "
                    f"is written ({reached} mid-reply)")

    for what, read, reset in (("unread", 0, False), ("unread, with SO_LINGER 0", 0, True),
                              ("after reading 64 KB", 65536, False)):
        for _ in range(RAW_CLOSERS):
            try:
                with control_connect(srv) as s:
                    s.sendall(request_line("history", {}))
                    if read:
                        s.recv(read, socket.MSG_WAITALL)
                    if reset:
                        s.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER,
                                     struct.pack("ii", 1, 0))
            except OSError:
                break  # the daemon is gone: the health check tells
        time.sleep(1)  # the daemon writes the replies to the closed sockets
        healthy(f, srv, f"{RAW_CLOSERS} raw history requests closed {what}")


# --- 4: malformed control requests -------------------------------------------

BOOL, NUMBER, STRING, LIST, OBJECT = "bool", "number", "string", "list", "object"
FIELD_KINDS = {"mirror": STRING, "pool": STRING, "note": STRING, "id": STRING, "since": STRING,
               "dry_run": BOOL, "force": BOOL, "weight": NUMBER, "addresses": LIST,
               "check": OBJECT}
WRONG_TYPES = {
    STRING: [("number", 5), ("array", ["m1"]), ("object", {"m": 1}), ("null", None)],
    BOOL: [("string", "true"), ("array", [True]), ("object", {"b": True}), ("null", None)],
    NUMBER: [("string", "3"), ("array", [3]), ("object", {"n": 3}), ("null", None)],
    LIST: [("number", 5), ("string", "127.0.1.179"), ("object", {"a": "127.0.1.179"}),
           ("null", None), ("array of a number", [5])],
    OBJECT: [("number", 5), ("string", "port=1"), ("array", [1]), ("null", None)],
}
# A note with a newline would write a second, forged line into the log.
FORGED_NOTE = "x\ninfo: drained m2 in dl.pool.example. by uid 0 (root)"
OUT_OF_RANGE = {
    "weight": [-1, 4294967296, 2.9, 1000001],
    "id": ["", "a/b", "a b", "a\nb", "a" * 5000],
    "note": [FORGED_NOTE],
    "addresses": [[], ["not-an-ip"]],
    "check": [{"port": 0}, {"colour": "blue"}],
    "since": ["yesterday-ish"],
}
# For each command: a request the daemon accepts (the table breaks one field
# at a time), and the fields it cannot do without (a drain takes a note:
# mirrorpoolctl(8) `drain ID --note TEXT`). Not dry runs: a request wrongly accepted
# shows as a change.
COMMANDS = {
    "status": ({}, ()),
    "drain": ({"mirror": "m1", "pool": POOL, "note": "table", "dry_run": False, "force": False},
              ("mirror", "note")),
    "undrain": ({"mirror": "m4", "pool": POOL, "dry_run": False, "force": False}, ("mirror",)),
    "set-weight": ({"mirror": "m2", "pool": POOL, "weight": 3, "dry_run": False, "force": False},
                   ("mirror", "weight")),
    "add": ({"pool": POOL, "id": "m9", "addresses": ["127.0.1.179"], "weight": 1, "check": {},
             "note": "table", "dry_run": False, "force": False}, ("pool", "id", "addresses")),
    "remove": ({"mirror": "m1", "pool": POOL, "note": "table", "dry_run": False, "force": False},
               ("mirror",)),
    "check": ({"mirror": "m1", "pool": POOL}, ("mirror",)),
    "history": ({"mirror": "m1", "since": "1h"}, ()),
    "reload": ({}, ()),
    "export-mirrors-json": ({"pool": POOL}, ()),
}
CHANGE_KINDS = {"drain", "undrain", "set-weight", "add", "remove", "reload"}


def short(value):
    text = repr(value)
    return text if len(text) <= 40 else f"{text[:30]}… ({len(text)} chars)"


def malformed_rows():
    """(description, raw request line) of every malformed request."""
    rows = []
    for command, (base, required) in COMMANDS.items():
        for field in base:
            kind = FIELD_KINDS[field]
            for label, value in WRONG_TYPES[kind]:
                rows.append((f"{command}: {field} {short(value)} ({label} for a {kind})",
                             request_line(command, {**base, field: value})))
            for value in OUT_OF_RANGE.get(field, []):
                rows.append((f"{command}: {field} {short(value)} (out of range)",
                             request_line(command, {**base, field: value})))
        for field in required:
            rows.append((f"{command}: no {field}",
                         request_line(command, {k: v for k, v in base.items() if k != field})))
        rows.append((f"{command}: unknown field colour",
                     request_line(command, {**base, "colour": "blue"})))
        if required:
            rows.append((f"{command}: no args", request_line(command)))
    for label, value in [("missing", ...), ("string", "1"), ("2", 2), ("0", 0), ("null", None),
                         ("array", [1]), ("object", {"v": 1})]:
        body = {"command": "status", "args": {}}
        if value is not ...:
            body["version"] = value
        rows.append((f"version {label}", (json.dumps(body) + "\n").encode()))
    for label, value in [("missing", ...), ("number", 5), ("null", None), ("array", ["status"]),
                         ("object", {"c": "status"}), ("empty", ""), ("unknown", "frobnicate")]:
        body = {"version": 1, "args": {}}
        if value is not ...:
            body["command"] = value
        rows.append((f"command {label}", (json.dumps(body) + "\n").encode()))
    for label, value in [("number", 5), ("string", "m1"), ("array", ["m1"]), ("null", None)]:
        rows.append((f"drain: args {label}", request_line("drain", value)))
    rows += [
        ("unknown top-level field", request_line("status", {}, colour="blue")),
        ("a 70 KB line (a status request padded with spaces)",
         b'{"version":1,"command":"status",' + b" " * 70000 + b'"args":{}}\n'),
        ("invalid UTF-8 in the command", b'{"version":1,"command":"stat\xffus","args":{}}\n'),
        ("invalid UTF-8 in a note",
         b'{"version":1,"command":"drain","args":{"mirror":"m1","note":"\xc3\x28"}}\n'),
        ("an empty line", b"\n"),
        ("null", b"null\n"),
        ("[]", b"[]\n"),
        ("20,000 levels of [", b"[" * 20000 + b"\n"),
        ('20,000 levels of {"a":', b'{"a":' * 20000 + b"\n"),
        ("20,000 nested arrays inside args (40 KB, a complete line)",
         b'{"version":1,"command":"status","args":{"a":' + b"[" * 20000 + b"]" * 20000 +
         b"}}\n"),
    ]
    return rows


def change_entries(srv):
    """The operator changes in the journal, in order: (kind, mirror, what, reason)."""
    out = []
    with open(state_file(srv, "journal.log"), "rb") as f:
        for line in f:
            try:
                e = json.loads(line)
            except ValueError:
                continue
            if e.get("kind") in CHANGE_KINDS:
                out.append((e["kind"], e["mirror"], e["what"], e["reason"]))
    return out


def malformed_requests(f, srv):
    """Every request the control socket may meet from a careless script or a
    hostile local user. Each must get a JSON error line and leave the daemon
    running and unchanged: an exception from a field of the wrong type, a
    missing member read without a check or a runaway parse must not end it,
    and a value out of range must not reach the state."""
    for command, (base, _) in COMMANDS.items():
        args = {**base, "dry_run": True} if "dry_run" in base else base
        reply = control_exchange(srv, request_line(command, args))
        f.check(isinstance(reply, dict) and reply.get("ok") is True,
                f"malformed: the table's {command} request is accepted as it stands "
                f"{'' if isinstance(reply, dict) and reply.get('ok') else short(reply)}")
    before_status = mirrors_status(srv)
    before_changes = change_entries(srv)
    saved = {}
    for name in ("state.json", "journal.log"):
        with open(state_file(srv, name), "rb") as state:
            saved[name] = state.read()

    for what, line in malformed_rows():
        reply = control_exchange(srv, line)
        refused = (isinstance(reply, dict) and reply.get("ok") is False and
                   isinstance(reply.get("error"), str) and reply["error"] != "")
        if not refused:
            try:  # no reply: a daemon that is dying takes a moment to exit
                srv.proc.wait(1)
            except subprocess.TimeoutExpired:
                pass
        alive = srv.proc.poll() is None
        detail = "" if refused and alive else \
            f" -> {short(reply)}{'' if alive else f'; daemon exited {srv.proc.returncode}'}"
        f.check(refused and alive, f"malformed: {what}: error reply, daemon alive{detail}")
        if not (refused and alive):
            # Start again from the state before the table, so that every row
            # meets the same daemon.
            srv.stop()
            for name, data in saved.items():
                with open(state_file(srv, name), "wb") as out:
                    out.write(data)
            restart(srv)

    f.check(mirrors_status(srv) == before_status,
            "malformed: afterwards every mirror is as before (state, weight, note)")
    f.check(change_entries(srv) == before_changes,
            "malformed: afterwards the journal has no change from the table")
    for what, args in [("add --id 'bad id'", ["add", "--pool", POOL, "--id", "bad id",
                                              "--address", "127.0.1.179"]),
                       ("add --weight -1", ["add", "--pool", POOL, "--id", "m9",
                                            "--address", "127.0.1.179", "--weight", "-1"]),
                       ("set-weight m2 -1", ["set-weight", "m2", "-1"])]:
        rc, _, err = ctl(srv, *args)
        f.check(rc != 0,
                f"malformed: mirrorpoolctl {what} is refused (exit {rc}: {first_line(err)})")
    f.check(mirrors_status(srv) == before_status and change_entries(srv) == before_changes,
            "malformed: and changes nothing")
    healthy(f, srv, "malformed control requests")


# --- 5: control clients that never read ---------------------------------------

def ctl_never_reading(f, srv):
    """NEVER_READING_CTL clients ask for `history` (over a megabyte each) and
    never read: without a write timeout each holds a descriptor and its
    unsent reply in the daemon for ever. They must be dropped within
    CTL_WRITE_TIMEOUT_S, while other clients are answered."""
    baseline_fds = fd_count(srv)
    baseline_rss = rss_mib(srv)
    clients = []
    for _ in range(NEVER_READING_CTL):
        try:  # the daemon is busy writing replies: connecting may take a while
            s = control_connect(srv, timeout=30)
            s.sendall(request_line("history", {}))
            clients.append(s)
        except OSError:
            pass  # closed at the connection limit: as good as dropped
    poller = select.poll()
    for s in clients:
        poller.register(s, select.POLLIN)

    def all_answered():  # a reply started, or the connection closed
        return len(poller.poll(0)) == len(clients)
    try:
        _, took = wait_until(all_answered, 60, "a reply (or EOF) on every connection", 0.1)
    except AssertionError as e:
        took = None
        print(e, flush=True)
    held_fds, held_rss = fd_count(srv), rss_mib(srv)
    start = time.monotonic()
    reply = control_exchange(srv, request_line("status", {}), timeout=5)
    status_s = time.monotonic() - start
    f.check(isinstance(reply, dict) and reply.get("ok") and status_s < 2,
            f"never-reading control clients: status answered in {status_s:.2f} s while "
            f"{len(clients)} hang (replies started after {took and round(took, 1)} s; "
            f"daemon fds {baseline_fds} -> {held_fds}, RSS {baseline_rss:.0f} -> "
            f"{held_rss:.0f} MiB)")
    try:
        _, waited = wait_until(lambda: fd_count(srv) <= baseline_fds + FD_SLACK,
                               3 * CTL_WRITE_TIMEOUT_S, "the daemon to drop them", 0.2)
        f.check(True, f"never-reading control clients: dropped, fds back to "
                      f"{fd_count(srv)} (baseline {baseline_fds}) after {waited:.1f} s")
    except AssertionError:
        f.check(False, f"never-reading control clients: dropped within "
                       f"{3 * CTL_WRITE_TIMEOUT_S} s (daemon fds {fd_count(srv)}, "
                       f"baseline {baseline_fds})")
    rss = rss_mib(srv)
    f.check(rss <= baseline_rss + RSS_SLACK_MIB,
            f"never-reading control clients: RSS back to {rss:.0f} MiB "
            f"(baseline {baseline_rss:.0f}, slack {RSS_SLACK_MIB})")
    for s in clients:
        s.close()
    healthy(f, srv, "never-reading control clients")

    idle = [control_connect(srv) for _ in range(CONTROL_LIMIT + 16)]
    time.sleep(1.5)  # well before the 5 s request timeout
    closed = sum(dropped(s) for s in idle)
    f.check(len(idle) - closed <= CONTROL_LIMIT,
            f"{len(idle)} idle control connections: {closed} closed by the daemon at once, "
            f"{len(idle) - closed} left (limit {CONTROL_LIMIT})")
    for s in idle:
        s.close()
    healthy(f, srv, f"{len(idle)} idle control connections")


# --- the scenarios ---------------------------------------------------------------

def acknowledged_survive_restart(f, srv, when):
    """Stops and starts the daemon: the changes made at the start (m4 drained,
    m3 weight 7) are still there."""
    rc = srv.stop()
    f.check(rc == 0, f"{when}: the daemon stops cleanly on SIGTERM (exit {rc})")
    srv.start()
    dl = mirrors_status(srv)[POOL]
    rc, out, _ = ctl(srv, "history", "m4")
    f.check(dl["m4"][0] == "drained" and dl["m3"][1] == 7 and rc == 0 and "before attacks" in out,
            f"{when}: after a restart m4 is drained, m3 has weight 7 and history shows "
            f"the drain ({dl})")


def dns_scenario(f, mport):
    with Server(config(mport, ipv6=True), {"pool.example.zone": ZONE}) as srv:
        healthy(f, srv, "start", ("127.0.0.1", "::1"))
        tcp_resets(f, srv)
        tcp_half_closed(f, srv)
        tcp_never_reading(f, srv)


def control_scenario(f, mport):
    srv = Server(config(mport), {"pool.example.zone": ZONE}, start=False)
    os.makedirs(os.path.join(srv.dir, "state"))
    with open(state_file(srv, "journal.log"), "w") as j:
        j.write(prepared_journal())
    srv.start()
    with srv:
        rc, out, err = ctl(srv, "history", "retired", "--json")
        entries = json.loads(out)["entries"] if rc == 0 else []
        f.check(len(entries) == JOURNAL_LINES,
                f"control: the daemon reads the {JOURNAL_LINES} prepared journal lines "
                f"(history retired: {len(entries)}) {err.strip()}")
        reply = control_exchange(srv, request_line("history", {}))
        size = len(json.dumps(reply).encode())
        f.check(size > 1 << 20, f"control: a history reply is {size / (1 << 20):.1f} MB")
        f.check(ctl(srv, "drain", "m4", "--note", "before attacks")[0] == 0 and
                ctl(srv, "set-weight", "m3", "7")[0] == 0,
                "control: drain m4 and set-weight m3 7 acknowledged before the attacks")
        ctl_early_close(f, srv)
        malformed_requests(f, srv)
        ctl_never_reading(f, srv)
        acknowledged_survive_restart(f, srv, "control attacks")


def main():
    # Under AddressSanitizer freed memory sits in a quarantine of up to
    # 256 MiB, which would read as memory kept; a small one keeps RSS
    # meaningful. Ignored by a build without it.
    asan = os.environ.get("ASAN_OPTIONS", "")
    os.environ["ASAN_OPTIONS"] = (asan + ":" if asan else "") + "quarantine_size_mb=8"
    f = Failures()
    mport = free_port()
    mirrors = start_mirrors(mport, DL)
    start = time.monotonic()
    try:
        dns_scenario(f, mport)
        control_scenario(f, mport)
    finally:
        for m in mirrors.values():
            m.stop()
    print(f"attack_test: {time.monotonic() - start:.0f} s", flush=True)
    f.finish()


if __name__ == "__main__":
    main()
