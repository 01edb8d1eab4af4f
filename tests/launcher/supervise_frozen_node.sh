#!/usr/bin/env bash
# A frozen node: rank 1 and its node's slurmstepd stopped with SIGSTOP. Rank 1's liveness beat stops: it is lost
# within policy.liveness_timeout_s and its node drained. The abort does not wait for the frozen node (srun would,
# until it thaws): it returns once the survivor's task has ended, and the restart on the survivor and the spare
# shares the nodes the aborted step still holds (srun --overlap), so it trains while the node is still frozen (no
# restart_blocked). Once the node thaws, its rank writes beats for its own, aborted attempt: they are ignored, the
# restart trains on, and the recovery time in the ledger is not negative. (restore_cluster cancels the job.)
source "$(dirname "$0")/lib.sh"
stopped=""
cleanup() {
  [ -z "$stopped" ] || kill -CONT $stopped 2>/dev/null || true
  restore_cluster
}
trap cleanup EXIT

start_training frozen 30000
job=$JOB victim=$VICTIM pid=$VICTIM_PID
stepd=$(ps -o ppid= -p "$pid" | tr -d ' ')
[ "$(ps -o comm= -p "$stepd")" = slurmstepd ] || fail "rank 1's parent $stepd is not its node's slurmstepd"
stopped="$stepd $pid"
kill -STOP $stopped
frozen_at=$(now)
wait_until 120 "rank 1 to be declared lost" grep -q "no liveness beat" "$out/frozen.out"
has_recovered() { [ -n "$(events recovered)" ]; }
wait_until 120 "the restart's first training step, the node still frozen" has_recovered
recovered_at=$(now)
sleep 5  # the restart trains on while the aborted step's rank is still frozen
kill -CONT $stopped
stopped=""
sleep 5  # the thawed rank then writes into the new attempt's directory while that attempt trains
grep "sigma-launch" "$out/frozen.out"
job_in_state "$job" RUNNING || fail "job $job is $(job_field "$job" JobState) after the restart trained"
node_is "$victim" 'drained\|draining' || fail "$victim (rank 1) is $(node_state "$victim"), not drained"
[ -z "$(events restart_blocked)" ] || fail "the restart waited for the frozen node: $(events restart_blocked)"
recovered=$(events recovered)
seconds=$(json_field details.fault_to_first_step_s <<<"$recovered")
awk -v s="$seconds" 'BEGIN { exit !(s >= 0) }' || fail "recovered ${seconds}s after the fault was detected"
failed=$(events step_failed)
detected=$(seconds_between "$frozen_at" "$(date -d "$(json_field time <<<"$failed")" +%s.%N)")
# Generous for a loaded machine; before, the abort alone waited 10 s for the frozen node and the restart until it
# thawed.
awk -v d="$detected" 'BEGIN { exit !(d < 10) }' || fail "the frozen node was decided ${detected}s after it froze"
step_now=$(heartbeat_step frozen)
sleep 3
[ "$(heartbeat_step frozen)" -gt "$step_now" ] || fail "the restart stopped training after the thaw"
pass "frozen $victim: decided ${detected}s after the freeze, drained, restarted at once (no restart_blocked), first new step ${seconds}s after the decision; trains on after the thaw"
pass "split of the recovery (s): $(json_field details.split_s <<<"$recovered")"
