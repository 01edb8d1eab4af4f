#!/usr/bin/env bash
# Shrink and grow, twice: a 3-node step with no spare (--nodes 3 --spares 0 --min-nodes 2) loses rank 1's node:
# 1. its process frozen with SIGSTOP (its liveness beat stops);
# 2. the node dies (its slurmd killed, its slurmstepd and rank frozen), and comes back (slurmd started again)
#    before Slurm declares it down, so it is still in the job.
# With no spare to take its place the supervisor drains the node and goes on with the 2 nodes left, same global
# batch (6 sequences: 3 a rank instead of 2), the state taken up from the in-memory copies of the 3 ranks (taken
# every step here; pure data parallel, so every rank's copy is a replica): at most 2 steps redone, the job not
# requeued. When an admin resumes the drained node (still in the job), the supervisor stops the step at a save
# (SIGUSR1, exit 42) and restarts it on all 3 nodes from that save: nothing redone. The job is then cancelled
# (SIGTERM: saved, ended by it).
source "$(dirname "$0")/lib.sh"
trap revive_and_restore EXIT

SUPERVISE_SHAPE="--nodes 3 --spares 0 --min-nodes 2" TRAIN_SHAPE="--global-batch 6 --ep-size 1" TRAIN_EXTRA="--memory-copy-budget 0" \
  start_training elastic 50000 300
job=$JOB victim=$VICTIM
kill -STOP "$VICTIM_PID"
wait_until 120 "rank 1 to be declared lost" grep -q "no liveness beat" "$out/elastic.out"
wait_until 120 "the step to go on with 2 nodes" grep -q "sigma-train: resumed from" "$out/elastic.out"
second=$(grep "starting the step on" "$out/elastic.out" | sed -n 2p)
[[ "$second" == *" (attempt 2)" && "$second" != *"$victim"* && $(grep -o ',' <<<"$second" | wc -l) == 1 ]] ||
  fail "the restart ($second) is not on the 2 other nodes"
failed=$(events step_failed)
[[ "$(json_field details.reason <<<"$failed")" == *"no spare node left: going on with 2 node(s)" ]] ||
  fail "step_failed: $failed"
[ "$(json_field details.node <<<"$failed")" = "$victim" ] || fail "step_failed blames another node: $failed"
node_is "$victim" 'drained\|draining' || fail "$victim is $(node_state "$victim"), not drained"
grep -q "sigma-train: resumed from in-memory copies" "$out/elastic.out" || fail "the shrink did not resume from memory"
grep -q "in-memory copies of 3 ranks taken up by 2 ranks" "$out/elastic.out" || fail "no reshard from memory said"
resumed=$(grep -o "(step [0-9]*)" "$out/elastic.out" | tail -1 | tr -dc 0-9)
wait_until 120 "the 2-node step to train" past_step elastic $((resumed + 200))
[ "$(ls "$HEARTBEATS.elastic" | grep -c '^rank-')" = 2 ] || fail "the shrunk step has not 2 ranks' heartbeats"
shrunk=$(events recovered)
(( $(json_field details.steps_redone <<<"$shrunk") <= 2 )) || fail "the shrink redid more than 2 steps: $shrunk"

# The admin resumes the node: the step widens again at its next save.
on_cluster scontrol update nodename="$victim" state=resume
wait_until 60 "the supervisor to see $victim back" grep -q "$victim back (resumed, still in the job)" "$out/elastic.out"
wait_until 120 "the step to restart on 3 nodes" grep -q "(attempt 3)" "$out/elastic.out"
third=$(grep "starting the step on" "$out/elastic.out" | sed -n 3p)
[[ "$third" == *"$victim"* ]] || fail "the widened step ($third) leaves out $victim"
wait_until 120 "the widened step to train" grep -q "resumed from .*elastic.ckpt/step_" "$out/elastic.out"
regrown=$(grep -o "(step [0-9]*)" "$out/elastic.out" | tail -1 | tr -dc 0-9)
wait_until 120 "the 3-node step to train" past_step elastic $((regrown + 50))
[ "$(ls "$HEARTBEATS.elastic" | grep -c '^rank-')" = 3 ] || fail "the widened step has not 3 ranks' heartbeats"
on_cluster scancel "$job"
wait_until 120 "job $job to end" grep -q "sigma-launch: summary:" "$out/elastic.out"
grep "sigma-launch\|resumed from\|taken up" "$out/elastic.out"
[ "$(job_field "$job" Restarts)" = 0 ] || fail "the job was requeued"
grew=$(events recovered | grep '"fault_code":"grow"') || fail "no recovered event for the widening"
[ "$(json_field details.steps_redone <<<"$grew")" = 0 ] || fail "the widening redid steps: $grew"
grep -q "summary: .*; 1 restart(s); excluded: $victim; rejoined: $victim" "$out/elastic.out" ||
  fail "the summary does not say $victim rejoined"
pass "rank 1's node $victim lost with no spare: went on with 2 nodes from the 3 ranks' in-memory copies" \
  "($(json_field details.steps_redone <<<"$shrunk") step(s) redone, $(json_field details.fault_to_first_step_s <<<"$shrunk")s" \
  "to the first step), widened back to 3 when $victim was resumed ($(json_field details.fault_to_first_step_s <<<"$grew")s" \
  "from the save to the first 3-node step, 0 redone); job $job not requeued"
restore_cluster
: >"$LEDGER"

# 2. The node dies, then comes back and is resumed.
SUPERVISE_SHAPE="--nodes 3 --spares 0 --min-nodes 2" TRAIN_SHAPE="--global-batch 6 --ep-size 1" TRAIN_EXTRA="--memory-copy-budget 0" \
  start_training dead 50000 300
job=$JOB victim=$VICTIM
kill_victim_node
wait_until 120 "the step to go on with 2 nodes" grep -q "no spare node left: going on with 2 node(s)" "$out/dead.out"
# The node comes back at once: its frozen processes end (a reboot) and its slurmd starts, well before Slurm would
# declare it down (SlurmdTimeout, about 30 s here) and take it out of the job for good. It stays drained (sigma's
# drain, once recorded) until the admin resumes it.
revive_node
node_answers() { ! node_state "$1" | grep -q 'down\|\*'; }  # sinfo marks a node that does not answer with *
wait_until 60 "$victim to answer slurmctld" node_answers "$victim"
drain_recorded() { [ -n "$(events node_drained)" ]; }
wait_until 60 "sigma to drain $victim" drain_recorded
wait_until 120 "the step to go on with 2 nodes" grep -q "sigma-train: resumed from" "$out/dead.out"
on_cluster scontrol update nodename="$victim" state=resume
wait_until 60 "the supervisor to see $victim back" grep -q "$victim back (resumed, still in the job)" "$out/dead.out"
wait_until 120 "the step to restart on 3 nodes" grep -q "(attempt 3)" "$out/dead.out"
wait_until 120 "the widened step to train" grep -q "resumed from .*dead.ckpt/step_" "$out/dead.out"
regrown=$(grep -o "(step [0-9]*)" "$out/dead.out" | tail -1 | tr -dc 0-9)
wait_until 120 "the 3-node step to train" past_step dead $((regrown + 50))
on_cluster scancel "$job"
wait_until 120 "job $job to end" grep -q "sigma-launch: summary:" "$out/dead.out"
grep "sigma-launch\|resumed from\|taken up" "$out/dead.out"
[ "$(job_field "$job" Restarts)" = 0 ] || fail "the job was requeued"
grep -q "summary: .*; 1 restart(s); excluded: $victim; rejoined: $victim" "$out/dead.out" ||
  fail "the summary does not say $victim rejoined"
pass "$victim died with no spare: went on with 2 nodes; back and resumed before Slurm declared it down, the step" \
  "widened to 3 again; job $job not requeued"
