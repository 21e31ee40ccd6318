"""The status page at / on the real binary, as a browser renders it.

Three fake mirrors on 127.0.1.x: m1 up (its notes hold a script), m2 up now
after a six-hour outage 20 to 14 hours ago that the journal, written before
the daemon starts, records, and m3 down (http 503). The state directory is
prepared as a daemon that had known the three mirrors for ten days would have
left it: a journal starting ten days ago and state.json's first-seen times.
So m2's uptime over 24 h is 75 % (18 of 24 hours), over 7 days 96.4 %.

Debian's headless chromium loads / (--dump-dom) and the rendered DOM is
checked: every mirror row, its state, m2's uptime, the script shown as text
and no <script> element. A screenshot is kept in the build directory. tidy
validates the HTML. status_page = "public" hides emails and notes, "off"
answers 404; /status.json keeps its shape and gains the uptime figures."""

import datetime
import hashlib
import html.parser
import json
import os
import shutil
import signal
import subprocess
import tempfile
import urllib.error
import urllib.request

from fake_mirror import FakeMirror
from harness import Failures, Server, free_port, wait_until

ZONE = """$ORIGIN pool.example.
$TTL 3600
@   IN SOA ns1 hostmaster 1 3600 900 604800 300
@   IN NS  ns1
ns1 IN A   127.0.0.53
"""

POOL = "dl.pool.example."
SCRIPT = "<script>alert(1)</script>"
BUILD_ROOT = os.environ.get("BUILD_ROOT", tempfile.gettempdir())
# Exactly these flags (and --dump-dom or --screenshot): no network but loopback.
CHROMIUM = ["chromium", "--headless", "--no-sandbox", "--disable-gpu",
            "--disable-background-networking", "--disable-component-update",
            "--proxy-server=127.0.0.1:9", "--proxy-bypass-list=127.0.0.1;[::1];localhost"]


def utc(t):
    return t.strftime("%Y-%m-%dT%H:%M:%SZ")


def canonical(obj):
    """nlohmann's dump(-1) with sorted keys: what journal and state checksums cover."""
    return json.dumps(obj, sort_keys=True, separators=(",", ":"), ensure_ascii=False)


def journal_line(time, who, kind, pool="", mirror="", what="", reason="", address=None):
    entry = {"time": utc(time), "who": who, "kind": kind, "pool": pool, "mirror": mirror,
             "what": what, "reason": reason}
    if address is not None:
        entry["address"] = address
    entry["sha256"] = hashlib.sha256(canonical(entry).encode()).hexdigest()
    return canonical(entry) + "\n"


def write_history(state_dir, now, ids):
    """The journal and state.json of a daemon that has watched `ids` for ten
    days, with m2 (127.0.1.142) down from 20 to 14 hours ago."""
    os.makedirs(state_dir)
    ten_days = now - datetime.timedelta(days=10)
    lines = [
        journal_line(ten_days, "daemon", "start", what="daemon started"),
        journal_line(now - datetime.timedelta(hours=20), "health", "health", POOL, "m2",
                     "UP→DOWN", "connect: Connection refused", "127.0.1.142"),
        journal_line(now - datetime.timedelta(hours=14), "health", "health", POOL, "m2",
                     "DOWN→UP", "ok", "127.0.1.142"),
    ]
    with open(os.path.join(state_dir, "journal.log"), "w", encoding="utf-8") as f:
        f.writelines(lines)
    state = {"mirrors": [], "added": [], "removed": [],
             "first_seen": [{"pool": POOL, "mirror": i, "when": utc(ten_days)} for i in ids]}
    with open(os.path.join(state_dir, "state.json"), "w", encoding="utf-8") as f:
        json.dump({"format": 1, "sha256": hashlib.sha256(canonical(state).encode()).hexdigest(),
                   "state": state}, f)


def config(hport, mport, page):
    return f"""
[server]
listen = ["127.0.0.1:{{port}}"]
workers = 1
control_socket = "{{dir}}/control.sock"
state_dir = "{{dir}}/state"
http_listen = "127.0.0.1:{hport}"
status_page = "{page}"
user = "root"

[[zone]]
origin = "pool.example."
file = "pool.example.zone"

[[pool]]
name = "{POOL}"
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
addresses = ["127.0.1.141"]
email = "admin@m1.example"
notes = "{SCRIPT}"
[[pool.mirror]]
id = "m2"
addresses = ["127.0.1.142"]
weight = 2
[[pool.mirror]]
id = "m3"
addresses = ["127.0.1.143"]
"""


def get(url):
    """(status, body text) of a GET."""
    try:
        with urllib.request.urlopen(url, timeout=10) as r:
            return r.status, r.read().decode()
    except urllib.error.HTTPError as e:
        return e.code, e.read().decode()


def chromium(args, home, timeout=90):
    """Runs chromium in a session of its own; on a timeout that session, all
    of it started here, is killed. Returns (exit status, stdout)."""
    proc = subprocess.Popen([*CHROMIUM, *args], stdout=subprocess.PIPE,
                            stderr=subprocess.DEVNULL, start_new_session=True,
                            env={**os.environ, "HOME": home})
    try:
        out, _ = proc.communicate(timeout=timeout)
    except subprocess.TimeoutExpired:
        os.killpg(proc.pid, signal.SIGKILL)
        proc.communicate(timeout=10)
        raise AssertionError(f"chromium {args[0]} took over {timeout} s")
    return proc.returncode, out.decode(errors="replace")


class Dom(html.parser.HTMLParser):
    """What the checks need from a DOM: every tag, the text of each mirror
    row's cells (by class), and all the text."""

    def __init__(self):
        super().__init__()
        self.tags = []
        self.rows = {}  # mirror id -> [(classes, text)]
        self.text = []
        self._row = None
        self._cell = None

    def handle_starttag(self, tag, attrs):
        a = dict(attrs)
        self.tags.append(tag)
        if tag == "tr" and "data-mirror" in a:
            self._row = self.rows.setdefault(a["data-mirror"], [])
        elif tag == "td" and self._row is not None:
            self._cell = [a.get("class") or "", ""]
            self._row.append(self._cell)

    def handle_endtag(self, tag):
        if tag == "tr":
            self._row = None
        if tag == "td":
            self._cell = None

    def handle_data(self, data):
        self.text.append(data)
        if self._cell is not None:
            self._cell[1] += data

    def cell(self, mirror, cls):
        for classes, text in self.rows.get(mirror, []):
            if cls in classes.split():
                return text.strip()
        return None


def percent(text):
    try:
        return float(text.replace("%", "").strip())
    except (AttributeError, ValueError):
        return None


def main():
    f = Failures()
    mport, hport = free_port(), free_port()
    mirrors = [FakeMirror(f"127.0.1.{141 + i}", mport).start() for i in range(3)]
    mirrors[2].status(503)
    home = tempfile.mkdtemp(prefix="status-page-chromium-")
    now = datetime.datetime.now(datetime.timezone.utc).replace(microsecond=0)
    try:
        srv = Server(config(hport, mport, "full"), {"pool.example.zone": ZONE}, start=False)
        write_history(os.path.join(srv.dir, "state"), now, ["m1", "m2", "m3"])
        with srv:
            srv.start()
            url = f"http://127.0.0.1:{hport}/"

            def m3_down():
                status = json.loads(get(url + "status.json")[1])
                states = {m["id"]: m["state"] for m in status["pools"][0]["mirrors"]}
                return states if states.get("m3") == "down" else None
            wait_until(m3_down, 15, "m3 down in /status.json")
            for _ in range(4):
                srv.query(POOL, "A")

            # /status.json: the old shape, and the uptime figures added.
            status = json.loads(get(url + "status.json")[1])
            ms = {m["id"]: m for m in status["pools"][0]["mirrors"]}
            old = {"id", "state", "weight", "notes", "addresses", "email", "capacity", "failures",
                   "removal_candidate"}
            f.check(old <= set(ms["m1"]), f"status.json keeps its fields: {sorted(ms['m1'])}")
            w = ms["m2"]["uptime"]["windows"]
            f.check(abs(w["24h"]["up_percent"] - 75.0) <= 1,
                    f"m2 up 75 % over 24 h in status.json: {w['24h']}")
            f.check(w["24h"]["down_seconds"] == 6 * 3600, f"m2 down 6 h: {w['24h']}")
            f.check(abs(w["7d"]["up_percent"] - 100 * (168 - 6) / 168) <= 1,
                    f"m2 over 7 days: {w['7d']}")
            f.check(abs(w["30d"]["up_percent"] - 100 * (240 - 6) / 240) <= 1,
                    f"m2 over 30 days counts the 10 days watched: {w['30d']}")
            f.check(ms["m3"]["uptime"]["down_now"], "m3 down now in its uptime")
            f.check(len(ms["m1"]["uptime"]["days"]) == 30, "30 days per mirror")

            # The page itself: headers, and tidy.
            with urllib.request.urlopen(url, timeout=10) as r:
                ctype = r.headers["Content-Type"]
                body = r.read().decode()
            f.check(ctype == "text/html; charset=utf-8", f"content type {ctype}")
            f.check(len(body) < 200_000, f"the page is small: {len(body)} bytes")
            with tempfile.NamedTemporaryFile("w", suffix=".html", delete=False) as page:
                page.write(body)
            tidy = subprocess.run(["tidy", "-errors", "-q", page.name], capture_output=True,
                                  text=True, timeout=60)
            os.unlink(page.name)
            f.check(tidy.returncode in (0, 1),
                    f"tidy finds no errors (exit {tidy.returncode}) {tidy.stderr.strip()}")

            # The DOM as Debian's chromium renders it.
            rc, dom_text = chromium(["--dump-dom", url], home)
            f.check(rc == 0 and "</html>" in dom_text, f"chromium --dump-dom (exit {rc})")
            dom = Dom()
            dom.feed(dom_text)
            f.check(set(dom.rows) == {"m1", "m2", "m3"}, f"a row per mirror: {sorted(dom.rows)}")
            for mirror, state in (("m1", "up"), ("m2", "up"), ("m3", "down")):
                f.check(dom.cell(mirror, "state") == state,
                        f"{mirror} shown {state}: {dom.cell(mirror, 'state')}")
            up24 = percent(dom.cell("m2", "uptime-24h"))
            f.check(up24 is not None and abs(up24 - 75.0) <= 1, f"m2 24 h uptime shown {up24}")
            f.check(percent(dom.cell("m1", "uptime-24h")) == 100.0, "m1 100 % over 24 h")
            f.check(dom.cell("m1", "notes") == SCRIPT,
                    f"the note is text: {dom.cell('m1', 'notes')!r}")
            f.check("script" not in dom.tags, "no <script> element in the DOM")
            text = "".join(dom.text)
            f.check("admin@m1.example" in text, "full: the email is shown")
            f.check("127.0.1.143: http 503" in text, "m3's reason is shown")
            f.check("Latest events" in text and "UP→DOWN" in text, "the latest events")
            f.check("Made " in text, "when the page was made")
            f.check(dom.tags.count("rect") == 90, f"30 days × 3 mirrors: {dom.tags.count('rect')}")

            shot = os.path.join(BUILD_ROOT, "status_page_test.png")
            if os.path.exists(shot):
                os.unlink(shot)
            rc, _ = chromium([f"--screenshot={shot}", "--window-size=1280,1600", url], home)
            magic = b""
            if os.path.exists(shot):
                with open(shot, "rb") as png:
                    magic = png.read(8)
            f.check(rc == 0 and magic == b"\x89PNG\r\n\x1a\n", f"screenshot (exit {rc}): {shot}")
            print(f"screenshot: {shot}", flush=True)
            srv.stop()

            # public: no emails, no notes; off: no page at all.
            srv.write_config(config(hport, mport, "public"))
            srv.start()
            status, body = get(url)
            f.check(status == 200, f"public: 200 ({status})")
            f.check("admin@m1.example" not in body and "alert(1)" not in body,
                    "public: no email, no notes")
            f.check('data-mirror="m2"' in body, "public: the mirrors are there")
            srv.stop()
            srv.write_config(config(hport, mport, "off"))
            srv.start()
            f.check(get(url)[0] == 404, "off: / answers 404")
            f.check(get(url + "status.json")[0] == 200, "off: /status.json still served")
    finally:
        for m in mirrors:
            m.stop()
        shutil.rmtree(home, ignore_errors=True)
    f.finish()


if __name__ == "__main__":
    main()
