#!/usr/bin/env bash
# deps.sh - make sure the programs the tests run are installed.
#
# The interop tests in cmd/unworkable run aria2c, transmission-cli,
# qbittorrent-nox, opentracker and mktorrent, and `go test -race` needs a C
# compiler (cgo).
# As root on Debian/Ubuntu the missing ones are installed with apt-get;
# otherwise this prints exactly what to install and exits 1.
set -euo pipefail

# program -> Debian package(s)
declare -A PKG=(
  [aria2c]=aria2
  [transmission-cli]=transmission-cli
  [qbittorrent-nox]=qbittorrent-nox
  [opentracker]=opentracker
  [mktorrent]=mktorrent
  [gcc]="gcc libc6-dev"
)

missing_pkgs() {
  local prog
  for prog in aria2c transmission-cli qbittorrent-nox opentracker mktorrent gcc; do
    command -v "$prog" > /dev/null || echo "${PKG[$prog]}"
  done
}

mapfile -t need < <(missing_pkgs)
((${#need[@]} == 0)) && exit 0

# shellcheck disable=SC2206  # package lists are plain words
pkgs=(${need[*]})
if [[ $(id -u) -ne 0 ]] || ! command -v apt-get > /dev/null; then
  echo "deps.sh: missing test programs; install these packages: ${pkgs[*]}" >&2
  echo "deps.sh: e.g. sudo apt-get install -y --no-install-recommends ${pkgs[*]}" >&2
  exit 1
fi

echo "deps.sh: installing ${pkgs[*]}" >&2
export DEBIAN_FRONTEND=noninteractive
apt-get update
apt-get install -y --no-install-recommends "${pkgs[@]}"

mapfile -t need < <(missing_pkgs)
if ((${#need[@]} > 0)); then
  echo "deps.sh: still missing after apt-get: ${need[*]}" >&2
  exit 1
fi
