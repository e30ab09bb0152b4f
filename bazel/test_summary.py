"""Prints 'N passed, N failed' over every test case Bazel ran.

Bazel's own summary counts targets; CI reads test cases. Each test target's
JUnit XML (bazel-testlogs/**/test.xml) gives its case counts; a target that
failed without writing one (a crash, a timeout) counts as one failed case.
"""
import os
import sys
import xml.etree.ElementTree as ET


def count(testlogs):
    passed = failed = skipped = 0
    for root, _, files in os.walk(testlogs, followlinks=True):
        if "test.xml" not in files:
            continue
        try:
            tree = ET.parse(os.path.join(root, "test.xml")).getroot()
        except ET.ParseError:
            failed += 1
            continue
        cases = tree.iter("testcase")
        any_case = False
        for case in cases:
            any_case = True
            if case.find("failure") is not None or case.find("error") is not None:
                failed += 1
            elif (case.find("skipped") is not None
                  or case.get("result") in ("skipped", "suppressed")):
                skipped += 1
            else:
                passed += 1
        if not any_case:
            # A test without cases (e.g. a shell test): its exit status decides.
            failures = int(tree.get("failures", "0")) + int(tree.get("errors", "0"))
            if failures:
                failed += 1
            else:
                passed += 1
    return passed, failed, skipped


def main():
    testlogs = sys.argv[1] if len(sys.argv) > 1 else "bazel-testlogs"
    bazel_status = int(sys.argv[2]) if len(sys.argv) > 2 else 0
    passed, failed, skipped = count(testlogs)
    if bazel_status != 0 and failed == 0:
        # Bazel failed before any case could (a build error): that is a failure.
        failed = 1
    line = f"{passed} passed, {failed} failed"
    if skipped:
        line += f", {skipped} skipped"
    print(line)


if __name__ == "__main__":
    main()
