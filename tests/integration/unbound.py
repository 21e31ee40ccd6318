"""A test unbound for the resolver tests: Debian's unbound with the config a
test writes (never iterating to the internet: "." refused, a stub zone to
mirrorpoold), in its own temporary directory on a free port of 127.0.0.1,
in the foreground, stopped by PID.

    resolver = Unbound(CONF, auth_port=srv.port)   # CONF.format(port, dir, ...)
    resolver.check()                               # (rc, unbound-checkconf's output)
    resolver.start(ready)                          # ready(resolver): it answers
    resolver.log(); resolver.stop()
"""

import os
import signal
import subprocess
import tempfile

from harness import free_port, wait_until

UNBOUND = "/usr/sbin/unbound"
UNBOUND_CHECKCONF = "/usr/sbin/unbound-checkconf"


class Unbound:
    def __init__(self, conf_template, **fields):
        self.port = free_port()
        self.dir = tempfile.mkdtemp(prefix="mirrorpool-unbound-")
        self.conf = os.path.join(self.dir, "unbound.conf")
        with open(self.conf, "w") as f:
            f.write(conf_template.format(port=self.port, dir=self.dir, **fields))
        self.proc = None

    def check(self):
        p = subprocess.run([UNBOUND_CHECKCONF, self.conf], capture_output=True, text=True,
                           timeout=30)
        return p.returncode, p.stdout + p.stderr

    def start(self, ready):
        """Starts it and waits (15 s at most) until ready(self) is true."""
        with open(os.path.join(self.dir, "stderr"), "wb") as stderr:
            self.proc = subprocess.Popen([UNBOUND, "-c", self.conf], stdout=subprocess.DEVNULL,
                                         stderr=stderr)

        def answers():
            if self.proc.poll() is not None:
                raise AssertionError(f"unbound exited with {self.proc.returncode}:\n{self.log()}")
            return ready(self)
        wait_until(answers, 15, "unbound to answer for the test zone", interval=0.1)
        return self

    def log(self):
        out = ""
        for name in ("unbound.log", "stderr"):
            path = os.path.join(self.dir, name)
            if os.path.exists(path):
                with open(path, errors="replace") as f:
                    out += f.read()
        return out

    def stop(self):
        if self.proc is None or self.proc.poll() is not None:
            return
        self.proc.send_signal(signal.SIGTERM)
        try:
            self.proc.wait(10)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait(5)
