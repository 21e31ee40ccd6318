"""HTTPS probes on the real binary: the certificate chain and name are
verified against ca_file, an expired, self-signed or soon-expiring (fewer
than tls_min_days) certificate takes a mirror out, and a good one brings it
back. Certificates are made by the test (certs.py). The expiry metric keeps
every certificate's notAfter, also of those that fail verification, and the
scrape passes `promtool check metrics`. An [[alert]] hears of the expired and
soon-expiring certificates (tls-expiring), not of the good one."""

import calendar
import json
import os
import subprocess
import tempfile

from cryptography import x509

from certs import CA, self_signed
from failover import bound_s, time_until
from fake_mirror import FakeMirror
from harness import Failures, Server, addresses, free_port, metric, wait_until
from metrics_test import promtool_problems
from prober_test import ZONE

INTERVAL, TIMEOUT = 0.5, 0.4
BOUND = bound_s(INTERVAL, 2, TIMEOUT)
HOST = "dl.pool.example"


def main():
    f = Failures()
    d = tempfile.mkdtemp(prefix="mirrorpool-tls-")
    ca = CA(d)
    good = ca.leaf(HOST, name="good")
    expired = ca.leaf(HOST, days_before=30, days_after=-1, name="expired")
    soon = ca.leaf(HOST, days_after=3, name="soon")
    wrong_name = ca.leaf("other.example", name="wrong-name")
    selfsigned = self_signed(d, HOST)
    mport, hport = free_port(), free_port()
    config = f"""
[server]
listen = ["127.0.0.1:{{port}}"]
http_listen = "127.0.0.1:{hport}"
workers = 1
control_socket = "{{dir}}/control.sock"
state_dir = "{{dir}}/state"
user = "root"

[[zone]]
origin = "pool.example."
file = "pool.example.zone"

[[pool]]
name = "dl.pool.example."
max_answers = 8
when_all_down = "nodata"

[pool.check]
type = "https"
port = {mport}
host = "{HOST}"
ca_file = "{ca.cert_file}"
tls_min_days = 7
interval = "{int(INTERVAL * 1000)}ms"
timeout = "{int(TIMEOUT * 1000)}ms"
"""
    alerts = os.path.join(d, "alerts.log")
    config += f"""
[[alert]]
name = "tls"
events = ["tls-expiring"]
command = ["/bin/sh", "-c", "cat >> {alerts}"]
"""
    cases = {"127.0.1.61": ("good", good), "127.0.1.62": ("expired", expired),
             "127.0.1.63": ("expires in 3 days", soon), "127.0.1.64": ("self-signed", selfsigned),
             "127.0.1.65": ("wrong name", wrong_name)}
    for i, address in enumerate(cases):
        config += f'\n[[pool.mirror]]\nid = "t{i + 1}"\naddresses = ["{address}"]\n'
    servers = {a: FakeMirror(a, mport, certfile=c[0], keyfile=c[1]).start()
               for a, (_, c) in cases.items()}
    try:
        with Server(config, {"pool.example.zone": ZONE}) as srv:
            served = addresses(srv.query("dl.pool.example.", "A"))
            f.check(served == {"127.0.1.61"},
                    f"only the mirror with a good certificate is served ({sorted(served)})")
            log = srv.log()
            f.check("t3 127.0.1.63 UP→DOWN: tls: certificate expires in" in log,
                    "soon-expiring certificate: reason names the days left")
            for address, (what, _) in cases.items():
                f.check(address == "127.0.1.61" or f"{address} UP→DOWN: " in log,
                        f"{what}: logged down")
            # Every certificate's expiry is in the metrics, the refused ones too.
            for i, (address, (what, (cert_file, _))) in enumerate(cases.items()):
                with open(cert_file, "rb") as c:
                    not_after = x509.load_pem_x509_certificate(c.read()).not_valid_after
                want = calendar.timegm(not_after.utctimetuple())
                labels = dict(pool="dl.pool.example.", mirror=f"t{i + 1}", address=address)
                try:
                    got, _ = wait_until(lambda: metric(  # noqa: B023 - called at once
                        hport, "mirrorpool_address_tls_expiry_timestamp_seconds", **labels), 5,
                        f"{what}: the tls expiry metric")
                except AssertionError:
                    got = None
                f.check(got == want, f"{what}: tls expiry metric {got}, certificate says {want}")
            def expiring():
                if not os.path.exists(alerts):
                    return {}
                with open(alerts) as a:
                    return {e["address"]: e["reason"] for e in map(json.loads, a)}
            try:
                wait_until(lambda: len(expiring()) >= 2, 5, "tls-expiring events")
            except AssertionError:
                pass
            got = expiring()
            f.check(got.get("127.0.1.62", "").startswith("tls expired") and
                    got.get("127.0.1.63") in ("tls expires in 3 days", "tls expires in 2 days") and
                    "127.0.1.61" not in got,
                    f"tls-expiring for the expired and the soon-expiring certificate: {got}")
            problems = promtool_problems(hport)
            f.check(not problems, f"promtool check metrics: {problems or 'clean'}")
            # mirrorpoolctl check on the self-signed one: the failed handshake,
            # then the certificate shown, as failing too (not "ok").
            out = subprocess.run([os.environ["MIRRORPOOLCTL"], "-c", srv.config_path, "check",
                                  "t4"], capture_output=True, text=True, timeout=30).stdout
            cert = [l for l in out.splitlines() if "certificate" in l and "issued by" in l]
            f.check(len(cert) == 1 and "FAIL" in cert[0] and "not trusted" in cert[0] and
                    "ok" not in cert[0].split()[:2],
                    f"check: a self-signed certificate FAILs, not 'certificate ok' ({cert})")
            # Repair each broken one with a good certificate.
            for address in list(cases)[1:]:
                servers[address].stop()
                servers[address] = FakeMirror(address, mport, certfile=good[0],
                                              keyfile=good[1]).start()
            for address, (what, _) in list(cases.items())[1:]:
                back = time_until(srv, "dl.pool.example.", "A", address, True, BOUND + 3)
                f.check(back is not None and back <= BOUND,
                        f"{what} replaced by a good certificate: back in "
                        f"{back and round(back, 2)}s (bound {BOUND:.2f}s)")
            # And the other way: a good mirror whose certificate expires.
            servers["127.0.1.61"].stop()
            servers["127.0.1.61"] = FakeMirror("127.0.1.61", mport, certfile=expired[0],
                                               keyfile=expired[1]).start()
            gone = time_until(srv, "dl.pool.example.", "A", "127.0.1.61", False, BOUND + 3)
            f.check(gone is not None and gone <= BOUND,
                    f"certificate expired: out in {gone and round(gone, 2)}s")
    finally:
        for s in servers.values():
            s.stop()
    f.finish()


if __name__ == "__main__":
    main()
