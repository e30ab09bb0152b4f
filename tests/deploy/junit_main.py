"""Runs a module's unittest cases and writes one JUnit test case per check to
$XML_OUTPUT_FILE, which bazel/test_summary.py counts (Bazel's own test.xml for
an sh_test would count the whole script as one case).

    if __name__ == "__main__":
        sys.exit(junit_main.main("tests/deploy/deploy_test"))
"""
import os
import sys
import time
import unittest
import xml.etree.ElementTree as ET


class JUnitResult(unittest.TextTestResult):

    def __init__(self, *a, **kw):
        super().__init__(*a, **kw)
        self.cases = []
        self._start = 0.0

    def startTest(self, test):
        self._start = time.time()
        super().startTest(test)

    def _record(self, test, kind, err):
        message = self._exc_info_to_string(err, test) if err else None
        self.cases.append((test, kind, message, time.time() - self._start))

    def addSuccess(self, test):
        super().addSuccess(test)
        self._record(test, None, None)

    def addFailure(self, test, err):
        super().addFailure(test, err)
        self._record(test, "failure", err)

    def addError(self, test, err):
        super().addError(test, err)
        self._record(test, "error", err)


def write_junit(result, path, suite_name):
    module = os.path.basename(suite_name)
    suites = ET.Element("testsuites")
    suite = ET.SubElement(suites, "testsuite", name=suite_name,
                          tests=str(len(result.cases)),
                          failures=str(sum(1 for c in result.cases if c[1] == "failure")),
                          errors=str(sum(1 for c in result.cases if c[1] == "error")))
    for test, kind, message, seconds in result.cases:
        if isinstance(test, unittest.TestCase):
            classname, _, name = test.id().rpartition(".")
        else:
            # A setUpClass error: "setUpClass (__main__.Class)".
            classname, name = "", str(test)
        classname = classname.replace("__main__", module) or module
        name = name.replace("__main__", module)
        case = ET.SubElement(suite, "testcase", name=name, classname=classname,
                             time="%.3f" % seconds)
        if kind:
            ET.SubElement(case, kind, message=message.strip().splitlines()[-1]).text = message
    ET.ElementTree(suites).write(path, encoding="utf-8", xml_declaration=True)


def main(suite_name):
    """Runs the __main__ module's tests; the exit status for sys.exit."""
    suite = unittest.defaultTestLoader.loadTestsFromModule(sys.modules["__main__"])
    runner = unittest.TextTestRunner(verbosity=2, resultclass=JUnitResult)
    result = runner.run(suite)
    if os.environ.get("XML_OUTPUT_FILE"):
        write_junit(result, os.environ["XML_OUTPUT_FILE"], suite_name)
    return 0 if result.wasSuccessful() else 1
