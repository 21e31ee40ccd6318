"""/metrics and /status.json on the real binary: the Prometheus text is
parsed by prometheus_client's own parser (python3-prometheus-client), passes
`promtool check metrics` (Debian's prometheus package: names, units, types)
and the expected series are checked after queries, a failing mirror, a
degraded episode and reloads."""

import json
import signal
import socket
import struct
import subprocess
import os
import urllib.request

import dns.message
from prometheus_client.parser import text_string_to_metric_families

from fake_mirror import FakeMirror
from harness import Failures, Server, free_port, rcode, wait_until
from prober_test import ZONE

CTL = os.environ.get("MIRRORPOOLCTL", "mirrorpoolctl")


def promtool_problems(port):
    """What `promtool check metrics` finds wrong with a live scrape; "" when
    nothing."""
    with urllib.request.urlopen(f"http://127.0.0.1:{port}/metrics", timeout=5) as r:
        text = r.read()
    out = subprocess.run(["promtool", "check", "metrics"], input=text, capture_output=True,
                         timeout=30)
    return "" if out.returncode == 0 else (out.stdout + out.stderr).decode().strip()


def scrape(port):
    with urllib.request.urlopen(f"http://127.0.0.1:{port}/metrics", timeout=5) as r:
        ctype = r.headers["Content-Type"]
        text = r.read().decode()
    samples = {}
    for family in text_string_to_metric_families(text):
        for s in family.samples:
            samples[(s.name, tuple(sorted(s.labels.items())))] = s.value
    return ctype, samples


def value(samples, name, **labels):
    return samples.get((name, tuple(sorted(labels.items()))))


def main():
    f = Failures()
    mport, hport = free_port(), free_port()
    mirrors = [FakeMirror(f"127.0.1.{121 + i}", mport).start() for i in range(2)]
    config = f"""
[server]
listen = ["127.0.0.1:{{port}}"]
workers = 2
control_socket = "{{dir}}/control.sock"
state_dir = "{{dir}}/state"
http_listen = "127.0.0.1:{hport}"
user = "root"

[[zone]]
origin = "pool.example."
file = "pool.example.zone"

[[pool]]
name = "dl.pool.example."
min_healthy = 2
when_all_down = "serve-all"
[pool.check]
type = "http"
port = {mport}
interval = "300ms"
timeout = "200ms"
rise = 1
fall = 1
[[pool.mirror]]
id = "m1"
addresses = ["127.0.1.121"]
[[pool.mirror]]
id = "m2"
addresses = ["127.0.1.122"]
"""
    try:
        with Server(config, {"pool.example.zone": ZONE}) as srv:
            _, before = scrape(hport)
            for _ in range(5):
                srv.query("dl.pool.example.", "A")
            srv.query("nope.pool.example.", "A")
            srv.query("dl.pool.example.", "AAAA", tcp=True)
            ctype, s = scrape(hport)
            f.check(ctype.startswith("text/plain; version=0.0.4"), f"content type {ctype}")
            # Exactly what was sent: each query is counted once.
            sent = {"udp": 6, "tcp": 1}
            for transport, n in sent.items():
                delta = (value(s, "mirrorpool_queries_total", transport=transport) -
                         value(before, "mirrorpool_queries_total", transport=transport))
                f.check(delta == n, f"{transport} queries counted {delta}, sent {n}")
            f.check(value(s, "mirrorpool_queries_by_qtype_total", qtype="A") >= 6,
                    "queries by qtype")

            # A UDP query over 4096 bytes (here a well-formed one, padded by
            # EDNS) is answered as TCP would answer it, and not counted as
            # malformed (NSD's behaviour; protocol_test goes to 60000 bytes).
            wire = bytearray(dns.message.make_query("dl.pool.example.", "A",
                                                    use_edns=False).to_wire())
            wire[11] = 1  # ARCOUNT: the OPT record below, with a 5000-byte padding option
            padding = 5000
            wire += struct.pack("!BHHIHHH", 0, 41, 1232, 0, 4 + padding, 12, padding)
            wire += bytes(padding)
            with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as sock:
                sock.settimeout(0.5)
                sock.sendto(bytes(wire), ("127.0.0.1", srv.port))
                try:
                    reply = sock.recv(65535)
                except socket.timeout:
                    reply = None
            f.check(reply is not None and
                    rcode(dns.message.from_wire(reply)) == "NOERROR",
                    "a query over 4096 bytes is answered")
            _, after = scrape(hport)
            f.check(value(after, "mirrorpool_dropped_total", reason="malformed") ==
                    value(s, "mirrorpool_dropped_total", reason="malformed"),
                    "a query over 4096 bytes is not counted as malformed")
            f.check(rcode(srv.query("dl.pool.example.", "A")) == "NOERROR",
                    "still answering after an oversized query")
            f.check(value(s, "mirrorpool_responses_total", rcode="NXDOMAIN") >= 1,
                    "responses by rcode")
            f.check(value(s, "mirrorpool_pool_answers_total", pool="dl.pool.example.") >= 5,
                    "answers per pool")
            f.check(value(s, "mirrorpool_pool_served_addresses", pool="dl.pool.example.",
                          family="A") == 2, "served addresses per pool")
            lab = dict(pool="dl.pool.example.", mirror="m1", address="127.0.1.121")
            f.check(value(s, "mirrorpool_address_up", **lab) == 1, "per-address up")
            # Every admin state has a series, 1 for the mirror's own: an alert
            # on drained == 1 sees a mirror that was never drained as 0, not absent.
            states = {st: value(s, "mirrorpool_mirror_admin_state", pool="dl.pool.example.",
                                mirror="m1", state=st)
                      for st in ("enabled", "disabled", "drained")}
            f.check(states == {"enabled": 1, "disabled": 0, "drained": 0},
                    f"per-mirror admin state, one 0/1 series each: {states}")
            f.check(value(s, "mirrorpool_build_info", version="0.1.0") == 1,
                    "build_info names the version")
            soa_serial = srv.query("pool.example.", "SOA").answer[0][0].serial
            f.check(value(s, "mirrorpool_zone_serial", zone="pool.example.") == soa_serial,
                    f"zone serial {value(s, 'mirrorpool_zone_serial', zone='pool.example.')} "
                    f"is the SOA's {soa_serial}")
            with open(f"/proc/{srv.proc.pid}/stat") as st:
                ticks_after_boot = int(st.read().rsplit(")", 1)[1].split()[19])
            with open("/proc/stat") as st:
                btime = next(int(l.split()[1]) for l in st if l.startswith("btime "))
            started = btime + ticks_after_boot / os.sysconf("SC_CLK_TCK")
            f.check(value(s, "process_start_time_seconds") == started,
                    f"process start time {value(s, 'process_start_time_seconds')} = {started}")
            rss = value(s, "process_resident_memory_bytes")
            f.check(rss and 1 << 20 < rss < 1 << 32, f"process RSS {rss}")
            fds = value(s, "process_open_fds")
            # Probe sockets and the scrape's own connection come and go.
            seen = len(os.listdir(f"/proc/{srv.proc.pid}/fd"))
            f.check(fds and abs(fds - seen) <= 8, f"process open fds {fds}, /proc shows {seen}")
            f.check(value(s, "process_max_fds") and
                    value(s, "process_cpu_seconds_total") is not None, "max fds, CPU seconds")
            f.check(value(s, "mirrorpool_degraded_episodes_total", pool="dl.pool.example.",
                          family="A") == 0, "no degraded episode yet, shown as 0")
            problems = promtool_problems(hport)
            f.check(not problems, f"promtool check metrics: {problems or 'clean'}")
            f.check(value(s, "mirrorpool_mirror_weight", pool="dl.pool.example.",
                          mirror="m1") == 1, "per-mirror weight")
            f.check(value(s, "mirrorpool_probe_duration_seconds_count", **lab) >= 1 and
                    value(s, "mirrorpool_probe_duration_seconds_bucket", le="+Inf", **lab) ==
                    value(s, "mirrorpool_probe_duration_seconds_count", **lab),
                    "probe latency histogram")
            f.check(value(s, "mirrorpool_address_last_check_timestamp_seconds", **lab) and
                    value(s, "mirrorpool_address_last_success_timestamp_seconds", **lab),
                    "last check and last success times")

            # A failure: by reason, a state change, a degraded episode.
            mirrors[0].status(503)
            wait_until(lambda: value(scrape(hport)[1], "mirrorpool_address_up", **lab) == 0, 5,
                       "m1 down in the metrics")
            wait_until(lambda: value(scrape(hport)[1], "mirrorpool_degraded_episodes_total",
                                     pool="dl.pool.example.", family="A") == 1,
                       5, "the degraded episode, for its pool and family")
            _, s = scrape(hport)
            f.check(value(s, "mirrorpool_probe_failures_total", reason="http", **lab) >= 1,
                    "failures by reason")
            f.check(value(s, "mirrorpool_state_changes_total", **lab) >= 1, "state changes")
            f.check(value(s, "mirrorpool_pool_degraded", pool="dl.pool.example.", family="A")
                    == 1, "degraded gauge")
            f.check(value(s, "mirrorpool_address_served", **lab) == 1,
                    "serve-all keeps the failed address served")
            mirrors[0].ok()
            # Settled before /status.json and status --json are compared below.
            wait_until(lambda: value(scrape(hport)[1], "mirrorpool_address_up", **lab) == 1, 5,
                       "m1 up again in the metrics")

            # Reloads.
            srv.signal(signal.SIGHUP)
            wait_until(lambda: value(scrape(hport)[1], "mirrorpool_reloads_total",
                                     result="success") == 1, 5, "a counted reload")
            with open(srv.config_path, "a") as c:
                c.write("\nnot valid toml [[[\n")
            srv.signal(signal.SIGHUP)
            wait_until(lambda: value(scrape(hport)[1], "mirrorpool_reloads_total",
                                     result="failure") == 1, 5, "a failed reload")
            f.check(value(scrape(hport)[1], "mirrorpool_last_reload_successful") == 0,
                    "last reload failed")

            # /status.json is what `status --json` shows.
            with urllib.request.urlopen(f"http://127.0.0.1:{hport}/status.json", timeout=5) as r:
                status = json.loads(r.read())
            ctl = subprocess.run([CTL, "-s", f"{srv.dir}/control.sock", "status", "--json"],
                                 capture_output=True, text=True, timeout=30)
            mine = json.loads(ctl.stdout)
            strip = lambda d: [(p["name"], [(m["id"], m["state"]) for m in p["mirrors"]])  # noqa
                               for p in d["pools"]]
            f.check(strip(status) == strip(mine), "/status.json matches status --json")
            try:
                urllib.request.urlopen(f"http://127.0.0.1:{hport}/nope", timeout=5)
                f.check(False, "unknown path: 404")
            except urllib.error.HTTPError as e:
                f.check(e.code == 404, "unknown path: 404")
            f.check(rcode(srv.query("pool.example.", "SOA")) == "NOERROR", "DNS still fine")
    finally:
        for m in mirrors:
            m.stop()
    f.finish()


if __name__ == "__main__":
    main()
