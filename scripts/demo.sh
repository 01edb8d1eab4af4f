#!/usr/bin/env bash
# sigma's main job, end to end, the way a site runs it. It installs the Debian packages, builds sigma, installs it
# under build/demo/prefix (`cmake --install`, INSTALL.md), starts a 4-node Slurm cluster on this machine whose
# plugstack.conf loads sigma's SPANK plugin, and submits the researchers' template moe-train.sbatch unchanged
# (3 nodes: 2 training + 1 spare, --sigma-preflight). Then, with live progress:
#   1. the plugin's prolog burns in every node; the admin's site config makes n1 compute wrong answers
#      (preflight.fault_injection.nodes): the check catches it, n1 is drained, Slurm requeues the job elsewhere;
#   2. sigma-launch supervise runs sigma-train (MoE, experts split over 2 nodes) with HDF5 checkpoints; this
#      script kills one rank with kill -9 mid-training: the supervisor classifies the failure, restarts on the
#      spare, and training resumes from its newest checkpoint to the end;
#   3. a summary table (nodes validated and excluded, restarts, requeues, recovery times, goodput, final loss,
#      checkpoints verified) and a plot of loss against step with the fault events (build/demo/loss.png).
# Every wait has a deadline; a failing step stops the demo with its message; the cluster is stopped on exit.
# Usage: bash scripts/demo.sh        (root: installs packages and creates a network namespace)
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT=$PWD
BEGAN=$(date +%s)
readonly STEPS=240 CKPT_EVERY=40 KILL_AT=100 JOB_DEADLINE_S=480

say() { printf '\n\033[1m== %s\033[0m\n' "$*"; }
die() { printf '\ndemo: %s\n' "$*" >&2; exit 1; }

bash scripts/install-deps.sh
BUILD=$ROOT/build/release
say "Building sigma (release, $(nproc) cores)"
# The same settings as `scripts/test.sh release`, which shares build/release: run one after the other, the second
# rebuilds nothing.
cmake -S . -B "$BUILD" -G Ninja -DCMAKE_BUILD_TYPE=Release -DSIGMA_WERROR=ON >/dev/null
# Everything: `cmake --install` below installs every target, so a build of only some of them cannot install.
cmake --build "$BUILD" -j "$(nproc)"

WORK=$ROOT/build/demo
PREFIX=$WORK/prefix
RUN=$WORK/run
CLUSTER=$WORK/cluster
LEDGER=$RUN/state/events.jsonl
rm -rf "$PREFIX" "$RUN"
say "Installing sigma under $PREFIX (cmake --install, as a site does from source)"
cmake --install "$BUILD" --prefix "$PREFIX" >/dev/null
ls "$PREFIX/bin"
plugin=$(echo "$PREFIX"/lib/*/slurm-wlm/spank_sigma.so)
[ -f "$plugin" ] || die "the install has no spank_sigma.so under $PREFIX/lib/*/slurm-wlm"

say "The site config: the installed default (etc/sigma/site.yaml) with this demo's paths, and n1 made bad"
mkdir -p "$RUN/state" "$RUN/metrics"
chmod 755 "$WORK" "$RUN" "$RUN/state"
sed -e "s|/var/lib/sigma|$RUN/state|g" -e "s|/usr/bin/sigma-healthcheck|$PREFIX/bin/sigma-healthcheck|" \
  -e "s|/var/lib/prometheus/node-exporter|$RUN/metrics|" \
  -e "s|fault_injection: {enabled: false}|fault_injection: {enabled: true, gemm_bitflip_rate: 0.001, nodes: n1}|" \
  "$PREFIX/etc/sigma/site.yaml" >"$RUN/site.yaml"
chmod 644 "$RUN/site.yaml"
"$PREFIX/bin/sigma-config" check --allow-fault-injection "$RUN/site.yaml"
grep -n "fault_injection:\|state_dir:\|healthcheck_bin:" "$RUN/site.yaml"
effective=$("$PREFIX/bin/sigma-config" show "$RUN/site.yaml")
grep -qx "    nodes: n1" <<<"$effective" || die "the fault injection for n1 did not take"
echo "required $plugin config=$RUN/site.yaml" >"$RUN/plugstack.conf"
echo "plugstack.conf: $(cat "$RUN/plugstack.conf")"

on_cluster() { "$ROOT"/cluster/sigma-cluster exec "$CLUSTER" -- "$@"; }
cluster_started=no
cleanup() {
  local status=$?
  if [ "$cluster_started" = yes ]; then
    say "Stopping the cluster"
    "$ROOT"/cluster/sigma-cluster down "$CLUSTER" || status=1
  fi
  exit "$status"
}
trap cleanup EXIT

say "Starting a 4-node Slurm cluster (munge, slurmctld, 4 slurmd in a network namespace) with the plugin"
cluster_started=yes
"$ROOT"/cluster/sigma-cluster up "$CLUSTER" --nodes 4 --plugstack "$RUN/plugstack.conf"
on_cluster sinfo

say "Submitting the researchers' template as it is installed: share/sigma/sbatch-templates/moe-train.sbatch"
"$PREFIX/bin/sigma-train" prepare --output "$RUN/licences.tok" /usr/share/common-licenses/*
sed -e "s|^data: .*|data: $RUN/licences.tok|" -e "/^log_jsonl:/d" -e "/^heartbeat:/d" trainer/configs/demo.yaml >"$RUN/moe.yaml"
# An in-memory copy every step (--memory-copy-budget 0, as the fault matrix has it), so the restart after the
# kill redoes a step or two: by default the copy interval widens while a copy costs over 3% of the training time,
# which a busy 2-core machine's tiny steps soon make it.
export PATH=$PREFIX/bin:$PATH SIGMA_SITE_CONFIG=$RUN/site.yaml SIGMA_TRAIN_CONFIG=$RUN/moe.yaml \
  SIGMA_TRAIN_ARGS="--ep-size 2 --threads 1 --steps $STEPS --log-every 20 --memory-copy-budget 0" \
  SIGMA_CKPT_EVERY=$CKPT_EVERY
grep "^#SBATCH" "$PREFIX/share/sigma/sbatch-templates/moe-train.sbatch"
echo "SIGMA_TRAIN_CONFIG=$SIGMA_TRAIN_CONFIG SIGMA_TRAIN_ARGS=\"$SIGMA_TRAIN_ARGS\" SIGMA_CKPT_EVERY=$SIGMA_CKPT_EVERY"
submitted=$(date +%s.%N)
job=$(cd "$RUN" && on_cluster sbatch --parsable "$PREFIX/share/sigma/sbatch-templates/moe-train.sbatch")
OUT=$RUN/moe-train-$job.out
HEARTBEATS=$RUN/sigma-runs/$job/heartbeats
echo "job $job submitted; the cluster is idle, so it gets n1-n3 first"

# ---- live progress: new ledger events and the job's output, the kill, until the job ends ----
ledger_seen=0
out_seen=0
new_lines() {  # new_lines FILE SEEN: the lines of FILE after the first SEEN
  [ -f "$1" ] || return 0
  sed -n "$(($2 + 1)),\$p" "$1"
}
show_progress() {
  local events output
  events=$(new_lines "$LEDGER" "$ledger_seen")
  if [ -n "$events" ]; then
    ledger_seen=$((ledger_seen + $(wc -l <<<"$events")))
    /usr/bin/python3 scripts/demo_report.py events <<<"$events"
  fi
  output=$(new_lines "$OUT" "$out_seen")
  if [ -n "$output" ]; then
    out_seen=$((out_seen + $(wc -l <<<"$output")))
    awk -F' [|] ' '/^step [0-9]+\// { printf "   %s | %s\n", $1, $2; next }
                   /^(sigma-launch:|sigma-train: resumed|moe-train:|srun: error)/ { print "   " $0 }' <<<"$output"
  fi
}
job_state() { on_cluster scontrol show job "$job" | tr ' ' '\n' | sed -n 's/^JobState=//p'; }
slowest_step() {  # the step every training rank has passed, from their heartbeats (-1 before training)
  sigma-launch beats --dir "$HEARTBEATS" | /usr/bin/python3 -c '
import json, sys
print(min((beat["step"] for beat in json.load(sys.stdin)["beats"]), default=-1))'
}
kill_rank() {  # kill_rank RANK: kill -9 the sigma-train process of this job with that rank
  local pid env pids
  pids=$(pgrep -f "sigma-train train") || die "no sigma-train process found to kill"
  for pid in $pids; do
    env=$(tr '\0' '\n' <"/proc/$pid/environ") || continue
    if grep -qx "SLURM_PROCID=$1" <<<"$env" && grep -qx "SIGMA_HEARTBEAT_DIR=$HEARTBEATS" <<<"$env"; then
      kill_step=$(slowest_step)
      kill_time=$(date +%s.%N)
      say "Crashing training rank $1 (pid $pid on $(sed -n 's/^SLURMD_NODENAME=//p' <<<"$env")) with kill -9 at step $kill_step"
      kill -9 "$pid"
      return 0
    fi
  done
  die "no sigma-train rank $1 of job $job found"
}

kill_step=-1
kill_time=0
deadline=$(($(date +%s) + JOB_DEADLINE_S))
while :; do
  show_progress
  state=$(job_state)
  case "$state" in
    COMPLETED) break ;;
    PENDING | CONFIGURING | RUNNING | COMPLETING | REQUEUED | REQUEUE_HOLD | REQUEUE_FED | RESIZING) ;;
    *) die "job $job ended $state; its output: $OUT" ;;
  esac
  [ "$(date +%s)" -lt "$deadline" ] || die "job $job still $state after ${JOB_DEADLINE_S}s; its output: $OUT"
  if [ "$kill_step" -lt 0 ] && [ "$(slowest_step)" -ge "$KILL_AT" ]; then kill_rank 1; fi
  sleep 1
done
ended=$(date +%s.%N)
show_progress
[ "$kill_step" -ge 0 ] || die "the job completed before step $KILL_AT: no rank was crashed"

say "The drained node, as Slurm shows it"
on_cluster sinfo -R -o "%12N %10T %E"
say "The checkpoints of job $job: every shard checksummed, the latest verified"
"$PREFIX/bin/sigma-ckpt" list "$RUN/sigma-runs/$job/ckpt"
"$PREFIX/bin/sigma-ckpt" verify "$RUN/sigma-runs/$job/ckpt"
checkpoints="$("$PREFIX/bin/sigma-ckpt" list "$RUN/sigma-runs/$job/ckpt" |
  awk '/ verified/ { ok++ } END { printf "%d of %d kept steps verified", ok, NR }'); sigma-ckpt verify: ok"
say "Prometheus textfile (paths.metrics_dir, for node_exporter's textfile collector)"
head -6 "$RUN/metrics/sigma_healthcheck.prom"
say "What happened to n1, from the event ledger (sigma-ledger show $LEDGER --host n1)"
"$PREFIX/bin/sigma-ledger" show "$LEDGER" --host n1 | cut -c1-150

say "Summary of job $job"
/usr/bin/python3 scripts/demo_report.py summary --ledger "$LEDGER" --job "$job" --train "$RUN/sigma-runs/$job/train.jsonl" \
  --plot "$WORK/loss.png" --submitted "$submitted" --ended "$ended" --kill-step "$kill_step" --kill-time "$kill_time" \
  --requeues "$(on_cluster scontrol show job "$job" | tr ' ' '\n' | sed -n 's/^Restarts=//p')" \
  --checkpoints "$checkpoints" --nodes "$(on_cluster sinfo -h -N -o '%N' | sort -u | xargs)"
echo "Demo done in $(($(date +%s) - BEGAN)) s; everything is under $WORK (the job's output: $OUT)."
