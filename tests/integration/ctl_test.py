"""Operating the pool on the real binaries (issue: mirrorpoolctl, persistent
state, history, mirrors.json, reliability weights): every command with its
error paths, restart persistence, kill -9 after an acknowledged change, a
corrupt state file, a broken reload, and reliability weights from a prepared
journal."""

import datetime
import hashlib
import json
import os
import signal
import subprocess
import time

from fake_mirror import FakeMirror
from harness import Failures, Server, addresses, free_port, wait_until

CTL = os.environ.get("MIRRORPOOLCTL", "mirrorpoolctl")

ZONE = """$ORIGIN pool.example.
$TTL 3600
@   IN SOA ns1 hostmaster 1 3600 900 604800 300
@   IN NS  ns1
ns1 IN A   127.0.0.53
"""

DL = [f"127.0.1.{71 + i}" for i in range(4)]
REL = {"r1": "127.0.1.81", "r2": "127.0.1.82", "r3": "127.0.1.83", "r4": "127.0.1.84",
       "r5": "127.0.1.85", "r6": "127.0.1.86"}


def config(mport, with_json_pool):
    text = f"""
[server]
listen = ["127.0.0.1:{{port}}"]
workers = 1
control_socket = "{{dir}}/run/control.sock"
state_dir = "{{dir}}/state"
user = "root"

[[zone]]
origin = "pool.example."
file = "pool.example.zone"

[[pool]]
name = "dl.pool.example."
max_answers = 8
min_healthy = 2
[pool.check]
type = "http"
port = {mport}
interval = "500ms"
timeout = "300ms"
"""
    for i, a in enumerate(DL):
        text += f'[[pool.mirror]]\nid = "m{i + 1}"\naddresses = ["{a}"]\nweight = 5\n' \
                f'email = "admin@m{i + 1}.example"\n'
    text += f"""
[[pool]]
name = "rel.pool.example."
max_answers = 8
weight_policy = "reliability"
[pool.check]
type = "http"
port = {mport}
interval = "500ms"
timeout = "300ms"
"""
    for mid, a in REL.items():
        cap = 'capacity = "huge"\n' if mid == "r1" else ""
        text += f'[[pool.mirror]]\nid = "{mid}"\naddresses = ["{a}"]\n{cap}' \
                f'email = "admin@{mid}.example"\n'
    if with_json_pool:
        text += f"""
[[pool]]
name = "tails.pool.example."
mirrors_json = "mirrors.json"
[pool.check]
type = "http"
port = {mport}
interval = "500ms"
timeout = "300ms"
"""
    return text


MIRRORS_JSON = {
    "mirrors": [
        {"url_prefix": "http://mirror-a.example.org/tails/", "weight": 10,
         "email": "mirrors@mirror-a.example.org", "notes": "added 2024-03-02",
         "rsync_url": "rsync://mirror-a.example.org/tails/", "addresses": ["127.0.1.91"]},
        {"url_prefix": "http://tails.mirror-b.example.net/", "weight": 5,
         "notes": "added 2023-11-10", "addresses": ["127.0.1.92"]},
    ]
}


def journal_line(when, kind, pool, mirror, what="", reason="", address=None):
    entry = {"time": when.strftime("%Y-%m-%dT%H:%M:%SZ"), "who": "health" if kind == "health"
             else "uid 0 (root)", "kind": kind, "pool": pool, "mirror": mirror, "what": what,
             "reason": reason}
    if address:
        entry["address"] = address
    canonical = json.dumps(entry, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    entry["sha256"] = hashlib.sha256(canonical.encode()).hexdigest()
    return json.dumps(entry, sort_keys=True, separators=(",", ":"), ensure_ascii=False) + "\n"


def prepared_journal():
    now = datetime.datetime.now(datetime.timezone.utc)
    ago = lambda days: now - datetime.timedelta(days=days)  # noqa: E731
    pool = "rel.pool.example."
    lines = []
    for mid in ("r1", "r2", "r3", "r5", "r6"):
        lines.append(journal_line(ago(400), "add", pool, mid, "added"))
    for mid, days in (("r2", 300), ("r3", 30), ("r6", 100), ("r6", 20)):
        lines.append(journal_line(ago(days), "health", pool, mid, "UP→DOWN", "http 503",
                                  REL[mid]))
        lines.append(journal_line(ago(days) + datetime.timedelta(hours=2), "health", pool, mid,
                                  "DOWN→UP", "ok", REL[mid]))
    lines.sort()  # by time: the "time" key sorts first
    return "".join(lines)


class Ctl:
    def __init__(self, srv):
        self.socket = os.path.join(srv.dir, "run", "control.sock")
        self.config = srv.config_path

    def __call__(self, *args, use_config=False):
        where = ["-c", self.config] if use_config else ["-s", self.socket]
        p = subprocess.run([CTL, *where, *args], capture_output=True, text=True, timeout=60)
        return p.returncode, p.stdout, p.stderr


def served(srv, pool="dl.pool.example."):
    return addresses(srv.query(pool, "A"))


def soa_serial(srv):
    return srv.query("pool.example.", "SOA").answer[0][0].serial


def status_json(ctl):
    rc, out, err = ctl("status", "--json")
    assert rc == 0, err
    return json.loads(out)


def mirror_status(ctl, pool, mid):
    for p in status_json(ctl)["pools"]:
        if p["name"] == pool:
            for m in p["mirrors"]:
                if m["id"] == mid:
                    return m
    return None


def main():
    f = Failures()
    mport = free_port()
    fakes = [FakeMirror(a, mport).start() for a in DL + list(REL.values()) +
             ["127.0.1.75", "127.0.1.91", "127.0.1.92"]]
    srv = Server(config(mport, True), {"pool.example.zone": ZONE,
                                        "mirrors.json": json.dumps(MIRRORS_JSON)}, start=False)
    os.makedirs(os.path.join(srv.dir, "state"))
    with open(os.path.join(srv.dir, "state", "journal.log"), "w") as j:
        j.write(prepared_journal())
    srv.start()
    ctl = Ctl(srv)
    try:
        with srv:
            wait_until(lambda: served(srv) == set(DL), 5, "all four mirrors")
            # --- status
            rc, out, err = ctl("status")
            f.check(rc == 0 and "dl.pool.example." in out and "m1" in out and DL[0] in out,
                    "status lists pools, mirrors, addresses")
            m1 = mirror_status(ctl, "dl.pool.example.", "m1")
            f.check(m1 and m1["state"] == "up" and m1["addresses"][0]["last_check"] and
                    m1["addresses"][0]["latency_ms"] is not None,
                    "status --json: state, last check, latency")
            rc, out, _ = ctl("status", use_config=True)
            f.check(rc == 0, "-c CONFIG finds the socket through the config")

            # --- drain / undrain (and the SOA serial rises with the answer set)
            serial_before = soa_serial(srv)
            rc, out, err = ctl("drain", "m1", "--note", "disk replacement")
            f.check(soa_serial(srv) > serial_before,
                    f"SOA serial rises when a drain changes the answers ({serial_before} -> "
                    f"{soa_serial(srv)})")
            f.check(rc == 0 and DL[0] not in served(srv), f"drain m1: out of the answers ({err})")
            f.check("before" in out and "after" in out, "drain prints the answer sets")
            m1 = mirror_status(ctl, "dl.pool.example.", "m1")
            f.check(m1["state"] == "drained" and m1["note"] == "disk replacement",
                    "status shows drained with the note")
            rc, _, err = ctl("drain", "m1", "--note", "again")
            f.check(rc == 1 and "already drained" in err, "drain twice: exit 1")
            rc, _, err = ctl("drain", "nope", "--note", "x")
            f.check(rc == 1 and "no mirror 'nope'" in err, "unknown mirror: exit 1")
            rc, _, err = ctl("drain", "m1")
            f.check(rc == 2, "drain without --note: usage error, exit 2")
            rc, out, err = ctl("undrain", "m1")
            f.check(rc == 0 and DL[0] in served(srv), "undrain m1: back")

            # --- min_healthy refusal and --force, --dry-run
            ctl("drain", "m1", "--note", "a")
            ctl("drain", "m2", "--note", "b")
            rc, _, err = ctl("drain", "m3", "--note", "c")
            f.check(rc == 1 and "below min_healthy = 2;" in err,
                    f"refused below min_healthy, naming its value ({err.strip()})")
            rc, out, err = ctl("drain", "m3", "--note", "c", "--dry-run", "--force")
            f.check(rc == 0 and "dry run" in out and DL[2] in served(srv),
                    "--dry-run shows the change and changes nothing")
            rc, _, _ = ctl("drain", "m3", "--note", "c", "--force")
            f.check(rc == 0 and served(srv) == {DL[3]}, "--force drains anyway")
            for m in ("m1", "m2", "m3"):
                ctl("undrain", m)
            f.check(served(srv) == set(DL), "all back")

            # --- set-weight
            rc, out, _ = ctl("set-weight", "m2", "0")
            f.check(rc == 0 and DL[1] not in served(srv), "set-weight 0: never answered")
            rc, _, _ = ctl("set-weight", "m2", "7")
            # Weight 0 is still probed: m2 is answered again as soon as it is up.
            wait_until(lambda: DL[1] in served(srv), 10, "m2 probed and answered again")
            f.check(rc == 0 and mirror_status(ctl, "dl.pool.example.", "m2")["weight"] == 7,
                    "set-weight 7: back with weight 7")
            rc, _, _ = ctl("set-weight", "m2", "abc")
            f.check(rc == 2, "set-weight abc: usage error")

            # --- add / remove
            rc, out, err = ctl("add", "--pool", "dl.pool.example", "--id", "m5", "--address",
                               "127.0.1.75", "--weight", "3", "--check", "path=/")
            f.check(rc == 0, f"add m5 ({err.strip()})")
            wait_until(lambda: "127.0.1.75" in served(srv), 5, "m5 in the answers")
            f.check(True, "added mirror is probed and answered")
            rc, _, err = ctl("add", "--pool", "dl.pool.example", "--id", "m5", "--address",
                             "127.0.1.76")
            f.check(rc == 1 and "already" in err, "add a duplicate id: exit 1")
            rc, _, err = ctl("add", "--pool", "dl.pool.example", "--id", "m6", "--address",
                             "not-an-ip")
            f.check(rc == 1, f"add a bad address: exit 1 ({err.strip()})")
            rc, _, err = ctl("add", "--pool", "dl.pool.example", "--id", "m6", "--address",
                             "127.0.1.76", "--check", "port=0")
            f.check(rc == 1, f"add with a bad check override: exit 1 ({err.strip()})")
            rc, _, err = ctl("remove", "m5")
            f.check(rc == 0 and "127.0.1.75" not in served(srv), "remove m5")

            # --- check
            rc, out, err = ctl("check", "m1")
            f.check(rc == 0 and "OK" in out and "http" in out, f"check m1:\n{out}")
            fakes[3].status(503)
            rc, out, err = ctl("check", "m4")
            f.check(rc == 1 and "FAILED" in out and "503" in out, f"check a broken mirror:\n{out}")
            fakes[3].ok()

            # --- history
            rc, out, err = ctl("history", "m1")
            f.check(rc == 0 and "drain" in out and "disk replacement" in out and
                    "uid 0 (root)" in out, "history m1: the drain, its note and who")
            rc, out, err = ctl("history", "--since", "1h")
            f.check(rc == 0 and "m2" in out and "set-weight" in out, "history --since 1h")
            rc, _, err = ctl("history", "--since", "yesterday-ish")
            f.check(rc == 1, "history with a bad --since: exit 1")
            rc, out, err = ctl("history", "nosuch")
            f.check(rc == 1 and "no mirror 'nosuch'" in err and not out,
                    f"history of an unknown id: exit 1 and why ({rc}, {err.strip()})")

            rc, _, err = ctl("stauts")
            f.check(rc == 2 and "unknown command 'stauts' (did you mean 'status'?)" in err,
                    f"a mistyped command is named, with the nearest one ({rc}, {err.strip()})")

            # --- the notes of mirrors.json entries are shown
            entry = mirror_status(ctl, "tails.pool.example.", "mirror-a.example.org")
            f.check(entry and entry.get("notes") == "added 2024-03-02",
                    f"status --json shows a mirror's notes ({entry and entry.get('notes')})")
            rc, out, _ = ctl("status")
            f.check(rc == 0 and "notes: added 2024-03-02" in out, "status shows a mirror's notes")

            # --- export-mirrors-json round trip
            rc, out, err = ctl("export-mirrors-json", "--pool", "tails.pool.example")
            exported = json.loads(out) if rc == 0 else {}
            urls = {m["url_prefix"]: m for m in exported.get("mirrors", [])}
            f.check(rc == 0 and set(urls) == {m["url_prefix"] for m in MIRRORS_JSON["mirrors"]},
                    f"export-mirrors-json round trip ({err.strip()})")
            f.check(urls.get("http://mirror-a.example.org/tails/", {}).get("weight") == 10 and
                    urls.get("http://mirror-a.example.org/tails/", {}).get("notes") ==
                    "added 2024-03-02", "weights and notes survive the round trip")
            f.check(len(out.encode()) <= 8192, "export is at most 8192 bytes")
            ctl("drain", "mirror-a.example.org", "--note", "x", "--force")
            rc, out, _ = ctl("export-mirrors-json", "--pool", "tails.pool.example")
            f.check(rc == 0 and {m["url_prefix"]: m["weight"] for m in json.loads(out)["mirrors"]}
                    ["http://mirror-a.example.org/tails/"] == 0, "a drained mirror exports weight 0")
            rc, _, err = ctl("export-mirrors-json")
            f.check(rc == 1 and "--pool" in err, "several pools: export asks for --pool")

            # --- reliability weights from the prepared journal
            weights = {m["id"]: m["weight"] for p in status_json(ctl)["pools"]
                       if p["name"] == "rel.pool.example." for m in p["mirrors"]}
            f.check(weights == {"r1": 10, "r2": 2, "r3": 1, "r4": 2, "r5": 5, "r6": 1},
                    f"reliability weights {weights}")
            r6 = mirror_status(ctl, "rel.pool.example.", "r6")
            f.check(r6["removal_candidate"] and "http 503" in r6.get("failure_report", ""),
                    "two failures in 6 months: removal candidate with a failure report")
            rc, out, _ = ctl("status")
            f.check("removal candidate" in out and "admin@r6.example" in out,
                    "status text flags the removal candidate and whom to mail")

            # --- reload: broken, then good
            with open(srv.config_path) as c:
                good = c.read()
            with open(srv.config_path, "w") as c:
                c.write(good.replace("min_healthy = 2", "min_healthy = 2\nbogus_key = 1"))
            rc, out, err = ctl("reload")
            f.check(rc == 1 and f"{srv.config_path}:" in err and "bogus_key" in err,
                    f"broken reload: exit 1 with file:line:col ({err.strip()})")
            f.check(served(srv) == set(DL), "broken reload: still serving")
            # The ctl reads only the socket path from a broken config (-c), so
            # status works and reload reaches the daemon, which reports why.
            for broken, what in ((good.replace("min_healthy = 2", 'min_healthy = "2"'),
                                  "min_healthy"),
                                 (good + "\nlisten_typo = [1,,]\n", "TOML syntax error")):
                with open(srv.config_path, "w") as c:
                    c.write(broken)
                failures_before = srv.log().count("reload failed")
                rc, out, err = ctl("status", use_config=True)
                f.check(rc == 0 and "m1" in out, f"status with a broken config ({what}): {err}")
                rc, out, err = ctl("reload", use_config=True)
                f.check(rc == 1 and f"{srv.config_path}:" in err and what in err,
                        f"reload with a broken config ({what}) reaches the daemon: {err.strip()}")
                f.check(srv.log().count("reload failed") == failures_before + 1,
                        f"the daemon logged the failed reload ({what})")
            with open(srv.config_path, "w") as c:
                c.write(good)
            serial_before = soa_serial(srv)
            rc, out, err = ctl("reload")
            f.check(rc == 0, "good reload: exit 0")
            f.check(soa_serial(srv) >= serial_before, "a reload never lowers the serial")
            serial_before = soa_serial(srv)

            # --- persistence across restart
            ctl("drain", "m3", "--note", "persist me")
            ctl("set-weight", "m4", "9")
            f.check(srv.stop() == 0, "clean stop")
            srv.start()
            f.check(soa_serial(srv) >= serial_before, "a restart never lowers the serial")
            f.check(DL[2] not in served(srv) and
                    mirror_status(ctl, "dl.pool.example.", "m4")["weight"] == 9,
                    "drain and weight survive a restart")
            # --- kill -9 right after an acknowledged change
            rc, _, _ = ctl("drain", "m2", "--note", "then crash", "--force")
            srv.proc.send_signal(signal.SIGKILL)
            srv.proc.wait(5)
            srv.start()
            f.check(rc == 0 and DL[1] not in served(srv), "acknowledged change survives kill -9")
            # --- corrupt state file
            f.check(srv.stop() == 0, "stop")
            state = os.path.join(srv.dir, "state", "state.json")
            with open(state, "r+b") as s:
                data = bytearray(s.read())
                data[len(data) // 2] ^= 0x01
                s.seek(0)
                s.write(data)
            srv.start()
            f.check("starting from the config file alone" in srv.log() and
                    os.path.exists(state + ".corrupt"), "corrupt state file reported and kept")
            f.check(DL[1] in served(srv) and DL[2] in served(srv),
                    "after a corrupt state file the daemon serves the config")
            rc, _, _ = ctl("drain", "m1", "--note", "after corruption")
            f.check(rc == 0, "and takes changes again")
            f.check(srv.stop() == 0, "stop")
    finally:
        for m in fakes:
            m.stop()

    # Usage and not running.
    p = subprocess.run([CTL, "frobnicate"], capture_output=True, text=True)
    f.check(p.returncode == 2, "unknown command: exit 2")
    p = subprocess.run([CTL, "-s", "/nonexistent/control.sock", "status"], capture_output=True,
                       text=True)
    f.check(p.returncode == 3 and "not running" in p.stderr, "daemon not running: exit 3")
    f.finish()


if __name__ == "__main__":
    main()
