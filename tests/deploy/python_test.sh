#!/usr/bin/env bash
# Runs one of this directory's Python tests (its path relative to the
# workspace, the test's only argument) with Debian's python3 (python3-yaml,
# python3-grpcio). Each writes its own JUnit file, one case per check, to
# $XML_OUTPUT_FILE (junit_main.py).
set -euo pipefail
export PYTHONDONTWRITEBYTECODE=1
exec /usr/bin/python3 "${TEST_SRCDIR}/chainverify/$1"
