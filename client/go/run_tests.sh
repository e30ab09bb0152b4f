#!/usr/bin/env bash
# The Go client's checks and end-to-end tests, run by bazel/dev.sh test.
# Usage: run_tests.sh JUNIT_FILE
#   env: CHAINVERIFYD, the server binary (default ../../bazel-bin/server/chainverifyd)
# Offline, from Debian's packages only: generate.sh writes the stubs and the vendor/
# links; go build, go vet and gofmt run (one test case each); then the tests run under
# the race detector (`go test -race -json`), every test and subtest a test case of
# JUNIT_FILE. Exits non-zero on any failure.
set -uo pipefail
out="$(realpath -m "$1")"
cd "$(dirname "$0")"
# Never a module proxy: everything resolves from vendor/.
export GOFLAGS=-mod=vendor GOPROXY=off GO111MODULE=on
[ -n "${HOME:-}${XDG_CACHE_HOME:-}${GOCACHE:-}" ] || export GOCACHE="$PWD/.gocache"

work="$(mktemp -d -t chainverify-go.XXXXXX)"
trap 'rm -rf "$work"' EXIT

# A JUnit file with one failed case, for failures before the Go converter exists.
junit_failure() {  # NAME LOGFILE
  local text
  text="$(sed -e 's/&/\&amp;/g' -e 's/</\&lt;/g' -e 's/>/\&gt;/g' "$2")"
  cat > "$out" <<EOF
<?xml version="1.0" encoding="UTF-8"?>
<testsuites><testsuite name="checks" tests="1" failures="1" skipped="0" time="0">
<testcase name="$1" classname="checks" time="0"><failure message="$1 failed">$text</failure></testcase>
</testsuite></testsuites>
EOF
}

if ! bash generate.sh > "$work/generate.log" 2>&1; then
  cat "$work/generate.log" >&2
  junit_failure generate.sh "$work/generate.log"
  exit 1
fi
if ! go build -o "$work/gojunit" ./internal/gojunit > "$work/gojunit.log" 2>&1; then
  cat "$work/gojunit.log" >&2
  junit_failure "go build ./internal/gojunit" "$work/gojunit.log"
  exit 1
fi

status=0
checks=()
check() {  # NAME COMMAND...: a step whose exit status and output become a case
  local name="$1" log="$work/check-${#checks[@]}.log" rc=0
  shift
  "$@" > "$log" 2>&1 || rc=$?
  [ "$rc" -eq 0 ] || { cat "$log" >&2; status=1; }
  checks+=(-check "$name=$rc=$log")
}
gofmt_clean() {
  local files
  files="$(find . -name '*.go' -not -path './vendor/*' -not -path './v1/*' -print0 \
    | xargs -0 gofmt -l)" || return 1
  [ -z "$files" ] || { echo "not gofmt-formatted: $files"; return 1; }
}
check "go build ./..." go build ./...
check "go vet ./..." go vet ./...
check "gofmt" gofmt_clean

test_rc=0
go test -race -json -count=1 -timeout 600s ./... > "$work/test.json" 2> "$work/test.stderr" || test_rc=$?
# Build errors come on stderr; the converter files them under the failed package.
cat "$work/test.stderr" >> "$work/test.json"
"$work/gojunit" -exit "$test_rc" "${checks[@]}" < "$work/test.json" > "$out" || status=1
[ "$test_rc" -eq 0 ] || status=1
exit $status
