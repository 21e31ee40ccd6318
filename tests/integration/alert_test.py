"""[[alert]] on the real binary: fake mirrors fail and recover, and a command
(the event as JSON on stdin), three webhook receivers on loopback (one good,
one answering 500, one that hangs) and a fake sendmail record what the daemon sends.
Checked: mirror-down within interval x fall + 2 s and mirror-up after repair,
pool-degraded/recovered, removal-candidate (a failure in the notes plus a
real one), one prober-doubt event for a mass failure, the webhook POST and
its retries, a hanging receiver, neither delaying probes or answers, the operator's mail and, after
admin_after, the polite mail to the mirror's admin, one digest for a
flapping mirror inside min_interval (held across a reload), and every alert
in `history`."""

import datetime
import email
import email.policy
import http.server
import json
import os
import signal
import stat
import subprocess
import tempfile
import threading
import time

from fake_mirror import FakeMirror
from harness import Failures, Server, free_port, metric, rcode, wait_until
from prober_test import ZONE

CTL = os.environ["MIRRORPOOLCTL"]
INTERVAL, TIMEOUT = 0.3, 0.2
BOUND = INTERVAL * 1 + 2  # interval x fall + 2 s
MIRRORS = {f"m{i}": f"127.0.1.{140 + i}" for i in range(1, 5)}
ADMIN = "admin@mirror-one.example"

RECORD = """import sys
data = sys.stdin.read()
with open(sys.argv[1], "a") as f:
    f.write(data if data.endswith("\\n") else data + "\\n")
"""

SENDMAIL = """#!/usr/bin/python3
import os, sys, time
out = os.path.join(os.path.dirname(os.path.abspath(__file__)), "mail")
os.makedirs(out, exist_ok=True)
data = sys.stdin.buffer.read()
with open(os.path.join(out, "%.6f-%d.eml" % (time.time(), os.getpid())), "wb") as f:
    f.write(b"ARGS " + " ".join(sys.argv[1:]).encode() + b"\\n" + data)
"""


class Receiver:
    """A webhook endpoint on 127.0.0.1: records each POST, answers `status`."""

    def __init__(self, status, hang_s=0):
        self.posts = []
        receiver = self

        class Handler(http.server.BaseHTTPRequestHandler):
            def do_POST(self):  # noqa: N802 - http.server's name
                body = self.rfile.read(int(self.headers.get("Content-Length", "0")))
                receiver.posts.append((time.monotonic(), self.headers.get("Content-Type"), body))
                time.sleep(hang_s)  # a receiver that hangs: past the daemon's 10 s timeout
                self.send_response(status)
                self.send_header("Content-Length", "0")
                self.end_headers()

            def log_message(self, *args):
                pass

        self.server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.port = self.server.server_address[1]
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def stop(self):
        self.server.shutdown()
        self.server.server_close()


def lines(path):
    """The JSON messages a command recorded, one per line."""
    if not os.path.exists(path):
        return []
    with open(path) as f:
        return [json.loads(line) for line in f if line.strip()]


def mails(directory):
    out = []
    for name in sorted(os.listdir(directory)) if os.path.isdir(directory) else []:
        with open(os.path.join(directory, name), "rb") as f:
            args, _, raw = f.read().partition(b"\n")
        out.append((args.decode(), email.message_from_bytes(raw, policy=email.policy.default)))
    return out


def events(messages, kind, mirror=None):
    """Events of `kind` (for `mirror`) in recorded messages, digests opened."""
    found = []
    for m in messages:
        for e in m.get("events", [m]):
            if e["event"] == kind and (mirror is None or e["mirror"] == mirror):
                found.append(e)
    return found


def main():
    f = Failures()
    work = tempfile.mkdtemp(prefix="mirrorpool-alert-")
    record = os.path.join(work, "record.py")
    with open(record, "w") as fh:
        fh.write(RECORD)
    sendmail = os.path.join(work, "sendmail")
    with open(sendmail, "w") as fh:
        fh.write(SENDMAIL)
    os.chmod(sendmail, stat.S_IRWXU | stat.S_IRGRP | stat.S_IXGRP | stat.S_IROTH | stat.S_IXOTH)
    cmd_log = os.path.join(work, "cmd.log")
    flap_log = os.path.join(work, "flap.log")
    good, bad, hanging = Receiver(204), Receiver(500), Receiver(204, hang_s=15)
    mport, hport = free_port(), free_port()
    month_ago = (datetime.date.today() - datetime.timedelta(days=30)).isoformat()
    mirrors_toml = ""
    for mid, address in MIRRORS.items():
        mirrors_toml += f'\n[[pool.mirror]]\nid = "{mid}"\naddresses = ["{address}"]\n'
        if mid == "m1":
            mirrors_toml += f'email = "{ADMIN}"\nnotes = "{month_ago}: No route to host"\n'
    config = f"""
[server]
listen = ["127.0.0.1:{{port}}"]
workers = 1
control_socket = "{{dir}}/control.sock"
state_dir = "{{dir}}/state"
http_listen = "127.0.0.1:{hport}"
user = "root"
sendmail = "{sendmail}"

[[zone]]
origin = "pool.example."
file = "pool.example.zone"

[[pool]]
name = "dl.pool.example."
min_healthy = 4
when_all_down = "serve-all"
[pool.check]
type = "http"
port = {mport}
interval = "{int(INTERVAL * 1000)}ms"
timeout = "{int(TIMEOUT * 1000)}ms"
rise = 1
fall = 1
mass_failure_rounds = 8
{mirrors_toml}
[[alert]]
name = "ops"
command = ["/usr/bin/python3", "{record}", "{cmd_log}"]
webhook = "http://127.0.0.1:{good.port}/hook"
min_interval = "0s"

[[alert]]
name = "broken-hook"
events = ["mirror-down"]
webhook = "http://127.0.0.1:{bad.port}/hook"
min_interval = "0s"

# A careless operator: a program that does not exist. Each try is logged,
# counted and journalled as failed; nothing else is disturbed.
[[alert]]
name = "typo"
events = ["mirror-down"]
command = ["/nonexistent/notify-ops"]

[[alert]]
name = "hanging-hook"
webhook = "http://127.0.0.1:{hanging.port}/hook"
min_interval = "0s"

[[alert]]
name = "mail"
events = ["mirror-down", "mirror-up"]
mail_to = ["ops@example.org"]
mirror_admins = true
admin_after = "2s"
contact = "pool-ops@example.org"
min_interval = "0s"

[[alert]]
name = "flap"
events = ["mirror-down", "mirror-up"]
command = ["/usr/bin/python3", "{record}", "{flap_log}"]
min_interval = "10s"
"""
    fakes = {mid: FakeMirror(a, mport).start() for mid, a in MIRRORS.items()}
    try:
        with Server(config, {"pool.example.zone": ZONE}) as srv:
            # A mass failure: three of four at once. The guard holds their
            # state (8 rounds) and one prober-doubt event says why.
            for mid in ("m2", "m3", "m4"):
                fakes[mid].status(503)
            try:
                wait_until(lambda: events(lines(cmd_log), "prober-doubt"), BOUND,
                           "a prober-doubt event")
            except AssertionError:
                pass
            time.sleep(4 * INTERVAL)  # more held rounds: still one event
            doubt = events(lines(cmd_log), "prober-doubt")
            f.check(len(doubt) == 1 and doubt[0]["pool"] == "dl.pool.example." and
                    "suspecting" in doubt[0]["reason"],
                    f"one prober-doubt event for a mass failure: {doubt}")
            f.check(not events(lines(cmd_log), "mirror-down"),
                    "no mirror-down events while the mass failure is held")
            for mid in ("m2", "m3", "m4"):
                fakes[mid].ok()
            time.sleep(2 * INTERVAL)

            # m1 fails: mirror-down through the command within the bound.
            failed_at = time.monotonic()
            fakes["m1"].status(503)
            try:
                _, took = wait_until(lambda: events(lines(cmd_log), "mirror-down", "m1"),
                                     BOUND + 1, "mirror-down for m1")
                took = time.monotonic() - failed_at
            except AssertionError:
                took = None
            down = events(lines(cmd_log), "mirror-down", "m1")
            f.check(took is not None and took <= BOUND,
                    f"mirror-down reaches the command in {took and round(took, 2)} s "
                    f"(bound {BOUND} s)")
            f.check(len(down) == 1 and down[0]["address"] == MIRRORS["m1"] and
                    down[0]["reason"] == "http 503" and down[0]["alert"] == "ops" and
                    down[0]["since"].endswith("Z"),
                    f"the event names pool, mirror, address, reason, since: {down}")
            # A failure in the notes a month ago and this one: a removal candidate.
            try:
                wait_until(lambda: events(lines(cmd_log), "removal-candidate", "m1"), 3,
                           "removal-candidate for m1")
            except AssertionError:
                pass
            cand = events(lines(cmd_log), "removal-candidate", "m1")
            f.check(len(cand) == 1 and len(cand[0].get("failures", [])) == 2 and
                    cand[0]["failures"][0]["reason"] == "No route to host",
                    f"removal-candidate with the failures of 6 months: {cand}")
            try:
                wait_until(lambda: events(lines(cmd_log), "pool-degraded"), 3, "pool-degraded")
            except AssertionError:
                pass
            f.check(events(lines(cmd_log), "pool-degraded"),
                    "pool-degraded when fewer than min_healthy are up")
            # The webhook got the same JSON as a POST.
            try:
                wait_until(lambda: any(b"mirror-down" in p[2] for p in good.posts), 3,
                           "the webhook POST")
            except AssertionError:
                pass
            posted = [json.loads(p[2]) for p in good.posts if b'"mirror-down"' in p[2]]
            f.check(posted and posted[0]["mirror"] == "m1" and
                    all(p[1] == "application/json" for p in good.posts),
                    f"webhook: a JSON POST of the event ({len(good.posts)} posts)")
            # The receiver that answers 500 is tried again with backoff, and
            # answers are not delayed meanwhile.
            slowest, unanswered = 0.0, 0
            deadline = time.monotonic() + 6
            while time.monotonic() < deadline and len(bad.posts) < 3:
                t0 = time.monotonic()
                unanswered += rcode(srv.query("dl.pool.example.", "A")) != "NOERROR"
                slowest = max(slowest, time.monotonic() - t0)
                time.sleep(0.1)
            gaps = [round(b[0] - a[0], 1) for a, b in zip(bad.posts, bad.posts[1:])]
            f.check(len(bad.posts) >= 3 and gaps[0] >= 0.9 and gaps[1] >= 2.5,
                    f"a failing webhook is retried with backoff: {len(bad.posts)} tries, "
                    f"gaps {gaps} s")
            f.check(hanging.posts, "the hanging receiver was called")
            f.check(slowest < 1.0 and unanswered == 0,
                    f"answers are not delayed by it (slowest {slowest:.3f} s, "
                    f"{unanswered} not NOERROR)")

            # The operator's mail, then after admin_after the mirror admin's.
            maildir = os.path.join(work, "mail")
            try:
                wait_until(lambda: any(m["To"] == ADMIN for _, m in mails(maildir)), 6,
                           "the admin mail")
            except AssertionError:
                pass
            sent = mails(maildir)
            ops = [m for _, m in sent if m["To"] == "ops@example.org"]
            f.check(ops and "mirror-down m1" in ops[0]["Subject"] and ops[0]["Date"] and
                    ops[0]["Message-ID"] and all(a == "ARGS -t -oi" for a, _ in sent),
                    f"operator mail through sendmail -t -oi: {[m['Subject'] for m in ops]}")
            admin = [m for _, m in sent if m["To"] == ADMIN]
            body = admin[0].get_content() if admin else ""
            f.check(len(admin) == 1 and admin[0]["Reply-To"] == "pool-ops@example.org" and
                    "http 503" in body and MIRRORS["m1"] in body and
                    "pool-ops@example.org" in body and "No route to host" in body,
                    f"one polite mail to the mirror's admin with the evidence: {body[:400]!r}")

            # Repair: mirror-up with since = when it went down; pool recovered.
            fakes["m1"].ok()
            try:
                wait_until(lambda: events(lines(cmd_log), "mirror-up", "m1"), BOUND + 1,
                           "mirror-up for m1")
            except AssertionError:
                pass
            up = events(lines(cmd_log), "mirror-up", "m1")
            f.check(len(up) == 1 and up[0]["since"] == down[0]["since"],
                    f"mirror-up after repair, since the outage began: {up}")
            try:
                wait_until(lambda: events(lines(cmd_log), "pool-recovered"), 3, "pool-recovered")
            except AssertionError:
                pass
            f.check(events(lines(cmd_log), "pool-recovered"), "pool-recovered")

            # A flapping mirror inside min_interval (10 s; the flapping takes
            # about 5.4 s): its first down and up go out, the rest as one digest
            # once the interval has passed. Only m2's messages count: m1's went
            # to this alert too, and a slow command may still be writing them.
            before = len(lines(flap_log))
            for _ in range(3):
                fakes["m2"].status(503)
                time.sleep(3 * INTERVAL)
                fakes["m2"].ok()
                time.sleep(3 * INTERVAL)
            # A reload while events are held loses none of them.
            srv.signal(signal.SIGHUP)
            try:
                wait_until(lambda: [m for m in lines(flap_log)[before:]
                                    if m["event"] == "digest"], 14, "the digest")
            except AssertionError:
                pass
            time.sleep(1)
            flap = [m for m in lines(flap_log)[before:]
                    if m.get("mirror") == "m2" or m["event"] == "digest"]
            digests = [m for m in flap if m["event"] == "digest"]
            single = [m for m in flap if m["event"] != "digest"]
            f.check(len(digests) == 1 and digests[0]["count"] >= 2 and len(single) <= 2 and
                    all(e["mirror"] == "m2" for e in digests[0]["events"]),
                    f"a flapping mirror gives one digest, across a reload: "
                    f"{len(single)} single message(s), "
                    f"digests {[d['count'] for d in digests]}: {flap}")

            # Every alert sent is in the journal, and counted.
            hist = subprocess.run([CTL, "-s", f"{srv.dir}/control.sock", "history"],
                                  capture_output=True, text=True, timeout=30).stdout
            f.check("mirror-down via command: exit 0" in hist and "via webhook" in hist and
                    "via admin-mail" in hist,
                    "history shows the alerts sent")
            f.check((metric(hport, "mirrorpool_alerts_total", alert="ops", channel="command",
                            result="sent") or 0) >= 4 and
                    metric(hport, "mirrorpool_alerts_total", alert="mail", channel="admin-mail",
                           result="sent") == 1,
                    "alerts are counted in the metrics")
            f.check((metric(hport, "mirrorpool_alerts_total", alert="typo", channel="command",
                            result="failed") or 0) >= 1 and
                    "alert typo: mirror-down m1 127.0.1.141 via command: cannot run "
                    "/nonexistent/notify-ops" in srv.log() and "cannot run" in hist,
                    "a command that does not exist: logged, counted and in history as failed")
            f.check(srv.proc.poll() is None, "the daemon is still running")
    finally:
        for m in fakes.values():
            m.stop()
        for r in (good, bad, hanging):
            r.stop()
    f.finish()


if __name__ == "__main__":
    main()
