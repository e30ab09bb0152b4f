#!/usr/bin/env bash
# Client-side benchmark of the Python and Node clients (README "Python", "Node"):
# verifications per second through each client library, one call at a time, for a
# new gRPC channel per call (what the Python verify_chain did) and for the shared
# channel, interleaved, against chainverifyd (-c opt, loopback) over plaintext and
# over TLS (what every non-loopback deployment uses). The ratio lines are the TLS
# figures:
#   ratio python_shared_channel_vs_per_call = X (target >= 3)
#   ratio node_shared_channel_vs_per_call = X (target >= 3)
# The servers run with --audit_durability=none: the audit log is written, but its
# fsync (group commit waits up to 5 ms per batch), the same for both variants, would
# otherwise hide the client's share of a sequential caller's latency. The clients are
# the built artifacts (wheel, npm tarball) installed into fresh environments; the
# chain is the seed example (L, A, B, C uploaded; host service.example.com).
# Usage: bench/clients/run.sh [SECONDS per client and transport, default 10]
set -euo pipefail
seconds="${1:-10}"
repo="$(cd "$(dirname "$0")/../.." && pwd)"
cd "$repo"
bazel build -c opt //server:chainverifyd //tests/testutil:make_seed_pki >&2
bin="$(bazel info -c opt bazel-bin 2>/dev/null)"
work="$(mktemp -d -t chainverify-clientbench.XXXXXX)"
pids=()
cleanup() {
  for pid in "${pids[@]}"; do kill "$pid" 2>/dev/null || true; done
  rm -rf "$work"
}
trap cleanup EXIT

mkdir "$work/pki"
"$bin/tests/testutil/make_seed_pki" "$work/pki"
openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -days 1 \
  -subj /CN=chainverifyd -addext subjectAltName=IP:127.0.0.1 \
  -keyout "$work/tls.key" -out "$work/tls.pem" 2>/dev/null

# Starts chainverifyd with extra flags; sets $target to its host:port.
start_server() {
  local name="$1"
  shift
  (cd "$work/pki" && exec "$bin/server/chainverifyd" --listen=127.0.0.1:0 --metrics_listen= \
    --audit_log="$work/audit-$name.log" --audit_durability=none \
    --policy_file=policy.textproto "$@" >"$work/$name.out" 2>"$work/$name.err") &
  pids+=($!)
  for _ in $(seq 100); do
    grep -q '^listening on ' "$work/$name.out" 2>/dev/null && break
    sleep 0.1
  done
  target="$(sed -n 's/^listening on \([^ ]*\) .*/\1/p' "$work/$name.out")"
  [ -n "$target" ] || { cat "$work/$name.err" >&2; echo "chainverifyd ($name) did not start" >&2; exit 1; }
}
start_server plaintext
plain="$target"
start_server tls --tls_cert="$work/tls.pem" --tls_key="$work/tls.key"
tls="$target"
args=("$work/pki/chain.pem" service.example.com "$seconds" "$plain" "$tls" "$work/tls.pem")
echo "chainverifyd: plaintext $plain, TLS $tls; $seconds s per client and transport" >&2

# Python: the wheel in a fresh venv on Debian's python3.
wheel="$(client/python/build_wheel.sh "$work/dist")"
/usr/bin/python3 -m venv --system-site-packages "$work/venv"
"$work/venv/bin/pip" install --no-index --quiet "$wheel"
(cd "$work" && "$work/venv/bin/python" "$repo/bench/clients/python_bench.py" "${args[@]}")

# Node: the npm tarball in a fresh project.
tarball="$(cd client/node && npm pack --silent --pack-destination "$work")"
mkdir "$work/project"
printf '{ "private": true, "dependencies": { "@chainverify/client": "file:../%s" } }\n' \
  "$tarball" >"$work/project/package.json"
(cd "$work/project" && npm install --no-audit --no-fund --loglevel=error >&2)
cp bench/clients/node_bench.js "$work/project/"
# --no-deprecation: grpc-js sets the TLS server name to the IP target (DEP0123).
(cd "$work/project" && node --no-deprecation node_bench.js "${args[@]}")
