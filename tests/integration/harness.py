"""Test harness: starts the real mirrorpoold on a free loopback port and
queries it with dnspython. Every wait is "until X, with a deadline".

Used by every integration test; run under Debian's /usr/bin/python3
(python3-dnspython). The binary comes from $MIRRORPOOLD.
"""

import os
import signal
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request

import dns.edns
import dns.flags
import dns.message
import dns.query
import dns.rcode
import dns.rdatatype

MIRRORPOOLD = os.environ.get("MIRRORPOOLD", "mirrorpoold")

ZONE = """$ORIGIN pool.example.
$TTL 3600
@        IN SOA ns1.pool.example. hostmaster.pool.example. 2026112201 3600 900 604800 300
@        IN NS  ns1
@        IN NS  ns2.elsewhere.example.
ns1      IN A   127.0.0.53
www      IN A   192.0.2.80
www      IN AAAA 2001:db8::80
"""


# The [server] and [[zone]] sections most system tests share: one worker on
# 127.0.0.1, state and control socket in the test's directory, and the zone
# file pool.example.zone beside the config. Tests append their [[pool]]s.
BASE_CONFIG = """
[server]
listen = ["127.0.0.1:{port}"]
workers = 1
control_socket = "{dir}/control.sock"
state_dir = "{dir}/state"
user = "root"

[[zone]]
origin = "pool.example."
file = "pool.example.zone"
"""


def free_port():
    """A port free for both UDP and TCP on 127.0.0.1 and ::1."""
    for _ in range(50):
        with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as u:
            u.bind(("127.0.0.1", 0))
            port = u.getsockname()[1]
        try:
            socks = []
            for fam, host in ((socket.AF_INET, "127.0.0.1"), (socket.AF_INET6, "::1")):
                for kind in (socket.SOCK_DGRAM, socket.SOCK_STREAM):
                    s = socket.socket(fam, kind)
                    socks.append(s)
                    s.bind((host, port))
            return port
        except OSError:
            continue
        finally:
            for s in socks:
                s.close()
    raise RuntimeError("no free port")


def wait_until(predicate, timeout, what, interval=0.02):
    """Polls predicate until it returns a truthy value; returns (value, seconds)."""
    start = time.monotonic()
    deadline = start + timeout
    last = None
    while time.monotonic() < deadline:
        last = predicate()
        if last:
            return last, time.monotonic() - start
        time.sleep(interval)
    raise AssertionError(f"timed out after {timeout}s waiting for {what} (last: {last!r})")


class Server:
    """A mirrorpoold process with its own temporary config directory.

    config: the TOML text; "{port}" and "{dir}" are substituted. Extra files
    (zone files) are written beside it from `files` (name -> text)."""

    def __init__(self, config, files=None, port=None, start=True, args=(), wrapper=(), env=None):
        self.port = port or free_port()
        self.dir = tempfile.mkdtemp(prefix="mirrorpool-test-")
        os.chmod(self.dir, 0o755)
        self.config_path = os.path.join(self.dir, "mirrorpool.toml")
        self.log_path = os.path.join(self.dir, "daemon.log")
        self.files = dict(files or {})
        self.write_config(config)
        self.args = list(args)
        self.wrapper = list(wrapper)  # a command that execs mirrorpoold (setpriv, say)
        self.env = {**os.environ, **env} if env else None  # added to the environment
        self.proc = None
        if start:
            self.start()

    def write_config(self, config, files=None):
        for name, text in (files or self.files).items():
            with open(os.path.join(self.dir, name), "w") as f:
                f.write(text)
        with open(self.config_path, "w") as f:
            f.write(config.replace("{port}", str(self.port)).replace("{dir}", self.dir))

    def start(self, wait=True):
        self.log_file = open(self.log_path, "ab")
        self.proc = subprocess.Popen(
            [*self.wrapper, MIRRORPOOLD, "-c", self.config_path, "--log-level", "debug",
             *self.args],
            stdout=self.log_file, stderr=subprocess.STDOUT, env=self.env)
        if wait:
            self.wait_ready()

    def wait_ready(self, timeout=15):
        def ready():
            if self.proc.poll() is not None:
                raise AssertionError(f"mirrorpoold exited with {self.proc.returncode}:\n{self.log()}")
            try:
                r = self.query("pool.example.", "SOA", timeout=0.2)
                return r is not None
            except (dns.exception.Timeout, ConnectionError, OSError):
                return False
        wait_until(ready, timeout, "the server to answer")

    def log(self):
        with open(self.log_path, "r", errors="replace") as f:
            return f.read()

    def mapped_files(self):
        """The files the daemon has mapped: its binary and shared libraries."""
        with open(f"/proc/{self.proc.pid}/maps") as f:
            return {fields[5] for fields in map(str.split, f) if len(fields) > 5}

    def signal(self, signum):
        self.proc.send_signal(signum)

    def stop(self, timeout=10):
        if self.proc is None or self.proc.poll() is not None:
            return self.proc.returncode if self.proc else None
        self.proc.send_signal(signal.SIGTERM)
        try:
            return self.proc.wait(timeout)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait(5)
            raise AssertionError("mirrorpoold did not stop on SIGTERM")
        finally:
            self.log_file.close()

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        # A daemon still running stops as an operator would stop it, so that
        # the sanitizers' exit checks (leaks) run; their report fails the test.
        rc = None
        if self.proc is not None and self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                rc = self.proc.wait(10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(5)
                rc = "killed: no exit within 10 s of SIGTERM"
        if exc[0] is not None:
            sys.stderr.write(f"--- daemon log ---\n{self.log()}\n")
        elif rc not in (None, 0):
            raise AssertionError(f"mirrorpoold exited with {rc} on SIGTERM:\n{self.log()[-4000:]}")

    def query(self, name, rdtype="A", tcp=False, host="127.0.0.1", timeout=2.0, **kw):
        return query(host, self.port, name, rdtype, tcp=tcp, timeout=timeout, **kw)


def query(host, port, name, rdtype="A", tcp=False, timeout=2.0, edns=-1, payload=None,
          want_dnssec=False, rd=False):
    msg = dns.message.make_query(name, rdtype, want_dnssec=want_dnssec)
    # Set EDNS explicitly: make_query(use_edns=1) reads 1 as True, i.e. version 0.
    msg.use_edns(edns if edns >= 0 else False, payload=payload or 1232)
    if not rd:
        msg.flags &= ~dns.flags.RD
    if tcp:
        return dns.query.tcp(msg, host, port=port, timeout=timeout)
    return dns.query.udp(msg, host, port=port, timeout=timeout, ignore_unexpected=True)


def metric(hport, name, **labels):
    """One sample of /metrics on http_listen port `hport`, matched by name
    and exactly these labels (in any order); None when absent."""
    from prometheus_client.parser import text_string_to_metric_families
    text = urllib.request.urlopen(f"http://127.0.0.1:{hport}/metrics", timeout=5).read().decode()
    for family in text_string_to_metric_families(text):
        for sample in family.samples:
            if sample.name == name and sample.labels == labels:
                return sample.value
    return None


def addresses(response):
    """The set of A/AAAA addresses in the answer section."""
    out = set()
    for rrset in response.answer:
        if rrset.rdtype in (dns.rdatatype.A, dns.rdatatype.AAAA):
            out.update(r.address for r in rrset)
    return out


def rcode(response):
    return dns.rcode.to_text(response.rcode())


def ctl_commands(ctl):
    """{command: set of --flags} as the mirrorpoolctl binary `ctl` reports
    them (its hidden --list-commands), so that tests of what describes the
    commands compare against the binary, not a copy of the names."""
    out = subprocess.run([ctl, "--list-commands"], capture_output=True, text=True,
                         check=True).stdout
    # A line is the command's words ("dnssec status"), then its flags.
    commands = {}
    for line in out.splitlines():
        words = line.split()
        if words:
            name = " ".join(w for w in words if not w.startswith("-"))
            commands[name] = {w for w in words if w.startswith("-")}
    return commands


class Failures:
    """Collects check failures so that one run reports all of them."""

    def __init__(self):
        self.items = []

    def check(self, cond, what):
        if not cond:
            self.items.append(what)
            print(f"FAIL: {what}", flush=True)
        else:
            print(f"ok: {what}", flush=True)

    def finish(self):
        if self.items:
            print(f"{len(self.items)} check(s) failed", flush=True)
            sys.exit(1)
        print("all checks passed", flush=True)
