#!/usr/bin/env bash
# The Node client's end-to-end tests (client/node/test/), run by bazel/dev.sh test.
# Usage: run_tests.sh JUNIT_FILE   (env: CHAINVERIFYD, the server binary)
set -uo pipefail
out="$1"
cd "$(dirname "$0")"
if ! command -v node >/dev/null || ! command -v npm >/dev/null; then
  echo "client/node: node and npm (Node 20 or later) are not installed" >&2
  exit 1
fi
# npm ci only when the lock file changed since the last successful install.
if ! cmp -s package-lock.json node_modules/.chainverify-installed-lock; then
  npm ci --no-audit --no-fund >&2 && cp package-lock.json node_modules/.chainverify-installed-lock \
    || { echo "client/node: npm ci failed" >&2; exit 1; }
fi
exec node --test \
  --test-reporter=spec --test-reporter-destination=stderr \
  --test-reporter=junit --test-reporter-destination="$out" test/
