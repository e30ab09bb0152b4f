#!/usr/bin/env bash
# Builds the Java client from Debian's jars, offline, with javac and jar (Bazel 4.2.3's
# Java rules would download their tools):
#   client/java/build.sh            build/chainverify-client.jar (stubs + client)
#   client/java/build.sh tests      also build/tests (the end-to-end tests)
#   client/java/build.sh classpath  print the runtime class path (the jars below)
# The chainverify.v1 stubs are generated from proto/chainverify/v1/*.proto on every
# build (protoc --java_out and the grpc-java plugin) into build/gen; they are never
# committed. Nothing is rebuilt when no input is newer than the jar.
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
repo="$(cd "$here/../.." && pwd)"
out="$here/build"
J=/usr/share/java

# What gRPC-Java 1.41's Netty transport needs at run time (from the Maven poms in
# /usr/share/maven-repo/io/grpc), with the Debian package that ships each jar:
RUNTIME_JARS=(
  "$J/grpc-api.jar" "$J/grpc-context.jar" "$J/grpc-core.jar"    # libgrpc-java
  "$J/grpc-netty.jar" "$J/grpc-protobuf.jar" "$J/grpc-protobuf-lite.jar" "$J/grpc-stub.jar"
  "$J/protobuf.jar"                                              # libprotobuf-java
  "$J/guava.jar"                                                 # libguava-java (has failureaccess)
  "$J/gson.jar"                                                  # libgoogle-gson-java (service config JSON)
  "$J/perfmark-api.jar"                                          # libperfmark-java
  "$J/netty-buffer.jar" "$J/netty-codec.jar" "$J/netty-codec-http.jar"   # libnetty-java
  "$J/netty-codec-http2.jar" "$J/netty-codec-socks.jar" "$J/netty-common.jar"
  "$J/netty-handler.jar" "$J/netty-handler-proxy.jar" "$J/netty-resolver.jar"
  "$J/netty-transport.jar"
)
# Compile time only: annotations the generated and gRPC code refer to.
COMPILE_JARS=(
  "$J/jsr305.jar"                                   # libjsr305-java
  "$J/error_prone_annotations.jar"                  # liberror-prone-java
  "$J/geronimo-annotation-1.3-spec.jar"             # javax.annotation.Generated in the gRPC stubs
)
TEST_JARS=("$J/junit-jupiter-api.jar" "$J/apiguardian-api.jar" "$J/opentest4j.jar")  # junit5

join() { local IFS=:; echo "$*"; }
runtime_cp() { join "$out/chainverify-client.jar" "${RUNTIME_JARS[@]}"; }

check_jars() {
  local missing=() j
  for j in "$@"; do [ -f "$j" ] || missing+=("$j"); done
  if [ ${#missing[@]} -gt 0 ]; then
    echo "client/java: missing ${missing[*]} (bazel/dev.sh deps installs the Debian packages)" >&2
    exit 1
  fi
}

build_client() {
  check_jars "${RUNTIME_JARS[@]}" "${COMPILE_JARS[@]}"
  local jar="$out/chainverify-client.jar"
  if [ -f "$jar" ] && [ -z "$(find "$here/src/main" "$repo/proto/chainverify/v1" "$here/build.sh" \
        -newer "$jar" -print -quit)" ]; then
    return 0
  fi
  rm -rf "$out/gen" "$out/classes" "$jar"
  mkdir -p "$out/gen" "$out/classes"
  # The public API (//proto:protos): bench.proto is not part of it.
  local protos=()
  for p in "$repo"/proto/chainverify/v1/*.proto; do
    [ "$(basename "$p")" = bench.proto ] || protos+=("$p")
  done
  protoc -I "$repo/proto" -I /usr/include \
    --java_out="$out/gen" \
    --plugin=protoc-gen-grpc-java=/usr/bin/grpc_java_plugin --grpc-java_out="$out/gen" \
    "${protos[@]}"
  local cp
  cp="$(join "${RUNTIME_JARS[@]}" "${COMPILE_JARS[@]}")"
  # Generated code first (its own warnings are not ours), then the client with -Werror.
  find "$out/gen" -name '*.java' >"$out/gen.list"
  javac --release 11 -nowarn -encoding UTF-8 -cp "$cp" -d "$out/classes" @"$out/gen.list"
  find "$here/src/main/java" -name '*.java' >"$out/main.list"
  javac --release 11 -Xlint:all,-serial,-processing -Werror -encoding UTF-8 \
    -cp "$out/classes:$cp" -d "$out/classes" @"$out/main.list"
  # Class-Path: Debian's jars by absolute path, so `java -cp chainverify-client.jar`
  # finds gRPC, Netty and protobuf on a Debian machine (as Debian's own jars do).
  {
    echo "Implementation-Title: chainverify-client"
    printf 'Class-Path:'
    printf ' %s' "${RUNTIME_JARS[@]}"
    echo
  } | fold -w 69 | sed '2,$s/^/ /' >"$out/manifest.txt"
  jar --create --file "$jar" --manifest "$out/manifest.txt" -C "$out/classes" .
  echo "client/java: built $jar" >&2
}

build_tests() {
  check_jars "${TEST_JARS[@]}"
  rm -rf "$out/tests"
  mkdir -p "$out/tests"
  find "$here/src/test/java" -name '*.java' >"$out/test.list"
  javac --release 17 -Xlint:all,-serial,-processing -Werror -encoding UTF-8 \
    -cp "$(runtime_cp):$(join "${COMPILE_JARS[@]}" "${TEST_JARS[@]}")" \
    -d "$out/tests" @"$out/test.list"
}

case "${1:-}" in
  "") build_client ;;
  tests) build_client; build_tests ;;
  classpath) runtime_cp ;;
  *) echo "usage: client/java/build.sh [tests|classpath]" >&2; exit 2 ;;
esac
