"""packaging/prometheus/mirrorpool-alerts.yml, the alerting rules shipped for
/metrics: `promtool check rules` accepts it, `promtool test rules` passes its
unit tests (mirrorpool-alerts.test.yml), every mirrorpool_ metric it uses is
one that dnsd/http/metrics.cc writes, and the operator guide's prometheus.yml
loads it where the guide copies it and scrapes the job the rules expect
(`promtool check config`). promtool comes from Debian's prometheus package
(packaging/install-deps). Needs no mirrorpool binary."""

import os
import re
import shutil
import subprocess
import tempfile

from harness import Failures

ROOT = os.environ.get("SOURCE_ROOT", os.path.join(os.path.dirname(__file__), "..", ".."))
RULES_DIR = os.path.join(ROOT, "packaging", "prometheus")
RULES = os.path.join(RULES_DIR, "mirrorpool-alerts.yml")
METRICS_CC = os.path.join(ROOT, "dnsd", "http", "metrics.cc")
GUIDE = os.path.join(ROOT, "docs", "operator-guide.md")
SNIPPET = re.compile(r"^<!-- file: prometheus/prometheus\.yml -->\n```yaml\n(.*?)^```\n",
                     re.M | re.S)
# Where the guide has the operator copy the rule file.
COPIED_RULES = "/etc/prometheus/mirrorpool-alerts.yml"


def promtool(*args):
    """(passed, promtool's output on one line)."""
    r = subprocess.run(["promtool", *args], capture_output=True, text=True, timeout=120,
                       cwd=RULES_DIR)
    return r.returncode == 0, " ".join((r.stdout + r.stderr).split())


def exported_metrics():
    with open(METRICS_CC) as f:
        return set(re.findall(r'\bw\.(?:counter|gauge|histogram)\(\s*"(\w+)"', f.read()))


def check_guide(f, rules):
    with open(GUIDE) as g:
        m = SNIPPET.search(g.read())
    f.check(m, "the operator guide has a prometheus.yml")
    if not m:
        return
    snippet = m.group(1)
    f.check(f"- {COPIED_RULES}\n" in snippet, f"the guide's prometheus.yml loads {COPIED_RULES}")
    job = re.search(r"^\s*- job_name: mirrorpool$", snippet, re.M)
    f.check('up{job="mirrorpool"}' in rules and job,
            "the guide's scrape job is the job MirrorpoolTargetDown looks at (mirrorpool)")
    with tempfile.TemporaryDirectory(prefix="mirrorpool-rules-") as tmp:
        config = os.path.join(tmp, "prometheus.yml")
        with open(config, "w") as out:
            out.write(snippet.replace(COPIED_RULES, RULES))
        ok, out = promtool("check", "config", config)
        f.check(ok, f"promtool check config on the guide's prometheus.yml, with the rules: {out}")


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
        rules = r.read()
    used = set(re.findall(r"\bmirrorpool_[a-z_]+", rules))
    exported = exported_metrics()
    f.check(len(exported) > 30, f"the metric names are found in metrics.cc ({len(exported)})")
    f.check(used and used <= exported,
            f"the rules use only exported metrics ({sorted(used)}; not exported: "
            f"{sorted(used - exported)})")
    check_guide(f, rules)
    f.finish()


if __name__ == "__main__":
    main()
