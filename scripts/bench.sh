#!/usr/bin/env bash
# bench.sh - the benchmarks behind docs/PERFORMANCE.md.
#
# 1. The Go benchmarks of every package (wire encode/decode, piece picking,
#    hashing, storage writes and reads through the mapping), with
#    allocations.
# 2. How fast a magnet download gets going (scripts/magnet-bench.sh): the
#    time to the metadata and to the first verified piece, ours beside
#    aria2c, from our seeder on loopback.
# 3. The loopback comparison against other clients, through the team's
#    harness (shared/bench/swarm.sh, not part of this repository): our
#    client as a leecher beside aria2c (and, when installed, ctorrent,
#    transmission-cli, the anacrolix CLI and qbittorrent-nox) with a
#    qbittorrent-nox seeder; the hash check of complete data beside aria2c
#    (and ctorrent and qbittorrent-nox); then as a seeder for aria2c
#    (and qbittorrent-nox), and aria2c (and ctorrent) seeding to aria2c for
#    the seeders' CPU per GiB. Then encryption (MSE/PE): from a
#    qbittorrent-nox seeder requiring it, ours with --encryption require
#    beside aria2c requiring RC4; and RC4's cost, ours with --encryption
#    off, prefer (the default) and require from a seeder allowing both.
#    Without the harness this step says so and is left out: nothing in the
#    repository depends on it.
#
#   scripts/bench.sh                 (or: make bench)
#   SWARM=/path/to/swarm.sh ...      the harness (default ../shared/bench/swarm.sh)
#   BENCH_MIB=2048 BENCH_REPS=3 ...  payload size and repetitions (1024, 3)
#   MAGNET_REPS=5 ...                runs per client of the magnet step (5)
#   BENCH_GO=0 / BENCH_MAGNET=0 / BENCH_SWARM=0 ...   leave out one of the steps
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
# Loopback only (issue 10): our binary refuses any other address.
export UNWORKABLE_LOOPBACK_ONLY=1
GO=${GO:-go}
SWARM=${SWARM:-../shared/bench/swarm.sh}
MIB=${BENCH_MIB:-1024}
REPS=${BENCH_REPS:-3}

if [[ ${BENCH_GO:-1} == 1 ]]; then
  echo "== Go benchmarks"
  "$GO" test -run '^$' -bench . -benchmem ./...
fi
if [[ ${BENCH_MAGNET:-1} == 1 ]]; then
  echo "== magnet start-up"
  scripts/magnet-bench.sh
fi
[[ ${BENCH_SWARM:-1} == 1 ]] || exit 0

echo "== loopback comparison"
if [[ ! -x $SWARM ]]; then
  echo "bench: loopback comparison left out: no harness at $SWARM (set SWARM=.../shared/bench/swarm.sh)" >&2
  exit 0
fi
T=$(mktemp -d "${TMPDIR:-/tmp}/unworkable-bench.XXXXXX")
export XDG_CACHE_HOME=$T/cache
trap 'rm -rf "$T"' EXIT
CGO_ENABLED=0 "$GO" build -ldflags "-X main.version=$(git describe --always --dirty 2>/dev/null || echo dev)" \
  -o "$T/bin/unworkable" ./cmd/unworkable
cat "$(dirname "$SWARM")/clients.conf" bench/clients.conf > "$T/clients.conf"
export PATH="$T/bin:$PATH"

have() { command -v "$1" > /dev/null; }
leechers=(unworkable aria2)
have ctorrent && leechers+=(ctorrent)
have transmission-cli && leechers+=(transmission)
# The harness puts Go's bin directory on PATH for the anacrolix CLI.
{ have torrent || [[ -x ${GOPATH:-$HOME/go}/bin/torrent ]]; } && leechers+=(anacrolix)
seeder=qbittorrent
if have qbittorrent-nox; then leechers+=(qbittorrent); else seeder=aria2; fi
for c in aria2c mktorrent opentracker; do
  have "$c" || { echo "bench: the harness needs $c (apt-get install aria2 mktorrent opentracker)" >&2; exit 1; }
done

echo "-- download: ${MIB} MiB from a $seeder seeder, $REPS runs"
"$SWARM" -C "$T/clients.conf" -s "$MIB" -r "$REPS" -S "$seeder" "${leechers[@]}"
echo "-- hash check of ${MIB} MiB of complete data, $REPS runs"
verifiers=(unworkable aria2)
have ctorrent && verifiers+=(ctorrent)
have qbittorrent-nox && verifiers+=(qbittorrent)
"$SWARM" -C "$T/clients.conf" -x -s "$MIB" -r "$REPS" -S "$seeder" "${verifiers[@]}"
seeded=(aria2)
have qbittorrent-nox && seeded+=(qbittorrent)
echo "-- seeding: ${MIB} MiB from our seeder, $REPS runs"
"$SWARM" -C "$T/clients.conf" -s "$MIB" -r "$REPS" -S unworkable "${seeded[@]}"
# Other seeders serving aria2c, for their CPU per GiB served (seed cpu). A
# ctorrent seeder once left aria2c without data until the timeout (64 MiB).
others=(aria2)
have ctorrent && others+=(ctorrent)
for s in "${others[@]}"; do
  echo "-- seeding: ${MIB} MiB from a $s seeder to aria2c, $REPS runs"
  "$SWARM" -C "$T/clients.conf" -s "$MIB" -r "$REPS" -t 300 -S "$s" aria2
done
# Encryption (MSE/PE): a qbittorrent-nox seeder requiring it (the harness's
# QBW_ENCRYPTION=1), our leecher with --encryption require beside aria2c
# requiring RC4; then, from a seeder allowing both, our leecher with
# --encryption off, prefer (qbittorrent picks RC4 when offered) and
# require in one run: the CPU RC4 adds is require's less off's.
if have qbittorrent-nox; then
  echo "-- encryption: ${MIB} MiB from a qbittorrent seeder requiring it, $REPS runs"
  QBW_ENCRYPTION=1 "$SWARM" -C "$T/clients.conf" -s "$MIB" -r "$REPS" -S qbittorrent unworkable-rc4 aria2-rc4
  echo "-- RC4's cost: ${MIB} MiB from a qbittorrent seeder allowing both, $REPS runs"
  QBW_ENCRYPTION=0 "$SWARM" -C "$T/clients.conf" -s "$MIB" -r "$REPS" -S qbittorrent unworkable-plain unworkable unworkable-rc4
fi
