#!/usr/bin/env bash
# The supervisor stops when it should: a user error once, with its own exit code, never restarted or requeued;
# a failure that keeps coming back after policy.max_restarts (2) restarts.
source "$(dirname "$0")/lib.sh"
trap restore_cluster EXIT

# 1. A bad training option is the user's fault: exit 2 (usage), one attempt, no requeue.
write_job baduser 100
sed -i 's/--d-model 32/--d-model -5/' "$out/baduser.sbatch"
job=$(submit baduser --requeue)
wait_until 90 "job $job to fail" job_in_state "$job" FAILED
grep "sigma-launch" "$out/baduser.out"
[ "$(grep -c 'starting the step' "$out/baduser.out")" = 1 ] || fail "a user error was retried"
[ "$(job_field "$job" ExitCode)" = "2:0" ] || fail "exit code $(job_field "$job" ExitCode), expected 2:0"
[ "$(job_field "$job" Restarts)" = 0 ] || fail "a user error was requeued"
grep -q "a user error: not restarted or requeued" "$out/baduser.out" || fail "no message"
# The ledger's step_failed names why: the trainer's own line (a rule that trusts its exit code has no pattern).
failed=$(events step_failed | tail -1)
[[ "$(json_field details.evidence <<<"$failed")" == "sigma-train: "*"--d-model"* ]] || fail "step_failed evidence: $failed"
pass "a bad option: one attempt, exit 2, not requeued"

# 2. A transient failure every time: 1 + max_restarts attempts, then the job ends with the failure's code.
cat >"$out/flaky.sbatch" <<JOB
#!/bin/bash
#SBATCH -N 3 --no-kill
exec "$SIGMA_LAUNCH" supervise --nodes 2 --config "$out/site.yaml" -- bash -c 'exit 13'
JOB
job=$(submit flaky)
wait_until 90 "the restart cap" grep -q "restart cap policy.max_restarts=2 reached" "$out/flaky.out"
on_cluster scancel "$job"  # exit 13 is in RequeueExit: Slurm would run the job again (and the plugin's cap ends that)
sed '/restart cap/q' "$out/flaky.out" | grep "sigma-launch"
[ "$(sed '/restart cap/q' "$out/flaky.out" | grep -c 'starting the step')" = 3 ] || fail "expected 3 attempts (max_restarts 2)"
ended=$(events supervise_ended | tail -1)
[ "$(json_field details.exit_code <<<"$ended")" = 13 ] || fail "the supervisor did not end with 13: $ended"
pass "a failure that keeps coming back: 3 attempts, then exit 13 (transient: RequeueExit requeues the job)"
