"""The Debian package, on this machine: lintian finds no error in the .deb
from packaging/build-deb; installing it puts the binaries, the configuration
(as conffiles), the unit, the man pages and the completion in place, creates
the mirrorpool user and group and the state and run directories, and neither
enables nor starts the service; the installed unit passes
`systemd-analyze verify`; the installed mirrorpoold, started as root with a
loopback-only test configuration (never the packaged one, whose mirrors are on
other networks), drops to the mirrorpool user, answers, and is operated with
the installed mirrorpoolctl, also by the mirrorpool user; removing the package
keeps the conffiles and purging it removes everything it created.

The .deb comes from $MIRRORPOOL_DEB (tests/run builds it and sets it; a path
that does not exist is a failed package build). The test installs and purges
the package, so it needs root and a machine where mirrorpool is not
installed (it fails rather than touch an existing installation). Without
root or without $MIRRORPOOL_DEB it is skipped (exit 77), except under CI (CI
set in the environment), where that is a failure.
"""

import grp
import json
import os
import pwd
import stat
import subprocess
import sys

import harness
from fake_mirror import FakeMirror
from harness import ZONE, Failures, Server, addresses, free_port, wait_until

SOURCE_ROOT = os.environ.get("SOURCE_ROOT", os.path.join(os.path.dirname(__file__), "..", ".."))
DEB = os.environ.get("MIRRORPOOL_DEB", "")
PACKAGE = "mirrorpool"
DAEMON = "/usr/sbin/mirrorpoold"
CTL = "/usr/bin/mirrorpoolctl"
UNIT = "/lib/systemd/system/mirrorpool.service"
STATE_DIR = "/var/lib/mirrorpool"
RUN_DIR = "/run/mirrorpool"
SOCKET = RUN_DIR + "/control.sock"
CONFFILES = ["/etc/mirrorpool/mirrorpool.toml", "/etc/mirrorpool/pool.example.zone"]
INSTALLED = [DAEMON, CTL, UNIT, *CONFFILES,
             "/usr/share/man/man8/mirrorpoold.8.gz", "/usr/share/man/man8/mirrorpoolctl.8.gz",
             "/usr/share/man/man5/mirrorpool.toml.5.gz",
             "/usr/share/bash-completion/completions/mirrorpoolctl",
             "/usr/lib/tmpfiles.d/mirrorpool.conf",
             "/usr/share/doc/mirrorpool/copyright",
             "/usr/share/doc/mirrorpool/operator-guide.md.gz",
             "/usr/share/doc/mirrorpool/examples/mirrorpool.toml",
             "/usr/share/doc/mirrorpool/examples/prometheus/mirrorpool-alerts.yml",
             "/usr/share/doc/mirrorpool/examples/prometheus/mirrorpool-alerts.test.yml"]
MIRRORS = ["127.0.1.131", "127.0.1.132", "127.0.1.133"]
# dpkg wants ldconfig and start-stop-daemon, adduser wants useradd: all in sbin,
# which a non-login PATH may lack.
for sbin in ("/usr/sbin", "/sbin"):
    if sbin not in os.environ.get("PATH", "").split(os.pathsep):
        os.environ["PATH"] = os.environ.get("PATH", "") + os.pathsep + sbin

# Loopback only: the daemon listens on 127.0.0.1 and probes the fake mirrors
# above. As root it binds, then drops to the account the package created, and
# uses the package's state and run directories.
CONFIG = """
[server]
listen = ["127.0.0.1:{port}"]
workers = 1
control_socket = "/run/mirrorpool/control.sock"
state_dir = "/var/lib/mirrorpool"
user = "mirrorpool"

[[zone]]
origin = "pool.example."
file = "pool.example.zone"

[[pool]]
name = "dl.pool.example."
max_answers = 8
[pool.check]
type = "http"
port = MIRROR_PORT
path = "/tails/"
interval = "300ms"
timeout = "200ms"
rise = 1
fall = 1
""" + "".join(f'[[pool.mirror]]\nid = "m{i}"\naddresses = ["{a}"]\n' for i, a in enumerate(MIRRORS))


def run(*cmd, **kw):
    return subprocess.run(cmd, capture_output=True, text=True, timeout=kw.pop("timeout", 300), **kw)


def not_possible(why):
    """Skip, or fail under CI, where the package must be tested."""
    if os.environ.get("CI"):
        print(f"FAIL: {why}", flush=True)
        sys.exit(1)
    print(f"skipped: {why}", flush=True)
    sys.exit(77)


def dpkg_status():
    r = run("dpkg-query", "-W", "-f=${Status}", PACKAGE)
    return r.stdout.strip() if r.returncode == 0 else "not-installed"


def account_exists():
    try:
        pwd.getpwnam(PACKAGE)
        return True
    except KeyError:
        pass
    try:
        grp.getgrnam(PACKAGE)
        return True
    except KeyError:
        return False


def preconditions():
    if not DEB:
        not_possible("MIRRORPOOL_DEB is not set (tests/run builds the .deb and sets it)")
    if not os.path.isfile(DEB):
        # Set but missing: the package build failed (tests/run says so this way).
        print(f"FAIL: MIRRORPOOL_DEB={DEB} does not exist: did packaging/build-deb fail?",
              flush=True)
        sys.exit(1)
    if os.geteuid() != 0:
        not_possible("installing the package needs root")
    # The test purges what it installed: it never touches a mirrorpool that
    # was there before it, nor an account or directory of that name.
    leftovers = [what for what, there in (
        (f"package {PACKAGE} ({dpkg_status()})", dpkg_status() != "not-installed"),
        (f"user or group {PACKAGE}", account_exists()),
        (STATE_DIR, os.path.exists(STATE_DIR)), ("/etc/mirrorpool", os.path.exists("/etc/mirrorpool")))
        if there]
    if leftovers:
        print(f"FAIL: already on this machine: {', '.join(leftovers)}; this test installs and "
              f"purges the package and leaves an existing installation alone "
              f"(dpkg --purge {PACKAGE} to clean up a previous run)", flush=True)
        sys.exit(1)


def check_lintian(f):
    r = run("lintian", "--fail-on", "error", "--display-info", DEB, timeout=600)
    print(f"lintian output:\n{r.stdout}{r.stderr}", flush=True)
    errors = [line for line in r.stdout.splitlines() if line.startswith("E:")]
    f.check(r.returncode == 0 and not errors, f"lintian: no errors (rc {r.returncode}, {errors})")


def package_files():
    """Every non-directory path the .deb ships."""
    tar = subprocess.run(["dpkg-deb", "--fsys-tarfile", DEB], capture_output=True, timeout=60,
                         check=True).stdout
    out = subprocess.run(["tar", "-tf", "-"], input=tar, capture_output=True, timeout=60,
                         check=True).stdout.decode()
    # Paths are listed as ./usr/sbin/mirrorpoold.
    return [p[1:] for p in out.splitlines() if not p.endswith("/")]


def check_installed(f):
    for path in INSTALLED:
        f.check(os.path.isfile(path), f"installed: {path}")
    for path in (DAEMON, CTL):
        f.check(os.access(path, os.X_OK), f"{path} is executable")
    with open(os.path.join(SOURCE_ROOT, "packaging", "mirrorpool.toml")) as a, \
            open(CONFFILES[0]) as b:
        f.check(a.read() == b.read(), "/etc/mirrorpool/mirrorpool.toml is the annotated example")
    conffiles = run("dpkg-query", "-W", "-f=${Conffiles}", PACKAGE).stdout
    listed = {line.split()[0] for line in conffiles.splitlines() if line.strip()}
    f.check(listed == set(CONFFILES), f"conffiles: {sorted(listed)}")
    depends = run("dpkg-query", "-W", "-f=${Depends}", PACKAGE).stdout
    f.check("libcurl4 (>= 7.85.0)" in depends,
            f"depends on libcurl4, which the prober loads for HTTP checks ({depends})")
    version = run("dpkg-query", "-W", "-f=${Version}", PACKAGE).stdout.strip()
    r = run(DAEMON, "--version")
    f.check(r.returncode == 0 and version and version in r.stdout,
            f"mirrorpoold --version names the package version {version} ({r.stdout.strip()})")
    r = run(DAEMON, "--check-config", "-c", CONFFILES[0])
    f.check(r.returncode == 0, f"the installed configuration passes --check-config "
                               f"(rc {r.returncode}: {r.stdout}{r.stderr})")

    try:
        user = pwd.getpwnam(PACKAGE)
        group = grp.getgrnam(PACKAGE)
    except KeyError as e:
        f.check(False, f"user and group {PACKAGE} exist ({e})")
        return
    f.check(user.pw_uid < 1000 and user.pw_gid == group.gr_gid,
            f"system user {PACKAGE} (uid {user.pw_uid}) with its own group (gid {group.gr_gid})")
    f.check(user.pw_shell in ("/usr/sbin/nologin", "/bin/false") and user.pw_dir == STATE_DIR,
            f"no login shell ({user.pw_shell}), home {user.pw_dir}")
    for d in (STATE_DIR, RUN_DIR):
        st = os.stat(d) if os.path.isdir(d) else None
        f.check(st is not None and st.st_uid == user.pw_uid and st.st_gid == group.gr_gid
                and stat.S_IMODE(st.st_mode) == 0o750,
                f"{d}: directory mirrorpool:mirrorpool 0750")
    wants = "/etc/systemd/system/multi-user.target.wants/mirrorpool.service"
    f.check(not os.path.lexists(wants), "the service is not enabled on install")


def check_unit(f):
    with open(UNIT) as u:
        text = u.read()
    f.check("User=mirrorpool\n" in text and "Group=mirrorpool\n" in text,
            "the unit runs as mirrorpool")
    r = run("systemd-analyze", "verify", UNIT)
    f.check(r.returncode == 0 and not (r.stdout + r.stderr).strip(),
            f"systemd-analyze verify {UNIT} is clean (rc {r.returncode}: {r.stdout}{r.stderr})")


def ctl(*args, as_user=None):
    cmd = [CTL, "-s", SOCKET, *args]
    if as_user:
        cmd = ["runuser", "-u", as_user, "--", *cmd]
    r = run(*cmd, timeout=60)
    return r.returncode, r.stdout, r.stderr


def check_running(f):
    user = pwd.getpwnam(PACKAGE)
    mport = free_port()
    fakes = [FakeMirror(a, mport).start() for a in MIRRORS]
    harness.MIRRORPOOLD = DAEMON
    srv = Server(CONFIG.replace("MIRROR_PORT", str(mport)), {"pool.example.zone": ZONE},
                 start=False)
    try:
        with srv:
            srv.start()
            with open(f"/proc/{srv.proc.pid}/status") as s:
                uids = next(line.split()[1:] for line in s if line.startswith("Uid:"))
            f.check(uids == [str(user.pw_uid)] * 4, f"mirrorpoold dropped to mirrorpool ({uids})")
            got, _ = wait_until(lambda: addresses(srv.query("dl.pool.example.", "A")) == set(MIRRORS),
                                10, "every fake mirror in the answers")
            f.check(got, "the installed daemon answers dl.pool.example A with the mirrors")
            st = os.stat(SOCKET)
            f.check(stat.S_ISSOCK(st.st_mode) and st.st_gid == user.pw_gid
                    and stat.S_IMODE(st.st_mode) == 0o660,
                    "control socket in /run/mirrorpool, mode 0660, group mirrorpool")

            rc, out, err = ctl("status", "--json")
            ids = []
            if rc == 0:
                ids = [m["id"] for p in json.loads(out)["pools"] for m in p["mirrors"]]
            f.check(rc == 0 and len(ids) == 3, f"installed mirrorpoolctl status ({ids}, {err})")
            rc, out, err = ctl("drain", ids[0] if ids else "?", "--note", "deb test",
                               as_user=PACKAGE)
            f.check(rc == 0, f"the mirrorpool user drains a mirror through the socket ({err})")
            wait_until(lambda: MIRRORS[0] not in addresses(srv.query("dl.pool.example.", "A")),
                       5, "the drained mirror to leave the answers")
            rc, out, err = ctl("history")
            f.check(rc == 0 and "deb test" in out, f"history shows the drain ({err})")
            state = os.path.join(STATE_DIR, "state.json")
            f.check(os.path.isfile(state) and os.stat(state).st_uid == user.pw_uid,
                    "run-time state written to /var/lib/mirrorpool by the mirrorpool user")
            f.check(srv.stop() == 0, "mirrorpoold stops cleanly on SIGTERM")
    finally:
        for m in fakes:
            m.stop()


def check_remove_and_purge(f, shipped):
    r = run("dpkg", "--remove", PACKAGE)
    f.check(r.returncode == 0, f"dpkg --remove ({r.stderr.strip()})")
    f.check(dpkg_status() == "deinstall ok config-files", f"removed, config kept ({dpkg_status()})")
    f.check(all(os.path.exists(c) for c in CONFFILES) and not os.path.exists(DAEMON),
            "after remove: binaries gone, conffiles kept")
    r = run("dpkg", "--purge", PACKAGE)
    f.check(r.returncode == 0, f"dpkg --purge ({r.stderr.strip()})")
    f.check(dpkg_status() == "not-installed", f"purged ({dpkg_status()})")
    left = [p for p in shipped if os.path.lexists(p)]
    f.check(not left, f"no file of the package is left ({left})")
    for d in ("/etc/mirrorpool", STATE_DIR, RUN_DIR):
        f.check(not os.path.exists(d), f"purge removes {d}")
    f.check(not account_exists(), "purge removes the mirrorpool user and group")


def main():
    preconditions()
    f = Failures()
    check_lintian(f)
    shipped = package_files()
    env = {**os.environ, "DEBIAN_FRONTEND": "noninteractive"}
    try:
        r = run("dpkg", "--install", DEB, env=env)
        f.check(r.returncode == 0, f"dpkg --install {DEB} ({r.stdout}{r.stderr})")
        if r.returncode != 0:
            f.finish()
        check_installed(f)
        check_unit(f)
        # Installing again runs postinst again: the account and the
        # directories are kept as they are.
        r = run("dpkg", "--install", DEB, env=env)
        f.check(r.returncode == 0 and account_exists() and os.path.isdir(STATE_DIR),
                f"reinstalling works ({r.stderr.strip()})")
        check_running(f)
        check_remove_and_purge(f, shipped)
    finally:
        # Whatever failed above: the machine is left without the package.
        if dpkg_status() != "not-installed":
            run("dpkg", "--purge", PACKAGE)
    f.finish()


if __name__ == "__main__":
    main()
