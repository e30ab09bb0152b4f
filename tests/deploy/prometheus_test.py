"""A real Prometheus (Debian's) scraping two real chainverifyd on loopback,
with deploy/monitoring's rules loaded, checked through Prometheus's HTTP API.

The servers decide real requests sent by the real CLI: TRUSTED, NAME_MISMATCH,
an unknown policy (NOT_FOUND), and, on the second server (a search budget of
one signature check), SEARCH_LIMIT_REACHED; the leaf names an OCSP responder
that refuses connections (fetch failures) and the root expires in 20 days.
Then: every metric and label the rules and the dashboard read exists, every
rule evaluates without error, every dashboard query returns data, every
recording rule has data, and the anchor-expiry and fetch-failure alerts are
active for those causes.
"""
import json
import os
import re
import signal
import socket
import subprocess
import sys
import tempfile
import time
import unittest
import urllib.parse
import urllib.request

import junit_main
import monitoring_files as mf

CHAINVERIFYD = os.path.join(mf.ROOT, "server", "chainverifyd")
CHAINVERIFY = os.path.join(mf.ROOT, "client", "chainverify")
TMP = os.environ.get("TEST_TMPDIR") or tempfile.gettempdir()
# Labels Prometheus itself gives every scraped series.
TARGET_LABELS = {"instance", "job"}


def free_port():
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def openssl(*argv, cwd):
    subprocess.run(("openssl",) + argv, cwd=cwd, check=True, stdout=subprocess.DEVNULL,
                   stderr=subprocess.PIPE)


def make_pki(directory, ocsp_port):
    """Root (20 days), intermediate, leaf for service.example.com whose AIA
    names an OCSP responder on `ocsp_port`; chain.pem is leaf, intermediate."""
    key = ("-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes")
    openssl("req", "-x509", *key, "-keyout", "root.key", "-out", "root.pem", "-days", "20",
            "-subj", "/CN=Prometheus Test Root", "-addext", "basicConstraints=critical,CA:true",
            "-addext", "keyUsage=critical,keyCertSign,cRLSign", cwd=directory)
    extensions = {
        "inter": "basicConstraints=critical,CA:true\nkeyUsage=critical,keyCertSign,cRLSign\n"
                 "subjectKeyIdentifier=hash\nauthorityKeyIdentifier=keyid:always\n",
        "leaf": "basicConstraints=critical,CA:false\nkeyUsage=critical,digitalSignature\n"
                "extendedKeyUsage=serverAuth\nsubjectAltName=DNS:service.example.com\n"
                "subjectKeyIdentifier=hash\nauthorityKeyIdentifier=keyid:always\n"
                "authorityInfoAccess=OCSP;URI:http://127.0.0.1:%d/\n" % ocsp_port,
    }
    for name, issuer in (("inter", "root"), ("leaf", "inter")):
        openssl("req", "-new", *key, "-keyout", name + ".key", "-out", name + ".csr",
                "-subj", "/CN=Prometheus Test " + name, cwd=directory)
        with open(os.path.join(directory, name + ".ext"), "w") as f:
            f.write(extensions[name])
        openssl("x509", "-req", "-in", name + ".csr", "-CA", issuer + ".pem", "-CAkey",
                issuer + ".key", "-CAcreateserial", "-days", "10", "-extfile", name + ".ext",
                "-out", name + ".pem", cwd=directory)
    with open(os.path.join(directory, "chain.pem"), "w") as out:
        for name in ("leaf", "inter"):
            with open(os.path.join(directory, name + ".pem")) as f:
                out.write(f.read())
    with open(os.path.join(directory, "policy.textproto"), "w") as f:
        f.write('version: "prometheus-test-1"\n'
                'default_policy: "fleet"\n'
                'policies {\n'
                '  name: "fleet"\n'
                '  trust_stores { pem_file: "root.pem" }\n'
                '  profile: RFC5280\n'
                '  revocation {\n'
                '    mode: SOFT_FAIL\n'
                '    fetch_ocsp: true\n'
                '    fetch { allowed_hosts: "127.0.0.1" allow_private_addresses: true }\n'
                '  }\n'
                '}\n')


class Server:
    """chainverifyd on loopback, its metrics on a free port."""

    def __init__(self, directory, name, extra=()):
        self.metrics_port = free_port()
        self.out = open(os.path.join(directory, name + ".out"), "w+")
        self.err = open(os.path.join(directory, name + ".err"), "w+")
        self.proc = subprocess.Popen(
            [CHAINVERIFYD, "--listen=127.0.0.1:0",
             "--metrics_listen=127.0.0.1:%d" % self.metrics_port,
             "--policy_file=" + os.path.join(directory, "policy.textproto"),
             "--audit_log=" + os.path.join(directory, name, "audit.log"),
             "--instance_name=" + name] + list(extra),
            stdout=self.out, stderr=self.err)
        deadline = time.time() + 30
        while time.time() < deadline:
            self.out.seek(0)
            m = re.search(r"listening on (\S+)", self.out.read())
            if m:
                self.target = m.group(1)
                return
            if self.proc.poll() is not None:
                break
            time.sleep(0.05)
        self.err.seek(0)
        raise AssertionError("chainverifyd did not start: " + self.err.read())

    def verify(self, directory, *args):
        return subprocess.run([CHAINVERIFY, "verify", "--server=" + self.target] + list(args) +
                              [os.path.join(directory, "chain.pem")],
                              stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)

    def stop(self):
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(timeout=20)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()


class Prometheus:
    """/usr/bin/prometheus scraping `targets` every second, evaluating the
    rules every second."""

    def __init__(self, directory, targets):
        if not os.access(mf.PROMETHEUS, os.X_OK):
            raise AssertionError(mf.MISSING_TOOL % mf.PROMETHEUS)
        self.port = free_port()
        config = os.path.join(directory, "prometheus.yml")
        with open(config, "w") as f:
            json.dump({
                "global": {"scrape_interval": "1s", "evaluation_interval": "1s"},
                "rule_files": [mf.RULES],
                "scrape_configs": [{
                    "job_name": "chainverify",
                    "static_configs": [{"targets": targets}],
                }],
            }, f)  # JSON is YAML.
        self.log = open(os.path.join(directory, "prometheus.log"), "w+")
        self.proc = subprocess.Popen(
            [mf.PROMETHEUS, "--config.file=" + config,
             "--storage.tsdb.path=" + os.path.join(directory, "tsdb"),
             "--web.listen-address=127.0.0.1:%d" % self.port, "--log.level=warn"],
            stdout=self.log, stderr=subprocess.STDOUT)
        self.wait_for(lambda: self.ready(), "Prometheus ready")

    def ready(self):
        try:
            with urllib.request.urlopen("http://127.0.0.1:%d/-/ready" % self.port, timeout=2) as r:
                return r.status == 200
        except OSError:
            if self.proc.poll() is not None:
                self.log.seek(0)
                raise AssertionError("prometheus exited: " + self.log.read())
            return False

    def api(self, path, **params):
        url = "http://127.0.0.1:%d/api/v1/%s?%s" % (self.port, path, urllib.parse.urlencode(params))
        with urllib.request.urlopen(url, timeout=10) as response:
            body = json.load(response)
        if body.get("status") != "success":
            raise AssertionError("%s: %s" % (url, body))
        return body["data"]

    def query(self, expr):
        return self.api("query", query=expr)["result"]

    def series(self, selector):
        return self.api("series", **{"match[]": selector})

    @staticmethod
    def wait_for(condition, what, timeout=90):
        deadline = time.time() + timeout
        while time.time() < deadline:
            if condition():
                return
            time.sleep(0.25)
        raise AssertionError("timed out waiting for " + what)

    def stop(self):
        if self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(timeout=20)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()


class PrometheusScrapesChainverifyd(unittest.TestCase):

    @classmethod
    def setUpClass(cls):
        cls.dir = tempfile.mkdtemp(dir=TMP)
        make_pki(cls.dir, free_port())  # Nothing listens there: fetches fail.
        cls.servers = []
        cls.prometheus = None
        try:
            cls.servers.append(Server(cls.dir, "replica-0"))
            # Two signature checks per chain needed, one allowed.
            cls.servers.append(Server(cls.dir, "replica-1", ["--max_signature_checks=1"]))
            cls.prometheus = Prometheus(
                cls.dir, ["127.0.0.1:%d" % s.metrics_port for s in cls.servers])
            # Counters appear with their first event: let Prometheus see the
            # servers before any, so that rates have a start.
            cls.prometheus.wait_for(
                lambda: len([t for t in cls.prometheus.api("targets")["activeTargets"]
                             if t["health"] == "up"]) == 2, "both targets up")
            time.sleep(2)
            cls.traffic()
            # Scrapes and rule evaluations after the traffic.
            cls.prometheus.wait_for(
                lambda: cls.prometheus.query(
                    'chainverify:rejections_by_status:rate10m{status="SEARCH_LIMIT_REACHED"} > 0'),
                "the recording rules to see the traffic")
            cls.prometheus.wait_for(
                lambda: cls.prometheus.query(
                    'sum(increase(chainverify_revocation_fetches{outcome="failure"}[1m])) > 0'),
                "the fetch failures")
            time.sleep(3)
        except BaseException:
            cls.tearDownClass()
            raise

    @classmethod
    def traffic(cls):
        """Each kind of request in two rounds a few scrapes apart: a series
        appears with its first event, and rate() sees only what comes after
        that first sample."""
        one, two = cls.servers
        for rounds in ((1, 1, 1, 1), (4, 2, 1, 5)):
            trusted, mismatch, unknown, limited = rounds
            for _ in range(trusted):
                result = one.verify(cls.dir, "--host=service.example.com")
                assert result.returncode == 0, result.stdout  # TRUSTED (revocation soft-fail)
            for _ in range(mismatch):
                result = one.verify(cls.dir, "--host=wrong.example.com")
                assert result.returncode == 1 and "NAME_MISMATCH" in result.stdout, result.stdout
            for _ in range(unknown):
                result = one.verify(cls.dir, "--policy=no-such-policy")
                assert result.returncode == 2 and "NOT_FOUND" in result.stdout, result.stdout
            for _ in range(limited):
                result = two.verify(cls.dir, "--host=service.example.com")
                assert result.returncode == 1 and "SEARCH_LIMIT_REACHED" in result.stdout, \
                    result.stdout
            time.sleep(3)

    @classmethod
    def tearDownClass(cls):
        if cls.prometheus is not None:
            cls.prometheus.stop()
        for server in cls.servers:
            server.stop()

    def expressions(self):
        """[(where, expr)] of every rule and dashboard query."""
        found = [("rule " + (r.get("alert") or r.get("record")), r["expr"]) for r in mf.rules()]
        found += [("panel " + title, expr) for title, expr in mf.dashboard_queries()]
        return found

    def test_both_chainverifyd_are_scraped(self):
        up = self.prometheus.query('up{job="chainverify"}')
        self.assertEqual(sorted(float(s["value"][1]) for s in up), [1.0, 1.0])

    def test_every_metric_named_exists_with_the_labels_used(self):
        for where, expr in self.expressions():
            labels = set(TARGET_LABELS)
            for name in mf.names(expr):
                series = self.prometheus.series(name)
                self.assertTrue(series, "%s: no series %s" % (where, name))
                for s in series:
                    labels.update(s)
                if name.endswith("_bucket"):
                    self.assertTrue(all("le" in s for s in series), name)
            for name, matchers in mf.selectors(expr):
                self.assertTrue(self.prometheus.series(name + matchers),
                                "%s: no series %s%s" % (where, name, matchers))
            missing = sorted(set(mf.grouping_labels(expr)) - labels)
            self.assertEqual(missing, [], "%s groups by labels its series lack" % where)

    def test_every_rule_evaluates_without_error(self):
        groups = self.prometheus.api("rules")["groups"]
        loaded = {}
        for group in groups:
            for rule in group["rules"]:
                loaded[rule["name"]] = rule
                self.assertEqual(rule["health"], "ok",
                                 "%s: %s" % (rule["name"], rule.get("lastError")))
        self.assertEqual(sorted(loaded),
                         sorted(r.get("alert") or r.get("record") for r in mf.rules()))

    def test_every_recording_rule_has_data(self):
        for rule in mf.recordings():
            self.assertTrue(self.prometheus.query(rule["record"]), rule["record"])

    def test_every_dashboard_query_returns_data(self):
        for title, expr in mf.dashboard_queries():
            self.assertTrue(self.prometheus.query(expr), "panel %s: %s" % (title, expr))

    def test_search_limit_verdicts_are_counted_per_policy(self):
        result = self.prometheus.query(
            'sum by (policy) (chainverify_decisions_total{status="SEARCH_LIMIT_REACHED"})')
        self.assertEqual([(s["metric"]["policy"], float(s["value"][1])) for s in result],
                         [("fleet", 6.0)])

    def active_alerts(self, name):
        return [a for a in self.prometheus.api("alerts")["alerts"]
                if a["labels"]["alertname"] == name and a["state"] in ("pending", "firing")]

    def test_the_short_lived_root_is_an_anchor_expiring_soon(self):
        alerts = self.active_alerts("ChainverifyTrustAnchorExpiringSoon")
        self.assertEqual([(a["labels"]["policy"], a["labels"]["subject"]) for a in alerts],
                         [("fleet", "CN=Prometheus Test Root")])

    def test_fetch_failures_raise_their_alert(self):
        alerts = self.active_alerts("ChainverifyRevocationFetchFailures")
        self.assertTrue(alerts)
        self.assertEqual({a["labels"]["outcome"] for a in alerts}, {"failure"})


if __name__ == "__main__":
    sys.exit(junit_main.main("tests/deploy/prometheus_test"))
