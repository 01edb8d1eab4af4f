# Helpers for the PyTorch example's tests: torch-train.sbatch submitted unchanged to the local cluster whose
# plugstack.conf loads the SPANK plugin (tests/sbatch-templates/lib.sh), running clients/examples/torch_train.py
# from the source tree with the sigma module beside it (clients/python).
source "$(dirname "${BASH_SOURCE[0]}")/../sbatch-templates/lib.sh"

readonly SOURCE_DIR=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
# gloo's default address (the host name's) needs no GLOO_SOCKET_IFNAME here: it resolves to 127.0.0.1, on lo in
# the cluster's network namespace.
export SIGMA_TORCH_SCRIPT=$SOURCE_DIR/clients/examples/torch_train.py
/usr/bin/python3 -c 'import torch' 2>/dev/null || fail "no PyTorch for /usr/bin/python3 (scripts/install-deps.sh installs python3-torch)"

# The supervisor's timeouts of tests/launcher/lib.sh: a rank lost after 3 s without a liveness beat, a hang after
# 10 s without progress, 90 s for start-up, 1 s backoff.
site_config "" 600 "heartbeat_timeout_s: 10, startup_timeout_s: 90, liveness_timeout_s: 3, backoff: {initial_s: 1, max_s: 2, factor: 2}"

# submit_torch [sbatch options...]: the template with the knobs in the environment; sets JOB, OUTPUT and RUN.
submit_torch() {
  JOB=$(submit_template torch-train.sbatch "$@")
  OUTPUT=$out/torch-train-$JOB.out RUN=$out/sigma-runs/$JOB
}

# Whether every rank passed step STEP (json.dumps writes `"step": N`), and the pid of rank RANK.
past_step() {
  local slowest
  slowest=$(cat "$RUN"/heartbeats/rank-* 2>/dev/null | grep -o '"step": *[0-9]*' | grep -o '[0-9]*$' | sort -n | head -1)
  [ "${slowest:-0}" -ge "$1" ]
}
torch_rank_pid() {  # torch_rank_pid RANK
  local pid env
  for pid in $(pgrep -f "python3 $SIGMA_TORCH_SCRIPT"); do  # srun's and the supervisor's command lines name it too
    [ "$(ps -o comm= -p "$pid")" = python3 ] || continue
    env=$(tr '\0' '\n' <"/proc/$pid/environ" 2>/dev/null) || continue
    if grep -qx "SLURM_PROCID=$1" <<<"$env" && grep -qx "SIGMA_HEARTBEAT_DIR=$RUN/heartbeats" <<<"$env"; then
      echo "$pid"
      return 0
    fi
  done
  return 1
}

# resumed_step: the step the newest run resumed from ("torch_train: resumed from step N"), empty if none.
resumed_step() { sed -n 's/^torch_train: resumed from step \([0-9]*\)$/\1/p' "$OUTPUT" | tail -1; }

# finished STEPS: the job completed and the program trained to STEPS.
finished() {
  local state
  state=$(wait_job_ends "$JOB" 120)
  grep "torch-train\|torch_train\|sigma-launch" "$OUTPUT" || true
  [ "$state" = COMPLETED ] || fail "job $JOB ended $state"
  grep -qE "^torch_train: done step $1 loss [0-9.]+$" "$OUTPUT" || fail "the program did not train to step $1"
}
