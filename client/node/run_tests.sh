#!/usr/bin/env bash
# The Node client's end-to-end tests, run by bazel/dev.sh test: packs the package
# with `npm pack`, installs the tarball into a fresh project outside the repository
# (with axios, typescript and @types/node from the npm registry, for the tests only),
# and runs test/*.test.js there against the real chainverifyd.
# Usage: run_tests.sh JUNIT_FILE   (env: CHAINVERIFYD, the server binary)
set -uo pipefail
out="$(realpath -m "$1")"
here="$(cd "$(dirname "$0")" && pwd)"
fail() { echo "client/node: $*" >&2; exit 1; }
command -v node >/dev/null && command -v npm >/dev/null \
  || fail "node and npm (Node 20 or later) are not installed"
: "${CHAINVERIFYD:?set CHAINVERIFYD to the chainverifyd binary}"
export CHAINVERIFYD="$(realpath "$CHAINVERIFYD")"
work="$(mktemp -d -t chainverify-nodetest.XXXXXX)"
trap 'rm -rf "$work"' EXIT

tarball="$(cd "$here" && npm pack --silent --pack-destination "$work")" || fail "npm pack failed"
mkdir -p "$work/project/test"
cat >"$work/project/package.json" <<JSON
{
  "private": true,
  "dependencies": {
    "@chainverify/client": "file:../$tarball",
    "@types/node": "20.19.43",
    "axios": "1.21.1",
    "typescript": "5.9.3"
  }
}
JSON
(cd "$work/project" && npm install --no-audit --no-fund --loglevel=error >&2) \
  || fail "npm install of $tarball into a fresh project failed"
cp "$here"/test/*.js "$here"/test/*.ts "$work/project/test/"
cd "$work/project"
node --test \
  --test-reporter=spec --test-reporter-destination=stderr \
  --test-reporter=junit --test-reporter-destination="$out" test/*.test.js
