#!/usr/bin/env bash
# The README's two commands:
#   bazel/dev.sh serve [chainverifyd flags...]  install what is missing, start the service
#   bazel/dev.sh test  [bazel test args...]      install what is missing, run every test
# Both work on a fresh Debian 12 machine (everything comes from Debian packages;
# Bazel runs offline, see bazel/README.md).
set -euo pipefail
cd "$(dirname "$0")/.."

PACKAGES=(
  bazel-bootstrap bazel-rules-java g++ pkg-config python3 ca-certificates openssl
  libgrpc++-dev protobuf-compiler-grpc libprotobuf-dev protobuf-compiler
  libabsl-dev libssl-dev libgtest-dev zlib1g-dev publicsuffix libcurl4-openssl-dev
  prometheus-cpp-dev libbenchmark-dev
)

install_missing() {
  local missing=()
  for p in "${PACKAGES[@]}"; do
    dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
  done
  [ ${#missing[@]} -eq 0 ] && return 0
  echo "installing: ${missing[*]}" >&2
  local sudo=""
  [ "$(id -u)" -eq 0 ] || sudo="sudo"
  $sudo apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq "${missing[@]}" >&2
}

# The x509-limbo suite lives beside the checkout (../shared), or where
# CHAINVERIFY_LIMBO points.
limbo_path() {
  if [ -n "${CHAINVERIFY_LIMBO:-}" ]; then echo "$CHAINVERIFY_LIMBO"; return; fi
  local default="$PWD/../shared/conformance/limbo.json.gz"
  [ -f "$default" ] && realpath "$default" || echo ""
}

case "${1:-}" in
  serve)
    shift
    install_missing
    exec bazel run -c opt //server:chainverifyd -- \
      --audit_log="$PWD/chainverify-audit/audit.log" "$@"
    ;;
  test)
    shift
    install_missing
    limbo="$(limbo_path)"
    [ -n "$limbo" ] || echo "WARNING: x509-limbo suite not found (../shared/conformance/limbo.json.gz or \$CHAINVERIFY_LIMBO): the conformance test will report it as absent" >&2
    status=0
    bazel test //... --test_env=CHAINVERIFY_LIMBO="$limbo" "$@" || status=$?
    python3 bazel/test_summary.py bazel-testlogs "$status"
    exit $status
    ;;
  *)
    echo "usage: bazel/dev.sh serve [flags] | test [bazel args]" >&2
    exit 2
    ;;
esac
