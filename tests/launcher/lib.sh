# Helpers for sigma-launch's tests on the local Slurm cluster (tests/cluster/lib.sh), without the SPANK plugin.
# Expects SIGMA_LAUNCH, SIGMA_TRAIN and SIGMA_CKPT (paths of the binaries) besides the cluster variables.
source "$(dirname "${BASH_SOURCE[0]}")/../cluster/lib.sh"
: "${SIGMA_LAUNCH:?}" "${SIGMA_TRAIN:?}" "${SIGMA_CKPT:?}" "${SIGMA_HEALTHCHECK:?}"

out=$(scratch)
readonly HEARTBEATS=$out/heartbeats
readonly LEDGER=$out/events.jsonl
mkdir -p "$out/state"
chmod 755 "$out/state"

# The launcher's site config: a 10 s hang timeout once training runs and 90 s for start-up (a restart under a busy
# CI neighbour must not look like a hang), a rank lost when its liveness beat is silent for 3 s (the default),
# short backoff, two restarts, a small quick preflight; EXTRA (lines under preflight:) for fault injection.
site_config() {
  cat >"$out/site.yaml" <<YAML
cluster: {name: sigma-launch-test, spare_nodes: 1}
preflight:
  levels:
    quick: {budget_s: 20, checks: [gemm, membw]}
  gemm: {sizes: [64]}
  membw: {size_mib: 8}
${1:-}
policy:
  max_restarts: 2
  heartbeat_timeout_s: 10
  startup_timeout_s: 90
  liveness_timeout_s: 3
  backoff: {initial_s: 1, max_s: 2, factor: 2}
paths: {state_dir: $out/state, ledger: $LEDGER, healthcheck_bin: $SIGMA_HEALTHCHECK}
YAML
  chmod 644 "$out/site.yaml"
}
site_config
"$SIGMA_TRAIN" prepare --output "$out/licences.tok" "$(dirname "${BASH_SOURCE[0]}")/../trainer/data/GPL-3.txt" >/dev/null

# write_job NAME STEPS [sbatch options...]: a batch script that execs the supervisor over a 2-rank sigma-train on
# 2 of its 3 nodes (one spare), checkpointing every 500 steps into $out/NAME.ckpt; TRAIN_EXTRA adds trainer
# options; SUPERVISE_SHAPE and TRAIN_SHAPE replace the supervisor's node options and the batch and EP size.
write_job() {
  local name=$1 steps=$2
  shift 2
  cat >"$out/$name.sbatch" <<JOB
#!/bin/bash
#SBATCH -N 3 --no-kill $*
exec "$SIGMA_LAUNCH" supervise ${SUPERVISE_SHAPE:---nodes 2 --spares 1} --heartbeat-dir "$HEARTBEATS.$name" \\
  --config "$out/site.yaml" -- \\
  "$SIGMA_TRAIN" train --data "$out/licences.tok" --d-model 32 --n-heads 2 --seq-len 32 --d-ff 32 \\
  --n-experts 4 --top-k 2 ${TRAIN_SHAPE:---global-batch 8 --ep-size 2} --threads 1 --peak-gflops 1 \\
  --steps $steps --log-every 1000 --ckpt-every 500 --ckpt-dir "$out/$name.ckpt" ${TRAIN_EXTRA:-}
JOB
}

submit() {  # submit NAME [sbatch options...] -> job id
  local name=$1
  shift
  on_cluster sbatch --parsable --open-mode=append -o "$out/$name.out" "$@" "$out/$name.sbatch"
}

# Step reached by the slowest rank of job NAME, and the PID of its training rank RANK (tests/cluster/lib.sh).
heartbeat_step() { slowest_step "$HEARTBEATS.$1"; }
past_step() { reached_step "$HEARTBEATS.$1" "$2"; }
rank_pid() { rank_pid_in "$HEARTBEATS.$2" "$1"; }

# start_training NAME STEPS [PAST]: submits the job and waits until every rank passed step PAST (default 1100:
# past the second save, so the first checkpoint is committed); sets JOB, and VICTIM_PID and VICTIM for training
# rank 1 and its node.
start_training() {
  write_job "$1" "$2"
  JOB=$(submit "$1")
  wait_until 120 "job $JOB to pass step ${3:-1100}" past_step "$1" "${3:-1100}"
  VICTIM_PID=$(rank_pid 1 "$1") || fail "no rank 1 found"
  VICTIM=$(rank_node "$VICTIM_PID")
}

events() { "$(dirname "$SIGMA_LAUNCH")/../contracts/sigma-ledger" show "$LEDGER" --json --event "$1" 2>/dev/null || true; }

# kill_victim_node: rank 1's node (start_training's VICTIM) dies: its slurmd killed with kill -9, its slurmstepd
# and training rank frozen with SIGSTOP (a node that lost power runs nothing, answers nothing). Sets DEAD_NODE
# and FROZEN for revive_node.
kill_victim_node() {
  local stepd
  stepd=$(ps -o ppid= -p "$VICTIM_PID" | tr -d ' ')
  [ "$(ps -o comm= -p "$stepd")" = slurmstepd ] || fail "rank 1's parent $stepd is not its node's slurmstepd"
  "$SIGMA_CLUSTER_SCRIPT" kill-node "$SIGMA_CLUSTER_DIR" "$VICTIM"
  DEAD_NODE=$VICTIM FROZEN="$stepd $VICTIM_PID"
  kill -STOP $FROZEN
}
# revive_node: the dead node back, as after a reboot: its frozen processes ended, its slurmd started again.
revive_node() {
  [ -z "${FROZEN:-}" ] || { kill -CONT $FROZEN; kill -9 $FROZEN; } 2>/dev/null || true
  [ -z "${DEAD_NODE:-}" ] || "$SIGMA_CLUSTER_SCRIPT" start-node "$SIGMA_CLUSTER_DIR" "$DEAD_NODE" 2>/dev/null || true
  FROZEN="" DEAD_NODE=""
}
# The EXIT trap of a test that kills a node.
revive_and_restore() {
  revive_node
  restore_cluster
}
