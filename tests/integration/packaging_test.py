"""What ships beside the binaries: packaging/mirrorpool.service passes
`systemd-analyze verify` (with the binaries it names and its man pages in
place), the man pages render without groff warnings, and the bash completion
of mirrorpoolctl completes the commands and flags mirrorpoolctl reports
(--list-commands), and live mirror ids and pool names from a running daemon."""

import os
import shutil
import subprocess
import tempfile

from harness import Failures, Server, ZONE, ctl_commands

ROOT = os.environ.get("SOURCE_ROOT", os.path.join(os.path.dirname(__file__), "..", ".."))
CTL = os.environ.get("MIRRORPOOLCTL", "mirrorpoolctl")
DAEMON = os.environ.get("MIRRORPOOLD", "mirrorpoold")
PACKAGING = os.path.join(ROOT, "packaging")
MAN_PAGES = {"mirrorpoold.8": "man8", "mirrorpoolctl.8": "man8", "mirrorpool.toml.5": "man5"}

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

[[pool]]
name = "dl.pool.example."
[pool.check]
type = "tcp"
port = 9
interval = "1s"
timeout = "200ms"
[[pool.mirror]]
id = "alpha"
addresses = ["127.0.1.201"]
[[pool.mirror]]
id = "beta"
addresses = ["127.0.1.202"]
"""


def verify_unit(f):
    tmp = tempfile.mkdtemp(prefix="mirrorpool-unit-")
    # The unit names the installed paths; verify checks that they are
    # executable, so point them at the built binaries.
    with open(os.path.join(PACKAGING, "mirrorpool.service")) as src:
        text = src.read()
    for name in ("/usr/sbin/mirrorpoold", "/usr/bin/mirrorpoolctl"):
        f.check(name in text, f"the unit runs {name}")
    text = text.replace("/usr/sbin/mirrorpoold", os.path.abspath(DAEMON))
    text = text.replace("/usr/bin/mirrorpoolctl", os.path.abspath(CTL))
    unit = os.path.join(tmp, "mirrorpool.service")
    with open(unit, "w") as dst:
        dst.write(text)
    # Documentation= is checked too: man finds the pages through MANPATH.
    man = os.path.join(tmp, "man")
    for page, sub in MAN_PAGES.items():
        os.makedirs(os.path.join(man, sub), exist_ok=True)
        shutil.copy(os.path.join(PACKAGING, "man", page), os.path.join(man, sub, page))
    r = subprocess.run(["systemd-analyze", "verify", unit], capture_output=True, text=True,
                       cwd=tmp, env={**os.environ, "MANPATH": man})
    f.check(r.returncode == 0 and r.stderr.strip() == "" and r.stdout.strip() == "",
            f"systemd-analyze verify is clean (rc {r.returncode}: {r.stdout}{r.stderr})")
    for directive in ("Type=notify", "User=mirrorpool", "ProtectSystem=strict",
                      "AmbientCapabilities=CAP_NET_BIND_SERVICE\n",
                      "CapabilityBoundingSet=CAP_NET_BIND_SERVICE\n",
                      "SystemCallFilter=@system-service", "NoNewPrivileges=yes"):
        f.check(directive in text, f"the unit sets {directive.strip()}")


def lint_man_pages(f):
    for page in MAN_PAGES:
        r = subprocess.run(["man", "--warnings", "-l", os.path.join(PACKAGING, "man", page)],
                           capture_output=True, text=True, env={**os.environ, "MANWIDTH": "80"})
        f.check(r.returncode == 0 and r.stderr == "" and "NAME" in r.stdout,
                f"{page} renders without warnings ({r.stderr.strip()})")


def complete(words, socket):
    """COMPREPLY for the command line `words`, the last one being completed."""
    script = (f"source {PACKAGING}/mirrorpoolctl.bash-completion\n"
              "COMP_WORDS=(\"$@\"); COMP_CWORD=$(($# - 1))\n"
              "_mirrorpoolctl\nprintf '%s\\n' \"${COMPREPLY[@]}\"\n")
    path = os.path.dirname(os.path.abspath(CTL)) + os.pathsep + os.environ.get("PATH", "")
    r = subprocess.run(["bash", "-c", script, "bash", "mirrorpoolctl", "-s", socket, *words],
                       capture_output=True, text=True, env={**os.environ, "PATH": path})
    return sorted(line for line in r.stdout.splitlines() if line)


def check_completion(f):
    commands = ctl_commands(CTL)
    f.check(len(commands) >= 10, f"mirrorpoolctl --list-commands lists the commands ({commands})")
    with Server(CONFIG, {"pool.example.zone": ZONE}) as srv:
        sock = os.path.join(srv.dir, "run", "control.sock")
        got = complete([""], sock)
        first_words = sorted({c.split()[0] for c in commands})
        f.check(got == first_words, f"commands complete ({got})")
        f.check(complete(["se"], sock) == ["set-weight"], "a prefix completes")
        got = complete(["dnssec", ""], sock)
        want = sorted(c.split()[1] for c in commands if c.startswith("dnssec "))
        f.check(got == want and len(want) == 4, f"a group's commands complete ({got})")
        for command, flags in sorted(commands.items()):
            got = complete([*command.split(), "--"], sock)
            want = sorted(flags | {"--help"})
            f.check(got == want, f"{command} flags complete ({got}, mirrorpoolctl has {want})")
        got = complete(["drain", ""], sock)
        f.check(got == ["alpha", "beta"], f"mirror ids complete from the daemon ({got})")
        got = complete(["drain", "alpha", ""], sock)
        f.check(got == [], f"only one mirror id is completed ({got})")
        got = complete(["add", "--pool", ""], sock)
        f.check(got == ["dl.pool.example."], f"pool names complete from the daemon ({got})")
        srv.stop()


def main():
    f = Failures()
    if shutil.which("systemd-analyze"):
        verify_unit(f)
    else:
        print("systemd-analyze not installed: unit not verified", flush=True)
    lint_man_pages(f)
    check_completion(f)
    f.finish()


if __name__ == "__main__":
    main()
