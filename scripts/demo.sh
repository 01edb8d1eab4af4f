#!/usr/bin/env bash
# sigma's main job, end to end, on a throwaway 4-node Slurm cluster on this machine:
#   1. preflight burn-in on every node (sigma-healthcheck, quick level) — a pass is recorded in the ledger;
#   2. a node that computes wrong answers (fault injection from the admin's site config) is caught and drained
#      through the Slurm API with a readable reason, so no job lands on it;
#   3. an MPI mixture-of-experts training job (sigma-train, 2 nodes, expert parallel) checkpoints to HDF5,
#      is told to stop (SIGUSR1, as Slurm does before a time limit), saves, exits 42, is requeued by Slurm's
#      RequeueExit and resumes from its checkpoint to the end;
#   4. the checkpoints are verified and the event ledger shows what happened to every node and job.
# Usage: bash scripts/demo.sh        (root; installs packages, builds into build/release, cleans up after)
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT=$PWD

say() { printf '\n\033[1m== %s\033[0m\n' "$*"; }

bash scripts/install-deps.sh
BUILD=$ROOT/build/release
cmake -S . -B "$BUILD" -G Ninja -DCMAKE_BUILD_TYPE=Release >/dev/null
cmake --build "$BUILD" -j "$(nproc)" --target sigma-healthcheck sigma-train sigma-ckpt sigma-config sigma-ledger

WORK=$ROOT/build/demo
CLUSTER=$WORK/cluster
rm -rf "$WORK/run"
mkdir -p "$WORK/run"
RUN=$WORK/run
HC=$BUILD/healthcheck/sigma-healthcheck
TRAIN=$BUILD/trainer/sigma-train
CKPT=$BUILD/ckpt/sigma-ckpt
LEDGER=$RUN/events.jsonl

on_cluster() { cluster/sigma-cluster exec "$CLUSTER" -- "$@"; }
trap 'cluster/sigma-cluster down "$CLUSTER" >/dev/null 2>&1 || true' EXIT

say "Starting a 4-node Slurm cluster (munge, slurmctld, 4 slurmd in a network namespace)"
cluster/sigma-cluster up "$CLUSTER" --nodes 4
on_cluster sinfo

write_site_config() {  # write_site_config FILE [fault-injection yaml]
  cat >"$1" <<YAML
cluster: {name: sigma-demo, spare_nodes: 1}
preflight:
  default_level: quick
  # Small sizes: the demo runs four nodes on two cores at once.
  gemm: {sizes: [256]}
  membw: {size_mib: 64}
  # Four nodes share two cores here, so link timings say nothing; results are still checked element by element.
  interconnect: {min_ratio: 0}
  memtest: {share: 0.01, max_mib: 128}
  fault_injection: ${2:-{enabled: false\}}
paths:
  state_dir: $RUN
  ledger: $LEDGER
  healthcheck_bin: $HC
  metrics_dir: $RUN/metrics
YAML
  "$BUILD/core/sigma-config" check "$1"
}
mkdir -p "$RUN/metrics"
write_site_config "$RUN/site.yaml"
# The admin's config for node n4, which has a GPU-like unit that flips bits in matrix products.
write_site_config "$RUN/site-n4-faulty.yaml" "{enabled: true, gemm_bitflip_rate: 0.0001}"

say "1. Preflight burn-in on every node (what the prolog runs before a job gets the node)"
on_cluster srun -N4 --ntasks-per-node=1 -l "$HC" --config "$RUN/site.yaml" --level quick 2>/dev/null | sort -s -k1,1
# Every rank prints the same report; show rank 0's.
on_cluster srun -N4 --ntasks-per-node=1 --mpi=pmix -l "$HC" --config "$RUN/site.yaml" --check interconnect 2>/dev/null |
  sed -n 's/^0: //p'

say "2. Node n4 computes wrong answers: the health check catches it and drains it"
on_cluster srun -w n4 -N1 "$HC" nhc --config "$RUN/site-n4-faulty.yaml" --check gemm 2>/dev/null || true
on_cluster sinfo -R -o "%40E %N"
echo "Prometheus textfile for node_exporter:"; head -5 "$RUN"/metrics/*.prom 2>/dev/null || true

say "3. Training: a 2-node mixture-of-experts job (experts split over the nodes), HDF5 checkpoints every 60 steps"
"$TRAIN" prepare --output "$RUN/licences.tok" /usr/share/common-licenses/*
cat >"$RUN/train.sbatch" <<JOB
#!/bin/bash
#SBATCH -N 2 --ntasks-per-node=1
"$BUILD/core/sigma-ledger" append "$LEDGER" --component job --event started --detail restart=\${SLURM_RESTART_COUNT:-0}
srun --mpi=pmix "$TRAIN" train --config "$ROOT/trainer/configs/demo.yaml" --data "$RUN/licences.tok" \\
  --ep-size 2 --threads 1 --steps 240 --log-every 10 --log-jsonl "$RUN/train.jsonl" --heartbeat "$RUN/heartbeat.json" \\
  --ckpt-dir "$RUN/ckpt" --ckpt-every 60
rc=\$?
"$BUILD/core/sigma-ledger" append "$LEDGER" --component job --event step_exit --detail exit_code=\$rc
exit \$rc   # 42 after a stop signal: slurm.conf's RequeueExit puts the job back in the queue
JOB
job=$(on_cluster sbatch --parsable --requeue --open-mode=append -o "$RUN/train.out" "$RUN/train.sbatch")
echo "submitted job $job; n4 is drained, so it runs on two of n1-n3"
until grep -qs "^step 90/" "$RUN/train.out"; do sleep 0.5; done
say "   Slurm signals the job (SIGUSR1, as before a time limit or preemption)"
on_cluster scancel --signal=USR1 "$job"
until on_cluster scontrol show job "$job" | grep -q "JobState=COMPLETED"; do
  if on_cluster scontrol show job "$job" | grep -qE "JobState=(FAILED|CANCELLED|TIMEOUT)"; then
    echo "job $job did not complete:"; tail -20 "$RUN/train.out"; exit 1
  fi
  sleep 1
done
grep -E "^sigma-train|^srun: error|^step (10|90|240)/" "$RUN/train.out"
on_cluster scontrol show job "$job" | grep -oE " (JobState|Restarts|NodeList)=\S+" | xargs

say "4. The checkpoints: every shard checksummed, the latest verified"
"$CKPT" list "$RUN/ckpt"
"$CKPT" verify "$RUN/ckpt"

say "5. What happened to every node and job (the event ledger, $LEDGER)"
"$BUILD/core/sigma-ledger" show "$LEDGER" | cut -c1-160

say "Done"
cat <<TXT
- every node passed preflight; n4's wrong answers were caught and it was drained: $(on_cluster sinfo -h -n n4 -o '%E')
- the training job was stopped mid-run, saved, exited 42, was requeued by Slurm and resumed from its checkpoint
- first and last loss: $(head -1 "$RUN/train.jsonl" | /usr/bin/python3 -c 'import json,sys; print(round(json.load(sys.stdin)["loss"],3))') -> $(tail -1 "$RUN/train.jsonl" | /usr/bin/python3 -c 'import json,sys; print(round(json.load(sys.stdin)["loss"],3))')
Not yet in this demo: the SPANK plugin (--sigma-preflight in every job's prolog, spank-plugin/) and
sigma-launch (restart on spare nodes, launcher/) exist and are tested, but here the preflight and the stop
signal are still run by hand.
Everything is under $WORK; the cluster is stopped on exit.
TXT
