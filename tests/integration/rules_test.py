"""packaging/prometheus/mirrorpool-alerts.yml, the alerting rules shipped for
/metrics: `promtool check rules` accepts it, `promtool test rules` passes its
unit tests (mirrorpool-alerts.test.yml), and every mirrorpool_ metric it uses
is one that dnsd/http/metrics.cc writes. promtool comes from Debian's
prometheus package (packaging/install-deps). Needs no mirrorpool binary."""

import os
import re
import shutil
import subprocess

from harness import Failures

ROOT = os.environ.get("SOURCE_ROOT", os.path.join(os.path.dirname(__file__), "..", ".."))
RULES_DIR = os.path.join(ROOT, "packaging", "prometheus")
RULES = os.path.join(RULES_DIR, "mirrorpool-alerts.yml")
METRICS_CC = os.path.join(ROOT, "dnsd", "http", "metrics.cc")


def promtool(*args):
    """(passed, promtool's output on one line)."""
    r = subprocess.run(["promtool", *args], capture_output=True, text=True, timeout=120,
                       cwd=RULES_DIR)
    return r.returncode == 0, " ".join((r.stdout + r.stderr).split())


def exported_metrics():
    with open(METRICS_CC) as f:
        return set(re.findall(r'\bw\.(?:counter|gauge|histogram)\(\s*"(\w+)"', f.read()))


def main():
    f = Failures()
    if not shutil.which("promtool"):
        f.check(False, "promtool is installed (packaging/install-deps: prometheus)")
        f.finish()
    ok, out = promtool("check", "rules", "mirrorpool-alerts.yml")
    f.check(ok, f"promtool check rules mirrorpool-alerts.yml: {out}")
    ok, out = promtool("test", "rules", "mirrorpool-alerts.test.yml")
    f.check(ok, f"promtool test rules mirrorpool-alerts.test.yml: {out}")

    with open(RULES) as r:
        used = set(re.findall(r"\bmirrorpool_[a-z_]+", r.read()))
    exported = exported_metrics()
    f.check(len(exported) > 30, f"the metric names are found in metrics.cc ({len(exported)})")
    f.check(used and used <= exported,
            f"the rules use only exported metrics ({sorted(used)}; not exported: "
            f"{sorted(used - exported)})")
    f.finish()


if __name__ == "__main__":
    main()
