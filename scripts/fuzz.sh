#!/usr/bin/env bash
# fuzz.sh - run every fuzz target of every package for FUZZTIME each.
#
#   FUZZTIME      how long each target runs: a duration, or a count of
#                 inputs such as 100000x (default 30s; `make fuzz-ci`: 100000x)
#   FUZZPARALLEL  fuzzing workers per target (default 1: the machine is shared)
#
# Targets are found with `go test -list '^Fuzz'`; go test -fuzz takes one
# target of one package at a time.  Stops at the first failure: go test keeps
# the failing input under the package's testdata/fuzz/<Target>/, where plain
# `go test` replays it from then on (commit it as a regression test).
set -euo pipefail
FUZZTIME=${FUZZTIME:-30s}
FUZZPARALLEL=${FUZZPARALLEL:-1}
GO=${GO:-go}
cd "$(dirname "${BASH_SOURCE[0]}")/.."

n=0
start=$SECONDS
for pkg in $("$GO" list ./...); do
  for target in $("$GO" test -list '^Fuzz' "$pkg" | grep '^Fuzz' || true); do
    echo "== $pkg $target ($FUZZTIME, -parallel $FUZZPARALLEL)"
    "$GO" test -run '^$' -fuzz "^${target}\$" -fuzztime "$FUZZTIME" -parallel "$FUZZPARALLEL" "$pkg"
    n=$((n + 1))
  done
done
if [ "$n" -eq 0 ]; then
  echo "fuzz: no fuzz targets found" >&2
  exit 1
fi
echo "fuzz: $n target(s) run for $FUZZTIME each in $((SECONDS - start)) s"
