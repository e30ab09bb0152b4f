#!/usr/bin/env bash
# Builds the chainverify wheel into OUT_DIR (created if missing) and prints its path.
# The chainverify.v1 stubs are generated from proto/ with Debian's protoc and
# grpc_python_plugin into a staging copy, so the source tree stays clean.
# Offline: setuptools and wheel come from Debian (python3-setuptools, python3-wheel,
# python3-build), not from an isolated build environment.
# Usage: client/python/build_wheel.sh OUT_DIR
set -euo pipefail
out="$(mkdir -p "$1" && cd "$1" && pwd)"
here="$(cd "$(dirname "$0")" && pwd)"
proto="$here/../../proto"
stage="$(mktemp -d -t chainverify-wheel.XXXXXX)"
trap 'rm -rf "$stage"' EXIT

cp "$here/pyproject.toml" "$stage/"
cp -r "$here/chainverify" "$stage/"
find "$stage" -name __pycache__ -prune -exec rm -rf {} +
# The public API (as //proto:protos): bench.proto is not part of it.
protoc -I"$proto" -I/usr/include --python_out="$stage" --grpc_out="$stage" \
  --plugin=protoc-gen-grpc=/usr/bin/grpc_python_plugin \
  "$proto"/chainverify/v1/{admin,audit,policy,verifier}.proto
echo '"""Generated from proto/chainverify/v1 by build_wheel.sh."""' \
  >"$stage/chainverify/v1/__init__.py"

if ! /usr/bin/python3 -m build --wheel --no-isolation --outdir "$out" "$stage" \
    >"$stage/build.log" 2>&1; then
  cat "$stage/build.log" >&2
  exit 1
fi
ls "$out"/chainverify-*-py3-none-any.whl
