#!/usr/bin/env bash
# magnet-bench.sh - how fast a magnet download gets going: our client beside
# aria2c, in the same run, against the same seeder, all on 127.0.0.1.
#
# A 64 MiB random payload in 1 MiB pieces (mktorrent) is seeded by our own
# binary (unworkable -s). Each leecher gets the magnet link
#   magnet:?xt=urn:btih:HASH&x.pe=127.0.0.1:SEEDPORT
# (no tracker, no name) and a fresh output directory; MAGNET_REPS runs each,
# interleaved (the order alternates). Per run it prints the seconds from
# process start to the metadata (the info dictionary) being fetched and
# verified, to the first verified piece, and to exit (download complete);
# then the medians per client and the ratio ours/aria2c. Every run's data is
# compared with the source (cmp); a mismatch, a missing moment or a non-zero
# exit fails the script.
#
# How the moments are taken:
#   start    date +%s.%N in the subshell that then execs the client (through
#            timeout), so start-up costs count. The same for both clients.
#   ours     -t TRACE, RFC3339Nano timestamps per line: the line
#            "metadata: N bytes verified", then the first "verified N".
#   aria2c   --log=FILE --log-level=info; its lines carry local time to the
#            microsecond without a zone, so both clients run with TZ=UTC:
#            the line "Got ut_metadata" (logged once the assembled info
#            dictionary's SHA-1 matched the info hash), then the first
#            "CUID#N - we got new piece. index=I" (logged once the piece's
#            SHA-1 matched and it was flushed to disk).
#   end      date +%s.%N once the client has exited.
# Both clocks are the system's real-time clock, to well under 10 ms.
#
# aria2c (1.36, and its master) ignores x.pe in a magnet link: it reads only
# xt, dn and tr. So an opentracker on 127.0.0.1 runs too; the seeder
# announces to it (it is the .torrent's announce URL, which lies outside the
# info dictionary, so our leecher never learns of it), and aria2c is given it
# with --bt-tracker. The magnet link itself is the same for both clients.
# aria2c announces again once it has the metadata (it drops the peers it had).
# DHT, LPD and PEX are off; no packet leaves 127.0.0.0/8. aria2c's figures
# are mostly its one-second engine ticks: announce, connect (its MSE attempt
# fails, our client has no MSE, so it reconnects plain a tick later),
# metadata, announce again, connect again. About 45 s with 5 runs.
#
#   scripts/magnet-bench.sh          (also step 2 of scripts/bench.sh)
#   MAGNET_REPS=5 ...                runs per client (5)
#   MAGNET_TIMEOUT=60 ...            seconds per run before it counts as failed (60)
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
# Loopback only (issue 10): our binary refuses any other address.
export UNWORKABLE_LOOPBACK_ONLY=1
GO=${GO:-go}
REPS=${MAGNET_REPS:-5}
TMO=${MAGNET_TIMEOUT:-60}
MIB=64
[[ $REPS =~ ^[1-9][0-9]*$ ]] || { echo "magnet-bench: MAGNET_REPS must be a positive integer" >&2; exit 2; }

for c in aria2c mktorrent opentracker ss timeout cmp; do
  command -v "$c" > /dev/null || {
    echo "magnet-bench: needs $c (apt-get install aria2 mktorrent opentracker iproute2)" >&2
    exit 1
  }
done

T=$(mktemp -d "${TMPDIR:-/tmp}/unworkable-magnet.XXXXXX")
export XDG_CACHE_HOME=$T/cache
chmod 755 "$T" # opentracker chroots into $T/tracker and drops to nobody
PIDS=()        # every background process we started, newest last
cleanup() {
  local i p
  trap - EXIT INT TERM
  # Newest first: leecher, seeder, tracker. timeout passes TERM on to its child.
  for ((i = ${#PIDS[@]} - 1; i >= 0; i--)); do kill -TERM "${PIDS[i]}" 2> /dev/null || true; done
  for p in "${PIDS[@]}"; do
    for i in $(seq 50); do kill -0 "$p" 2> /dev/null || break; sleep 0.1; done
    kill -KILL "$p" 2> /dev/null || true
  done
  wait 2> /dev/null || true
  rm -rf "$T"
}
trap cleanup EXIT
trap 'echo "magnet-bench: interrupted" >&2; exit 130' INT TERM

# shellcheck source=lib.sh
source scripts/lib.sh # after the cd to the repository
listening() { [[ -n $(ss -Htln "sport = :$1") ]]; }
epoch() { TZ=UTC date -d "$1" +%s.%N; } # a log timestamp in seconds since 1970

CGO_ENABLED=0 "$GO" build -o "$T/unworkable" ./cmd/unworkable

# Payload, torrent, tracker.
SRC=$T/src
mkdir -p "$SRC"
head -c $((MIB << 20)) /dev/urandom > "$SRC/payload.bin"
free_port TPORT
TRACKER=http://127.0.0.1:$TPORT/announce
mktorrent -l 20 -a "$TRACKER" -o "$T/payload.torrent" "$SRC/payload.bin" > /dev/null
HASH=$("$T/unworkable" info --json "$T/payload.torrent" | sed -n 's/.*"info_hash":"\([0-9a-f]\{40\}\)".*/\1/p')
[[ -n $HASH ]] || { echo "magnet-bench: no info_hash from unworkable info --json" >&2; exit 1; }
# Debian's opentracker only tracks whitelisted info hashes; the path is
# relative to its chroot.
mkdir -m 755 "$T/tracker"
echo "$HASH" > "$T/tracker/whitelist"
chmod 644 "$T/tracker/whitelist"
opentracker -i 127.0.0.1 -p "$TPORT" -P "$TPORT" -d "$T/tracker" -w whitelist > "$T/tracker.log" 2>&1 < /dev/null &
PIDS+=($!)
wait_for 10 listening "$TPORT" || { echo "magnet-bench: opentracker did not start:" >&2; cat "$T/tracker.log" >&2; exit 1; }

# The seeder, until it has announced to the tracker.
free_port SPORT
"$T/unworkable" --no-dht -s -p "$SPORT" --bind 127.0.0.1 -o "$SRC" -t "$T/seed.trace" "$T/payload.torrent" \
  > "$T/seed.log" 2>&1 < /dev/null &
SEEDER=$!
PIDS+=("$SEEDER")
seeding() { grep -q ' announce ok ' "$T/seed.trace" 2> /dev/null; }
wait_for 60 seeding || { echo "magnet-bench: the seeder never announced:" >&2; tail "$T/seed.log" "$T/seed.trace" >&2; exit 1; }
MAGNET="magnet:?xt=urn:btih:$HASH&x.pe=127.0.0.1:$SPORT"

ROWS=$T/rows # client run metadata first-piece total
: > "$ROWS"

# run CLIENT N: one download into a fresh directory; appends a row.
run() {
  local c=$1 n=$2 d="$T/$1-$2" port pid rc=0 t0 t1 m f
  mkdir -p "$d/out"
  free_port port
  case $c in
  unworkable)
    set -- "$T/unworkable" --no-dht -p "$port" --bind 127.0.0.1 -o "$d/out" -t "$d/trace" "$MAGNET"
    ;;
  aria2c)
    set -- aria2c --no-conf --enable-dht=false --enable-dht6=false --bt-enable-lpd=false \
      --enable-peer-exchange=false --seed-time=0 --bt-metadata-only=false --listen-port="$port" \
      --bt-tracker="$TRACKER" --dir="$d/out" --log="$d/trace" --log-level=info \
      --console-log-level=warn --summary-interval=0 --download-result=hide "$MAGNET"
    ;;
  esac
  (
    export TZ=UTC # for aria2c's log; our trace is in UTC anyway
    date +%s.%N > "$d/t0"
    exec timeout "$TMO" "$@"
  ) > "$d/log" 2>&1 < /dev/null &
  pid=$!
  PIDS+=("$pid")
  wait "$pid" || rc=$?
  t1=$(date +%s.%N)
  unset 'PIDS[-1]'
  t0=$(< "$d/t0")
  case $c in
  unworkable)
    m=$(awk '$2 == "metadata:" && $5 == "verified" { print $1; exit }' "$d/trace")
    f=$(awk '$2 == "verified" { print $1; exit }' "$d/trace")
    ;;
  aria2c)
    m=$(awk '/\] Got ut_metadata$/ { print $1 " " $2; exit }' "$d/trace")
    f=$(awk '/ - we got new piece\. index=/ { print $1 " " $2; exit }' "$d/trace")
    ;;
  esac
  if ((rc != 0)) || [[ -z $m || -z $f ]] || ! cmp -s "$SRC/payload.bin" "$d/out/payload.bin"; then
    echo "magnet-bench: $c run $n failed (exit $rc, metadata at '${m}', first piece at '${f}'):" >&2
    tail -n 20 "$d/log" "$d/trace" >&2 || true
    ls -la "$d/out" >&2 || true
    exit 1
  fi
  awk -v c="$c" -v n="$n" -v t0="$t0" -v m="$(epoch "$m")" -v f="$(epoch "$f")" -v t1="$t1" \
    'BEGIN { printf "%s %d %.3f %.3f %.3f\n", c, n, m - t0, f - t0, t1 - t0 }' >> "$ROWS"
  tail -n 1 "$ROWS" | awk '{ printf "%-12s %4d %14s %17s %8s\n", $1, $2, $3, $4, $5 }'
  rm -rf "$d/out"
}

echo "-- magnet start-up: ${MIB} MiB in 1 MiB pieces from our seeder, $REPS runs each"
echo "   $MAGNET"
printf '%-12s %4s %14s %17s %8s\n' client run "to-metadata s" "to-first-piece s" "total s"
for ((i = 1; i <= REPS; i++)); do
  if ((i % 2)); then order=(unworkable aria2c); else order=(aria2c unworkable); fi
  for c in "${order[@]}"; do run "$c" "$i"; done
done

echo "-- medians"
printf '%-12s %4s %14s %17s %8s\n' client runs "to-metadata s" "to-first-piece s" "total s"
median() { # median CLIENT COLUMN
  awk -v c="$1" -v k="$2" '$1 == c { print $k }' "$ROWS" | sort -g |
    awk '{ v[NR] = $1 } END { printf "%.3f", NR % 2 ? v[(NR + 1) / 2] : (v[NR / 2] + v[NR / 2 + 1]) / 2 }'
}
declare -A MED=()
for c in unworkable aria2c; do
  for k in 3 4 5; do MED[$c.$k]=$(median "$c" "$k"); done
  printf '%-12s %4d %14s %17s %8s\n' "$c" "$REPS" "${MED[$c.3]}" "${MED[$c.4]}" "${MED[$c.5]}"
done
ratio() { awk -v a="$1" -v b="$2" 'BEGIN { if (b > 0) printf "%.3f", a / b; else print "NA" }'; }
printf '%-12s %4s %14s %17s %8s\n' "ours/aria2c" "" "$(ratio "${MED[unworkable.3]}" "${MED[aria2c.3]}")" \
  "$(ratio "${MED[unworkable.4]}" "${MED[aria2c.4]}")" "$(ratio "${MED[unworkable.5]}" "${MED[aria2c.5]}")"
