#!/usr/bin/env bash
# kill -9 of a slurmd: its node goes down and a --requeue job that ran there runs again on another node.
source "$(dirname "$0")/lib.sh"
out=$(scratch)
victim=""
cleanup() {
  [ -z "$victim" ] || "$SIGMA_CLUSTER_SCRIPT" start-node "$SIGMA_CLUSTER_DIR" "$victim" 2>/dev/null || true
  restore_cluster
}
trap cleanup EXIT

cat >"$out/job.sh" <<JOB
#!/bin/bash
echo "start \${SLURM_RESTART_COUNT:-0} \$SLURMD_NODENAME \$(date +%s.%N)" >> $out/runs
[ "\${SLURM_RESTART_COUNT:-0}" -eq 0 ] && sleep 300
exit 0
JOB
job=$(on_cluster sbatch --parsable --requeue --open-mode=append -N1 -o "$out/slurm-%j.out" "$out/job.sh")
wait_until 60 "job $job started" test -s "$out/runs"
victim=$(awk 'NR==1 {print $3}' "$out/runs")
killed_at=$(now)
"$SIGMA_CLUSTER_SCRIPT" kill-node "$SIGMA_CLUSTER_DIR" "$victim"
wait_until 120 "job $job to run again elsewhere" grep -q '^start 1 ' "$out/runs"
read -r _ _ node started < <(grep '^start 1 ' "$out/runs")
[ "$node" != "$victim" ] || fail "job ran again on the dead node $victim"
state=$(node_state "$victim")
[[ "$state" == down* ]] || fail "$victim is \"$state\", expected down"
wait_until 60 "job $job complete" job_in_state "$job" COMPLETED
pass "slurmd on $victim killed; node $state; job $job ran again on $node $(seconds_between "$killed_at" "$started")s later"
