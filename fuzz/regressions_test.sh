#!/usr/bin/env bash
# Replays every fuzz target on its saved inputs (fuzz/regressions/<target>/)
# with the normal toolchain (replay_main.cc): an input that once crashed a
# target, or broke one of its checks, must not do so again. Under
# --config=asan the replay runs sanitized too.
set -euo pipefail
status=0
for binary in "$@"; do
  target="$(basename "$binary")"
  dir="fuzz/regressions/$target"
  if [ ! -d "$dir" ]; then
    echo "$target: no saved inputs"
    continue
  fi
  if "$binary" "$dir"; then
    echo "$target: ok"
  else
    echo "$target: FAILED on an input in $dir"
    status=1
  fi
done
exit $status
