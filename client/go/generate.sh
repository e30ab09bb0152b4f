#!/usr/bin/env bash
# Prepares client/go for an offline `go build` from Debian's packages alone:
#   v1/      the Go stubs of proto/chainverify/v1/*.proto (protoc, protoc-gen-go,
#            protoc-gen-go-grpc), package chainverify/v1 as the protos' go_package says;
#   vendor/  links to the module sources Debian installs under /usr/share/gocode/src
#            (golang-google-grpc-dev, golang-google-protobuf-dev and their dependencies)
#            plus vendor/modules.txt, so the go command builds with -mod=vendor and
#            never asks a module proxy.
# Both are generated, never committed (.gitignore). Run it after a change to proto/.
# Usage: generate.sh   (env: CHAINVERIFY_GOCODE, another Debian-style Go source tree)
set -euo pipefail
cd "$(dirname "$0")"
gocode="${CHAINVERIFY_GOCODE:-/usr/share/gocode/src}"

for tool in go protoc protoc-gen-go protoc-gen-go-grpc; do
  if ! command -v "$tool" >/dev/null; then
    echo "client/go: $tool is not installed (Debian: golang-go protobuf-compiler" \
      "protoc-gen-go protoc-gen-go-grpc; bazel/dev.sh deps installs them)" >&2
    exit 1
  fi
done

# Modules whose packages the client and its tests import, directly or through
# gRPC: each is one directory of Debian's tree.
modules=(
  google.golang.org/grpc             # golang-google-grpc-dev
  google.golang.org/protobuf         # golang-google-protobuf-dev
  google.golang.org/genproto         # golang-google-genproto-dev
  github.com/golang/protobuf         # golang-github-golang-protobuf-1-3-dev (or -1-5-)
  golang.org/x/net                   # golang-golang-x-net-dev
  golang.org/x/sys                   # golang-golang-x-sys-dev
  golang.org/x/text                  # golang-golang-x-text-dev
)
rm -rf vendor
for m in "${modules[@]}"; do
  if [ ! -d "$gocode/$m" ]; then
    echo "client/go: $gocode/$m is missing (install golang-google-grpc-dev and" \
      "golang-google-protobuf-dev)" >&2
    exit 1
  fi
  mkdir -p "vendor/$(dirname "$m")"
  ln -s "$gocode/$m" "vendor/$m"
done
# The go command checks that every requirement of go.mod is listed as explicit;
# the other linked modules need no entry.
awk '/^require \(/ { inblock = 1; next }
     inblock && /^\)/ { inblock = 0; next }
     inblock && NF >= 2 { printf "# %s %s\n## explicit\n", $1, $2 }
     /^require [^(]/ { printf "# %s %s\n## explicit\n", $2, $3 }' go.mod > vendor/modules.txt

rm -rf v1
protoc -I ../../proto \
  --go_out=. --go_opt=module=chainverify \
  --go-grpc_out=. --go-grpc_opt=module=chainverify \
  ../../proto/chainverify/v1/*.proto
