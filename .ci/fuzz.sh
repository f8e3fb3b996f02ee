#!/usr/bin/env bash
# Runs every go test -fuzz target for a while (default 60s each) and fails on
# the first new crasher; crashers are written under the package's
# testdata/fuzz/<Target>/ by the Go toolchain, so they become seeds.
#   bash .ci/fuzz.sh          # 60s per target
#   FUZZTIME=10s bash .ci/fuzz.sh
set -euo pipefail
cd "$(dirname "$0")/.."
fuzztime="${FUZZTIME:-60s}"
# package and target, one per line, found from the sources
targets=$(grep -rl --include='*_test.go' '^func Fuzz' . | while read -r f; do
  pkg="./$(dirname "${f#./}")"
  grep -o '^func Fuzz[A-Za-z0-9_]*' "$f" | sed 's/^func //' | sed "s|^|$pkg |"
done | sort)
echo "$targets" | while read -r pkg target; do
  [ -n "$target" ] || continue
  echo "== $pkg $target ($fuzztime)"
  go test "$pkg" -run '^$' -fuzz "^${target}\$" -fuzztime "$fuzztime" -parallel 2
done
echo "fuzz: all targets ran for $fuzztime without a new crasher"
