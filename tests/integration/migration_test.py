"""Migrating a Tails-style pool and running it with mirrorpoolctl, on the real
binaries (issue 21, items 2, 3, 5 and 6): parked (weight 0) mirrors are probed
and never answered; dated failures in mirrors.json notes reach the journal and
the removal-candidate rule, and notes that do not parse are warned about;
export-mirrors-json includes every mirror or names the one it cannot write, and
round-trips with the import; `add` speaks for itself."""

import datetime
import json
import os
import subprocess

from fake_mirror import FakeMirror
from harness import Failures, Server, addresses, free_port, wait_until

CTL = os.environ.get("MIRRORPOOLCTL", "mirrorpoolctl")
MIRRORPOOLD = os.environ.get("MIRRORPOOLD", "mirrorpoold")

ZONE = """$ORIGIN pool.example.
$TTL 3600
@   IN SOA ns1 hostmaster 1 3600 900 604800 300
@   IN NS  ns1
ns1 IN A   127.0.0.53
"""

POOL = "tails.pool.example."
A, B, PARKED, BROKEN = "127.0.2.11", "127.0.2.12", "127.0.2.13", "127.0.2.14"
E, PLAIN, EXTRA = "127.0.2.15", "127.0.2.16", "127.0.2.17"


def config(mport):
    return f"""
[server]
listen = ["127.0.0.1:{{port}}"]
workers = 1
control_socket = "{{dir}}/control.sock"
state_dir = "{{dir}}/state"
user = "root"

[[zone]]
origin = "pool.example."
file = "pool.example.zone"

[[pool]]
name = "{POOL}"
max_answers = 8
mirrors_json = "mirrors.json"
[pool.check]
type = "http"
port = {mport}
path = "/tails/"
interval = "400ms"
timeout = "300ms"
rise = 1
fall = 1
"""


def day(days_ago):
    return (datetime.date.today() - datetime.timedelta(days=days_ago)).isoformat()


def mirrors_json():
    return {"mirrors": [
        {"url_prefix": "http://mirror-a.example.org/tails/", "weight": 10,
         "email": "mirrors@mirror-a.example.org", "notes": "added 2024-03-02",
         "addresses": [A]},
        # The hand-kept record: two failures within 6 months.
        {"url_prefix": "http://tails.mirror-b.example.net/", "weight": 5,
         "notes": f"{day(40)}: No route to host; {day(100)}: expired TLS certificate.; "
                  "added 2023-11-10",
         "addresses": [B]},
        # Parked: weight 0, and fine again.
        {"url_prefix": "http://parked.example.com/tails/", "weight": 0,
         "addresses": [PARKED]},
        # Parked and still broken.
        {"url_prefix": "http://broken.example.com/tails/", "weight": 0,
         "notes": "down since spring", "addresses": [BROKEN]},
    ]}


class Ctl:
    def __init__(self, srv):
        self.socket = os.path.join(srv.dir, "control.sock")

    def __call__(self, *args):
        p = subprocess.run([CTL, "-s", self.socket, *args], capture_output=True, text=True,
                           timeout=60)
        return p.returncode, p.stdout, p.stderr


def served(srv):
    return addresses(srv.query(POOL, "A"))


def mirror_status(ctl, mid):
    rc, out, err = ctl("status", "--json")
    assert rc == 0, err
    for p in json.loads(out)["pools"]:
        for m in p["mirrors"]:
            if m["id"] == mid:
                return m
    return None


def parked_mirrors(f, srv, ctl):
    """Item 2: weight 0 mirrors are probed (status shows their health), never
    answered, and served at once when their weight is raised."""
    wait_until(lambda: served(srv) == {A, B}, 10, "the two enabled mirrors")
    for _ in range(20):
        f.check(not served(srv) & {PARKED, BROKEN}, "a parked mirror is never answered")
    parked = mirror_status(ctl, "parked.example.com")
    address = parked["addresses"][0]
    f.check(parked["state"] == "disabled" and address["state"] == "up" and
            address["last_check"] and address["latency_ms"] is not None,
            f"a parked mirror is probed and status shows it healthy ({parked})")
    broken = mirror_status(ctl, "broken.example.com")["addresses"][0]
    f.check(broken["state"] == "down" and broken["reason"] == "http 503" and broken["last_check"],
            f"a parked, broken mirror is probed and status shows why it fails ({broken})")
    rc, out, err = ctl("status")
    line = next((ln for ln in out.splitlines() if BROKEN in ln), "")
    f.check(rc == 0 and "disabled" in line and " down " in line and "http 503" in line,
            f"the status table shows a parked mirror's health ({line.strip()})")
    rc, out, err = ctl("check", "broken.example.com")
    f.check(rc == 1 and "503" in out, f"check probes a parked mirror ({rc} {err.strip()})")
    # Already probed: raising the weight serves it in the same change, without
    # waiting for a first probe.
    rc, out, err = ctl("set-weight", "parked.example.com", "2")
    after = out.split("after:")[1].splitlines()[0] if "after:" in out else ""  # the A set
    f.check(rc == 0 and PARKED in after, f"an unparked, healthy mirror is served at once ({out})")
    f.check(PARKED in served(srv), "and answered")
    ctl("set-weight", "parked.example.com", "0")
    f.check(PARKED not in served(srv), "parked again: not answered")
    log = srv.log()
    f.check(f"{BROKEN}" in log and "UP→DOWN" in log,
            "a parked mirror's failure is logged like any other")


def notes_journal_lines(srv):
    with open(os.path.join(srv.dir, "state", "journal.log")) as j:
        return [line for line in j if '"who":"notes"' in line]


def imported_notes(f, srv, ctl):
    """Item 3: dated failures in mirrors.json notes reach the journal once, and
    the removal-candidate rule counts them; unread notes are warned about."""
    b = mirror_status(ctl, "tails.mirror-b.example.net")
    reasons = [x["reason"] for x in b["failures"]]
    f.check(b["removal_candidate"] and reasons == ["expired TLS certificate", "No route to host"],
            f"two dated failures in the notes make a removal candidate ({b['failures']})")
    f.check("No route to host" in b.get("failure_report", ""), "and are in its failure report")
    f.check(b["notes"].startswith(day(40)), "the notes stay as text")
    rc, out, err = ctl("status")
    f.check("removal candidate: 2 failures" in out, "the status table flags it")
    rc, out, err = ctl("history", "tails.mirror-b.example.net")
    f.check(rc == 0 and f"{day(40)}T00:00:00Z" in out and "notes" in out and
            "No route to host" in out, f"history shows the imported failures:\n{out}")
    f.check(len(notes_journal_lines(srv)) == 2, "two journal lines imported")
    with open(os.path.join(srv.dir, "state", "state.json")) as j:
        seen = {x["mirror"]: x["when"] for x in json.load(j)["state"]["first_seen"]}
    f.check(seen.get("mirror-a.example.org") == "2024-03-02T00:00:00Z" and
            seen.get("tails.mirror-b.example.net") == "2023-11-10T00:00:00Z",
            f"'added DATE' is the mirror's first-seen time ({seen})")
    # Reload and restart import nothing twice.
    rc, _, err = ctl("reload")
    f.check(rc == 0, f"reload ({err.strip()})")
    f.check(srv.stop() == 0, "clean stop")
    srv.start()
    f.check(len(notes_journal_lines(srv)) == 2,
            f"reload and restart import nothing again ({len(notes_journal_lines(srv))})")
    f.check(len(mirror_status(ctl, "tails.mirror-b.example.net")["failures"]) == 2,
            "still two failures")
    # --check-config names what it could not read, at the notes.
    p = subprocess.run([MIRRORPOOLD, "--check-config", "-c", srv.config_path],
                       capture_output=True, text=True, timeout=60)
    path = os.path.join(srv.dir, "mirrors.json")
    with open(path) as j:
        lines = j.read().splitlines()
    line = next(i for i, text in enumerate(lines, 1) if "down since spring" in text)
    col = lines[line - 1].index('"down since spring"') + 1
    f.check(p.returncode == 0 and
            f"{path}:{line}:{col}: warning: notes of mirror 'broken.example.com': "
            f"\"down since spring\" is neither a dated failure" in p.stderr and
            "tails.mirror-b.example.net" not in p.stderr,
            f"--check-config warns about unread notes at file:line:col ({p.stderr.strip()})")


def mirrors_of(ctl):
    rc, out, err = ctl("status", "--json")
    assert rc == 0, err
    return {m["id"]: (m["weight"], m["email"], m["notes"], [a["address"] for a in m["addresses"]])
            for p in json.loads(out)["pools"] for m in p["mirrors"]}


def export_round_trip(f, srv, ctl):
    """Item 5: add takes --url-prefix and --email; the export has every mirror
    with its addresses, fails naming a mirror it cannot write, and reads back
    as the same pool."""
    rc, out, err = ctl("add", "--pool", POOL, "--id", "mirror-e", "--address", E, "--url-prefix",
                       "http://mirror-e.example.org/tails/", "--email",
                       "admin@mirror-e.example.org")
    f.check(rc == 0, f"add --url-prefix --email ({err.strip()})")
    wait_until(lambda: E in served(srv), 10, "mirror-e probed and answered")
    rc, out, err = ctl("add", "--pool", POOL, "--id", "plain", "--address", PLAIN)
    f.check(rc == 0, f"add without --url-prefix ({err.strip()})")
    rc, out, err = ctl("export-mirrors-json")
    f.check(rc == 1 and not out and "plain" in err and "url_prefix" in err and
            "mirror-e" not in err,
            f"export fails loudly, naming the mirror without a url_prefix ({err.strip()})")
    ctl("remove", "plain")
    rc, out, err = ctl("export-mirrors-json")
    f.check(rc == 0, f"export ({err.strip()})")
    exported = json.loads(out) if rc == 0 else {"mirrors": []}
    by_url = {m["url_prefix"]: m for m in exported["mirrors"]}
    f.check(len(exported["mirrors"]) == 5 and
            all(m.get("addresses") for m in exported["mirrors"]),
            f"every mirror is exported with its addresses ({sorted(by_url)})")
    e = by_url.get("http://mirror-e.example.org/tails/", {})
    f.check(e.get("id") == "mirror-e" and e.get("email") == "admin@mirror-e.example.org" and
            e.get("addresses") == [E] and e.get("weight") == 1,
            f"the added mirror with its URL, id, email and address ({e})")
    f.check("id" not in by_url.get("http://mirror-a.example.org/tails/", {"id": 1}),
            "no id where the URL's host is the id")
    before = mirrors_of(ctl)
    # The export as the pool's mirrors.json: import, export, import.
    with open(os.path.join(srv.dir, "mirrors.json"), "w") as j:
        j.write(out)
    ctl("remove", "mirror-e")  # now in the file
    rc, _, err = ctl("reload")
    f.check(rc == 0, f"reload with the exported mirrors.json ({err.strip()})")
    wait_until(lambda: E in served(srv), 10, "mirror-e from the file answered")
    f.check(mirrors_of(ctl) == before, f"the same mirrors after the round trip "
                                       f"({mirrors_of(ctl)} != {before})")
    rc, again, err = ctl("export-mirrors-json")
    f.check(rc == 0 and json.loads(again) == exported,
            f"and the same export ({again} != {out})")


def add_messages(f, srv, ctl):
    """Item 6: add speaks for itself and names the other mirror; replacing a
    removed config mirror, and state the config file later clashes with, are
    said once, not at every change, reload and restart."""
    rc, _, err = ctl("add", "--pool", POOL, "--id", "dup", "--address", A)
    f.check(rc == 1 and f"cannot add dup to {POOL}: address {A} already belongs to mirror "
            "'mirror-a.example.org'" in err and "state.json" not in err,
            f"a duplicate address names the other mirror ({err.strip()})")
    rc, _, err = ctl("add", "--pool", POOL, "--id", "bad", "--address", EXTRA, "--check",
                     "port=0")
    f.check(rc == 1 and f"cannot add bad to {POOL}: --check:" in err and "port" in err and
            "state.json" not in err and "no longer validate" not in err,
            f"a bad --check is add's own error ({err.strip()})")
    # A mirror of the (now exported) mirrors.json, removed and added again.
    b = "tails.mirror-b.example.net"
    rc, _, err = ctl("remove", b)
    f.check(rc == 0, f"remove {b} ({err.strip()})")
    rc, out, err = ctl("add", "--pool", POOL, "--id", b, "--address", PLAIN)
    f.check(rc == 0 and "in place of the config file's mirror" in out and "warning" not in out,
            f"add of a removed config mirror's id replaces it, without warning ({out}{err})")
    wait_until(lambda: PLAIN in served(srv) and B not in served(srv), 10, "the new mirror-b")
    rc, out, _ = ctl("drain", "mirror-a.example.org", "--note", "x")
    ctl("undrain", "mirror-a.example.org")
    f.check(rc == 0 and "warning" not in out, f"no warning at a later change ({out})")
    ctl("reload")
    f.check(srv.stop() == 0, "clean stop")
    srv.start()
    f.check(PLAIN in served(srv) and B not in served(srv), "the replacement survives a restart")
    f.check("is ignored" not in srv.log(), "nothing was ignored at changes, reload or restart")
    # State that the config file comes to clash with is said once.
    rc, _, err = ctl("add", "--pool", POOL, "--id", "extra", "--address", EXTRA)
    f.check(rc == 0, f"add extra ({err.strip()})")
    path = os.path.join(srv.dir, "mirrors.json")
    with open(path) as j:
        pool = json.load(j)
    pool["mirrors"].append({"url_prefix": "http://extra.example.org/", "id": "extra",
                            "weight": 0, "addresses": ["127.0.2.18"]})
    with open(path, "w") as j:
        json.dump(pool, j)
    ctl("reload")
    said = lambda: srv.log().count("added to pool")  # noqa: E731
    f.check(said() == 1, f"the clash is logged once at the reload ({said()})")
    rc, out, _ = ctl("drain", "mirror-a.example.org", "--note", "x")
    ctl("undrain", "mirror-a.example.org")
    ctl("reload")
    f.check(rc == 0 and "warning" not in out and said() == 1,
            f"and not again at later changes and reloads ({said()}, {out})")


def dry_run_health(f, ctl):
    """Item 7: --dry-run previews with the answers' health rules: raising the
    weight of a parked mirror that fails its probes, or adding an address
    nobody answers on, leaves the "after" set without it."""
    rc, out, err = ctl("set-weight", "broken.example.com", "5", "--dry-run")
    after = [l for l in out.splitlines() if "after:" in l]
    f.check(rc == 0 and after and BROKEN not in out.split("after:")[1] and
            "dry run" in out,
            f"set-weight --dry-run on a failing parked mirror: not in the after set ({out})")
    dead = "127.0.2.19"  # no fake mirror listens there
    rc, out, err = ctl("add", "--pool", POOL, "--id", "dead", "--address", dead, "--dry-run")
    f.check(rc == 0 and "after:" in out and dead not in out.split("after:")[1],
            f"add --dry-run of a dead address: not in the after set ({out} {err})")
    rc, out, _ = ctl("status")
    f.check("dead" not in out.split() and "127.0.2.19" not in out, "a dry run changes nothing")


def host_name_columns(f, ctl):
    """Item 8: mirrors.json ids are host names, longer than the old
    18-character MIRROR column; status and history keep their columns."""
    rc, out, _ = ctl("status")
    lines = out.splitlines()
    header = next((l for l in lines if "MIRROR" in l and "ADDRESS" in l), "")
    column = header.find("ADDRESS")
    rows = [l for l in lines if "127.0.2." in l and "serving" not in l]
    f.check(rc == 0 and column > 0 and rows and
            all(l.find("127.0.2.") == column for l in rows),
            "status: with host-name ids every address stays under ADDRESS")
    rc, out, _ = ctl("history", "tails.mirror-b.example.net")
    lines = out.splitlines()
    f.check(rc == 0 and lines and lines[0].startswith("TIME") and "MIRROR" in lines[0],
            "history starts with a header")
    at = lines[0].find("MIRROR") if lines else -1
    f.check(len(lines) > 1 and
            all(l.find("tails.mirror-b.example.net") == at for l in lines[1:] if "tails." in l),
            "history: the host-name id sits under MIRROR on every line")


def main():
    f = Failures()
    mport = free_port()
    fakes = {a: FakeMirror(a, mport).start() for a in (A, B, PARKED, BROKEN, E, PLAIN, EXTRA)}
    fakes[BROKEN].status(503)
    srv = Server(config(mport), {"pool.example.zone": ZONE,
                                 "mirrors.json": json.dumps(mirrors_json(), indent=2)})
    ctl = Ctl(srv)
    try:
        with srv:
            parked_mirrors(f, srv, ctl)
            imported_notes(f, srv, ctl)
            host_name_columns(f, ctl)
            dry_run_health(f, ctl)
            export_round_trip(f, srv, ctl)
            add_messages(f, srv, ctl)
    finally:
        for m in fakes.values():
            m.stop()
    f.finish()


if __name__ == "__main__":
    main()
