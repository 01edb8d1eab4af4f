#!/bin/bash
# A training program that knows nothing of sigma (no client, no stop handler, no heartbeats), for the supervisor's
# tests: records its PID and node in DIR/rank-<r>, then runs SECONDS and exits 0. SIGUSR1 and SIGTERM end it by
# their default action, as they end any program without a handler. A requeued run of its job (SLURM_RESTART_COUNT)
# has nothing left to do and exits 0 at once. Usage: plain_rank.sh DIR SECONDS
set -euo pipefail
[ "${SLURM_RESTART_COUNT:-0}" = 0 ] || exit 0
echo "$$ $SLURMD_NODENAME" >"$1/rank-$SLURM_PROCID"
exec sleep "$2"
