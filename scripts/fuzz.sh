#!/usr/bin/env bash
# fuzz.sh - run every fuzz target of every package for FUZZTIME each.
#
# Targets are found with `go test -list '^Fuzz'`; go test -fuzz takes one
# target of one package at a time.  Stops at the first failure (the failing
# input is kept under the package's testdata/fuzz/ by go test).
set -euo pipefail
FUZZTIME=${FUZZTIME:-30s}
GO=${GO:-go}
cd "$(dirname "${BASH_SOURCE[0]}")/.."

n=0
for pkg in $("$GO" list ./...); do
  for target in $("$GO" test -list '^Fuzz' "$pkg" | grep '^Fuzz' || true); do
    echo "== $pkg $target ($FUZZTIME)"
    "$GO" test -run '^$' -fuzz "^${target}\$" -fuzztime "$FUZZTIME" "$pkg"
    n=$((n + 1))
  done
done
echo "fuzz: $n target(s) run for $FUZZTIME each"
