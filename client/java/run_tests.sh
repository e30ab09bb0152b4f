#!/usr/bin/env bash
# The Java client's end-to-end tests (src/test/java), run by bazel/dev.sh test.
# Usage: run_tests.sh JUNIT_FILE   (env: CHAINVERIFYD, the server binary)
# Builds the client and the tests (build.sh), runs them with JUnit 5's console launcher
# (Debian's junit5) and copies its XML report, one <testcase> per test method, to
# JUNIT_FILE. Exits non-zero on any failure.
set -uo pipefail
out="$(realpath -m "$1")"
here="$(cd "$(dirname "$0")" && pwd)"
J=/usr/share/java

fail() {  # A one-case failing report, for when the tests could not run at all.
  printf '<?xml version="1.0" encoding="UTF-8"?>\n<testsuite name="client_java" tests="1" failures="1">\n  <testcase classname="client_java" name="%s"><failure message="%s"/></testcase>\n</testsuite>\n' \
    "$1" "$1" >"$out"
  echo "client/java: $1" >&2
  exit 1
}

[ -n "${CHAINVERIFYD:-}" ] || fail "CHAINVERIFYD is not set (the chainverifyd binary)"
command -v javac >/dev/null || fail "javac is missing (default-jdk-headless)"
[ -f "$J/junit-platform-console-standalone.jar" ] || fail "junit5 is not installed"
bash "$here/build.sh" tests >&2 || fail "build.sh failed"

reports="$(mktemp -d -t chainverify-java-junit.XXXXXX)"
trap 'rm -rf "$reports"' EXIT
rc=0
# enableStatusRequestExtension: the JDK asks servers to staple OCSP (JDK 17's default,
# set here so the stapling tests do not depend on it; README, "Java").
java -Djdk.tls.client.enableStatusRequestExtension=true \
  -jar "$J/junit-platform-console-standalone.jar" \
  --class-path "$here/build/tests:$(bash "$here/build.sh" classpath)" \
  --select-package chainverify.client --include-engine junit-jupiter \
  --fail-if-no-tests --disable-banner --details=tree \
  --reports-dir "$reports" >&2 || rc=$?
[ -s "$reports/TEST-junit-jupiter.xml" ] || fail "the JUnit launcher wrote no report (exit $rc)"
cp "$reports/TEST-junit-jupiter.xml" "$out"
exit $rc
