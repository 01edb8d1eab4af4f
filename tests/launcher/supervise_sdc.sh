#!/usr/bin/env bash
# Silent data corruption on one node, caught by sigma-train's guardrails: a transient bit flip in rank 1's reduced
# gradient on n2 (the bad node) makes the replicas disagree; the re-run is clean, so the trainer calls it a
# hardware fault, blames rank 1 on n2 and every rank exits 10. srun's error lines name whichever task it saw end
# first; the supervisor drains the node the trainer blamed, restarts on the spare, and training resumes from its
# checkpoint to the end. The flip follows the node (inject_node), so the restart without n2 runs clean.
source "$(dirname "$0")/lib.sh"
trap restore_cluster EXIT

TRAIN_EXTRA="--inject-bitflip grad --inject-bitflip-rank 1 --inject-bitflip-step 700 --inject-repeat false \
--inject-node n2" write_job sdc 1000
job=$(submit sdc -w n1,n2,n3)
wait_until 240 "job $job to complete" job_in_state "$job" COMPLETED
grep "sigma-launch\|resumed\|guardrail: fault_classified" "$out/sdc.out"
first=$(grep "starting the step on" "$out/sdc.out" | sed -n 1p)
[[ "$first" == *"n1,n2"* ]] || fail "the first attempt did not run rank 1 on n2: $first"
classified=$(events fault_classified)
[ "$(json_field details.class <<<"$classified")" = transient ] || fail "not classified transient: $classified"
[ "$(json_field details.node <<<"$classified")" = n2 ] || fail "the trainer did not blame n2: $classified"
grep -q "exit 10\|exit code 10\|node-hardware\|node_hardware" "$out/sdc.out" || fail "the step did not end with exit 10"
second=$(grep "starting the step on" "$out/sdc.out" | sed -n 2p)
[[ -n "$second" && "$second" != *n2* ]] || fail "the restart ($second) did not leave n2"
state=$(node_state n2)
[[ "$state" == drain* ]] || fail "n2 is $state, not drained"
reason=$(on_cluster sinfo -h -n n2 -o '%E')
[[ "$reason" == sigma:* ]] || fail "n2's drain reason is not sigma's: $reason"
# From the in-memory copies of a step at or after 500 (taken before the fault), or the file checkpoint of 500.
memory=$(sed -n 's/^sigma-train: resumed from in-memory copies (step \([0-9]*\)).*/\1/p' "$out/sdc.out" | tail -1)
[[ -n "$memory" && "$memory" -ge 500 ]] || grep -q "sigma-train: resumed from .*step_00000500" "$out/sdc.out" ||
  fail "training did not resume from step 500 or later"
[ "$(job_field "$job" Restarts)" = 0 ] || fail "the job was requeued"
"$SIGMA_CKPT" verify "$out/sdc.ckpt" >/dev/null || fail "the final checkpoint does not verify"
pass "transient SDC on n2 at step 700: trainer blamed rank 1 on n2, n2 drained ($reason), restarted on $second, completed"
