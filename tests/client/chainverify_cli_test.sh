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

# trust diff: offline; bad sources and a missing file are errors, never "different".
expect 2 "wants two trust sources" trust diff system
expect 2 "is not system, pem_file:PATH" trust diff system bogus:x
expect 2 "cannot open $tmp/none.txt" trust diff system "mozilla_certdata:$tmp/none.txt"
expect 2 "garbage.txt:1: no BEGINDATA line" trust diff system "mozilla_certdata:$tmp/garbage.txt"
expect 2 "is not RFC 3339" trust diff --at=soon system system
expect 2 "usage: chainverify trust diff" trust

# audit verify|query: offline, on files. A chain made here with sha256sum, so
# the format is checked against the documented one, not the writer's code.
zeros=0000000000000000000000000000000000000000000000000000000000000000
l1='{"sequence":"1","previous_record_sha256":"'$zeros'","decision_id":"a","verdict":"TRUSTED","status":"OK","peer_name":"a.example"}'
h1=$(printf '%s' "$l1" | sha256sum | cut -d' ' -f1)
l2='{"sequence":"2","previous_record_sha256":"'$h1'","decision_id":"b","verdict":"REJECTED","status":"EXPIRED","peer_name":"b.example"}'
h2=$(printf '%s' "$l2" | sha256sum | cut -d' ' -f1)
l3='{"sequence":"3","previous_record_sha256":"'$h2'","decision_id":"c","verdict":"TRUSTED","status":"OK","peer_name":"c.example"}'
printf '%s\n%s\n' "$l1" "$l2" >"$tmp/audit.log.20240101T000000Z.1"
printf '%s\n' "$l3" >"$tmp/audit.log"

expect 2 "audit needs a subcommand" audit
expect 2 "unknown audit subcommand 'frob'" audit frob
expect 2 "no files" audit verify
expect 2 "no files" audit query
expect 2 "$tmp/missing.log" audit verify "$tmp/missing.log"
expect 2 "--verdict must be TRUSTED or REJECTED" audit query --verdict=MAYBE "$tmp/audit.log"
expect 2 "--status 'SOMETIMES'" audit query --status=SOMETIMES "$tmp/audit.log"
expect 2 "--fingerprint 'zz'" audit query --fingerprint=zz "$tmp/audit.log"
expect 2 "--since 'yesterday' is not RFC 3339" audit query --since=yesterday "$tmp/audit.log"
# expect_stdout CODE STDOUT_LINE ARGS...: exit code and one whole line of stdout.
expect_stdout() {
  local want="$1" line="$2"
  shift 2
  "$cli" "$@" >"$tmp/out" 2>"$tmp/err"
  local got=$?
  if [[ $got -ne $want ]] || ! grep -qxF -- "$line" "$tmp/out"; then
    echo "FAIL: chainverify $* exited $got (want $want), stdout:"
    sed 's/^/    /' "$tmp/out"
    echo "  (expected the line: $line)"
    failures=$((failures + 1))
  fi
}

# --help documents every subcommand and every subcommand's flags.
"$cli" --help >"$tmp/help" 2>&1
for want in "audit verify [--allow_missing_start]" "audit query FILE|DIR..." \
  "trust diff OLD NEW" "--allow_missing_start (" "--fetched (" "--expiring_within (" \
  "--tls_ca ("; do
  if ! grep -qF -- "$want" "$tmp/help"; then
    echo "FAIL: chainverify --help does not mention: $want"
    failures=$((failures + 1))
  fi
done

# Newest file first on the command line: sorted by first sequence.
expect_stdout 0 "audit chain intact: 3 record(s) in 2 file(s), sequences 1 to 3" \
  audit verify --require_genesis "$tmp/audit.log" "$tmp/audit.log.20240101T000000Z.1"
expect_stdout 0 "2" \
  audit query --count --verdict=TRUSTED "$tmp/audit.log" "$tmp/audit.log.20240101T000000Z.1"
expect_stdout 0 "$l2" audit query --status=EXPIRED "$tmp/audit.log.20240101T000000Z.1"
# A directory stands for the files in it (no shell to expand a glob in a
# distroless container).
mkdir "$tmp/logdir"
cp "$tmp/audit.log" "$tmp/audit.log.20240101T000000Z.1" "$tmp/logdir/"
expect_stdout 0 "audit chain intact: 3 record(s) in 2 file(s), sequences 1 to 3" \
  audit verify "$tmp/logdir"
expect_stdout 0 "3" audit query --count "$tmp/logdir/"
# Records of another lineage beside them, and a lineage missing its start.
m1='{"sequence":"5","previous_record_sha256":"'$h1'","decision_id":"m","lineage":"other"}'
printf '%s\n' "$m1" >"$tmp/logdir/other.log"
expect_stdout 1 "lineage other: audit chain BROKEN at $tmp/logdir/other.log:1 (sequence 5): chain starts at sequence 5 (earlier files missing); the start is required" \
  audit verify "$tmp/logdir"
expect_stdout 0 "summary: 2 lineage(s), 2 intact, 0 broken; 4 record(s) verified in 3 file(s); 0 line(s) that are not records skipped" \
  audit verify --allow_missing_start "$tmp/logdir"
expect_stdout 0 "1" audit query --count --lineage=other "$tmp/logdir"
# One character changed in the first record: named as the broken one.
printf '%s\n%s\n' "${l1/a.example/x.example}" "$l2" >"$tmp/audit.log.20240101T000000Z.1"
expect_stdout 1 "audit chain BROKEN at $tmp/audit.log.20240101T000000Z.1:1 (sequence 1): the record does not match the previous_record_sha256 stored in the next record (sequence 2, $tmp/audit.log.20240101T000000Z.1:2): it was altered (or that hash was)" \
  audit verify "$tmp/audit.log.20240101T000000Z.1" "$tmp/audit.log"

if [[ $failures -ne 0 ]]; then
  echo "$failures check(s) failed"
  exit 1
fi
echo "PASS"
