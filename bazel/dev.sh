#!/usr/bin/env bash
# The README's two commands:
#   bazel/dev.sh serve [chainverifyd flags...]  install what is missing, start the service
#   bazel/dev.sh test  [bazel test args...]      install what is missing, run every test
#   bazel/dev.sh deps                            install what is missing, nothing else
#                                                (deploy/Dockerfile's build stage)
# Both work on a fresh Debian 12 machine (everything comes from Debian packages;
# Bazel runs offline, see bazel/README.md).
set -euo pipefail
cd "$(dirname "$0")/.."

PACKAGES=(
  bazel-bootstrap bazel-rules-java g++ pkg-config python3 ca-certificates openssl
  libgrpc++-dev protobuf-compiler-grpc libprotobuf-dev protobuf-compiler
  libabsl-dev libssl-dev libgtest-dev zlib1g-dev publicsuffix libcurl4-openssl-dev
  prometheus-cpp-dev libbenchmark-dev libjemalloc-dev python3-grpcio python3-protobuf python3-yaml
  clang libclang-rt-14-dev
  # Go client (client/go): toolchain, gRPC and protobuf modules, stub generators.
  golang-go golang-google-grpc-dev golang-google-protobuf-dev protoc-gen-go protoc-gen-go-grpc
  # Java client (client/java): JDK, gRPC-Java (with grpc-netty), protobuf-java, stub generator, JUnit.
  default-jdk-headless libgrpc-java libprotobuf-java protobuf-compiler-grpc-java-plugin junit4 junit5
  # What grpc-netty needs and libgrpc-java does not depend on (client/java/build.sh lists the jars).
  libnetty-java libperfmark-java libguava-java libgoogle-gson-java libjsr305-java
  liberror-prone-java libgeronimo-annotation-1.3-spec-java
  # Python client packaging and its HTTP-library tests (client/python).
  python3-venv python3-pip python3-wheel python3-setuptools python3-build
  python3-requests python3-urllib3 python3-httpx python3-aiohttp python3-pytest
  # Alert rules and their tests (deploy/monitoring): prometheus and promtool.
  prometheus
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

# A one-case failing JUnit file, for when a client's tests could not run at all.
# Usage: junit_failure OUT CLASSNAME MESSAGE
junit_failure() {
  local out="$1" classname="$2" message="$3"
  printf '<?xml version="1.0" encoding="utf-8"?>\n<testsuites>\n\t<testcase name="%s: %s" classname="%s">\n\t\t<failure message="%s"/>\n\t</testcase>\n</testsuites>\n' \
    "$classname" "$message" "$classname" "$message" >"$out"
}

# The client libraries' own test suites, each in its language's toolchain:
# every client/<lang>/run_tests.sh, run against the chainverifyd and chainverify
# CLI that `bazel test //...` just built. Contract of a run_tests.sh:
#   run_tests.sh JUNIT_FILE   env: CHAINVERIFYD, CHAINVERIFY_CLI (absolute paths)
# It writes JUnit XML to JUNIT_FILE (counted in the summary line) and exits
# non-zero on any failure. A script that writes nothing counts as one failure.
# Usage: client_tests JUNIT_DIR BAZEL_BIN_DIR LIMBO [bazel test args...]
client_tests() {
  local junit_dir="$1" bindir="$2" limbo="$3"
  shift 3
  mkdir -p "$junit_dir"
  rm -f "$junit_dir"/*.xml
  # Same configuration as the `bazel test` above when it had no extra arguments (CI);
  # otherwise that run built the binaries in its own configuration already.
  if [ $# -eq 0 ] && ! bazel build "${limbo_env[@]}" \
        //server:chainverifyd //client:chainverify >&2; then
    junit_failure "$junit_dir/clients.xml" clients "bazel build of chainverifyd failed"
    return 1
  fi
  local status=0 script lang out rc
  for script in client/*/run_tests.sh; do
    lang="$(basename "$(dirname "$script")")"
    out="$junit_dir/$lang.xml"
    echo "client/$lang: $script" >&2
    rc=0
    CHAINVERIFYD="$bindir/server/chainverifyd" CHAINVERIFY_CLI="$bindir/client/chainverify" \
      bash "$script" "$out" || rc=$?
    [ -s "$out" ] || junit_failure "$out" "client_$lang" "$script wrote no JUnit output (exit $rc)"
    [ "$rc" -eq 0 ] || status=$rc
  done
  return $status
}

case "${1:-}" in
  deps)
    install_missing
    ;;
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
    limbo_env=(--test_env=CHAINVERIFY_LIMBO="$limbo")
    # Mozilla's certdata.txt: the tests find ../shared/trust-data themselves;
    # CHAINVERIFY_CERTDATA, when set, points them elsewhere.
    if [ -n "${CHAINVERIFY_CERTDATA:-}" ]; then
      limbo_env+=(--test_env=CHAINVERIFY_CERTDATA="$CHAINVERIFY_CERTDATA")
    elif [ ! -f ../shared/trust-data/mozilla/certdata.txt ]; then
      echo "WARNING: Mozilla certdata.txt not found (../shared/trust-data/mozilla/certdata.txt or \$CHAINVERIFY_CERTDATA): the tests that read it will report it as absent" >&2
    fi
    phase_start=$SECONDS
    status=0
    bazel test //... "${limbo_env[@]}" "$@" || status=$?
    # The bazel-* symlinks are shared with every bazel command run in this workspace
    # (another one with -c opt repoints them): resolve this run's directories now.
    if [ $# -eq 0 ]; then
      testlogs="$(bazel info "${limbo_env[@]}" bazel-testlogs)" \
        || testlogs="$(readlink -f bazel-testlogs)"
      bindir="$(bazel info "${limbo_env[@]}" bazel-bin)" || bindir="$(readlink -f bazel-bin)"
    else
      testlogs="$(readlink -f bazel-testlogs)"
      bindir="$(readlink -f bazel-bin)"
    fi
    bazel_status=$status
    clients_status=0
    client_tests "$testlogs/clients" "$bindir" "$limbo" "$@" || clients_status=$?
    [ "$clients_status" -eq 0 ] || status=$clients_status
    echo "phase tests: ${status} exit, $((SECONDS - phase_start)) s" >&2
    # The clients' JUnit sits inside the testlogs tree but is not named test.xml,
    # so it is counted once, by its own --junit phase.
    phases=(--bazel "$testlogs" "$bazel_status" --junit "$testlogs/clients" "$clients_status")

    # With no arguments (CI), two more phases: the whole suite again under
    # ASan + UBSan, then a short run of every fuzz target. Arguments mean a
    # developer picked targets; those phases are theirs to run by hand (README).
    if [ $# -eq 0 ]; then
      phase_start=$SECONDS
      asan_status=0
      bazel test --config=asan //... "${limbo_env[@]}" || asan_status=$?
      # platform_suffix=asan: its own testlogs tree, beside the normal one.
      asan_testlogs="$(bazel info --config=asan "${limbo_env[@]}" bazel-testlogs)" \
        || asan_testlogs="$(readlink -f bazel-testlogs)"
      echo "phase asan: ${asan_status} exit, $((SECONDS - phase_start)) s" >&2
      phases+=(--bazel "$asan_testlogs" "$asan_status")
      [ "$asan_status" -eq 0 ] || status=$asan_status

      if [ -f fuzz/run.sh ]; then
        phase_start=$SECONDS
        fuzz_junit="$(mktemp -d -t chainverify-fuzz-junit.XXXXXX)"
        fuzz_status=0
        CHAINVERIFY_LIMBO="$limbo" bash fuzz/run.sh --seconds=30 --junit="$fuzz_junit" \
          || fuzz_status=$?
        echo "phase fuzz: ${fuzz_status} exit, $((SECONDS - phase_start)) s" >&2
        phases+=(--junit "$fuzz_junit" "$fuzz_status")
        [ "$fuzz_status" -eq 0 ] || status=$fuzz_status
      else
        echo "phase fuzz: NOT RUN: fuzz/run.sh is absent in this checkout" >&2
      fi
    fi
    python3 bazel/test_summary.py "${phases[@]}"
    [ -z "${fuzz_junit:-}" ] || rm -rf "$fuzz_junit"
    exit $status
    ;;
  *)
    echo "usage: bazel/dev.sh serve [flags] | test [bazel args] | deps" >&2
    exit 2
    ;;
esac
