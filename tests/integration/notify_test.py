"""sd_notify (Type=notify in packaging/mirrorpool.service): the daemon tells the
service manager READY=1 once it answers, RELOADING=1 then READY=1 around a
reload (SIGHUP or mirrorpoolctl reload), and STOPPING=1 at shutdown. The test plays systemd: it binds the unix
datagram socket that NOTIFY_SOCKET names and reads what arrives."""

import os
import signal
import socket
import subprocess
import tempfile
import time

from harness import ZONE, Failures, Server, wait_until

CTL = os.environ.get("MIRRORPOOLCTL", "mirrorpoolctl")

CONFIG = """
[server]
listen = ["127.0.0.1:{port}"]
workers = 1
control_socket = "{dir}/run/control.sock"
state_dir = "{dir}/state"
user = "root"

[[zone]]
origin = "pool.example."
file = "pool.example.zone"
"""


class Notifications:
    """The messages received on the bound socket, in order."""

    def __init__(self, path):
        self.sock = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
        self.sock.bind(path)
        self.sock.setblocking(False)
        self.messages = []

    def drain(self):
        while True:
            try:
                data = self.sock.recv(4096)
            except BlockingIOError:
                return self.messages
            self.messages.append(data.decode())


def main():
    f = Failures()
    sock_dir = tempfile.mkdtemp(prefix="mirrorpool-notify-")
    notes = Notifications(os.path.join(sock_dir, "notify"))
    os.environ["NOTIFY_SOCKET"] = os.path.join(sock_dir, "notify")
    with Server(CONFIG, {"pool.example.zone": ZONE}, start=False) as srv:
        srv.start(wait=False)
        # READY=1 promises answers: once it is in, the very first query must succeed.
        wait_until(notes.drain, 15, "READY=1")
        f.check(notes.messages[0] == "READY=1", f"first message is READY=1 ({notes.messages})")
        f.check(srv.query("pool.example.", "SOA", timeout=1) is not None,
                "the server answers as soon as READY=1 is in")

        count = len(notes.messages)
        srv.signal(signal.SIGHUP)
        wait_until(lambda: len(notes.drain()) >= count + 2, 5, "RELOADING=1 and READY=1")
        reload_msgs = notes.messages[count:]
        f.check(reload_msgs[0].startswith("RELOADING=1\nMONOTONIC_USEC="),
                f"SIGHUP sends RELOADING=1 with MONOTONIC_USEC ({reload_msgs[0]!r})")
        usec = int(reload_msgs[0].split("MONOTONIC_USEC=")[1])
        now = time.clock_gettime(time.CLOCK_MONOTONIC) * 1e6
        f.check(0 < now - usec < 10e6, "MONOTONIC_USEC is the CLOCK_MONOTONIC time of the reload")
        f.check(reload_msgs[1] == "READY=1", f"then READY=1 ({reload_msgs[1]!r})")

        # A failed reload still ends with READY=1: the daemon keeps serving.
        count = len(notes.messages)
        srv.files["pool.example.zone"] = ZONE + "broken IN A not-an-address\n"
        srv.write_config(CONFIG)
        srv.signal(signal.SIGHUP)
        wait_until(lambda: len(notes.drain()) >= count + 2, 5, "a failed reload's notifications")
        f.check(notes.messages[count].startswith("RELOADING=1")
                and notes.messages[count + 1] == "READY=1",
                "a failed reload also ends with READY=1")

        # mirrorpoolctl reload (the unit's ExecReload) goes through the same path.
        count = len(notes.messages)
        srv.files["pool.example.zone"] = ZONE
        srv.write_config(CONFIG)
        ctl = subprocess.run([CTL, "-s", os.path.join(srv.dir, "run", "control.sock"), "reload"],
                             capture_output=True, text=True)
        f.check(ctl.returncode == 0, f"mirrorpoolctl reload succeeds ({ctl.stderr.strip()})")
        wait_until(lambda: len(notes.drain()) >= count + 2, 5, "mirrorpoolctl reload's notifications")
        f.check(notes.messages[count].startswith("RELOADING=1")
                and notes.messages[count + 1] == "READY=1",
                "mirrorpoolctl reload sends RELOADING=1 then READY=1")

        count = len(notes.messages)
        rc = srv.stop()
        f.check(rc == 0, f"SIGTERM: clean exit ({rc})")
        notes.drain()
        f.check(notes.messages[count:] == ["STOPPING=1"],
                f"SIGTERM sends STOPPING=1 ({notes.messages[count:]})")
    f.finish()


if __name__ == "__main__":
    main()
