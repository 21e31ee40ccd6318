"""The man pages describe exactly what exists: every config key that the
config parser (dnsd/config/config*.cc) reads is in mirrorpool.toml(5) and every key
there is read; every mirrorpoolctl command and flag (as `mirrorpoolctl
--list-commands` reports them) is in mirrorpoolctl(8) and the other way round;
every mirrorpoold flag is in mirrorpoold(8)."""

import glob
import os
import re
import subprocess

from harness import Failures, ctl_commands

ROOT = os.environ.get("SOURCE_ROOT", os.path.join(os.path.dirname(__file__), "..", ".."))
CTL = os.environ.get("MIRRORPOOLCTL", "mirrorpoolctl")
DAEMON = os.environ.get("MIRRORPOOLD", "mirrorpoold")
MAN = os.path.join(ROOT, "packaging", "man")

# TableReader accessors in dnsd/config/config*.cc take the key as their first argument
# ("r.integer(\"port\", ..."); read_name/read_url_path take the reader first.
ACCESSOR = re.compile(
    r"\b\w+\s*\.\s*(string|strings|integer|read_integer|duration|boolean|location|country|find|"
    r"table|tables|"
    r"choice\s*<[^>]*>)\s*\(\s*\"([a-z0-9_]+)\"")
HELPER = re.compile(r"\b(?:read_name|read_url_path)\s*\(\s*\w+\s*,\s*\"([a-z0-9_]+)\"")


def code_keys():
    """(keys, tables): scalar keys and table names read by the config loader."""
    text = ""
    for path in sorted(glob.glob(os.path.join(ROOT, "dnsd", "config", "config*.cc"))):
        with open(path) as f:
            text += f.read()
    keys, tables = set(), set()
    for method, key in ACCESSOR.findall(text):
        (tables if method in ("table", "tables") else keys).add(key)
    keys.update(HELPER.findall(text))
    # "tsig" is both a [[zone]] key and the [tsig.NAME] table, "geo" a [[pool]]
    # key and the [server.geo] table; every other table name is only ever
    # probed with find() before being read as a table.
    keys -= tables - {"tsig", "geo"}
    return keys, tables


def read(name):
    with open(os.path.join(MAN, name)) as f:
        return f.read()


def section(text, name):
    """The roff text of one .SH section."""
    m = re.search(r"^\.SH " + re.escape(name) + r"\n(.*?)(?=^\.SH |\Z)", text, re.S | re.M)
    return m.group(1) if m else ""


def tagged(text):
    """The first word of each .TP tag line: '.TP\\n.B name ...'."""
    return {m.group(1).replace("\\-", "-")
            for m in re.finditer(r"^\.TP\n\.B[RI]? ((?:[a-z0-9_]|\\-)+)", text, re.M)}


def man_keys():
    desc = section(read("mirrorpool.toml.5"), "DESCRIPTION")
    tables = set()
    for heading in re.findall(r"^\.SS \[\[?([^\]]+)\]", desc, re.M):
        tables.update(p for p in heading.split(".") if p.islower())
    return tagged(desc), tables


def help_text(*args):
    return subprocess.run(args, capture_output=True, text=True).stdout


def man_commands():
    """{command: set of --flags} from the COMMANDS section of mirrorpoolctl(8)."""
    text = section(read("mirrorpoolctl.8"), "COMMANDS")
    out = {}
    # A command of a group has its words in bold: ".B dnssec status".
    for m in re.finditer(r"^\.TP\n\.B ((?:[a-z]|\\-)+(?: (?:[a-z]|\\-)+)*)(.*)$", text, re.M):
        flags = re.findall(r"\\-\\-([a-z](?:[a-z]|\\-)*)", m.group(2))
        out[m.group(1).replace("\\-", "-")] = {"--" + f.replace("\\-", "-") for f in flags}
    return out


def options(help_out):
    return set(re.findall(r"(?<![\w-])(--[a-z][a-z-]*|-[a-zA-Z])\b", help_out))


def man_options(page):
    text = section(read(page), "OPTIONS")
    return {o.replace("\\-", "-") for o in re.findall(r"(\\-\\-[a-z](?:[a-z]|\\-)*|\\-[a-zA-Z])\b", text)}


def compare(f, what, code, man):
    f.check(code - man == set(), f"{what}: in the code but not in the man page: {sorted(code - man)}")
    f.check(man - code == set(), f"{what}: in the man page but not in the code: {sorted(man - code)}")


def main():
    f = Failures()
    keys, tables = code_keys()
    f.check(len(keys) > 30 and {"listen", "max_lag", "notes"} <= keys,
            f"the key extraction finds the loader's keys ({len(keys)})")
    mkeys, mtables = man_keys()
    compare(f, "config keys", keys, mkeys)
    compare(f, "config tables", tables, mtables)

    commands = ctl_commands(CTL)
    f.check(len(commands) >= 10, f"mirrorpoolctl --list-commands lists the commands ({sorted(commands)})")
    mcommands = man_commands()
    compare(f, "mirrorpoolctl commands", set(commands), set(mcommands))
    for command in sorted(set(commands) & set(mcommands)):
        compare(f, f"mirrorpoolctl {command} flags", commands[command], mcommands[command])
    global_help = re.split(r"(?i)^subcommands:", help_text(CTL, "--help"), flags=re.M)[0]
    compare(f, "mirrorpoolctl options", options(global_help), man_options("mirrorpoolctl.8"))
    compare(f, "mirrorpoold options", options(help_text(DAEMON, "--help")),
            man_options("mirrorpoold.8"))
    f.finish()


if __name__ == "__main__":
    main()
