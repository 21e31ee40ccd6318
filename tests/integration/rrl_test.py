"""Response rate limiting on the real binary: a flood from one loopback /24 is
limited (dropped, one in `slip` answered truncated so that real clients retry
over TCP), another /24 is not, TCP is never limited, one log line and one
episode per flood, and without [server.rrl] nothing is limited."""

import select
import socket
import time

import dns.flags
import dns.message
import dns.query

from harness import BASE_CONFIG, ZONE, Failures, Server, free_port, metric, wait_until

LIMIT = 50
SLIP = 2


def wire_query(qid):
    msg = dns.message.make_query("www.pool.example.", "A")
    msg.id = qid
    msg.flags &= ~dns.flags.RD
    return msg.to_wire()


def flood(port, source, count, sockets=4):
    """Sends `count` queries from `source` (spread over several source ports,
    so that SO_REUSEPORT spreads them over the workers) as fast as possible,
    then collects replies for a second. Returns (full answers, truncated)."""
    socks = []
    try:
        for _ in range(sockets):
            s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
            s.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 1 << 20)
            s.bind((source, 0))
            s.setblocking(False)
            socks.append(s)
        for i in range(count):
            try:
                socks[i % sockets].sendto(wire_query(i), ("127.0.0.1", port))
            except BlockingIOError:
                pass
        full = truncated = 0
        deadline = time.monotonic() + 1.0
        while time.monotonic() < deadline:
            ready, _, _ = select.select(socks, [], [], 0.1)
            for s in ready:
                while True:
                    try:
                        data = s.recv(4096)
                    except BlockingIOError:
                        break
                    reply = dns.message.from_wire(data)
                    if reply.flags & dns.flags.TC:
                        truncated += 1
                    elif reply.answer:
                        full += 1
        return full, truncated
    finally:
        for s in socks:
            s.close()



def main():
    f = Failures()
    hport = free_port()
    config = BASE_CONFIG.replace("workers = 1", "workers = 2") + f"""
[server.rrl]
responses_per_second = {LIMIT}
slip = {SLIP}
"""
    config = config.replace('user = "root"', f'user = "root"\nhttp_listen = "127.0.0.1:{hport}"')
    with Server(config, {"pool.example.zone": ZONE}) as srv:
        full, truncated = flood(srv.port, "127.0.0.1", 1000)
        print(f"flood from 127.0.0.1: {full} full answers, {truncated} truncated of 1000")
        # The flood may straddle a second boundary: at most two seconds' worth.
        f.check(0 < full <= 2 * LIMIT, f"the flooding /24 got at most 2x{LIMIT} full answers")
        f.check(truncated >= 300, "about one in two limited answers slipped as TC")
        f.check(full + truncated < 700, "the rest were dropped")
        # One flood, one episode: logged once (from a timer, not per query).
        line = "rate limit: 127.0.0.0/24 is over 50 responses/s"
        wait_until(lambda: line in srv.log(), 5, "the episode's log line")
        time.sleep(1.5)
        f.check(srv.log().count(line) == 1, "one log line for the episode")
        f.check(metric(hport, "mirrorpool_rrl_episodes_total") == 1, "one episode counted")

        # Another /24 at a modest rate is answered in full.
        other_full, other_tc = flood(srv.port, "127.0.5.1", 20, sockets=1)
        f.check(other_full == 20 and other_tc == 0, "another /24 is not limited")

        # A neighbour of the flooder shares its count, and its TCP retry is answered.
        full, truncated = flood(srv.port, "127.0.0.2", 400)
        r = dns.query.tcp(dns.message.from_wire(wire_query(7)), "127.0.0.1", port=srv.port,
                          source="127.0.0.2", timeout=5)
        f.check(not (r.flags & dns.flags.TC) and len(r.answer) == 1,
                "TCP is never limited: the slipped client's retry is answered")
        f.check(full <= 2 * LIMIT, "127.0.0.2 counts in the same /24 as 127.0.0.1")
        dropped = metric(hport, "mirrorpool_rrl_limited_total", action="dropped")
        slipped = metric(hport, "mirrorpool_rrl_limited_total", action="slipped")
        f.check(dropped and dropped >= 400, f"dropped answers counted ({dropped})")
        f.check(slipped and slipped >= 400, f"slipped answers counted ({slipped})")

        # Quiet for more than a second, then a new flood is a new episode.
        time.sleep(2.5)
        episodes = metric(hport, "mirrorpool_rrl_episodes_total")
        lines = srv.log().count(line)
        f.check(episodes == lines, "every episode logged once")
        flood(srv.port, "127.0.0.1", 300)
        wait_until(lambda: srv.log().count(line) == lines + 1, 5, "a new episode's log line")
        f.check(metric(hport, "mirrorpool_rrl_episodes_total") == episodes + 1,
                "a new episode counted")
        f.check(srv.stop() == 0, "clean stop")

    # Off by default: the same flood is answered in full.
    with Server(BASE_CONFIG, {"pool.example.zone": ZONE}) as srv:
        full, truncated = flood(srv.port, "127.0.0.1", 300, sockets=1)
        f.check(full >= 290 and truncated == 0, f"without [server.rrl] nothing is limited ({full})")
    f.finish()


if __name__ == "__main__":
    main()
