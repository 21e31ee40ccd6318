#!/usr/bin/env python3
"""The tree keeps the shape the READMEs describe.

- zones/ and health/ never include dnsd/ (and zones/ never includes health/):
  the DNS data model and the prober stand on their own.
- dnsd/ holds only sub-folders (and its meson.build and README.md); each
  sub-folder's README.md has a line "May include: a, b" naming the other
  dnsd/ folders its files may include, and they include no others.
- The folders' include graph has no cycle.
- A source file over 600 lines says at its top why it is one file.
"""

import os
import re
import sys

ROOT = os.environ.get("SOURCE_ROOT") or os.path.dirname(os.path.dirname(os.path.dirname(
    os.path.abspath(__file__))))
INCLUDE = re.compile(r'^\s*#\s*include\s+"([^"]+)"', re.M)
LONG_FILE_LINES = 600
LONG_FILE_REASON = "one file because"

problems = []


def sources(folder):
    for dirpath, _, names in os.walk(os.path.join(ROOT, folder)):
        for name in sorted(names):
            if name.endswith((".cc", ".hh")):
                yield os.path.join(dirpath, name)


def rel(path):
    return os.path.relpath(path, ROOT)


def includes(path):
    with open(path, encoding="utf-8") as f:
        return INCLUDE.findall(f.read())


def check_independent(folder, forbidden):
    for path in sources(folder):
        for inc in includes(path):
            if inc.split("/")[0] in forbidden:
                problems.append(f"{rel(path)} includes {inc}: {folder}/ must not depend on "
                                f"{inc.split('/')[0]}/")


def allowed_folders():
    allowed = {}
    dnsd = os.path.join(ROOT, "dnsd")
    for name in sorted(os.listdir(dnsd)):
        path = os.path.join(dnsd, name)
        if not os.path.isdir(path):
            if name not in ("meson.build", "README.md"):
                problems.append(f"dnsd/{name}: dnsd/ holds only its sub-folders")
            continue
        readme = os.path.join(path, "README.md")
        if not os.path.exists(readme):
            problems.append(f"dnsd/{name}/ has no README.md saying what it owns")
            continue
        with open(readme, encoding="utf-8") as f:
            m = re.search(r"^May include:(.*)$", f.read(), re.M)
        if not m:
            problems.append(f"dnsd/{name}/README.md has no 'May include:' line")
            continue
        words = [w.strip(" .`") for w in m.group(1).split(",")]
        allowed[name] = {w for w in words if w and w != "nothing else in dnsd/"}
    return allowed


def check_dnsd(allowed):
    edges = {name: set() for name in allowed}
    for name in allowed:
        for other in allowed[name]:
            if other not in allowed:
                problems.append(f"dnsd/{name}/README.md: may include '{other}', "
                                "which is no folder of dnsd/")
        for path in sources(os.path.join("dnsd", name)):
            for inc in includes(path):
                parts = inc.split("/")
                if parts[0] != "dnsd" or len(parts) < 3 or parts[1] == name:
                    continue
                if parts[1] not in allowed[name]:
                    problems.append(f"{rel(path)} includes {inc}, but dnsd/{name}/README.md "
                                    f"does not list {parts[1]}")
                edges[name].add(parts[1])
    # Depth-first search for a cycle in the folders' include graph.
    state = {}

    def visit(node, trail):
        state[node] = "open"
        for nxt in sorted(edges.get(node, ())):
            if state.get(nxt) == "open":
                cycle = trail[trail.index(nxt):] + [nxt] if nxt in trail else [node, nxt]
                problems.append("include cycle between folders: " + " -> ".join(cycle))
            elif nxt not in state:
                visit(nxt, trail + [nxt])
        state[node] = "done"

    for node in sorted(edges):
        if node not in state:
            visit(node, [node])


def check_long_files():
    for folder in ("dnsd", "health", "zones"):
        for path in sources(folder):
            with open(path, encoding="utf-8") as f:
                lines = f.read().splitlines()
            if len(lines) > LONG_FILE_LINES:
                head = " ".join(lines[:20]).lower()
                if LONG_FILE_REASON not in head:
                    problems.append(f"{rel(path)} has {len(lines)} lines and does not say at its "
                                    f"top why it is {LONG_FILE_REASON} ...")


def main():
    check_independent("zones", {"dnsd", "health"})
    check_independent("health", {"dnsd"})
    check_dnsd(allowed_folders())
    check_long_files()
    for p in problems:
        print("FAIL:", p)
    if problems:
        return 1
    print("layout: ok")
    return 0


if __name__ == "__main__":
    sys.exit(main())
