"""deploy/monitoring as the tests read it: the rules, their promtool tests, the
dashboard's queries, and the names and labels a PromQL expression uses."""
import json
import os
import re

import yaml

ROOT = os.path.join(os.environ.get("TEST_SRCDIR", ""), "chainverify")
MONITORING = os.path.join(ROOT, "deploy", "monitoring")
RULES = os.path.join(MONITORING, "chainverify-rules.yaml")
RULE_TESTS = os.path.join(MONITORING, "chainverify-rules.test.yaml")
DASHBOARD = os.path.join(MONITORING, "chainverify-dashboard.json")

# Debian's prometheus package; absolute, as Bazel's test environment has a
# minimal PATH.
PROMTOOL = "/usr/bin/promtool"
PROMETHEUS = "/usr/bin/prometheus"
MISSING_TOOL = "%s is missing: install Debian's prometheus package (bazel/dev.sh deps)"


def load_yaml(path):
    with open(path) as f:
        return yaml.safe_load(f)


def rules():
    """Every rule of the rules file, as in the file (dicts with alert or record)."""
    return [rule for group in load_yaml(RULES)["groups"] for rule in group["rules"]]


def alerts():
    return [rule for rule in rules() if "alert" in rule]


def recordings():
    return [rule for rule in rules() if "record" in rule]


def dashboard():
    with open(DASHBOARD) as f:
        return json.load(f)


def dashboard_panels():
    """Every panel, rows' nested panels included."""
    found = []
    for panel in dashboard()["panels"]:
        found.append(panel)
        found.extend(panel.get("panels", []))
    return found


def dashboard_queries():
    """[(panel title, expr)] of every query target."""
    return [(panel["title"], target["expr"]) for panel in dashboard_panels()
            for target in panel.get("targets", [])]


_STRING = re.compile(r'"(?:[^"\\]|\\.)*"')
# Metric and recording-rule names of this project (recording rules follow
# level:metric:operations, e.g. instance:chainverify_decision_seconds:p99_5m).
_NAME = re.compile(r"(?<![A-Za-z0-9_:])((?:[a-z_]+:)?chainverify[_:][A-Za-z0-9_:]*)")
_SELECTOR = re.compile(r"(?<![A-Za-z0-9_:])((?:[a-z_]+:)?chainverify[_:][A-Za-z0-9_:]*)\s*\{([^}]*)\}")
_MATCHER = re.compile(r'([A-Za-z_][A-Za-z0-9_]*)\s*(=~|!~|!=|=)\s*("(?:[^"\\]|\\.)*")')
_GROUPING = re.compile(r"\b(?:by|without|on|ignoring)\s*\(([^)]*)\)")


def names(expr):
    """The metric and recording-rule names `expr` reads."""
    return sorted(set(_NAME.findall(_STRING.sub('""', expr))))


def selectors(expr):
    """[(name, '{matchers}')] for every selector with label matchers."""
    found = []
    for name, body in _SELECTOR.findall(expr):
        matchers = ["%s%s%s" % m for m in _MATCHER.findall(body)]
        found.append((name, "{%s}" % ",".join(matchers)))
    return found


def grouping_labels(expr):
    """Label names of by/without/on/ignoring clauses."""
    labels = set()
    for body in _GROUPING.findall(_STRING.sub('""', expr)):
        labels.update(label.strip() for label in body.split(",") if label.strip())
    return sorted(labels)
