#!/usr/bin/env bash
# Runs deploy_test.py with Debian's python3 (python3-yaml, python3-grpcio). It
# writes its own JUnit file, one case per check, to $XML_OUTPUT_FILE.
set -euo pipefail
export PYTHONDONTWRITEBYTECODE=1
exec /usr/bin/python3 "${TEST_SRCDIR}/chainverify/tests/deploy/deploy_test.py"
