#!/usr/bin/env bash
# The Python client's end-to-end tests, run by bazel/dev.sh test: builds the wheel,
# installs it offline into a fresh virtual environment outside the repository
# (Debian's /usr/bin/python3 with its python3-grpcio, python3-protobuf and the HTTP
# libraries under test), and runs tests/ from there with pytest.
# Usage: run_tests.sh JUNIT_FILE [pytest args, e.g. -k asyncio]
#        (env: CHAINVERIFYD, the server binary)
set -uo pipefail
out="$(realpath -m "$1")"
here="$(cd "$(dirname "$0")" && pwd)"
: "${CHAINVERIFYD:?set CHAINVERIFYD to the chainverifyd binary}"
export CHAINVERIFYD="$(realpath "$CHAINVERIFYD")"
work="$(mktemp -d -t chainverify-pytest.XXXXXX)"
trap 'rm -rf "$work"' EXIT

fail() { echo "client/python: $*" >&2; exit 1; }
wheel="$("$here/build_wheel.sh" "$work/dist")" || fail "building the wheel failed"
/usr/bin/python3 -m venv --system-site-packages "$work/venv" || fail "python3 -m venv failed"
"$work/venv/bin/pip" install --no-index --quiet "$wheel" || fail "pip install $wheel failed"
cp -r "$here/tests" "$work/tests"
cd "$work"
PYTHONDONTWRITEBYTECODE=1 "$work/venv/bin/python" -m pytest -p no:cacheprovider \
  -o junit_suite_name=client_python --junitxml="$out" -v tests "${@:2}"
