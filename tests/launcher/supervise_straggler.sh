#!/usr/bin/env bash
# A slow rank (sigma-train's injected slowdown): the trainer flags it as a straggler with its node; with
# policy.exclude_stragglers the supervisor stops the step at a step boundary (the trainer saves and exits 42),
# restarts it on the spare without that node (excluded, not drained), and training resumes to the end. On the
# new node the rank is slow again, and with no spare left the supervisor keeps it and says so.
source "$(dirname "$0")/lib.sh"
trap restore_cluster EXIT

site_config
sed -i 's/^policy:$/policy:\n  exclude_stragglers: true/' "$out/site.yaml"
TRAIN_EXTRA="--straggler-margin 1 --straggler-steps 5 --straggler-min-seconds 0.002 --inject-slow-rank 1 \
--inject-slow-factor 4" write_job slow 1000
job=$(submit slow)
wait_until 240 "job $job to complete" job_in_state "$job" COMPLETED
grep "sigma-launch\|resumed" "$out/slow.out"
leaving=$(events straggler_leaving)
[ -n "$leaving" ] || fail "no straggler_leaving event"
slow_node=$(json_field details.node <<<"$leaving")
[ "$(json_field details.rank <<<"$leaving")" = 1 ] || fail "the straggler was not rank 1: $leaving"
first=$(grep "starting the step on" "$out/slow.out" | sed -n 1p)
second=$(grep "starting the step on" "$out/slow.out" | sed -n 2p)
[[ "$first" == *"$slow_node"* ]] || fail "$slow_node was not in the first attempt ($first)"
[[ -n "$second" && "$second" != *"$slow_node"* ]] || fail "the restart ($second) did not leave $slow_node"
grep -q "sigma-train: resumed from .*step_0000" "$out/slow.out" || fail "training did not resume from a checkpoint"
[ "$(job_field "$job" Restarts)" = 0 ] || fail "the job was requeued"
node_is "$slow_node" idle || fail "$slow_node is $(node_state "$slow_node"): a straggler's node must not be drained"
[ -n "$(events straggler_kept)" ] || fail "no straggler_kept event for the slow rank on the spare"
"$SIGMA_CKPT" verify "$out/slow.ckpt" >/dev/null || fail "the final checkpoint does not verify"
pass "rank 1 on $slow_node flagged as a straggler; the step left it ($second) and completed; with no spare left the next straggler was kept"
