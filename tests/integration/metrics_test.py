"""/metrics and /status.json on the real binary: the Prometheus text is
parsed by prometheus_client's own parser (python3-prometheus-client) and the
expected series are checked after queries, a failing mirror, a degraded
episode and reloads."""

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
            f.check(value(s, "mirrorpool_mirror_admin_state", pool="dl.pool.example.",
                          mirror="m1", state="enabled") == 1, "per-mirror admin state")
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
            wait_until(lambda: value(scrape(hport)[1], "mirrorpool_degraded_episodes_total") == 1,
                       5, "the degraded episode")
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
