# lib.sh - helpers the bench scripts share; source it, do not run it.

declare -A USED=()
# free_port VAR: set VAR to a port in 20000-49999 that no TCP or UDP
# socket uses and that this script has not handed out yet (the DHT takes
# the UDP port of the TCP port's number).
free_port() {
  local p
  while :; do
    p=$((20000 + RANDOM % 30000))
    [[ -n ${USED[$p]:-} || -n $(ss -Htuan "( sport = :$p or dport = :$p )") ]] && continue
    USED[$p]=1
    printf -v "$1" %s "$p"
    return
  done
}

# wait_for SECONDS CMD...: run CMD every 50 ms until it succeeds; fail
# after SECONDS.
wait_for() {
  local i n=$(($1 * 20))
  shift
  for ((i = 0; i < n; i++)); do "$@" && return 0; sleep 0.05; done
  return 1
}
