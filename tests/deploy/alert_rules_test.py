"""deploy/monitoring held to Debian's promtool, without a server.

`promtool check rules` on the rules file; each test group of
chainverify-rules.test.yaml run on its own by `promtool test rules` (one JUnit
case each); every alert both firing and staying quiet in some group, every
recording rule given an expected value; a wrong expectation made to fail; the
Grafana dashboard's shape and the recording rules it uses. What the rules and
the dashboard read from a live server is prometheus_test.py's part.
"""
import copy
import os
import re
import subprocess
import sys
import tempfile
import unittest

import yaml

import junit_main
import monitoring_files as mf

TMP = os.environ.get("TEST_TMPDIR") or tempfile.gettempdir()


def promtool(*args):
    if not os.access(mf.PROMTOOL, os.X_OK):
        raise AssertionError(mf.MISSING_TOOL % mf.PROMTOOL)
    return subprocess.run([mf.PROMTOOL] + list(args), stdout=subprocess.PIPE,
                          stderr=subprocess.STDOUT, text=True)


def test_file(groups):
    """A promtool test file holding `groups`, reading the rules by absolute path."""
    spec = mf.load_yaml(mf.RULE_TESTS)
    spec["rule_files"] = [mf.RULES]
    spec["tests"] = groups
    fd, path = tempfile.mkstemp(suffix=".test.yaml", dir=TMP)
    with os.fdopen(fd, "w") as f:
        yaml.safe_dump(spec, f, sort_keys=False)
    return path


class RulesCheck(unittest.TestCase):

    def test_promtool_checks_the_rules_file(self):
        result = promtool("check", "rules", mf.RULES)
        self.assertEqual(result.returncode, 0, result.stdout)
        self.assertIn("SUCCESS: %d rules found" % len(mf.rules()), result.stdout)

    def test_alerts_have_a_severity_summary_and_description(self):
        for alert in mf.alerts():
            name = alert["alert"]
            self.assertRegex(name, r"^Chainverify[A-Z][A-Za-z]+$")
            self.assertIn(alert.get("labels", {}).get("severity"), ("critical", "warning"), name)
            for key in ("summary", "description"):
                self.assertTrue(alert.get("annotations", {}).get(key), "%s: no %s" % (name, key))

    def test_recording_rules_are_named_level_metric_operations(self):
        for rule in mf.recordings():
            self.assertRegex(rule["record"], r"^[a-z_]+:[a-z_]+:[a-z0-9_]+$")

    def test_readme_sections_the_annotations_point_to_exist(self):
        with open(os.path.join(mf.ROOT, "deploy", "README.md")) as f:
            headings = {line.lstrip("#").strip() for line in f if line.startswith("#")}
        for alert in mf.alerts():
            for section in re.findall(r"deploy/README\.md, ([^)]+)\)",
                                      alert["annotations"]["description"]):
                self.assertIn(section, headings, alert["alert"])


class RuleUnitTests(unittest.TestCase):
    """One case per test group of chainverify-rules.test.yaml (added below)."""


def _unit_test(group):
    def run(self):
        result = promtool("test", "rules", test_file([group]))
        self.assertEqual(result.returncode, 0, result.stdout)
        self.assertIn("SUCCESS", result.stdout)
    return run


for _index, _group in enumerate(mf.load_yaml(mf.RULE_TESTS)["tests"]):
    _name = re.sub(r"[^a-z0-9]+", "_", _group["name"].lower()).strip("_")
    setattr(RuleUnitTests, "test_%02d_%s" % (_index + 1, _name), _unit_test(_group))


class Coverage(unittest.TestCase):

    def test_every_alert_fires_in_one_test_and_stays_quiet_in_another(self):
        fired, quiet = set(), set()
        for group in mf.load_yaml(mf.RULE_TESTS)["tests"]:
            for case in group.get("alert_rule_test", []):
                (fired if case.get("exp_alerts") else quiet).add(case["alertname"])
        names = {alert["alert"] for alert in mf.alerts()}
        self.assertEqual(sorted(names - fired), [], "alerts never expected to fire")
        self.assertEqual(sorted(names - quiet), [], "alerts never expected to stay quiet")
        self.assertEqual(sorted((fired | quiet) - names), [], "tests of alerts that do not exist")

    def test_every_recording_rule_has_an_expected_value(self):
        tested = set()
        for group in mf.load_yaml(mf.RULE_TESTS)["tests"]:
            for case in group.get("promql_expr_test", []):
                tested.update(mf.names(case["expr"]))
        missing = sorted(rule["record"] for rule in mf.recordings() if rule["record"] not in tested)
        self.assertEqual(missing, [])

    def test_a_wrong_expectation_fails(self):
        # Otherwise the passing cases above would prove nothing.
        for group in mf.load_yaml(mf.RULE_TESTS)["tests"]:
            for case in group.get("alert_rule_test", []):
                if case.get("exp_alerts"):
                    wrong = copy.deepcopy(group)
                    for c in wrong["alert_rule_test"]:
                        c["exp_alerts"] = []
                    result = promtool("test", "rules", test_file([wrong]))
                    self.assertNotEqual(result.returncode, 0, result.stdout)
                    self.assertIn("FAILED", result.stdout)
                    return
        self.fail("no test group expects an alert")


class Dashboard(unittest.TestCase):

    def test_is_a_grafana_dashboard_with_a_prometheus_datasource_variable(self):
        board = mf.dashboard()
        for key in ("title", "uid", "panels", "schemaVersion"):
            self.assertIn(key, board)
        variables = {v["name"]: v for v in board["templating"]["list"]}
        self.assertEqual(variables["datasource"]["type"], "datasource")
        self.assertEqual(variables["datasource"]["query"], "prometheus")

    def test_every_panel_is_placed_and_queries_through_the_variable(self):
        ids = set()
        for panel in mf.dashboard_panels():
            self.assertNotIn(panel["id"], ids, "panel id %s twice" % panel["id"])
            ids.add(panel["id"])
            grid = panel["gridPos"]
            self.assertLessEqual(grid["x"] + grid["w"], 24, panel["title"])
            if panel["type"] == "row":
                continue
            self.assertTrue(panel.get("description"), panel["title"])
            self.assertEqual(panel["datasource"]["uid"], "${datasource}", panel["title"])
            self.assertGreater(len(panel["targets"]), 0, panel["title"])
            for target in panel["targets"]:
                self.assertEqual(target["datasource"]["uid"], "${datasource}", panel["title"])
                self.assertTrue(target["expr"].strip(), panel["title"])

    def test_recording_rules_it_reads_are_defined(self):
        defined = {rule["record"] for rule in mf.recordings()}
        for title, expr in mf.dashboard_queries():
            for name in mf.names(expr):
                if ":" in name:
                    self.assertIn(name, defined, title)


if __name__ == "__main__":
    sys.exit(junit_main.main("tests/deploy/alert_rules_test"))
