#!/usr/bin/env bash
# demo.sh - watch unworkable download from itself on loopback.
#
# Builds the binary, writes a random ~64 MiB payload (a directory of a few
# files) into a temp dir, makes a torrent of it with `unworkable create`,
# starts one instance seeding it and a second one downloading it in the
# foreground (the progress meter shows on a terminal), then compares the
# result with the source and prints PASS or FAIL.  No tracker: the torrent
# names a dead announce URL (its failures are retried), and the downloader
# is given only a magnet link naming the info hash and the seeder's address
# (x.pe): it fetches the metadata from the seeder (BEP 9), then the data.
#
#   scripts/demo.sh            (or: make demo)
#   KEEP=1 scripts/demo.sh     keep the temp dir (logs, trace, data)
#   DEMO_TIMEOUT=600 ...       give the download longer than 300 s
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
# Loopback only (issue 10): our binary refuses any other address.
export UNWORKABLE_LOOPBACK_ONLY=1

T=$(mktemp -d "${TMPDIR:-/tmp}/unworkable-demo.XXXXXX")
export XDG_CACHE_HOME=$T/cache # the DHT state files of the demo's nodes
SEED_PID=
cleanup() {
  local rc=$?
  trap - EXIT INT TERM
  if [[ -n $SEED_PID ]] && kill -0 "$SEED_PID" 2>/dev/null; then
    kill -INT "$SEED_PID" 2>/dev/null || true
    for _ in $(seq 50); do kill -0 "$SEED_PID" 2>/dev/null || break; sleep 0.1; done
    kill -KILL "$SEED_PID" 2>/dev/null || true
  fi
  if [[ ${KEEP:-0} == 1 ]]; then echo "demo: kept $T" >&2; else rm -rf "$T"; fi
  exit "$rc"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

port_busy() {  # port_busy PORT: is anything listening on (or connected from) PORT?
  if command -v ss > /dev/null; then
    [[ -n $(ss -Htan "( sport = :$1 )") ]]
  else
    (exec 3<> "/dev/tcp/127.0.0.1/$1") 2> /dev/null
  fi
}
free_port() {  # print a port that is free now
  local p
  for _ in $(seq 100); do
    p=$((20000 + RANDOM % 40000))
    port_busy "$p" || { echo "$p"; return; }
  done
  echo "demo: no free port found" >&2; return 1
}

echo "demo: building"
BIN=$T/unworkable
go build -ldflags "-X main.version=$(git describe --always --dirty 2>/dev/null || echo dev)" \
  -o "$BIN" ./cmd/unworkable

echo "demo: writing a random payload in $T/src/demo"
mkdir -p "$T/src/demo/sub" "$T/dst"
head -c $((24 << 20)) /dev/urandom > "$T/src/demo/alpha.bin"
head -c $((16 << 20 | 4321)) /dev/urandom > "$T/src/demo/beta.bin"
head -c $((24 << 20)) /dev/urandom > "$T/src/demo/sub/gamma.bin"
: > "$T/src/demo/sub/empty"
MIB=$(find "$T/src/demo" -type f -printf '%s\n' | awk '{s += $1} END {printf "%.1f", s / 1048576}')

"$BIN" create -a http://127.0.0.1:1/announce -o "$T/demo.torrent" "$T/src/demo"

P1=$(free_port)
P2=$(free_port)
while [[ $P2 == "$P1" ]]; do P2=$(free_port); done

echo "demo: seeder on port $P1 (log: $T/seed.log)"
"$BIN" -s -p "$P1" --dht-bootstrap "127.0.0.1:$P2" -o "$T/src" -t "$T/seed.trace" "$T/demo.torrent" > "$T/seed.log" 2>&1 < /dev/null &
SEED_PID=$!
# Ready once it listens and its start-up hash check is over (the trace's
# "start" line): a peer that connects during the check is turned away and
# redials 5 s later, which would time the wait, not the download.
seed_ready() { port_busy "$P1" && grep -q '^[^ ]* start ' "$T/seed.trace" 2>/dev/null; }
for _ in $(seq 300); do
  seed_ready && break
  kill -0 "$SEED_PID" 2>/dev/null || { echo "demo: the seeder died:" >&2; cat "$T/seed.log" >&2; exit 1; }
  sleep 0.1
done
seed_ready || { echo "demo: the seeder is not ready on $P1" >&2; exit 1; }

HASH=$("$BIN" info --json "$T/demo.torrent" | sed -n 's/.*"info_hash":"\([0-9a-f]\{40\}\)".*/\1/p')
MAGNET="magnet:?xt=urn:btih:$HASH&dn=demo&x.pe=127.0.0.1:$P1"
echo "demo: downloading $MIB MiB from $MAGNET into $T/dst"
start=$(date +%s.%N)
rc=0
timeout --foreground "${DEMO_TIMEOUT:-300}" \
  "$BIN" -p "$P2" --dht-bootstrap "127.0.0.1:$P1" -o "$T/dst" -t "$T/leech.trace" "$MAGNET" || rc=$?
secs=$(awk -v s="$start" -v e="$(date +%s.%N)" 'BEGIN{printf "%.1f", e - s}')

if ((rc != 0)); then
  echo "FAIL: the downloader exited with status $rc after $secs s (seeder log: $T/seed.log)" >&2
  tail -20 "$T/seed.log" >&2
  exit 1
fi
if ! diff -r "$T/src/demo" "$T/dst/demo" > "$T/diff.txt" 2>&1; then
  echo "FAIL: downloaded data differs from the source:" >&2
  head -20 "$T/diff.txt" >&2
  exit 1
fi
echo "PASS: $MIB MiB downloaded in $secs s from a local seeder; every file identical"

kill -INT "$SEED_PID"
src=0
wait "$SEED_PID" || src=$?
SEED_PID=
if ((src != 0)); then
  echo "demo: the seeder exited with status $src after SIGINT (want 0):" >&2
  tail -20 "$T/seed.log" >&2
  exit 1
fi
echo "demo: seeder stopped cleanly"
