#!/bin/bash
# Exit codes of the chainverify CLI: scripts rely on 2 meaning "could not tell",
# never 1 (REJECTED), for every kind of error.
set -u

cli="$1"
tmp="${TEST_TMPDIR:-$(mktemp -d)}"
failures=0

# The outer shape of a certificate (a DER SEQUENCE): enough to get past the
# client, which leaves certificate parsing to the server.
printf '\x30\x03\x02\x01\x01' >"$tmp/cert.der"
echo "not a certificate" >"$tmp/garbage.txt"

# expect CODE STDERR_SUBSTRING ARGS...
expect() {
  local want="$1" pattern="$2"
  shift 2
  "$cli" "$@" >"$tmp/out" 2>"$tmp/err"
  local got=$?
  if [[ $got -ne $want ]] || ! grep -qF -- "$pattern" "$tmp/err"; then
    echo "FAIL: chainverify $* exited $got (want $want), stderr:"
    sed 's/^/    /' "$tmp/err"
    echo "  (expected stderr to contain: $pattern)"
    failures=$((failures + 1))
  fi
}

unset CHAINVERIFY_SERVER
expect 2 "no subcommand"
expect 2 "unknown subcommand 'frobnicate'" frobnicate
expect 2 "unknown flag --bogus" verify --bogus "$tmp/cert.der"
expect 2 "bad value for --json" verify --json=maybe "$tmp/cert.der"
expect 2 "missing value for --host" verify "$tmp/cert.der" --host
expect 2 "no certificates" verify
expect 2 "$tmp/missing.pem" verify "$tmp/missing.pem"
expect 2 "$tmp/garbage.txt" verify --chain "$tmp/cert.der,$tmp/garbage.txt"
expect 2 "--usage must be" verify --usage=peer "$tmp/cert.der"
expect 2 "is not RFC 3339" verify --time=yesterday "$tmp/cert.der"
expect 2 "--label wants key=value" verify --label=env "$tmp/cert.der"
expect 2 "need --tls_ca" verify --tls_cert="$tmp/cert.der" "$tmp/cert.der"
# Nothing listens on port 1: the RPC fails, naming the server.
expect 2 "UNAVAILABLE: chainverify server at 127.0.0.1:1" \
  verify --server=127.0.0.1:1 --chain "$tmp/cert.der" "$tmp/cert.der"
CHAINVERIFY_SERVER=127.0.0.1:1 expect 2 "chainverify server at 127.0.0.1:1" \
  verify "$tmp/cert.der"
# The flag wins over the environment.
CHAINVERIFY_SERVER=127.0.0.1:7 expect 2 "chainverify server at 127.0.0.1:1" \
  verify --server=127.0.0.1:1 "$tmp/cert.der"

if [[ $failures -ne 0 ]]; then
  echo "$failures check(s) failed"
  exit 1
fi
echo "PASS"
