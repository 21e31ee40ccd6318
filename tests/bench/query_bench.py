#!/usr/bin/python3
"""Query benchmark: mirrorpoold against gdnsd, Knot, NSD, PowerDNS (bind
backend and LUA records) and a no-logic echo responder (the floor), on
loopback, with the same zone, side by side in interleaved rounds; and signed
(DNSSEC): mirrorpoold against PowerDNS LUA records signed live.

    tests/bench/query_bench.py --build build-bench     # configures (release) and builds it
    tests/bench/query_bench.py [--rounds 3] [--seconds 3] [--json out.json]
    tests/bench/query_bench.py --quick                 # 1 short round, small zone (the
                                                       # meson test bench_smoke)
    tests/bench/query_bench.py --only dnssec           # only the DNSSEC rows (about 1 min)

Each server is pinned to one core (--server-cpu, default 0) and the load
generator to another (--generator-cpu, default 1). Per zone (small, and
+100k names) every server is started once; then, for each round, every server
runs --seconds under tests/bench/load_generator (sendmmsg/recvmmsg, a window
of outstanding queries, every reply checked: ID, question, NOERROR, number of
answer records, no duplicate addresses), in a rotated order. Rows: the pool
name `dl.pool.example A` (mirrorpoold: 4 of 8 healthy weighted mirrors) and a
static name `www.pool.example A`. Also measured: dnsperf once per server and
row (it saturates its own core before the fast servers do, so its column
ranks the generator, not the servers), unloaded latency (one query at a
time), RSS and PSS of the process tree, start-up time (exec to the first
correct answer), two workers without pinning, and mirrorpoold under churn
(SIGHUP every second and a mirrorpoolctl drain/undrain every second).

DNSSEC rows (issue 23, small zone; --only dnssec runs just these): the pool
name asked with EDNS and DO=0 or DO=1, in alternating short runs on the same
server, of mirrorpoold with `dnssec = true` and `dnssec_variants = 32` (only
when its --check-config accepts them; else a row says it is not available)
and of PowerDNS LUA records signed live (pdnsutil secure-zone, ECDSA P-256,
keys in a bind-dnssec-db); every DO=1 reply must carry an RRSIG, and before
measuring one answer of each is validated with the zone's DNSKEY (and seen
with dig +dnssec). Then the time mirrorpoold takes to re-sign the pool after
a mirror fails and comes back, read from its /metrics
(mirrorpool_dnssec_last_signing_seconds, mirrorpool_dnssec_signatures_total,
mirrorpool_dnssec_signing_seconds_total; "not available" without them).

Needs the peers from packaging/install-deps (gdnsd, knot, nsd, pdns-server,
pdns-backend-bind, dnsperf). Binaries come from --build DIR or from the
environment: MIRRORPOOLD, MIRRORPOOLCTL, LOAD_GENERATOR, ECHO_RESPONDER.
Exit status 1 when any server gave a wrong answer, no answers, or a tool
failed; the table is printed first either way.
"""

import argparse
import json
import os
import platform
import re
import resource
import selectors
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import urllib.request

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.normpath(os.path.join(HERE, "..", ".."))
sys.path.insert(0, os.path.join(ROOT, "tests", "integration"))

import dns.dnssec  # noqa: E402
import dns.exception  # noqa: E402
import dns.message  # noqa: E402
import dns.name  # noqa: E402
import dns.query  # noqa: E402
import dns.rcode  # noqa: E402
import dns.rdataclass  # noqa: E402
import dns.rdatatype  # noqa: E402

from harness import free_port  # noqa: E402

ORIGIN = "pool.example."
SETTLE_S = 2.0  # between the last load and the "after load" memory reading
POOL_NAME = "dl.pool.example."
STATIC_NAME = "www.pool.example."
MIRRORS = [f"127.0.1.{i}" for i in range(1, 9)]
WEIGHTS = [10, 10, 10, 10, 5, 5, 5, 5]
MAX_ANSWERS = 4
CHECK_INTERVAL_S = 2
DNSSEC_VARIANTS = 32
RESIGN_GOAL_S = 0.010   # issue 23: a pool re-signed within 10 ms of a health change
DO_RATIO_GOAL = 0.90    # issue 23: DO=1 pool answers at >= 0.90 of DO=0's rate

# Rows of the table: (key, query name, type). Each server says how many answer
# records it gives for each row it serves.
ROWS = [("pool", POOL_NAME, "A"), ("static", STATIC_NAME, "A"), ("pool-ecs", POOL_NAME, "A"),
        ("geo-ecs", "geo.pool.example.", "A"), ("geo-src", "geo.pool.example.", "A")]
ROW_TITLE = {"pool": "dl.pool.example A (pool)", "static": "www.pool.example A (static)",
             "pool-ecs": "dl.pool.example A with ECS (pool, geo = off: scope 0 echoed)",
             "geo-ecs": "geo.pool.example A (geo = nearest, placed by ECS)",
             "geo-src": "geo.pool.example A (geo = nearest, placed by the source address)"}
GEO_ROWS = ("geo-ecs", "geo-src")
# Asked with the ECS option of 64 client subnets (ctx.geo_subnets).
ECS_ROWS = ("pool-ecs", "geo-ecs")
# Where the 8 mirrors are for the geo pool: two per continent.
MIRROR_LOCATIONS = [(50.11, 8.68), (48.86, 2.35), (40.71, -74.0), (37.77, -122.42),
                    (35.68, 139.69), (1.35, 103.82), (-23.55, -46.63), (-33.87, 151.21)]


def log(msg):
    print(msg, file=sys.stderr, flush=True)


# ---------------------------------------------------------------------------
# Zones


def zone_text(large_names, pool_lines):
    """The zone every server serves: SOA, NS, static names, the pool name in
    the server's own syntax (pool_lines), and optionally large_names more
    names hNNNNNN IN A 198.18.x.y (the benchmark range, never contacted)."""
    lines = [
        f"$ORIGIN {ORIGIN}",
        "$TTL 3600",
        "@    IN SOA ns1.pool.example. hostmaster.pool.example. 1 3600 900 604800 300",
        "@    IN NS  ns1",
        "@    IN NS  ns2",
        "ns1  IN A   127.0.0.53",
        "ns2  IN A   127.0.0.54",
        "www  IN A   192.0.2.80",
        "www  IN AAAA 2001:db8::80",
        "ftp  IN CNAME www",
    ]
    lines += pool_lines
    for i in range(large_names):
        lines.append(f"h{i:06d} IN A 198.18.{(i >> 8) & 0xFF}.{i & 0xFF}")
    return "\n".join(lines) + "\n"


def static_pool_lines():
    return [f"dl 30 IN A {a}" for a in MIRRORS]


def last_large_name(large_names):
    return f"h{large_names - 1:06d}.{ORIGIN}" if large_names else None


# ---------------------------------------------------------------------------
# Processes: every one is started here, pinned with taskset, and stopped by
# PID (with its children, which NSD forks) in a finally.


def child_pids(pid):
    out = []
    try:
        for tid in os.listdir(f"/proc/{pid}/task"):
            with open(f"/proc/{pid}/task/{tid}/children") as f:
                out += [int(x) for x in f.read().split()]
    except OSError:
        pass
    return out


def process_tree(pid):
    seen, todo = [], [pid]
    while todo and len(seen) < 256:
        p = todo.pop()
        if p in seen:
            continue
        seen.append(p)
        todo += child_pids(p)
    return seen


def proc_start_time(pid):
    try:
        with open(f"/proc/{pid}/stat") as f:
            return f.read().rsplit(")", 1)[1].split()[19]
    except (OSError, IndexError):
        return None


def cpu_seconds(pids):
    """utime + stime of the process trees, in seconds (threads included)."""
    ticks = 0
    for root in pids:
        for p in process_tree(root):
            try:
                with open(f"/proc/{p}/stat") as f:
                    fields = f.read().rsplit(")", 1)[1].split()
                ticks += int(fields[11]) + int(fields[12])
            except (OSError, IndexError, ValueError):
                pass
    return ticks / os.sysconf("SC_CLK_TCK")


def memory_kib(pid):
    """(sum of VmRSS, sum of Pss, sum of anonymous resident memory) over the
    process tree, in KiB. Anonymous memory is what the process wrote: its heap,
    stacks and buffers, plus the pages of its libraries that relocation or
    their own variables changed. The rest of RSS is file pages of the binary
    and the shared libraries."""
    rss = pss = anon = 0
    for p in process_tree(pid):
        try:
            with open(f"/proc/{p}/status") as f:
                for line in f:
                    if line.startswith("VmRSS:"):
                        rss += int(line.split()[1])
            with open(f"/proc/{p}/smaps_rollup") as f:
                for line in f:
                    if line.startswith("Pss:"):
                        pss += int(line.split()[1])
                    elif line.startswith("Anonymous:"):
                        anon += int(line.split()[1])
        except OSError:
            pass
    return rss, pss, anon


class Procs:
    """Every long-running process the benchmark starts."""

    def __init__(self):
        self.items = []  # (Popen, log file)

    def start(self, argv, cpus, log_path, cwd=None):
        env = {k: v for k, v in os.environ.items()
               if k not in ("NOTIFY_SOCKET", "LISTEN_FDS", "LISTEN_PID", "WATCHDOG_USEC")}
        logf = open(log_path, "ab")
        proc = subprocess.Popen(["taskset", "-c", cpus, *argv], stdout=logf,
                                stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL,
                                cwd=cwd, env=env)
        self.items.append((proc, logf))
        return proc

    def stop(self, proc, timeout=10):
        if proc.poll() is None:
            # Children first noted, so that none outlives its parent unseen.
            tree = [(p, proc_start_time(p)) for p in process_tree(proc.pid)[1:]]
            proc.send_signal(signal.SIGTERM)
            try:
                proc.wait(timeout)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait(5)
            deadline = time.monotonic() + 5
            for pid, started in tree:
                while proc_start_time(pid) == started and time.monotonic() < deadline:
                    time.sleep(0.02)
                if started is not None and proc_start_time(pid) == started:
                    os.kill(pid, signal.SIGKILL)
        for i, (p, logf) in enumerate(self.items):
            if p is proc:
                logf.close()
                del self.items[i]
                break

    def stop_all(self):
        for proc, _ in list(reversed(self.items)):
            try:
                self.stop(proc)
            except Exception as e:  # keep stopping the others
                log(f"warning: stopping pid {proc.pid}: {e}")


# ---------------------------------------------------------------------------
# The mirrors: a TCP listener on each 127.0.1.x, so that mirrorpoold's and
# gdnsd's tcp health checks find all 8 up. Accepts and closes.


class MirrorListeners:
    def __init__(self):
        self.port = free_port()
        self.sel = selectors.DefaultSelector()
        self.socks = []
        for addr in MIRRORS:
            s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
            s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
            s.bind((addr, self.port))
            s.listen(64)
            s.setblocking(False)
            self.sel.register(s, selectors.EVENT_READ)
            self.socks.append(s)
        self.stopping = threading.Event()
        self.thread = threading.Thread(target=self._run, daemon=True)
        self.thread.start()

    def _run(self):
        while not self.stopping.is_set():
            for key, _ in self.sel.select(timeout=0.2):
                try:
                    conn, _ = key.fileobj.accept()
                    conn.close()
                except OSError:
                    pass

    def close(self):
        self.stopping.set()
        self.thread.join(5)
        for s in self.socks:
            s.close()


# ---------------------------------------------------------------------------
# Servers. Each writes its config into its own directory, starts pinned, and
# says which port and answer count to expect for each row.


class Server:
    key = "server"
    title = "server"
    rows = ("pool", "static")
    pool_answers = "8"      # expected answer records for the pool row ("N" or "LO-HI")
    pool_desc = "8 A (static)"

    def __init__(self, ctx, large, cpus):
        self.ctx = ctx
        self.large = large
        self.cpus = cpus
        self.dir = tempfile.mkdtemp(prefix=f"{self.key}-", dir=ctx.workdir)
        self.port = free_port()
        self.proc = None
        self.startup_s = None
        self.log_path = os.path.join(self.dir, "server.log")

    def expected(self, row):
        return self.pool_answers if row == "pool" else "1"

    def answer_desc(self, row):
        return self.pool_desc if row == "pool" else "1 A"

    def port_for(self, row):
        return self.port

    def start(self):
        self.write()
        t0 = time.monotonic()
        self.proc = self.ctx.procs.start(self.command(), self.cpus, self.log_path, cwd=self.dir)
        self.startup_s = wait_first_answer(self, t0)
        return self

    def stop(self):
        if self.proc is not None:
            self.ctx.procs.stop(self.proc)

    def pids(self):
        return [self.proc.pid]

    def memory(self):
        """memory_kib summed over every process of this server."""
        total = (0, 0, 0)
        for pid in self.pids():
            total = tuple(a + b for a, b in zip(total, memory_kib(pid)))
        return total

    def log_tail(self, n=30):
        try:
            with open(self.log_path, errors="replace") as f:
                return "".join(f.readlines()[-n:])
        except OSError:
            return ""

    def write_file(self, name, text):
        path = os.path.join(self.dir, name)
        os.makedirs(os.path.dirname(path), exist_ok=True)
        with open(path, "w") as f:
            f.write(text)
        return path


class Mirrorpoold(Server):
    key = "mirrorpoold"
    title = "mirrorpoold"
    pool_answers = str(MAX_ANSWERS)
    pool_desc = f"{MAX_ANSWERS} A of 8 (weighted)"

    def __init__(self, ctx, large, cpus, workers=1, geo_db=None):
        self.workers = workers
        self.geo_db = geo_db
        if geo_db:
            self.rows = Server.rows + ("pool-ecs",) + GEO_ROWS
        if workers != 1:
            self.key = f"mirrorpoold-w{workers}"
            self.title = f"mirrorpoold, {workers} workers"
        super().__init__(ctx, large, cpus)

    def expected(self, row):
        return self.pool_answers if row in ("pool", "pool-ecs") + GEO_ROWS else "1"

    def answer_desc(self, row):
        if row == "pool-ecs":
            return self.pool_desc
        if row in GEO_ROWS:
            return f"{MAX_ANSWERS} A of 8 (nearest, weighted)"
        return super().answer_desc(row)

    def check_table(self):
        """Every pool's [pool.check]: a TCP connect to the loopback listeners."""
        return f"""
[pool.check]
type = "tcp"
port = {self.ctx.mirrors.port}
interval = "{CHECK_INTERVAL_S}s"
timeout = "1s"
rise = 2
fall = 2
"""

    def geo_config(self):
        """[server.geo] and the geo pool, when there is a database."""
        if not self.geo_db:
            return "", ""
        mirrors = "".join(
            f'[[pool.mirror]]\nid = "g{i + 1}"\naddresses = ["{a}"]\nweight = {w}\n'
            f'location = [{lat}, {lon}]\n'
            for i, (a, w, (lat, lon)) in enumerate(zip(MIRRORS, WEIGHTS, MIRROR_LOCATIONS)))
        server = f'[server.geo]\ndatabase = "{self.geo_db}"\n'
        pool = f"""
[[pool]]
name = "geo.pool.example."
ttl = 30
max_answers = {MAX_ANSWERS}
geo = "nearest"
geo_margin_km = 1000
{self.check_table()}
{mirrors}"""
        return server, pool

    def write(self):
        d = self.dir
        self.config_path = os.path.join(d, "mirrorpool.toml")
        self.write_file("pool.example.zone", zone_text(self.large, []))
        mirrors = "".join(
            f'[[pool.mirror]]\nid = "m{i + 1}"\naddresses = ["{a}"]\nweight = {w}\n'
            for i, (a, w) in enumerate(zip(MIRRORS, WEIGHTS)))
        geo_server, geo_pool = self.geo_config()
        self.write_file("mirrorpool.toml", f"""
[server]
listen = ["127.0.0.1:{self.port}"]
workers = {self.workers}
control_socket = "{d}/control.sock"
state_dir = "{d}/state"
user = "root"
{geo_server}
[[zone]]
origin = "{ORIGIN}"
file = "pool.example.zone"

[[pool]]
name = "{POOL_NAME}"
ttl = 30
max_answers = {MAX_ANSWERS}
{self.check_table()}
{mirrors}{geo_pool}""")

    def command(self):
        return [self.ctx.bin["mirrorpoold"], "-c", self.config_path]

    def geo_log_line(self):
        """The daemon's "geo database ..." line: what reading the database cost."""
        try:
            with open(self.log_path, errors="replace") as f:
                return next((line.strip() for line in f if "geo database" in line), None)
        except OSError:
            return None


class Echo(Server):
    """The floor: two echo_responder processes, one giving 4 A records (the
    size of mirrorpoold's pool answer) for the pool row, one giving 1 A for
    the static row. Both run pinned like every server."""
    key = "echo"
    title = "echo responder (floor)"
    pool_answers = str(MAX_ANSWERS)
    pool_desc = f"{MAX_ANSWERS} A (fixed)"

    def __init__(self, ctx, large, cpus, threads=1, rows=("pool", "static")):
        self.threads = threads
        self.rows = rows
        if threads != 1:
            self.key = f"echo-w{threads}"
            self.title = f"echo responder, {threads} threads"
        super().__init__(ctx, large, cpus)
        self.ports = {row: free_port() for row in rows}
        self.procs = {}

    def port_for(self, row):
        return self.ports[row]

    def start(self):
        t0 = time.monotonic()
        for row in self.rows:
            answers = MAX_ANSWERS if row == "pool" else 1
            self.procs[row] = self.ctx.procs.start(
                [self.ctx.bin["echo_responder"], "--listen", f"127.0.0.1:{self.ports[row]}",
                 "--answers", str(answers), "--threads", str(self.threads)],
                self.cpus, self.log_path)
        self.proc = self.procs[self.rows[0]]
        self.startup_s = wait_first_answer(self, t0)
        return self

    def stop(self):
        for p in self.procs.values():
            self.ctx.procs.stop(p)

    def pids(self):
        return [p.pid for p in self.procs.values()]


class Gdnsd(Server):
    """gdnsd 3: config dir with `config` and `zones/`; run_dir and state_dir
    inside it so nothing under /run or /var is touched. Health checks:
    tcp_connect to the same loopback listeners mirrorpoold probes."""

    def __init__(self, ctx, large, cpus, plugin="multifo", threads=1, rows=("pool", "static")):
        self.plugin = plugin
        self.threads = threads
        self.rows = rows
        self.key = f"gdnsd-{plugin}" + (f"-w{threads}" if threads != 1 else "")
        self.title = f"gdnsd {plugin}" + (f", {threads} threads" if threads != 1 else "")
        if plugin == "multifo":
            self.pool_answers, self.pool_desc = "8", "8 A (multifo, all up)"
        elif plugin == "geoip":
            # The nearest datacenter's two addresses (auto_dc_coords).
            self.pool_answers, self.pool_desc = "2", "2 A (nearest of 4 datacenters)"
        else:
            # multi = true: every address at the maximum weight, each other
            # with probability weight/max; 4 to 8 addresses.
            self.pool_answers, self.pool_desc = "4-8", "4-8 A (weighted multi)"
        super().__init__(ctx, large, cpus)

    def expected(self, row):
        return self.pool_answers if row in ("pool",) + GEO_ROWS else "1"

    def answer_desc(self, row):
        return self.pool_desc if row in ("pool",) + GEO_ROWS else "1 A"

    def write(self):
        d = self.dir
        name = "geo" if self.plugin == "geoip" else "dl"
        self.write_file("zones/pool.example",
                        zone_text(self.large, [f"{name} 30 DYNA {self.plugin}!{name}"]))
        if self.plugin == "geoip":
            # The same database and mirrors as mirrorpoold's geo pool, two
            # mirrors per datacenter, each datacenter where its first mirror is.
            dcs = ["dc1", "dc2", "dc3", "dc4"]
            coords = " ".join(f"{dc} => [ {MIRROR_LOCATIONS[2 * i][0]}, "
                              f"{MIRROR_LOCATIONS[2 * i][1]} ]" for i, dc in enumerate(dcs))
            dcmap = " ".join(f"{dc} => [ {MIRRORS[2 * i]}, {MIRRORS[2 * i + 1]} ]"
                             for i, dc in enumerate(dcs))
            plugin = (f"  geoip => {{\n    maps => {{\n      bench => {{\n"
                      f"        geoip2_db => {self.ctx.geo_db}\n"
                      f"        datacenters => [ {', '.join(dcs)} ]\n"
                      f"        auto_dc_coords => {{ {coords} }}\n      }}\n    }}\n"
                      f"    resources => {{\n      geo => {{\n        map => bench\n"
                      f"        service_types => bench_tcp\n"
                      f"        dcmap => {{ {dcmap} }}\n      }}\n    }}\n  }}")
        elif self.plugin == "multifo":
            addrs = "\n".join(f"      m{i + 1} = {a}" for i, a in enumerate(MIRRORS))
            plugin = (f"  multifo => {{\n    dl => {{\n"
                      f"      service_types = bench_tcp\n{addrs}\n    }}\n  }}")
        else:
            addrs = "\n".join(f"      m{i + 1} = [ {a}, {w} ]"
                              for i, (a, w) in enumerate(zip(MIRRORS, WEIGHTS)))
            plugin = (f"  weighted => {{\n    multi = true\n    dl => {{\n"
                      f"      service_types = bench_tcp\n{addrs}\n    }}\n  }}")
        self.write_file("config", f"""options => {{
  listen => [ 127.0.0.1:{self.port} ]
  udp_threads => {self.threads}
  tcp_threads => 1
  run_dir => {d}/run
  state_dir => {d}/state
}}
service_types => {{
  bench_tcp => {{
    plugin => tcp_connect, port => {self.ctx.mirrors.port}
    interval => {CHECK_INTERVAL_S}, timeout => 1
  }}
}}
plugins => {{
{plugin}
}}
""")

    def command(self):
        return ["gdnsd", "-c", self.dir, "start"]


class Knot(Server):
    key = "knot"
    title = "Knot"

    def write(self):
        d = self.dir
        os.makedirs(os.path.join(d, "db"), exist_ok=True)
        self.write_file("pool.example.zone", zone_text(self.large, static_pool_lines()))
        # No notify, no remotes: nothing leaves loopback. The journal and
        # zone-file sync are off: the zone is only read.
        self.write_file("knot.conf", f"""server:
  rundir: "{d}"
  listen: 127.0.0.1@{self.port}
  udp-workers: 1
  tcp-workers: 1
  background-workers: 1
log:
  - target: stderr
    any: notice
database:
  storage: "{d}/db"
template:
  - id: default
    storage: "{d}"
    zonefile-sync: -1
    zonefile-load: whole
    journal-content: none
zone:
  - domain: {ORIGIN}
    file: "{d}/pool.example.zone"
""")

    def command(self):
        return ["knotd", "-c", os.path.join(self.dir, "knot.conf")]


class Nsd(Server):
    key = "nsd"
    title = "NSD"

    def write(self):
        d = self.dir
        self.write_file("pool.example.zone", zone_text(self.large, static_pool_lines()))
        self.write_file("nsd.conf", f"""server:
  ip-address: 127.0.0.1@{self.port}
  server-count: 1
  zonesdir: "{d}"
  database: ""
  pidfile: "{d}/nsd.pid"
  xfrdfile: "{d}/xfrd.state"
  zonelistfile: "{d}/zone.list"
  xfrdir: "{d}"
  username: ""
  chroot: ""
  logfile: "{d}/nsd.log"
  verbosity: 1
  # Debian's NSD is built with response rate limiting, on by default (200
  # qps per /24): the benchmark's single source would get TC slips.
  rrl-ratelimit: 0
  rrl-whitelist-ratelimit: 0
remote-control:
  control-enable: no
zone:
  name: "{ORIGIN}"
  zonefile: "{d}/pool.example.zone"
""")

    def command(self):
        return ["nsd", "-d", "-c", os.path.join(self.dir, "nsd.conf")]


class Pdns(Server):
    """PowerDNS 4.7, bind backend, its own config dir (never /etc/powerdns).
    security-poll-suffix is empty: no status lookup leaves the machine."""

    def __init__(self, ctx, large, cpus, lua=False, key=None, title=None):
        self.lua = lua
        self.key = key or ("pdns-lua" if lua else "pdns")
        self.title = title or ("PowerDNS LUA records" if lua else "PowerDNS (bind backend)")
        if lua:
            self.pool_answers, self.pool_desc = str(MAX_ANSWERS), f"{MAX_ANSWERS} A of 8 (LUA)"
        super().__init__(ctx, large, cpus)

    def write(self):
        d = self.dir
        if self.lua:
            # pickrandomsample: N distinct addresses at random (unweighted;
            # pdns 4.7 has no weighted N-of-M function).
            addrs = ",".join(f"'{a}'" for a in MIRRORS)
            pool = [f'dl 30 IN LUA A "pickrandomsample({MAX_ANSWERS}, {{{addrs}}})"']
        else:
            pool = static_pool_lines()
        zone = self.write_file("pool.example.zone", zone_text(self.large, pool))
        named = self.write_file("named.conf",
                                f'zone "{ORIGIN.rstrip(".")}" {{ type master; file "{zone}"; }};\n')
        self.write_file("pdns.conf", f"""launch=bind
bind-config={named}
local-address=127.0.0.1:{self.port}
socket-dir={d}
guardian=no
daemon=no
disable-syslog=yes
loglevel=4
security-poll-suffix=
enable-lua-records={"yes" if self.lua else "no"}
receiver-threads=1
distributor-threads=1
webserver=no
api=no
primary=no
secondary=no
""")

    def command(self):
        return ["pdns_server", f"--config-dir={self.dir}"]


class FlippableListeners(MirrorListeners):
    """MirrorListeners whose listener on one address can be closed (the mirror
    fails its tcp check: connection refused) and opened again, for the
    re-signing row."""

    def __init__(self):
        self.lock = threading.Lock()
        super().__init__()

    def _run(self):
        while not self.stopping.is_set():
            with self.lock:
                events = self.sel.select(timeout=0.02) if self.sel.get_map() else []
                for key, _ in events:
                    try:
                        conn, _ = key.fileobj.accept()
                        conn.close()
                    except OSError:
                        pass
            time.sleep(0.001)  # let set_up() take the lock

    def set_up(self, addr, up):
        i = MIRRORS.index(addr)
        with self.lock:
            s = self.socks[i]
            if not up and s is not None:
                self.sel.unregister(s)
                s.close()
                self.socks[i] = None
            elif up and s is None:
                s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
                s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
                s.bind((addr, self.port))
                s.listen(64)
                s.setblocking(False)
                self.sel.register(s, selectors.EVENT_READ)
                self.socks[i] = s

    def close(self):
        self.stopping.set()
        self.thread.join(5)
        for s in self.socks:
            if s is not None:
                s.close()


class MirrorpooldDnssec(Mirrorpoold):
    """mirrorpoold with the zone signed (dnssec = true, dnssec_variants = 32),
    its metrics on http_listen, and its own mirror listeners with fast checks
    (every 200 ms, rise 1, fall 1), so that the re-signing row can fail a
    mirror and see the change within a second."""
    key = "mirrorpoold-dnssec"
    title = "mirrorpoold, signed zone"

    def __init__(self, ctx, large, cpus):
        super().__init__(ctx, large, cpus)
        self.http_port = free_port()
        self.listeners = FlippableListeners()

    def check_table(self):
        return f"""
[pool.check]
type = "tcp"
port = {self.listeners.port}
interval = "200ms"
timeout = "100ms"
rise = 1
fall = 1
"""

    def write(self):
        super().write()
        with open(self.config_path) as f:
            text = f.read()
        text = text.replace("[server]\n",
                            f'[server]\nhttp_listen = "127.0.0.1:{self.http_port}"\n', 1)
        text = text.replace('file = "pool.example.zone"\n',
                            'file = "pool.example.zone"\n'
                            f"dnssec = true\ndnssec_variants = {DNSSEC_VARIANTS}\n", 1)
        with open(self.config_path, "w") as f:
            f.write(text)

    def available(self):
        """(True, "") when this build accepts the signed zone's config, else
        (False, why) from mirrorpoold --check-config."""
        self.write()
        try:
            r = subprocess.run([self.ctx.bin["mirrorpoold"], "--check-config", "-c",
                                self.config_path], capture_output=True, text=True, timeout=60)
        except subprocess.TimeoutExpired:
            return False, "--check-config did not finish within 60 s"
        if r.returncode == 0:
            return True, ""
        lines = [x.strip() for x in (r.stderr + r.stdout).splitlines() if x.strip()]
        why = next((x for x in lines if "dnssec" in x), lines[0] if lines else "")
        why = re.sub(r"^\S*mirrorpool\.toml:[\d:]*\s*(error:\s*)?", "", why)
        return False, f"--check-config exit {r.returncode}: {why[:200]}"

    def stop(self):
        super().stop()
        self.listeners.close()


class PdnsSigned(Pdns):
    """PowerDNS 4.7 with LUA records, its bind backend keeping DNSSEC keys in
    a bind-dnssec-db (sqlite3) of its own, the zone secured with pdnsutil
    (ECDSA P-256, pdnsutil's default) and signed live: every answer is signed
    when asked (a LUA answer is made per query), with pdns's signature cache."""

    def __init__(self, ctx, large, cpus):
        super().__init__(ctx, large, cpus, lua=True, key="pdns-lua-dnssec",
                         title="PowerDNS LUA records, signed live")

    def write(self):
        super().write()
        db = os.path.join(self.dir, "dnssec.sqlite3")
        with open(os.path.join(self.dir, "pdns.conf"), "a") as f:
            f.write(f"bind-dnssec-db={db}\n")
        zone = ORIGIN.rstrip(".")
        for cmd in (["create-bind-db", db], ["secure-zone", zone], ["rectify-zone", zone]):
            r = subprocess.run(["pdnsutil", f"--config-dir={self.dir}", *cmd],
                               capture_output=True, text=True, timeout=60, cwd=self.dir)
            with open(self.log_path, "a") as f:
                f.write(f"$ pdnsutil {' '.join(cmd)}\n{r.stdout}{r.stderr}")
            if r.returncode != 0:
                raise RuntimeError(f"pdnsutil {' '.join(cmd)}: exit {r.returncode}: "
                                   f"{(r.stdout + r.stderr).strip()[-300:]}")


# ---------------------------------------------------------------------------
# Readiness: the first correct answer (the pool name with the expected number
# of records; with the large zone also its last name), polled every 2 ms.


def count_ok(n, spec):
    lo, _, hi = spec.partition("-")
    return int(lo) <= n <= int(hi or lo)


def ask(port, name, rdtype, timeout=0.05):
    q = dns.message.make_query(name, rdtype)
    q.flags = 0
    wire = q.to_wire()
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
        s.settimeout(timeout)
        s.connect(("127.0.0.1", port))
        s.send(wire)
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            try:
                data = s.recv(4096)
            except (socket.timeout, ConnectionRefusedError):
                return None
            try:
                r = dns.message.from_wire(data)
            except Exception:
                return None
            if r.id == q.id:
                return r
    return None


def answer_count(r, rdtype):
    t = dns.rdatatype.from_text(rdtype)
    return sum(len(rr) for rr in r.answer if rr.rdtype == t)


def wait_first_answer(server, t0, limit_s=90):
    checks = [(row, name, rdtype) for row, name, rdtype in ROWS if row in server.rows]
    large = last_large_name(server.large)
    while time.monotonic() - t0 < limit_s:
        procs = server.procs.values() if isinstance(server, Echo) else [server.proc]
        for p in procs:
            if p.poll() is not None:
                raise RuntimeError(f"{server.title} exited with {p.returncode} during start-up:\n"
                                   f"{server.log_tail()}")
        ok = True
        for row, name, rdtype in checks:
            r = ask(server.port_for(row), name, rdtype)
            if (r is None or r.rcode() != dns.rcode.NOERROR
                    or not count_ok(answer_count(r, rdtype), server.expected(row))):
                ok = False
                break
        if ok and large and not isinstance(server, Echo):
            r = ask(server.port_for("static"), large, "A")
            ok = r is not None and r.rcode() == dns.rcode.NOERROR and answer_count(r, "A") == 1
        if ok:
            return time.monotonic() - t0
        time.sleep(0.002)
    raise RuntimeError(f"{server.title}: no correct answer within {limit_s}s:\n{server.log_tail()}")


# ---------------------------------------------------------------------------
# Measurements


class Ctx:
    pass


def run_generator(ctx, server, row, seconds, sockets, label, latency=False, extra=(),
                  warmup=None):
    name = dict((r, n) for r, n, _ in ROWS)[row]
    rdtype = dict((r, t) for r, _, t in ROWS)[row]
    argv = [ctx.bin["load_generator"], "--server", f"127.0.0.1:{server.port_for(row)}",
            "--query", f"{name} {rdtype} {server.expected(row)}", "--label", label,
            "--timeout-ms", str(ctx.args.timeout_ms), *extra]
    if row in ECS_ROWS:
        for subnet in ctx.geo_subnets:
            argv += ["--ecs", subnet]
    if latency:
        argv += ["--latency", "--count", str(ctx.args.latency_queries), "--interval-us", "200",
                 "--duration", "30", "--warmup", "0"]
        limit = 60
    else:
        warmup = ctx.warmup if warmup is None else warmup
        argv += ["--duration", str(seconds), "--warmup", str(warmup),
                 "--window", str(ctx.args.window), "--batch", str(ctx.args.batch),
                 "--sockets", str(sockets)]
        limit = seconds + warmup + 30
    # CPU use of the server and of the generator over the run: a side near
    # 100 % of its core is the limit (on a busy machine, both may be lower).
    srv0, gen0, t0 = cpu_seconds(server.pids()), children_cpu(), time.monotonic()
    try:
        out = subprocess.run(["taskset", "-c", ctx.gen_cpus, *argv], capture_output=True,
                             text=True, timeout=limit)
    except subprocess.TimeoutExpired:
        return {"error": f"load_generator did not finish within {limit}s"}
    wall = max(1e-6, time.monotonic() - t0)
    if out.returncode != 0:
        return {"error": f"load_generator exit {out.returncode}: {out.stderr.strip()}"}
    try:
        result = json.loads(out.stdout.strip().splitlines()[-1])
    except (ValueError, IndexError):
        return {"error": f"load_generator printed no result: {out.stdout!r} {out.stderr!r}"}
    result["server_cpu_pct"] = 100 * (cpu_seconds(server.pids()) - srv0) / wall
    result["generator_cpu_pct"] = 100 * (children_cpu() - gen0) / wall
    return result


def children_cpu():
    ru = resource.getrusage(resource.RUSAGE_CHILDREN)
    return ru.ru_utime + ru.ru_stime


def run_dnsperf(ctx, server, row, seconds, extra=()):
    name = dict((r, n) for r, n, _ in ROWS)[row]
    rdtype = dict((r, t) for r, _, t in ROWS)[row]
    qfile = os.path.join(ctx.workdir, f"dnsperf-{row}.txt")
    with open(qfile, "w") as f:
        f.write(f"{name} {rdtype}\n")
    argv = ["dnsperf", "-s", "127.0.0.1", "-p", str(server.port_for(row)), "-d", qfile,
            "-l", str(seconds), "-c", "1", "-T", "1", "-q", str(ctx.args.window), "-t", "1",
            *extra]
    try:
        out = subprocess.run(["taskset", "-c", ctx.gen_cpus, *argv], capture_output=True,
                             text=True, timeout=seconds + 30)
    except subprocess.TimeoutExpired:
        return {"error": "dnsperf did not finish"}
    text = out.stdout
    m_qps = re.search(r"Queries per second:\s+([\d.]+)", text)
    m_done = re.search(r"Queries completed:\s+(\d+)", text)
    m_lost = re.search(r"Queries lost:\s+(\d+)", text)
    m_codes = re.search(r"Response codes:\s+(.*)", text)
    if out.returncode != 0 or not m_qps or not m_done:
        return {"error": f"dnsperf failed (exit {out.returncode}): "
                         f"{text[-400:]} {out.stderr[-400:]}"}
    codes = m_codes.group(1).strip() if m_codes else ""
    return {"qps": float(m_qps.group(1)), "completed": int(m_done.group(1)),
            "lost": int(m_lost.group(1)) if m_lost else 0, "rcodes": codes}


class Churn:
    """SIGHUP every second, and every second (half a second later) a drain or
    undrain of mirror m8 through mirrorpoolctl, for as long as it runs."""

    def __init__(self, ctx, server):
        self.ctx, self.server = ctx, server
        self.stopping = threading.Event()
        self.reloads = self.drains = self.undrains = 0
        self.failures = []
        self.thread = threading.Thread(target=self._run, daemon=True)

    def ctl(self, *args):
        r = subprocess.run([self.ctx.bin["mirrorpoolctl"], "-c", self.server.config_path, *args],
                           capture_output=True, text=True, timeout=10)
        if r.returncode != 0:
            self.failures.append(f"mirrorpoolctl {' '.join(args)}: exit {r.returncode}: "
                                 f"{(r.stdout + r.stderr).strip()[:200]}")
        return r.returncode == 0

    def _run(self):
        drained = False
        for _ in range(3600):  # bounded: one step per second
            if self.stopping.wait(0.5):
                break
            if drained:
                self.undrains += self.ctl("undrain", "m8")
            else:
                self.drains += self.ctl("drain", "m8", "--note", "query_bench churn")
            drained = not drained
            if self.stopping.wait(0.5):
                break
            self.server.proc.send_signal(signal.SIGHUP)
            self.reloads += 1
        if drained:
            self.undrains += self.ctl("undrain", "m8")

    def __enter__(self):
        self.thread.start()
        return self

    def __exit__(self, *exc):
        self.stopping.set()
        self.thread.join(30)


# ---------------------------------------------------------------------------


def find_binaries(args):
    build = args.build
    names = {
        "mirrorpoold": ("MIRRORPOOLD", "dnsd/mirrorpoold"),
        "mirrorpoolctl": ("MIRRORPOOLCTL", "dnsd/mirrorpoolctl"),
        "load_generator": ("LOAD_GENERATOR", "tests/bench/load_generator"),
        "echo_responder": ("ECHO_RESPONDER", "tests/bench/echo_responder"),
    }
    if build:
        build = os.path.abspath(build)
        if not os.path.exists(os.path.join(build, "build.ninja")):
            log(f"configuring {build} (buildtype=release)")
            subprocess.run(["meson", "setup", build, "--buildtype=release"], cwd=ROOT, check=True)
        log(f"building in {build}")
        subprocess.run(["ninja", "-C", build] + [path for _, path in names.values()], check=True)
    out = {}
    for key, (env, path) in names.items():
        if build:
            out[key] = os.path.join(build, path)
        elif os.environ.get(env):
            out[key] = os.path.abspath(os.environ[env])
        else:
            out[key] = os.path.join(ROOT, "build", path)
        if not os.access(out[key], os.X_OK):
            sys.exit(f"query_bench: {out[key]} not found: pass --build DIR or set {env}")
    return out


def build_type(binary):
    """The meson buildtype of the build dir holding binary, or 'unknown'."""
    d = os.path.dirname(os.path.abspath(binary))
    for _ in range(4):
        info = os.path.join(d, "meson-info", "intro-buildoptions.json")
        if os.path.exists(info):
            with open(info) as f:
                opts = {o["name"]: o["value"] for o in json.load(f)}
            return f"{opts.get('buildtype', '?')} ({d})"
        d = os.path.dirname(d)
    return "unknown"


def package_version(pkg):
    r = subprocess.run(["dpkg-query", "-W", "-f", "${Version}", pkg], capture_output=True,
                       text=True)
    return r.stdout.strip() if r.returncode == 0 else "not installed"


def fmt_qps(v):
    return "-" if v is None else f"{v / 1000:.1f}k"


def fmt_pct(v):
    return "-" if v is None else f"{v:.0f}"


def median(values):
    return statistics.median(values) if values else None


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0],
                                 formatter_class=argparse.RawDescriptionHelpFormatter,
                                 epilog=__doc__.split("\n\n", 1)[1])
    ap.add_argument("--build", help="meson build dir (configured with buildtype=release and "
                    "built if needed); default: $MIRRORPOOLD etc., else build/")
    ap.add_argument("--rounds", type=int, default=3)
    ap.add_argument("--seconds", type=float, default=3.0, help="per server and round")
    ap.add_argument("--dnsperf-seconds", type=int, default=3)
    ap.add_argument("--large-names", type=int, default=100000)
    ap.add_argument("--window", type=int, default=128, help="queries outstanding")
    ap.add_argument("--batch", type=int, default=32)
    ap.add_argument("--sockets", type=int, default=4, help="generator source ports")
    ap.add_argument("--timeout-ms", type=int, default=500)
    ap.add_argument("--latency-queries", type=int, default=2000)
    ap.add_argument("--server-cpu", type=int, default=0)
    ap.add_argument("--generator-cpu", type=int, default=1)
    ap.add_argument("--servers", help="comma-separated subset of: mirrorpoold,echo,gdnsd,"
                    "knot,nsd,pdns,pdns-lua,pdns-lua-dnssec")
    ap.add_argument("--only", default="main,dnssec",
                    help="comma-separated parts to run: main (the tables per zone), dnssec "
                    "(signed rows and re-signing); default both")
    ap.add_argument("--dnssec-seconds", type=float, default=1.0,
                    help="per DNSSEC run (server and DO=0 or DO=1)")
    ap.add_argument("--dnssec-alternations", type=int, default=6,
                    help="DO=0/DO=1 pairs per server (load_generator)")
    ap.add_argument("--dnssec-dnsperf-alternations", type=int, default=3,
                    help="DO=0/DO=1 pairs per server (dnsperf, 1 s each)")
    ap.add_argument("--resign-flips", type=int, default=4,
                    help="health changes (fail, recover, ...) for the re-signing row")
    ap.add_argument("--no-large", action="store_true", help="skip the +N-name zone")
    ap.add_argument("--geo-networks", type=int, default=1000000,
                    help="networks in the synthetic geo database (0: no geo rows)")
    ap.add_argument("--no-dnsperf", action="store_true")
    ap.add_argument("--quick", action="store_true",
                    help="1 round of 1 s, small zone only: checks that everything works")
    ap.add_argument("--json", help="also write every result to this file")
    ap.add_argument("--keep", action="store_true", help="keep the temporary directory")
    args = ap.parse_args()
    parts = set(args.only.split(","))
    if not parts or parts - {"main", "dnssec"}:
        sys.exit("query_bench: --only takes main, dnssec or main,dnssec")
    if args.quick:
        args.rounds, args.seconds, args.dnsperf_seconds = 1, 1.0, 1
        args.latency_queries, args.no_large = 200, True
        args.geo_networks = min(args.geo_networks, 1000)
        args.dnssec_seconds, args.dnssec_alternations = 0.5, 2
        args.dnssec_dnsperf_alternations, args.resign_flips = 1, 2
    if "main" not in parts:
        args.geo_networks = 0

    ctx = Ctx()
    ctx.args = args
    ctx.warmup = 0.2 if args.quick else 0.5
    ctx.bin = find_binaries(args)
    allowed = sorted(os.sched_getaffinity(0))
    ncpu = len(allowed)
    server_cpu, gen_cpu = args.server_cpu, args.generator_cpu
    if server_cpu not in allowed or gen_cpu not in allowed or server_cpu == gen_cpu:
        server_cpu, gen_cpu = allowed[0], allowed[-1]
        log(f"warning: using CPU {server_cpu} for the servers and {gen_cpu} for the generator")
    ctx.server_cpus, ctx.gen_cpus = str(server_cpu), str(gen_cpu)
    all_cpus = ",".join(str(c) for c in allowed)
    wanted = set((args.servers or "mirrorpoold,echo,gdnsd,knot,nsd,pdns,pdns-lua,"
                  "pdns-lua-dnssec").split(","))
    wanted.add("mirrorpoold")
    tools = {"gdnsd": "gdnsd", "knot": "knotd", "nsd": "nsd", "pdns": "pdns_server",
             "pdns-lua": "pdns_server"}
    if "dnssec" in parts:
        tools["pdns-lua-dnssec"] = "pdnsutil"
    for key, exe in tools.items():
        if key in wanted and shutil.which(exe) is None:
            sys.exit(f"query_bench: {exe} not installed (packaging/install-deps installs it), "
                     f"or leave it out with --servers")
    if not args.no_dnsperf and shutil.which("dnsperf") is None:
        sys.exit("query_bench: dnsperf not installed (packaging/install-deps), or --no-dnsperf")

    # This script mostly waits; keep it off the server's core.
    os.sched_setaffinity(0, {gen_cpu})
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))

    ctx.workdir = tempfile.mkdtemp(prefix="mirrorpool-qbench-")
    os.chmod(ctx.workdir, 0o755)
    ctx.procs = Procs()
    ctx.mirrors = None
    problems = []
    results = {"zones": {}}
    load_start = os.getloadavg()
    t_start = time.monotonic()
    try:
        ctx.mirrors = MirrorListeners()
        ctx.geo_db, ctx.geo_subnets = make_geo_db(ctx, args.geo_networks, results)
        zones = [("small", 0)] + ([] if args.no_large else [("large", args.large_names)])
        if "main" not in parts:
            zones = []
        for zone_key, large in zones:
            results["zones"][zone_key] = measure_zone(ctx, zone_key, large, wanted, all_cpus,
                                                      problems)
        if "dnssec" in parts:
            results["dnssec"] = measure_dnssec(ctx, wanted, problems)
    finally:
        ctx.procs.stop_all()
        if ctx.mirrors:
            ctx.mirrors.close()
        if args.keep:
            log(f"kept {ctx.workdir}")
        else:
            shutil.rmtree(ctx.workdir, ignore_errors=True)

    results["meta"] = {
        "mirrorpoold": ctx.bin["mirrorpoold"],
        "build": build_type(ctx.bin["mirrorpoold"]),
        "kernel": platform.release(),
        "cpus": ncpu,
        "server_cpu": server_cpu, "generator_cpu": gen_cpu,
        "rounds": args.rounds, "seconds": args.seconds, "window": args.window,
        "batch": args.batch, "sockets": args.sockets,
        "loadavg_start": load_start, "loadavg_end": os.getloadavg(),
        "elapsed_s": time.monotonic() - t_start,
        "versions": {p: package_version(p) for p in
                     ("gdnsd", "knot", "nsd", "pdns-server", "dnsperf")},
    }
    print_report(results, problems)
    if args.json:
        with open(args.json, "w") as f:
            json.dump({"results": results, "problems": problems}, f, indent=1, default=str)
    return 1 if problems else 0


def make_geo_db(ctx, networks, results):
    """A synthetic database of `networks` /24s spread over 1.0.0.0-223.255.255.255
    (tests/geo/write_mmdb.pl --synthetic), and 64 of its /24s for ECS clients."""
    if networks <= 0:
        return None, []
    path = os.path.join(ctx.workdir, "geo.mmdb")
    t0 = time.monotonic()
    out = subprocess.run(["perl", os.path.join(ROOT, "tests", "geo", "write_mmdb.pl"),
                          "--synthetic", str(networks), "--out", path, "--quiet"],
                         capture_output=True, text=True, timeout=600)
    if out.returncode != 0:
        sys.exit(f"query_bench: write_mmdb.pl failed: {out.stderr.strip()}")
    log(f"   synthetic geo database: {networks} networks written in "
        f"{time.monotonic() - t0:.1f}s, {os.path.getsize(path) / 2**20:.1f} MiB")
    # write_mmdb.pl puts network i at 1.0.0.0 + i * stride /24s.
    stride = (223 << 16) // networks
    subnets = []
    for k in range(64):
        start = (1 << 24) + (k * (networks // 64)) * stride * 256
        subnets.append(f"{start >> 24}.{(start >> 16) & 255}.{(start >> 8) & 255}.0/24")
    results["geo"] = {"networks": networks, "file_bytes": os.path.getsize(path)}
    return path, subnets


def measure_zone(ctx, zone_key, large, wanted, all_cpus, problems):
    args = ctx.args
    pinned = ctx.server_cpus
    servers = []   # pinned, one core each: the per-core comparison
    extra = []     # two workers, not pinned
    log(f"== {zone_key} zone ({large} extra names): starting servers")
    # (peer, two workers?, constructor)
    makers = [("mirrorpoold", False, lambda: Mirrorpoold(ctx, large, pinned, geo_db=ctx.geo_db)),
              ("echo", False, lambda: Echo(ctx, large, pinned)),
              ("gdnsd", False, lambda: Gdnsd(ctx, large, pinned, "multifo")),
              ("gdnsd", False, lambda: Gdnsd(ctx, large, pinned, "weighted", rows=("pool",))),
              ("gdnsd", False, lambda: Gdnsd(ctx, large, pinned, "geoip", rows=GEO_ROWS)
               if ctx.geo_db else None),
              ("knot", False, lambda: Knot(ctx, large, pinned)),
              ("nsd", False, lambda: Nsd(ctx, large, pinned)),
              ("pdns", False, lambda: Pdns(ctx, large, pinned)),
              ("pdns-lua", False, lambda: Pdns(ctx, large, pinned, lua=True))]
    if zone_key == "small":
        makers += [("mirrorpoold", True, lambda: Mirrorpoold(ctx, large, all_cpus, workers=2)),
                   ("echo", True, lambda: Echo(ctx, large, all_cpus, threads=2, rows=("pool",))),
                   ("gdnsd", True, lambda: Gdnsd(ctx, large, all_cpus, "multifo", threads=2,
                                                 rows=("pool",)))]
    for key, two_workers, make in makers:
        if key not in wanted:
            continue
        s = make()
        if s is None:
            continue
        s.base_key = key
        s.start()
        time.sleep(0.2)  # let start-up work (zone compile, first probes) settle
        s.rss_start = s.memory()
        log(f"   {s.title}: first correct answer after {s.startup_s:.3f}s, "
            f"RSS {s.rss_start[0] / 1024:.1f} MiB")
        (extra if two_workers else servers).append(s)
    mp = servers[0]

    # Unloaded latency, one query at a time.
    latency = {}
    for s in servers:
        for row in s.rows:
            r = run_generator(ctx, s, row, 0, 1, f"{s.key}/{row}/latency", latency=True)
            latency[(s.key, row)] = r
            check_result(problems, zone_key, s, row, "latency", r)

    # Interleaved rounds: every (server, row) once per round, the order rotated
    # by one each round so no server always runs first or after the same one.
    jobs = [(s, row, "steady") for row, _, _ in ROWS for s in servers if row in s.rows]
    jobs.append((mp, "pool", "churn"))
    jobs += [(s, "pool", "steady") for s in extra]
    runs = {}
    churn_info = []
    for rnd in range(args.rounds):
        shift = (rnd * max(1, len(jobs) // max(1, args.rounds))) % len(jobs)
        order = jobs[shift:] + jobs[:shift]
        log(f"   round {rnd + 1}/{args.rounds}")
        for s, row, kind in order:
            label = f"{s.key}/{row}/{kind}"
            # Two workers: SO_REUSEPORT spreads by source port, so use enough
            # of them that both workers get a fair share.
            sockets = max(args.sockets, 16) if s in extra else args.sockets
            if kind == "churn":
                with Churn(ctx, s) as churn:
                    r = run_generator(ctx, s, row, args.seconds, sockets, label)
                churn_info.append({"reloads": churn.reloads, "drains": churn.drains,
                                   "undrains": churn.undrains, "failures": churn.failures})
                for f in churn.failures:
                    problems.append(f"{zone_key}: churn: {f}")
            else:
                r = run_generator(ctx, s, row, args.seconds, sockets, label)
            runs.setdefault((s.key, row, kind), []).append(r)
            check_result(problems, zone_key, s, row, kind, r)

    dnsperf = {}
    if not args.no_dnsperf:
        log("   dnsperf")
        for s in servers:
            for row in s.rows:
                if row in ECS_ROWS + GEO_ROWS:
                    continue  # dnsperf sends no ECS; load_generator's rows say it all
                r = run_dnsperf(ctx, s, row, args.dnsperf_seconds)
                dnsperf[(s.key, row)] = r
                if "error" in r:
                    problems.append(f"{zone_key}: {s.title} {row}: {r['error']}")
                elif not (r["completed"] > 0 and r["rcodes"].startswith("NOERROR")
                          and "(100.00%)" in r["rcodes"]):
                    problems.append(f"{zone_key}: {s.title} {row}: dnsperf: {r['completed']} "
                                    f"completed, rcodes {r['rcodes']}")

    # Memory at rest after the load: a server may hand freed heap back a
    # moment after its last change (mirrorpoold does, a second later).
    time.sleep(SETTLE_S)
    for s in servers + extra:
        s.rss_end = s.memory()
        if s.proc.poll() is not None:
            problems.append(f"{zone_key}: {s.title} exited during the benchmark")
        s.stop()

    # Collect.
    out = {"large_names": large, "servers": {}, "rows": {}, "extra": {}, "churn": {},
           "geo_log": mp.geo_log_line() if isinstance(mp, Mirrorpoold) else None}
    for s in servers + extra:
        out["servers"][s.key] = {"title": s.title, "startup_s": s.startup_s,
                                 "rss_kib_start": s.rss_start[0], "pss_kib_start": s.rss_start[1],
                                 "rss_kib_end": s.rss_end[0], "pss_kib_end": s.rss_end[1],
                                 "anon_kib_end": s.rss_end[2]}
    for row, _, _ in ROWS:
        table = []
        for s in servers:
            if row not in s.rows:
                continue
            rs = runs.get((s.key, row, "steady"), [])
            qps = [r["qps"] for r in rs if "qps" in r]
            lat = latency.get((s.key, row), {})
            dp = dnsperf.get((s.key, row), {})
            table.append({
                "key": s.key, "title": s.title, "answer": s.answer_desc(row), "qps": qps,
                "invalid": sum(r.get("invalid", 0) for r in rs),
                "lost": sum(r.get("lost", 0) for r in rs),
                "answer_sets": max([r.get("answer_sets", 0) for r in rs] or [0]),
                "server_cpu": median([r["server_cpu_pct"] for r in rs if "server_cpu_pct" in r]),
                "generator_cpu": median([r["generator_cpu_pct"] for r in rs
                                         if "generator_cpu_pct" in r]),
                "p50_us": lat.get("p50_us"), "p99_us": lat.get("p99_us"),
                "dnsperf_qps": dp.get("qps"), "runs": rs, "latency": lat, "dnsperf": dp})
        out["rows"][row] = table
    for s in extra:
        rs = runs.get((s.key, "pool", "steady"), [])
        base = s.key.rsplit("-w", 1)[0]
        base_rs = runs.get((base, "pool", "steady"), [])
        out["extra"][s.key] = {"title": s.title, "qps": [r["qps"] for r in rs if "qps" in r],
                               "base_qps": [r["qps"] for r in base_rs if "qps" in r],
                               "invalid": sum(r.get("invalid", 0) for r in rs),
                               "lost": sum(r.get("lost", 0) for r in rs), "runs": rs}
    churn_runs = runs.get((mp.key, "pool", "churn"), [])
    steady = runs.get((mp.key, "pool", "steady"), [])
    out["churn"] = {"qps": [r["qps"] for r in churn_runs if "qps" in r],
                    "steady_qps": [r["qps"] for r in steady if "qps" in r],
                    "invalid": sum(r.get("invalid", 0) for r in churn_runs),
                    "lost": sum(r.get("lost", 0) for r in churn_runs),
                    "sent": sum(r.get("sent", 0) for r in churn_runs),
                    "actions": churn_info, "runs": churn_runs}
    return out


def check_result(problems, zone_key, s, row, kind, r):
    where = f"{zone_key}: {s.title} {row} ({kind})"
    if "error" in r:
        problems.append(f"{where}: {r['error']}")
        return
    if r.get("invalid", 0):
        problems.append(f"{where}: {r['invalid']} wrong replies, first: {r.get('first_error')}")
    if r.get("valid", 0) == 0:
        problems.append(f"{where}: no correct answers")
    sent = max(1, r.get("sent", 0))
    # A little loss under full load is reported in the table, not failed on:
    # it is the kernel dropping at a full socket buffer, not a wrong answer.
    if r.get("lost", 0) > 0.01 * sent or (kind == "latency" and r.get("lost", 0)):
        problems.append(f"{where}: {r['lost']} of {r.get('sent')} queries unanswered")


# ---------------------------------------------------------------------------
# DNSSEC (issue 23): signed PowerDNS LUA records against mirrorpoold's signed
# zone, DO=1 against DO=0 on the same server in alternating runs, and the time
# mirrorpoold takes to re-sign a pool after a health change.


def ask_dnssec(port, name, rdtype, dnssec_ok=True, timeout=1.0):
    """The reply to NAME RDTYPE with EDNS (1232) and DO as asked; over TCP
    when the UDP reply is truncated. None on no reply."""
    q = dns.message.make_query(name, rdtype, use_edns=0, payload=1232, want_dnssec=dnssec_ok)
    q.flags = 0
    try:
        r, _ = dns.query.udp_with_fallback(q, "127.0.0.1", timeout=timeout, port=port)
        return r
    except (dns.exception.DNSException, OSError):
        return None


def dig_rrsig_lines(port, name, rdtype):
    """The RRSIG lines of dig +dnssec's answer section ([] without), or None
    when dig is missing or fails."""
    if shutil.which("dig") is None:
        return None
    r = subprocess.run(["dig", "@127.0.0.1", "-p", str(port), "+dnssec", "+norec", "+time=2",
                        "+tries=2", "+noall", "+answer", name, rdtype],
                       capture_output=True, text=True, timeout=30)
    if r.returncode != 0:
        return None
    return [x for x in r.stdout.splitlines() if re.search(rf"\sRRSIG\s+{rdtype}\s", x)]


def verify_signed(port, name=POOL_NAME, rdtype="A", expect=MAX_ANSWERS, absent=None, tries=1):
    """Checks that the server signs `name`: dig +dnssec shows an RRSIG over
    the answer; with dnspython, `tries` DO=1 answers carry `expect` records
    and an RRSIG that validates with the apex DNSKEY (none holding the
    address `absent`), and a DO=0 answer carries no RRSIG. Returns (ok, text)."""
    lines = dig_rrsig_lines(port, name, rdtype)
    if lines is not None and not lines:
        return False, f"dig +dnssec {name} {rdtype}: no RRSIG in the answer"
    keys = ask_dnssec(port, ORIGIN, "DNSKEY")
    if keys is None:
        return False, "no reply to DNSKEY"
    origin = dns.name.from_text(ORIGIN)
    dnskey = keys.get_rrset(keys.answer, origin, dns.rdataclass.IN, dns.rdatatype.DNSKEY)
    if dnskey is None:
        return False, f"no DNSKEY at the apex (rcode {dns.rcode.to_text(keys.rcode())})"
    qname, t = dns.name.from_text(name), dns.rdatatype.from_text(rdtype)
    sets = set()
    for _ in range(tries):
        r = ask_dnssec(port, name, rdtype)
        if r is None:
            return False, f"no reply to {name} {rdtype} with DO=1"
        rrset = r.get_rrset(r.answer, qname, dns.rdataclass.IN, t)
        sigs = r.get_rrset(r.answer, qname, dns.rdataclass.IN, dns.rdatatype.RRSIG, t)
        if rrset is None or len(rrset) != expect:
            return False, (f"DO=1 {name} {rdtype}: {len(rrset) if rrset else 0} records, "
                           f"expected {expect}")
        if sigs is None:
            return False, f"DO=1 {name} {rdtype}: no RRSIG in the answer"
        if absent and any(rd.to_text() == absent for rd in rrset):
            return False, f"DO=1 {name} {rdtype}: {absent} still answered"
        try:
            dns.dnssec.validate(rrset, sigs, {origin: dnskey})
        except dns.dnssec.ValidationFailure as e:
            return False, f"DO=1 {name} {rdtype}: RRSIG does not validate: {e}"
        except Exception as e:  # no crypto backend: say so, but the RRSIG is there
            return True, f"RRSIG present; not validated here ({e})"
        sets.add(tuple(sorted(rd.to_text() for rd in rrset)))
    r = ask_dnssec(port, name, rdtype, dnssec_ok=False)
    if r is None or r.get_rrset(r.answer, qname, dns.rdataclass.IN, dns.rdatatype.RRSIG, t):
        return False, f"DO=0 {name} {rdtype}: " + ("no reply" if r is None else "RRSIG answered")
    algs = sorted({dns.dnssec.algorithm_to_text(k.algorithm) for k in dnskey})
    return True, (f"RRSIG {'(dig) ' if lines else ''}validated with the DNSKEY "
                  f"({', '.join(algs)}); {len(sets)} distinct answer set(s) in {tries}")


def scrape_metrics(port):
    """Prometheus text of /metrics as {name: [(labels dict, value)]}, None
    when it does not answer."""
    try:
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/metrics", timeout=2) as f:
            text = f.read().decode("utf-8", "replace")
    except (OSError, ValueError):
        return None
    out = {}
    for line in text.splitlines():
        m = re.match(r"^([a-zA-Z_:][a-zA-Z0-9_:]*)(\{(.*)\})?\s+(\S+)", line)
        if not m or line.startswith("#"):
            continue
        labels = dict(re.findall(r'(\w+)="((?:[^"\\]|\\.)*)"', m.group(3) or ""))
        try:
            value = float(m.group(4))
        except ValueError:
            continue
        out.setdefault(m.group(1), []).append((labels, value))
    return out


def zone_metric(metrics, name):
    """The value of metric `name` for the bench zone (summed over other
    labels), None when absent."""
    values = [v for labels, v in (metrics or {}).get(name, [])
              if labels.get("zone", ORIGIN).rstrip(".") == ORIGIN.rstrip(".")]
    return sum(values) if values else None


# The metrics read (the lead's names for issue 23): a counter of RRSIGs made,
# a counter of the time spent making them, a gauge of how long the last pool
# that needed new signatures took; a histogram mirrorpool_dnssec_signing_seconds
# (_sum, _count) is used as well when it is there.
M_SIGS = "mirrorpool_dnssec_signatures_total"
M_SIGN_S = "mirrorpool_dnssec_signing_seconds_total"
M_LAST = "mirrorpool_dnssec_last_signing_seconds"
M_HIST = "mirrorpool_dnssec_signing_seconds"


def measure_resign(ctx, mp, flips):
    """Fails and restores one mirror (its tcp listener closed, then opened)
    `flips` times; after each change, waits until the signature counter moves
    and reads how long the pool's re-signing took."""
    m0 = scrape_metrics(mp.http_port)
    if m0 is None:
        return {"error": "not available: /metrics does not answer"}
    if zone_metric(m0, M_LAST) is None and zone_metric(m0, M_HIST + "_count") is None:
        return {"error": f"not available: /metrics has neither {M_LAST} nor {M_HIST}"}
    addr = MIRRORS[-1]
    out = {"mirror": addr, "flips": []}
    try:
        for i in range(flips):
            up = i % 2 == 1
            before = scrape_metrics(mp.http_port) or {}
            sigs0 = zone_metric(before, M_SIGS) or 0
            t0 = time.monotonic()
            mp.listeners.set_up(addr, up)
            seen = None
            while time.monotonic() - t0 < 10:  # checks every 200 ms, fall 1, rise 1
                m = scrape_metrics(mp.http_port) or {}
                if (zone_metric(m, M_SIGS) or 0) > sigs0 or (
                        zone_metric(m, M_HIST + "_count") or 0) > (
                        zone_metric(before, M_HIST + "_count") or 0):
                    seen = time.monotonic() - t0
                    break
                time.sleep(0.02)
            time.sleep(0.3)  # the counters of one change settle
            after = scrape_metrics(mp.http_port) or {}
            flip = {"change": "up" if up else "down", "new_signatures_after_s": seen}
            if seen is None:
                flip["error"] = "no new signatures within 10 s"
            else:
                def d(n, after=after, before=before):
                    return (zone_metric(after, n) or 0) - (zone_metric(before, n) or 0)
                flip["last_signing_s"] = zone_metric(after, M_LAST)
                flip["signatures"] = d(M_SIGS)
                flip["signing_cpu_s"] = d(M_SIGN_S) if zone_metric(after, M_SIGN_S) is not None \
                    else None
                if zone_metric(after, M_HIST + "_count") is not None and d(M_HIST + "_count"):
                    flip["hist_mean_s"] = d(M_HIST + "_sum") / d(M_HIST + "_count")
                if not up:
                    ok, text = verify_signed(mp.port, expect=MAX_ANSWERS, absent=addr, tries=16)
                    if not ok:
                        flip["error"] = f"after the change: {text}"
            out["flips"].append(flip)
    finally:
        mp.listeners.set_up(addr, True)
    return out


def measure_dnssec(ctx, wanted, problems):
    args = ctx.args
    pinned = ctx.server_cpus
    out = {"servers": {}, "resign": None, "unavailable": {}}
    log("== DNSSEC (small zone): starting servers")
    servers = []
    mp = MirrorpooldDnssec(ctx, 0, pinned)
    ok, why = mp.available()
    if ok:
        servers.append(mp)
    else:
        mp.listeners.close()
        mp = None
        out["unavailable"]["mirrorpoold"] = f"not available in this build ({why})"
        log(f"   mirrorpoold DNSSEC: not available in this build ({why})")
    if "pdns-lua-dnssec" in wanted:
        servers.append(PdnsSigned(ctx, 0, pinned))
    started = []
    try:
        for s in servers:
            s.start()
            started.append(s)
            time.sleep(0.2)
            ok, text = verify_signed(s.port, tries=8)
            s.signed_check = (ok, text)
            log(f"   {s.title}: first correct answer after {s.startup_s:.3f}s; {text}")
            if not ok:
                problems.append(f"dnssec: {s.title}: {text}")
        measured = [s for s in started if s.signed_check[0]]
        # Alternating short runs: per repetition every server, DO=0 then DO=1
        # or the other way round (swapped each time), the server order rotated.
        variants = (("do0", ["--edns"]), ("do1", ["--dnssec"]))
        runs = {}
        for rep in range(args.dnssec_alternations):
            order = measured[rep % max(1, len(measured)):] + measured[:rep % max(1, len(measured))]
            for s in order:
                for kind, extra in (variants if rep % 2 == 0 else variants[::-1]):
                    label = f"{s.key}/pool/{kind}"
                    r = run_generator(ctx, s, "pool", args.dnssec_seconds, args.sockets, label,
                                      extra=extra, warmup=0.3 if not args.quick else 0.1)
                    runs.setdefault((s.key, kind), []).append(r)
                    check_result(problems, "dnssec", s, "pool", kind, r)
        dnsperf = {}
        if not args.no_dnsperf:
            dp_variants = (("do0", ["-e"]), ("do1", ["-D"]))
            for rep in range(args.dnssec_dnsperf_alternations):
                for s in measured:
                    for kind, extra in (dp_variants if rep % 2 == 0 else dp_variants[::-1]):
                        r = run_dnsperf(ctx, s, "pool", 1, extra=extra)
                        dnsperf.setdefault((s.key, kind), []).append(r)
                        if "error" in r:
                            problems.append(f"dnssec: {s.title} {kind}: {r['error']}")
        if mp is not None and mp in measured:
            log("   re-signing after health changes")
            out["resign"] = measure_resign(ctx, mp, args.resign_flips)
            for f in out["resign"].get("flips", []):
                if "error" in f and "new signatures" not in f["error"]:
                    problems.append(f"dnssec: re-signing ({f['change']}): {f['error']}")
        for s in started:
            if s.proc.poll() is not None:
                problems.append(f"dnssec: {s.title} exited during the benchmark")
    finally:
        for s in started:
            s.stop()
        if mp is not None and mp not in started:
            mp.listeners.close()
    for s in servers:
        if s not in started:
            continue
        entry = {"title": s.title, "answer": s.answer_desc("pool"), "startup_s": s.startup_s,
                 "signed_check": s.signed_check[1], "signed_ok": s.signed_check[0]}
        for kind in ("do0", "do1"):
            rs = runs.get((s.key, kind), []) if s.signed_check[0] else []
            dp = dnsperf.get((s.key, kind), []) if s.signed_check[0] else []
            entry[kind] = {"qps": [r["qps"] for r in rs if "qps" in r],
                           "invalid": sum(r.get("invalid", 0) for r in rs),
                           "lost": sum(r.get("lost", 0) for r in rs),
                           "server_cpu": median([r["server_cpu_pct"] for r in rs
                                                 if "server_cpu_pct" in r]),
                           "generator_cpu": median([r["generator_cpu_pct"] for r in rs
                                                    if "generator_cpu_pct" in r]),
                           "dnsperf_qps": [r["qps"] for r in dp if "qps" in r],
                           "runs": rs, "dnsperf": dp}
        out["servers"][s.key] = entry
    return out


def print_dnssec(d):
    p = print
    p("\n## DNSSEC, small zone (issue 23)\n")
    p(f"Pool row `dl.pool.example A`, asked with EDNS (1232 bytes) and DO=0 or DO=1, in "
      f"alternating runs on the same server (DO=0 and DO=1 swapped in order each time); "
      f"DO=1 replies must carry an RRSIG over the A records (load_generator --dnssec), "
      f"DO=0 replies none. mirrorpoold: `dnssec = true`, `dnssec_variants = "
      f"{DNSSEC_VARIANTS}`, ECDSA P-256; PowerDNS: `pdnsutil secure-zone` (ECDSA P-256), "
      f"each LUA answer signed when asked. Goal: DO=1 ÷ DO=0 ≥ {DO_RATIO_GOAL:.2f} "
      f"(mirrorpoold). dnsperf (-e / -D) is generator-bound for the fast servers: its ratio "
      f"there says little.\n")
    p("| server | answer | signed answers checked | QPS DO=0 median | min | max | "
      "QPS DO=1 median | min | max | DO=1 ÷ DO=0 | server CPU % DO=0 / DO=1 | wrong | lost "
      "| dnsperf DO=0 | dnsperf DO=1 | dnsperf ÷ |")
    p("|---|---|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|")
    for key, why in d["unavailable"].items():
        p(f"| mirrorpoold DNSSEC: {why} | | | | | | | | | | | | | | | |")
    for key, e in d["servers"].items():
        if not e["signed_ok"]:
            p(f"| {e['title']} | {e['answer']} | **no: {e['signed_check']}** "
              f"| - | - | - | - | - | - | - | - | - | - | - | - | - |")
            continue
        a, b = e["do0"], e["do1"]
        m0, m1 = median(a["qps"]), median(b["qps"])
        d0, d1 = median(a["dnsperf_qps"]), median(b["dnsperf_qps"])
        ratio = f"{m1 / m0:.3f}" if m0 and m1 else "-"
        if key.startswith("mirrorpoold") and m0 and m1:
            ratio += " ✓" if m1 / m0 >= DO_RATIO_GOAL else " ✗"
        p(f"| {e['title']} | {e['answer']} | {e['signed_check']} | {fmt_qps(m0)} | "
          f"{fmt_qps(min(a['qps']) if a['qps'] else None)} | "
          f"{fmt_qps(max(a['qps']) if a['qps'] else None)} | {fmt_qps(m1)} | "
          f"{fmt_qps(min(b['qps']) if b['qps'] else None)} | "
          f"{fmt_qps(max(b['qps']) if b['qps'] else None)} | {ratio} | "
          f"{fmt_pct(a['server_cpu'])} / {fmt_pct(b['server_cpu'])} | "
          f"{a['invalid'] + b['invalid']} | {a['lost'] + b['lost']} | {fmt_qps(d0)} | "
          f"{fmt_qps(d1)} | {f'{d1 / d0:.3f}' if d0 and d1 else '-'} |")
    rs = d.get("resign")
    p(f"\n### mirrorpoold: re-signing a pool after a health change ({DNSSEC_VARIANTS} variants, "
      f"8 mirrors, 4 answered; goal ≤ {RESIGN_GOAL_S * 1000:.0f} ms)\n")
    if rs is None:
        p("not available (no signed mirrorpoold in this run)")
        return
    if "error" in rs:
        p(rs["error"])
        return
    p(f"One mirror ({rs['mirror']}) fails its tcp check (listener closed) and comes back, "
      f"alternately; after each change, once `{M_SIGS}` moved, `{M_LAST}` is read, with the "
      f"signatures made and `{M_SIGN_S}` spent for the change. Seen after: from the listener "
      f"change to new signatures counted (health checks every 200 ms, fall 1, rise 1).\n")
    p(f"| change | {M_LAST} ms | ≤ {RESIGN_GOAL_S * 1000:.0f} ms | new signatures | "
      f"signing CPU ms | histogram mean ms | seen after ms | note |")
    p("|---|---:|---|---:|---:|---:|---:|---|")
    def ms(v):
        return "-" if v is None else f"{v * 1000:.2f}"

    for f in rs["flips"]:
        last = f.get("last_signing_s")
        goal = "-" if last is None else ("yes" if last <= RESIGN_GOAL_S else "no")
        sigs = "-" if f.get("signatures") is None else f"{f['signatures']:.0f}"
        p(f"| mirror {f['change']} | {ms(last)} | {goal} | {sigs} | "
          f"{ms(f.get('signing_cpu_s'))} | {ms(f.get('hist_mean_s'))} | "
          f"{ms(f.get('new_signatures_after_s'))} | {f.get('error', '')} |")
    lasts = [f["last_signing_s"] for f in rs["flips"] if f.get("last_signing_s") is not None]
    if lasts:
        p(f"\nmedian {median(lasts) * 1000:.2f} ms, max {max(lasts) * 1000:.2f} ms")


def print_report(results, problems):
    m = results["meta"]
    p = print
    p("# mirrorpool query benchmark\n")
    p(f"- mirrorpoold: `{m['mirrorpoold']}`, build: {m['build']}")
    if not str(m["build"]).startswith(("release", "debugoptimized")):
        p("- **warning: not an optimized build; the figures say little**")
    p(f"- peers: gdnsd {m['versions']['gdnsd']}, Knot {m['versions']['knot']}, "
      f"NSD {m['versions']['nsd']}, PowerDNS {m['versions']['pdns-server']}, "
      f"dnsperf {m['versions']['dnsperf']}")
    p(f"- kernel {m['kernel']}, {m['cpus']} CPUs; server pinned to CPU {m['server_cpu']}, "
      f"load generator to CPU {m['generator_cpu']}; load average "
      f"{m['loadavg_start'][0]:.2f} at start, {m['loadavg_end'][0]:.2f} at end "
      f"(anything else running makes the figures noisy)")
    p(f"- {m['rounds']} interleaved round(s) of {m['seconds']:g} s per server and row; "
      f"generator window {m['window']}, batch {m['batch']}, {m['sockets']} source ports; "
      f"total {m['elapsed_s']:.0f} s")
    p("- QPS: correct answers per second from tests/bench/load_generator (every reply checked); "
      "mp÷ = mirrorpoold's median over this server's median (≥ 1.00: mirrorpoold as fast or "
      "faster); CPU %: median share of one core used by the server's processes and by the "
      "generator during the runs (the side near 100 is the limit); answer sets: distinct "
      "ordered answers seen (capped at 4096); latency: one query at a time, unloaded; dnsperf: "
      "one run, generator-bound (it saturates its own core first), so it does not rank the "
      "fast servers")
    for zone_key, z in results["zones"].items():
        zone_title = ("small zone" if not z["large_names"]
                      else f"zone with +{z['large_names']} names")
        p(f"\n## {zone_title}\n")
        for row, table in z["rows"].items():
            mp = next((t for t in table if t["key"] == "mirrorpoold"), None)
            mp_med = median(mp["qps"]) if mp else None
            p(f"### {ROW_TITLE[row]}\n")
            p("| server | answer | QPS median | min | max | mp÷ | server CPU % | generator CPU % "
              "| answer sets | wrong | lost | p50 µs | p99 µs | dnsperf QPS |")
            p("|---|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|")
            for t in table:
                med = median(t["qps"])
                ratio = f"{mp_med / med:.2f}" if mp_med and med else "-"
                p(f"| {t['title']} | {t['answer']} | {fmt_qps(med)} | "
                  f"{fmt_qps(min(t['qps']) if t['qps'] else None)} | "
                  f"{fmt_qps(max(t['qps']) if t['qps'] else None)} | {ratio} | "
                  f"{fmt_pct(t['server_cpu'])} | {fmt_pct(t['generator_cpu'])} | "
                  f"{t['answer_sets']} | {t['invalid']} | {t['lost']} | "
                  f"{t['p50_us'] if t['p50_us'] is not None else '-'} | "
                  f"{t['p99_us'] if t['p99_us'] is not None else '-'} | "
                  f"{fmt_qps(t['dnsperf_qps'])} |")
            p("")
        mp_rows = {row: next((t for t in table if t["key"] == "mirrorpoold"), None)
                   for row, table in z["rows"].items()}
        plain = mp_rows.get("pool")
        if plain and mp_rows.get("geo-ecs"):
            p("### nearest-mirror answers against the plain pool (mirrorpoold, same rounds)\n")
            p("| row | QPS median | ÷ the same query to the plain pool |")
            p("|---|---:|---:|")
            # Each against the plain pool asked the same way: with the same
            # ECS options (the same packet sizes and EDNS work), or without.
            for row, base_row in (("geo-ecs", "pool-ecs"), ("geo-src", "pool")):
                med = median(mp_rows[row]["qps"]) if mp_rows.get(row) else None
                base = median(mp_rows[base_row]["qps"]) if mp_rows.get(base_row) else None
                p(f"| {ROW_TITLE[row]} | {fmt_qps(med)} | "
                  f"{f'{med / base:.3f}' if med and base else '-'} ({ROW_TITLE[base_row]}) |")
            if z.get("geo_log"):
                p(f"\nThe daemon's log: `{z['geo_log']}`")
            p("")
        p("### resources\n")
        p("| server | start-up s (exec → first correct answer) | RSS MiB after start | "
          "RSS MiB after load (2 s later) | PSS MiB after load | anonymous MiB after load |")
        p("|---|---:|---:|---:|---:|---:|")
        for key, s in z["servers"].items():
            p(f"| {s['title']} | {s['startup_s']:.3f} | {s['rss_kib_start'] / 1024:.1f} | "
              f"{s['rss_kib_end'] / 1024:.1f} | {s['pss_kib_end'] / 1024:.1f} | "
              f"{s['anon_kib_end'] / 1024:.1f} |")
        p("\nRSS: VmRSS summed over the process tree (NSD forks; shared pages then count "
          "twice, PSS does not). Anonymous: the resident pages the process wrote (heap, "
          "stacks, buffers, and library pages changed by relocation or by the library's "
          "own variables); the rest of RSS is file pages of the binary and the shared "
          "libraries. The echo floor is two processes (4 A and 1 A answers).")
        if z["extra"]:
            p("\n### two workers, pool row (servers not pinned: the generator shares a core "
              "with them, so this shows scaling only where the generator is not the limit; "
              "generator with at least 16 source ports so SO_REUSEPORT spreads them)\n")
            p("| server | QPS median | min | max | pinned 1-worker median | × | wrong | lost |")
            p("|---|---:|---:|---:|---:|---:|---:|---:|")
            for key, e in z["extra"].items():
                med, base = median(e["qps"]), median(e["base_qps"])
                x = f"{med / base:.2f}" if med and base else "-"
                p(f"| {e['title']} | {fmt_qps(med)} | "
                  f"{fmt_qps(min(e['qps']) if e['qps'] else None)} | "
                  f"{fmt_qps(max(e['qps']) if e['qps'] else None)} | {fmt_qps(base)} | {x} | "
                  f"{e['invalid']} | {e['lost']} |")
        c = z["churn"]
        if c["qps"]:
            med, base = median(c["qps"]), median(c["steady_qps"])
            acts = c["actions"]
            p("\n### mirrorpoold under churn, pool row (SIGHUP reload every second, "
              "mirrorpoolctl drain/undrain of one mirror every second)\n")
            p("| QPS median | min | max | steady median | churn ÷ steady | reloads | drains | "
              "undrains | wrong | lost of sent |")
            p("|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|")
            p(f"| {fmt_qps(med)} | {fmt_qps(min(c['qps']))} | {fmt_qps(max(c['qps']))} | "
              f"{fmt_qps(base)} | {f'{med / base:.2f}' if base else '-'} | "
              f"{sum(a['reloads'] for a in acts)} | {sum(a['drains'] for a in acts)} | "
              f"{sum(a['undrains'] for a in acts)} | {c['invalid']} | {c['lost']} of {c['sent']} |")
    if results.get("dnssec"):
        print_dnssec(results["dnssec"])
    p("\n## problems\n")
    if problems:
        for x in problems:
            p(f"- {x}")
    else:
        p("none: every server gave only correct answers")


if __name__ == "__main__":
    sys.exit(main())
