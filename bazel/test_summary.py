"""Prints 'N passed, N failed' over every test case of every CI phase.

Bazel's own summary counts targets; CI reads test cases. Each phase names
where its JUnit XML is and how the phase exited:

  --bazel DIR STATUS   a bazel-testlogs tree (normal or --config=asan): every
                       **/test.xml; a target that failed without writing one
                       (a crash, a timeout) counts as one failed case
  --junit DIR STATUS   a directory of JUnit files (fuzz/run.sh --junit): every
                       **/*.xml

A phase whose STATUS is non-zero but whose files show no failed case (a build
error, a tool that died before writing anything) counts as one failed case.
The old form `test_summary.py TESTLOGS [STATUS]` is one --bazel phase.
The last line printed is always the total.
"""
import argparse
import os
import sys
import xml.etree.ElementTree as ET


def count_file(path):
    """(passed, failed, skipped) of one JUnit file."""
    passed = failed = skipped = 0
    try:
        tree = ET.parse(path).getroot()
    except (ET.ParseError, OSError):
        return 0, 1, 0
    any_case = False
    for case in tree.iter("testcase"):
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


def count(directory, any_xml=False):
    passed = failed = skipped = 0
    for root, _, files in os.walk(directory, followlinks=True):
        for name in files:
            if name == "test.xml" or (any_xml and name.endswith(".xml")):
                p, f, s = count_file(os.path.join(root, name))
                passed += p
                failed += f
                skipped += s
    return passed, failed, skipped


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--bazel", nargs=2, action="append", default=[],
                        metavar=("DIR", "STATUS"))
    parser.add_argument("--junit", nargs=2, action="append", default=[],
                        metavar=("DIR", "STATUS"))
    parser.add_argument("legacy", nargs="*", help="TESTLOGS [STATUS]")
    args = parser.parse_args()
    phases = [(d, int(s), False) for d, s in args.bazel]
    phases += [(d, int(s), True) for d, s in args.junit]
    if args.legacy or not phases:
        testlogs = args.legacy[0] if args.legacy else "bazel-testlogs"
        status = int(args.legacy[1]) if len(args.legacy) > 1 else 0
        phases.insert(0, (testlogs, status, False))

    passed = failed = skipped = 0
    for directory, status, any_xml in phases:
        p, f, s = count(directory, any_xml)
        if status != 0 and f == 0:
            # The phase failed before any case could (a build error): a failure.
            f = 1
        if len(phases) > 1:
            # Not the total's "N passed, N failed" form: CI reads only that.
            print(f"phase {directory}: passed={p} failed={f} skipped={s}",
                  file=sys.stderr, flush=True)
        passed += p
        failed += f
        skipped += s
    line = f"{passed} passed, {failed} failed"
    if skipped:
        line += f", {skipped} skipped"
    print(line)


if __name__ == "__main__":
    main()
