#!/usr/bin/env bash
# test.sh - the checks of `make test` (go vet, the gofmt check, go test
# -race ./..., then each fuzz target briefly: make's test-steps), run in a
# private network namespace with only loopback up when it can, so that
# nothing a test does can leave the machine (issue 10). That needs root,
# unshare (util-linux) and ip (iproute2); without them the checks run as
# they are, after one line saying so. Inside, Go uses no network
# (GOPROXY=off, GOSUMDB=off, GOTOOLCHAIN=local): the modules are
# downloaded first, outside it.
#
#   scripts/test.sh          (or: make test, after scripts/deps.sh)
#   TEST_NETNS=0 ...         do not try the namespace
#   TEST_NETNS=require ...   fail when it cannot be made (.ci/run)
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
MAKE=${MAKE:-make}
# Our binary refuses any address but loopback (TestMain sets it too).
export UNWORKABLE_LOOPBACK_ONLY=1

steps() { exec "$MAKE" --no-print-directory test-steps; }

if [[ ${UNWORKABLE_NETNS:-} == 1 ]]; then # already inside
  steps
fi
# The modules first, while the network is there (a no-op once downloaded).
"${GO:-go}" mod download
if [[ ${TEST_NETNS:-1} != 0 && $(id -u) -eq 0 ]] &&
  command -v unshare > /dev/null && command -v ip > /dev/null &&
  unshare --net -- ip link set lo up 2> /dev/null; then
  echo "test.sh: in a private network namespace: loopback (127.0.0.1, ::1) only"
  exec unshare --net -- env UNWORKABLE_NETNS=1 GOPROXY=off GOSUMDB=off GOTOOLCHAIN=local \
    sh -c 'ip link set lo up && exec bash "$0"' "$0"
fi
if [[ ${TEST_NETNS:-1} == require ]]; then
  echo "test.sh: could not make a network namespace (needs root, unshare and ip) and TEST_NETNS=require" >&2
  exit 1
fi
echo "test.sh: could not isolate the network (needs root, unshare and ip): the tests run on the host's network"
steps
