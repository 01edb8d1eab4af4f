#!/usr/bin/env bash
# Runs a command while every core is kept busy, as a neighbour on a shared CI machine would, to show that the
# tests do not need a quiet machine.
#   usage: scripts/with-load.sh [-n PROCESSES] COMMAND [ARG...]
#   e.g.   scripts/with-load.sh bash -c 'cd build/release && ctest -L unit -j2'
# Starts PROCESSES busy loops (default: one per core), records their PIDs, runs COMMAND, and stops exactly those
# PIDs when COMMAND ends or this script gets SIGINT/SIGTERM/SIGHUP (passed on to COMMAND first). Exits with
# COMMAND's status. A busy loop also stops by itself once this script is gone, even after a SIGKILL.
set -u
procs=$(nproc)
if [[ ${1:-} == -n ]]; then procs=$2; shift 2; fi
[[ $# -gt 0 ]] || { echo "usage: $0 [-n PROCESSES] COMMAND [ARG...]" >&2; exit 2; }

load=()
stop_load() {
  [[ ${#load[@]} -eq 0 ]] && return
  kill "${load[@]}" 2>/dev/null
  wait "${load[@]}" 2>/dev/null
  load=()
}
# Spins until killed, or until this script is gone (its parent is then no longer this script).
busy() {
  local parent=$$ i
  while [[ $parent == "$$" ]]; do
    for ((i = 0; i < 100000; i++)); do :; done
    read -r _ _ _ parent _ </proc/self/stat
  done
}
trap stop_load EXIT
for _ in $(seq "$procs"); do
  busy &
  load+=($!)
done
echo "with-load: $procs busy processes (PIDs ${load[*]}) while running: $*" >&2

# COMMAND runs in the background so that a signal to this script is handled at once, not when COMMAND ends
# (a background command ignores SIGINT, so every signal is passed on as SIGTERM).
"$@" &
cmd=$!
on_signal() { kill -TERM "$cmd" 2>/dev/null; wait "$cmd"; exit "$1"; }
trap 'on_signal 129' HUP
trap 'on_signal 130' INT
trap 'on_signal 143' TERM
wait "$cmd"
