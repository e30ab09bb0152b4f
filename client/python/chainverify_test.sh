#!/usr/bin/env bash
# Runs chainverify_test.py with Debian's python3 (python3-grpcio, python3-protobuf).
# The runfiles tree holds the package sources and the generated chainverify/v1 modules
# side by side under client/python.
set -euo pipefail
dir="${TEST_SRCDIR}/chainverify/client/python"
export PYTHONPATH="${dir}${PYTHONPATH:+:${PYTHONPATH}}"
export PYTHONDONTWRITEBYTECODE=1
exec /usr/bin/python3 "${dir}/chainverify_test.py" -v
