"""Stock secondaries for the transfer tests: Debian's nsd and knotd, each run
in the foreground as a child of the test, with its config, zone files and
log in a temporary directory, listening on loopback only, stopped by PID.

    # key: (name, algorithm, secret); transfers come from 127.0.0.2
    with Nsd(primary_port, key, "127.0.0.2") as nsd:
        nsd.serial("pool.example.")         # the SOA serial it serves, or None
"""

import os
import shutil
import signal
import subprocess
import tempfile

import dns.exception
import dns.rcode

from harness import free_port, query


class Secondary:
    name = "secondary"

    def __init__(self, primary_port, key, source, zone="pool.example."):
        self.primary_port = primary_port
        self.source = source  # the loopback address it transfers from
        self.key_name, self.algorithm, self.secret = key
        self.zone = zone
        self.port = free_port()
        self.dir = tempfile.mkdtemp(prefix=f"mirrorpool-{self.name}-")
        self.log_path = os.path.join(self.dir, f"{self.name}.log")
        self.proc = None

    def start(self):
        self.write_config()
        self.log_file = open(self.log_path, "ab")
        self.proc = subprocess.Popen(self.command(), stdout=self.log_file,
                                     stderr=subprocess.STDOUT, cwd=self.dir)
        return self

    def stop(self):
        if self.proc is None or self.proc.poll() is not None:
            return
        self.proc.send_signal(signal.SIGTERM)
        try:
            self.proc.wait(10)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait(5)
        self.log_file.close()

    def __enter__(self):
        return self.start()

    def __exit__(self, *exc):
        self.stop()
        if exc[0] is None:
            shutil.rmtree(self.dir, ignore_errors=True)

    def log(self):
        with open(self.log_path, "r", errors="replace") as f:
            return f.read()

    def alive(self):
        return self.proc is not None and self.proc.poll() is None

    def ask(self, name, rdtype, tcp=False):
        """The response, or None when the server does not answer (yet)."""
        try:
            return query("127.0.0.1", self.port, name, rdtype, tcp=tcp, timeout=0.5)
        except (dns.exception.Timeout, ConnectionError, OSError):
            return None

    def serial(self):
        r = self.ask(self.zone, "SOA")
        if r is None or r.rcode() != dns.rcode.NOERROR or not r.answer:
            return None
        return r.answer[0][0].serial


class Nsd(Secondary):
    name = "nsd"

    def command(self):
        return ["nsd", "-d", "-c", os.path.join(self.dir, "nsd.conf")]

    def write_config(self):
        d = self.dir
        text = f"""server:
  ip-address: 127.0.0.1
  port: {self.port}
  zonesdir: "{d}"
  database: ""
  pidfile: "{d}/nsd.pid"
  xfrdfile: "{d}/xfrd.state"
  zonelistfile: "{d}/zone.list"
  xfrdir: "{d}"
  username: ""
  chroot: ""
  logfile: "{d}/nsd.log"
  verbosity: 2
  xfrd-reload-timeout: 0
remote-control:
  control-enable: no
key:
  name: "{self.key_name}"
  algorithm: {self.algorithm}
  secret: "{self.secret}"
zone:
  name: "{self.zone}"
  zonefile: "{d}/secondary.zone"
  request-xfr: 127.0.0.1@{self.primary_port} {self.key_name}
  outgoing-interface: {self.source}
  allow-notify: 127.0.0.1 {self.key_name}
"""
        with open(os.path.join(d, "nsd.conf"), "w") as f:
            f.write(text)


class Knot(Secondary):
    name = "knot"

    def command(self):
        return ["knotd", "-c", os.path.join(self.dir, "knot.conf")]

    def write_config(self):
        d = self.dir
        os.makedirs(os.path.join(d, "db"), exist_ok=True)
        os.makedirs(os.path.join(d, "zones"), exist_ok=True)
        text = f"""server:
  rundir: "{d}"
  listen: 127.0.0.1@{self.port}
log:
  - target: stderr
    any: info
database:
  storage: "{d}/db"
key:
  - id: {self.key_name}
    algorithm: {self.algorithm}
    secret: {self.secret}
remote:
  - id: primary
    address: 127.0.0.1@{self.primary_port}
    via: {self.source}
    key: {self.key_name}
acl:
  - id: notify_from_primary
    address: 127.0.0.1
    key: {self.key_name}
    action: notify
template:
  - id: default
    storage: "{d}/zones"
zone:
  - domain: {self.zone}
    master: primary
    acl: notify_from_primary
"""
        with open(os.path.join(d, "knot.conf"), "w") as f:
            f.write(text)
