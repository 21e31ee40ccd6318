"""Hostile TCP clients (RFC 7766 §6.2 limits): slowloris clients trickling one
byte a second are closed tcp_query_timeout after their query's first byte,
and thousands of idle connections (far more than tcp_max_clients) cannot lock
new clients out: the least recently active connection makes room. Meanwhile
UDP and fresh TCP clients are answered."""

import select
import socket
import struct
import threading
import time

import dns.message
import dns.rdatatype

from harness import BASE_CONFIG, ZONE, Failures, Server, rcode, wait_until

QUERY_TIMEOUT_S = 2
IDLE_TIMEOUT_S = 5
MAX_CLIENTS = 50
SLOWLORIS = 30
# A trickling client is given this long to be closed (the query timeout plus
# slack for a loaded machine and sanitizers); it would trickle far longer.
CLOSE_BOUND_S = QUERY_TIMEOUT_S + 6
TRICKLE_S = 3 * CLOSE_BOUND_S
IDLE_FLOOD = 2000
PROBE_TIMEOUT_S = 3.0


def config(idle_timeout_s, max_clients):
    return BASE_CONFIG.replace('user = "root"', f"""user = "root"
tcp_idle_timeout = "{idle_timeout_s}s"
tcp_query_timeout = "{QUERY_TIMEOUT_S}s"
tcp_max_clients = {max_clients}""")


def closed_by_peer(sock):
    """True once the server has closed (EOF or reset); never blocks."""
    poller = select.poll()
    poller.register(sock, select.POLLIN)
    if not poller.poll(0):
        return False
    try:
        return sock.recv(4096, socket.MSG_PEEK | socket.MSG_DONTWAIT) == b""
    except BlockingIOError:
        return False
    except OSError:
        return True


class Probes:
    """Queries over UDP and (with tcp) over a new TCP connection, back to
    back, from a thread: every one must be answered within PROBE_TIMEOUT_S."""

    def __init__(self, srv, tcp=True):
        self.srv = srv
        self.latencies = {"udp": [], "tcp": []} if tcp else {"udp": []}
        self.failures = []
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def __enter__(self):
        self._thread.start()
        return self

    def __exit__(self, *exc):
        self._stop.set()
        self._thread.join(30)

    def _run(self):
        while not self._stop.is_set():
            for transport in self.latencies:
                start = time.monotonic()
                try:
                    r = self.srv.query("www.pool.example.", "A", tcp=transport == "tcp",
                                       timeout=PROBE_TIMEOUT_S)
                    if rcode(r) != "NOERROR" or not r.answer:
                        self.failures.append(f"{transport}: {rcode(r)} {r.answer}")
                except Exception as e:  # noqa: BLE001 - any failure is a finding
                    self.failures.append(f"{transport}: {type(e).__name__} {e}")
                self.latencies[transport].append(time.monotonic() - start)
            self._stop.wait(0.1)

    def summary(self):
        parts = []
        for transport, values in self.latencies.items():
            if values:
                parts.append(f"{transport} {len(values)} queries, max {max(values) * 1000:.0f} ms")
        return ", ".join(parts)


def slowloris(f, srv):
    """SLOWLORIS clients send a query one byte a second; each must be closed
    within CLOSE_BOUND_S of its first byte while the probes are answered."""
    wire = dns.message.make_query("www.pool.example.", "A").to_wire()
    message = struct.pack("!H", len(wire)) + wire
    clients = []
    for _ in range(SLOWLORIS):
        s = socket.create_connection(("127.0.0.1", srv.port), timeout=5)
        clients.append({"sock": s, "sent": 0, "first": None, "closed_after": None})
    with Probes(srv) as probes:
        start = time.monotonic()
        while time.monotonic() - start < TRICKLE_S:
            open_clients = [c for c in clients if c["closed_after"] is None]
            if not open_clients:
                break
            now = time.monotonic()
            for c in open_clients:
                if closed_by_peer(c["sock"]):
                    c["closed_after"] = now - c["first"]
                    continue
                if c["sent"] < len(message):
                    try:
                        c["sock"].send(message[c["sent"]:c["sent"] + 1])
                    except OSError:
                        c["closed_after"] = now - c["first"]
                        continue
                    if c["first"] is None:
                        c["first"] = now
                    c["sent"] += 1
            time.sleep(1.0)
    for c in clients:
        c["sock"].close()
    closed = [c["closed_after"] for c in clients if c["closed_after"] is not None]
    f.check(len(closed) == SLOWLORIS,
            f"slowloris: {len(closed)}/{SLOWLORIS} trickling clients closed by the server")
    if closed:
        f.check(max(closed) <= CLOSE_BOUND_S,
                f"slowloris: closed {min(closed):.1f}–{max(closed):.1f} s after the first byte "
                f"(tcp_query_timeout {QUERY_TIMEOUT_S} s, bound {CLOSE_BOUND_S} s)")
    f.check(all(c["sent"] < len(message) for c in clients),
            "slowloris: no trickled query was completed (it would have been answered)")
    f.check(not probes.failures and probes.latencies["tcp"],
            f"slowloris: UDP and TCP answered meanwhile ({probes.summary()}): "
            f"{probes.failures[:5]}")


def open_idle(port, count):
    """count TCP connections that never send a byte, in batches the kernel's
    accept queue can hold; returns them in the order they were opened."""
    socks = []
    deadline = time.monotonic() + 120
    while len(socks) < count and time.monotonic() < deadline:
        batch = []
        for _ in range(min(200, count - len(socks))):
            s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
            s.setblocking(False)
            s.connect_ex(("127.0.0.1", port))
            batch.append(s)
        # select() stops at fd 1024; poll() does not.
        pending = {s.fileno(): s for s in batch}
        poller = select.poll()
        for fd in pending:
            poller.register(fd, select.POLLOUT)
        while pending and time.monotonic() < deadline:
            for fd, _ in poller.poll(1000):
                poller.unregister(fd)
                pending.pop(fd, None)
        for s in batch:
            if s.fileno() not in pending and s.getsockopt(socket.SOL_SOCKET, socket.SO_ERROR) == 0:
                socks.append(s)
            else:
                s.close()
    return socks


def exhaustion(f, srv):
    """IDLE_FLOOD idle connections against tcp_max_clients = MAX_CLIENTS.
    Only UDP is probed during the flood: a TCP client connecting in the middle
    of a burst of accepts is, until its query is read, as idle as the flood
    and may be evicted with it. Fresh TCP clients are checked once the table
    is full of idle connections."""
    with Probes(srv, tcp=False) as probes:
        idle = open_idle(srv.port, IDLE_FLOOD)
        f.check(len(idle) == IDLE_FLOOD, f"exhaustion: {len(idle)} idle connections opened")

        def still_open():
            alive = [s for s in idle if not closed_by_peer(s)]
            return alive if len(alive) <= MAX_CLIENTS else None

        try:
            alive, waited = wait_until(still_open, 60, "evictions down to tcp_max_clients",
                                       interval=0.5)
            f.check(True, f"exhaustion: {len(idle) - len(alive)} idle connections evicted "
                          f"within {waited:.1f} s, {len(alive)} left (limit {MAX_CLIENTS})")
        except AssertionError as e:
            f.check(False, f"exhaustion: {e}")
            alive = []
        # The least recently active are evicted first: the survivors are
        # among the last connections opened.
        recent = set(idle[-4 * MAX_CLIENTS:])
        f.check(all(s in recent for s in alive),
                "exhaustion: only recently opened idle connections survive")

        # The table is full of idle connections: fresh clients still get in.
        for i in range(5):
            try:
                r = srv.query("www.pool.example.", "A", tcp=True, timeout=PROBE_TIMEOUT_S)
                f.check(rcode(r) == "NOERROR" and r.answer,
                        f"exhaustion: fresh TCP client {i + 1} answered")
            except Exception as e:  # noqa: BLE001 - any failure is a finding
                f.check(False, f"exhaustion: fresh TCP client {i + 1}: {type(e).__name__} {e}")
    for s in idle:
        s.close()
    f.check(not probes.failures,
            f"exhaustion: UDP answered meanwhile ({probes.summary()}): "
            f"{probes.failures[:5]}")


def active_client_kept(f, srv):
    """A client that holds a connection and keeps using it is not the least
    recently active, so new connections do not evict it. The server may
    accept one round's connections before the keeper's query and the next
    round's after it, so two rounds together stay below tcp_max_clients.
    On a server of its own: late arrivals from a flood (connections the
    kernel completed while the accept queue overflowed) would add more."""
    rounds, per_round = 8, MAX_CLIENTS // 5
    filler = open_idle(srv.port, MAX_CLIENTS)
    keeper = socket.create_connection(("127.0.0.1", srv.port), timeout=5)
    wire = dns.message.make_query("www.pool.example.", "A").to_wire()
    framed = struct.pack("!H", len(wire)) + wire
    opened = []
    answered = 0
    # Without moving the keeper to the newest end on each query it is evicted
    # once MAX_CLIENTS connections are newer, in round 5.
    for round_ in range(rounds):
        opened += open_idle(srv.port, per_round)
        try:
            keeper.sendall(framed)
            length = struct.unpack("!H", recv_exactly(keeper, 2))[0]
            answer = dns.message.from_wire(recv_exactly(keeper, length))
            answered += rcode(answer) == "NOERROR"
        except (OSError, ValueError) as e:
            print(f"keeper round {round_}: {type(e).__name__} {e}")
            break
    f.check(answered == rounds,
            f"exhaustion: an active client keeps its connection through {rounds * per_round} "
            f"new ones ({answered}/{rounds} rounds answered)")
    keeper.close()
    for s in filler + opened:
        s.close()


def recv_exactly(sock, n):
    data = b""
    while len(data) < n:
        chunk = sock.recv(n - len(data))
        if not chunk:
            raise OSError("closed by the server")
        data += chunk
    return data


def main():
    f = Failures()
    with Server(config(IDLE_TIMEOUT_S, 4 * SLOWLORIS), files={"pool.example.zone": ZONE}) as srv:
        slowloris(f, srv)
        f.check(srv.proc.poll() is None, "slowloris: the server is still running")
    with Server(config(600, MAX_CLIENTS), files={"pool.example.zone": ZONE}) as srv:
        exhaustion(f, srv)
        f.check(srv.proc.poll() is None, "exhaustion: the server is still running")
    with Server(config(600, MAX_CLIENTS), files={"pool.example.zone": ZONE}) as srv:
        active_client_kept(f, srv)
    f.finish()


if __name__ == "__main__":
    main()
