#!/usr/bin/env bash
# Builds the fuzz targets with --config=fuzz (clang, libFuzzer, ASan, UBSan) and
# runs each for a fixed time.
#
#   fuzz/run.sh --seconds=N [--junit=DIR] [--workdir=DIR] [target...]
#
#   --seconds=N    fuzzing time per target (default 60); targets run one after
#                  another, so the whole run takes about N x targets seconds
#                  plus the build.
#   --junit=DIR    writes DIR/fuzz_<target>/test.xml, one <testcase> per target
#                  with a <failure> when it found something: the layout
#                  bazel/test_summary.py counts (bazel/dev.sh test, with no
#                  arguments, passes a temporary directory here).
#   --workdir=DIR  where seeds, corpora, logs and crash inputs go (default a
#                  fresh directory under ${TMPDIR:-/tmp}, printed at the end).
#                  Reusing one keeps each target's corpus between runs.
#   --detect_leaks=0  turns LeakSanitizer's per-input check off (default 1):
#                  several times the exec/s, for long runs after a checked one.
#   target...      a subset of the targets below (default: all).
#
# Seeds are written at run time, never committed: certificates, CRLs and OCSP
# responses from //fuzz:seed_corpus (built with //tests/testutil:test_pki), the
# x509-limbo suite's certificates (../shared/conformance/limbo.json.gz or
# $CHAINVERIFY_LIMBO, when present; sampled for short runs),
# deploy/policy/*.textproto, and fuzz/regressions/<target>/.
#
# Exit status: 0 when no target found a crash, leak, timeout or out-of-memory;
# 1 when one did (its input is under WORKDIR/artifacts/<target>/, its log
# under WORKDIR/logs/); 2 on a usage or build error.
set -uo pipefail
cd "$(dirname "$0")/.."

ALL_TARGETS=(certificate_fuzzer path_builder_fuzzer policy_fuzzer crl_fuzzer
             ocsp_fuzzer verify_request_fuzzer issuer_response_fuzzer certdata_fuzzer)
# Largest input per target: a few certificates at most (certdata.txt spends
# about 10 KB of octal text on a root and its trust object).
declare -A MAX_LEN=(
  [certificate_fuzzer]=16384 [path_builder_fuzzer]=49152 [policy_fuzzer]=16384
  [crl_fuzzer]=32768 [ocsp_fuzzer]=16384 [verify_request_fuzzer]=49152
  [issuer_response_fuzzer]=32768 [certdata_fuzzer]=49152
)

seconds=60
junit=""
workdir=""
detect_leaks=1
targets=()
for arg in "$@"; do
  case "$arg" in
    --seconds=*) seconds="${arg#*=}" ;;
    --junit=*) junit="${arg#*=}" ;;
    --workdir=*) workdir="${arg#*=}" ;;
    --detect_leaks=*) detect_leaks="${arg#*=}" ;;
    -h|--help) sed -n '2,32p' "$0"; exit 0 ;;
    -*) echo "unknown option: $arg" >&2; exit 2 ;;
    *) targets+=("$arg") ;;
  esac
done
[[ "$seconds" =~ ^[0-9]+$ ]] || { echo "--seconds must be a number" >&2; exit 2; }
[ ${#targets[@]} -gt 0 ] || targets=("${ALL_TARGETS[@]}")
for t in "${targets[@]}"; do
  [ -n "${MAX_LEN[$t]:-}" ] || { echo "unknown target: $t (${ALL_TARGETS[*]})" >&2; exit 2; }
done
[ -n "$workdir" ] || workdir="$(mktemp -d "${TMPDIR:-/tmp}/chainverify-fuzz.XXXXXX")"
mkdir -p "$workdir"
workdir="$(realpath "$workdir")"
[ -z "$junit" ] || { mkdir -p "$junit"; junit="$(realpath "$junit")"; }

# One JUnit file per target: the case fails with `message` when non-empty.
write_junit() {
  local target="$1" message="$2" secs="$3" log="$4"
  [ -n "$junit" ] || return 0
  mkdir -p "$junit/fuzz_$target"
  python3 - "$junit/fuzz_$target/test.xml" "$target" "$message" "$secs" "$log" <<'PY'
import sys
from xml.sax.saxutils import escape, quoteattr
out, target, message, secs, log = sys.argv[1:]
try:
    tail = open(log, errors="replace").read()[-20000:]
except OSError:
    tail = ""
failure = (f"<failure message={quoteattr(message)}>{escape(tail)}</failure>"
           if message else "")
with open(out, "w") as f:
    f.write('<?xml version="1.0" encoding="utf-8"?>\n<testsuites>\n'
            f'<testsuite name="fuzz" tests="1" failures="{1 if message else 0}">\n'
            f'<testcase name="fuzz/{target}" classname="fuzz" time="{secs}">'
            f"{failure}<system-out>{escape(tail[-4000:])}</system-out></testcase>\n"
            "</testsuite>\n</testsuites>\n")
PY
}

labels=()
for t in "${targets[@]}"; do labels+=("//fuzz:$t"); done
# ld.gold warns about every ASan helper symbol it cannot export: hundreds of
# lines per binary, none of them actionable.
if ! bazel build --config=fuzz "${labels[@]}" //fuzz:seed_corpus \
    2> >(grep -v "Cannot export local symbol '__asan" >&2); then
  for t in "${targets[@]}"; do
    write_junit "$t" "bazel build --config=fuzz failed" 0 /dev/null
  done
  exit 2
fi
bindir="$(bazel info --config=fuzz bazel-bin)"

# Seeds: rewritten every run (test_pki keys are fresh each time).
rm -rf "$workdir/seeds"
"$bindir/fuzz/seed_corpus" "$workdir/seeds" >&2 || echo "seed_corpus failed; going on without its seeds" >&2
limbo="${CHAINVERIFY_LIMBO:-$PWD/../shared/conformance/limbo.json.gz}"
if [ -f "$limbo" ]; then
  # Seeds run at 20-100/s under ASan (OpenSSL 3's key decoding dominates; the
  # low end on a loaded 2-core machine): keep the replay to part of the run.
  per_target=$(( seconds * 2 < 100 ? 100 : seconds * 2 ))
  python3 fuzz/limbo_seeds.py "$limbo" "$workdir/seeds" "$per_target" >&2 \
    || echo "limbo_seeds.py failed; going on without limbo seeds" >&2
else
  echo "x509-limbo suite not found ($limbo): no limbo seeds" >&2
fi
mkdir -p "$workdir/seeds/policy_fuzzer"
cp deploy/policy/*.textproto "$workdir/seeds/policy_fuzzer/"
# certdata_fuzzer: Mozilla's certdata.txt (../shared/trust-data or
# $CHAINVERIFY_CERTDATA) cut into files of a few roots with their trust
# objects, each after the CLIENT_AUTH mode byte.
certdata="${CHAINVERIFY_CERTDATA:-$PWD/../shared/trust-data/mozilla/certdata.txt}"
if [ -f "$certdata" ]; then
  python3 - "$certdata" "$workdir/seeds/certdata_fuzzer" <<'PY' >&2 \
    || echo "certdata seeds failed; going on without them" >&2
import os, sys
text = open(sys.argv[1], encoding="utf-8").read()
head, _, data = text.partition("BEGINDATA\n")
objects = [o for o in data.split("\n\n") if "CKA_CLASS" in o]
os.makedirs(sys.argv[2], exist_ok=True)
chunk, n = [], 0
for i, obj in enumerate(objects):
    chunk.append(obj)
    if len(chunk) == 4 or i == len(objects) - 1:
        body = "BEGINDATA\n" + "\n\n".join(chunk) + "\n"
        with open(os.path.join(sys.argv[2], f"mozilla-{n:03d}"), "wb") as f:
            f.write(bytes([n % 3]) + body.encode())
        chunk, n = [], n + 1
print(f"certdata seeds: {n} slices of {sys.argv[1]}")
PY
else
  echo "Mozilla certdata.txt not found ($certdata): no certdata slices as seeds" >&2
fi

status=0
summary=()
for t in "${targets[@]}"; do
  corpus="$workdir/corpus/$t"
  artifacts="$workdir/artifacts/$t"
  log="$workdir/logs/$t.log"
  mkdir -p "$corpus" "$artifacts" "$workdir/logs" "$workdir/seeds/$t"
  seed_dirs=("$workdir/seeds/$t")
  [ -d "fuzz/regressions/$t" ] && seed_dirs+=("$PWD/fuzz/regressions/$t")
  echo "fuzzing $t for ${seconds}s (log: $log)" >&2
  start=$(date +%s)
  rc=0
  # -error_exitcode / -timeout_exitcode distinguish findings from other exits;
  # -timeout: one input taking longer is a finding (the service's own budget is
  # 2 s a request); -rss_limit_mb: so is growing past 2.5 GiB.
  ASAN_OPTIONS="detect_leaks=1:allocator_may_return_null=1${ASAN_OPTIONS:+:$ASAN_OPTIONS}" \
  UBSAN_OPTIONS="print_stacktrace=1:halt_on_error=1${UBSAN_OPTIONS:+:$UBSAN_OPTIONS}" \
    "$bindir/fuzz/$t" -max_total_time="$seconds" -rss_limit_mb=2560 -timeout=25 \
      -max_len="${MAX_LEN[$t]}" -error_exitcode=77 -timeout_exitcode=78 -detect_leaks="$detect_leaks" \
      -print_final_stats=1 -artifact_prefix="$artifacts/" \
      "$corpus" "${seed_dirs[@]}" >"$log" 2>&1 || rc=$?
  elapsed=$(( $(date +%s) - start ))
  execs="$(sed -n 's/^stat::number_of_executed_units: *//p' "$log" | tail -1)"
  rate="$(sed -n 's/^stat::average_exec_per_sec: *//p' "$log" | tail -1)"
  found="$(ls -A "$artifacts" 2>/dev/null | head -1)"
  message=""
  if [ $rc -ne 0 ] || [ -n "$found" ]; then
    message="$t: exit $rc${found:+, input $artifacts/$found}; see $log"
    status=1
  fi
  summary+=("$(printf '%-24s %5ss %10s execs %6s exec/s  %s' "$t" "$elapsed" "${execs:-?}" \
    "${rate:-?}" "${message:-ok}")")
  write_junit "$t" "$message" "$elapsed" "$log"
done

echo "fuzz results (workdir $workdir):"
printf '  %s\n' "${summary[@]}"
exit $status
