#!/usr/bin/env bash
# A --requeue batch job exiting with a RequeueExit code (42: sigma's "state saved, requeue") runs again with
# SLURM_RESTART_COUNT incremented; `scontrol requeue` requeues a running job. Prints failure-to-running times.
source "$(dirname "$0")/lib.sh"
trap restore_cluster EXIT
out=$(scratch)

# First run exits 42; the second records its restart count and succeeds.
cat >"$out/job.sh" <<JOB
#!/bin/bash
echo "start \${SLURM_RESTART_COUNT:-0} \$(date +%s.%N)" >> $out/runs
if [ "\${SLURM_RESTART_COUNT:-0}" -eq 0 ]; then echo "exit \$(date +%s.%N)" >> $out/runs; exit 42; fi
exit 0
JOB
job=$(on_cluster sbatch --parsable --requeue --open-mode=append -N1 -o "$out/slurm-%j.out" "$out/job.sh")
wait_until 90 "job $job to complete after requeue" job_in_state "$job" COMPLETED
cat "$out/runs"
grep -q '^start 1 ' "$out/runs" || fail "job $job did not run again with SLURM_RESTART_COUNT=1"
latency=$(seconds_between "$(awk '/^exit/ {print $2}' "$out/runs")" "$(awk '/^start 1/ {print $3}' "$out/runs")")
pass "exit 42 requeued job $job; failure to running again: ${latency}s"

# scontrol requeue of a running job.
cat >"$out/long.sh" <<JOB
#!/bin/bash
echo "start \${SLURM_RESTART_COUNT:-0} \$(date +%s.%N)" >> $out/long-runs
[ "\${SLURM_RESTART_COUNT:-0}" -eq 0 ] && sleep 300
exit 0
JOB
job=$(on_cluster sbatch --parsable --requeue --open-mode=append -N1 -o "$out/slurm-%j.out" "$out/long.sh")
wait_until 60 "job $job running" job_in_state "$job" RUNNING
wait_until 60 "job $job started" test -s "$out/long-runs"
requeued_at=$(now)
on_cluster scontrol requeue "$job"
wait_until 90 "job $job to complete after scontrol requeue" job_in_state "$job" COMPLETED
grep -q '^start 1 ' "$out/long-runs" || fail "job $job did not run again after scontrol requeue"
latency=$(seconds_between "$requeued_at" "$(awk '/^start 1/ {print $3}' "$out/long-runs")")
pass "scontrol requeue of job $job; requeue to running again: ${latency}s"
