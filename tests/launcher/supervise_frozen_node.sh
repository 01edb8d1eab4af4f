#!/usr/bin/env bash
# A frozen node: rank 1 and its node's slurmstepd stopped with SIGSTOP. The hang is declared and rank 1's node
# drained; the restart on the survivor and the spare waits while the aborted step still holds nodes (its stopped
# slurmstepd cannot end it), and the supervisor says so (log line, restart_blocked event). Once the node thaws,
# its rank writes beats for its own, aborted attempt: they are ignored, the restart trains, and the recovery time
# in the ledger is not negative. (The job is not trained to its end: restore_cluster cancels it.)
source "$(dirname "$0")/lib.sh"
stopped=""
cleanup() {
  [ -z "$stopped" ] || kill -CONT $stopped 2>/dev/null || true
  restore_cluster
}
trap cleanup EXIT

start_training frozen 6000
job=$JOB victim=$VICTIM pid=$VICTIM_PID
stepd=$(ps -o ppid= -p "$pid" | tr -d ' ')
[ "$(ps -o comm= -p "$stepd")" = slurmstepd ] || fail "rank 1's parent $stepd is not its node's slurmstepd"
stopped="$stepd $pid"
kill -STOP $stopped
wait_until 120 "the hang to be declared" grep -q "no heartbeat progress" "$out/frozen.out"
wait_until 120 "the restart to say it is blocked" grep -q "waits to start: the aborted step still holds nodes" "$out/frozen.out"
sleep 10  # the thawed rank then writes into the new attempt's directory while that attempt starts or trains
kill -CONT $stopped
stopped=""
has_recovered() { [ -n "$(events recovered)" ]; }
wait_until 240 "the restart's first training step" has_recovered
grep "sigma-launch" "$out/frozen.out"
job_in_state "$job" RUNNING || fail "job $job is $(job_field "$job" JobState) after the restart trained"
node_is "$victim" 'drained\|draining' || fail "$victim (rank 1) is $(node_state "$victim"), not drained"
blocked=$(events restart_blocked)
[ -n "$blocked" ] || fail "no restart_blocked event"
recovered=$(events recovered)
[ -n "$recovered" ] || fail "no recovered event"
seconds=$(json_field details.fault_to_first_step_s <<<"$recovered")
awk -v s="$seconds" 'BEGIN { exit !(s >= 0) }' || fail "recovered ${seconds}s after the fault was detected"
pass "frozen $victim: drained, the restart said it waited for step $(json_field details.held_by <<<"$blocked"), recovered ${seconds}s after detection"
