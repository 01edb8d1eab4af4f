#!/usr/bin/env bash
# A throughput-only failure drains a node only when the job holds the whole node: on a node other jobs share,
# their load (a user's memory-copy loop beside a --sigma-preflight --sigma-fresh job) would let any user drain a
# healthy node at will. n1 is made slow by fault injection (slowdown) against a baseline calibrated here.
source "$(dirname "$0")/lib.sh"
trap restore_spank_cluster EXIT
out=$(scratch)

baseline=$STATE/baseline.json
on_cluster env SLURMD_NODENAME=n1 "$SIGMA_HEALTHCHECK" calibrate --config "$SITE" --level quick --runs 3 \
  --output "$baseline" >/dev/null
site_config "  baseline_file: $baseline
  fault_injection: {enabled: true, slowdown: 5, nodes: n1}"

# One CPU of n1's two: the node is shared, its throughput is not judged.
shared=$(on_cluster sbatch --parsable -N1 -n1 -w n1 --requeue --sigma-preflight=quick --sigma-fresh \
  -o "$out/shared.out" --wrap 'echo ran')
wait_until 90 "job $shared to complete" job_in_state "$shared" COMPLETED
grep -qx ran "$out/shared.out" || fail "the shared job did not run: $(cat "$out/shared.out")"
! node_is n1 'drained\|draining' || fail "n1 was drained for throughput while shared: $(on_cluster sinfo -h -n n1 -o '%E')"
unjudged=$(events "" throughput_not_judged n1)
[ -n "$unjudged" ] || fail "no throughput_not_judged event for n1"
grep -q 'slow' <<<"$unjudged" || fail "the event does not name the slow check: $unjudged"
pass "shared n1: job $shared ran, n1 stays in service; $(json_field details.unjudged <<<"$unjudged" | tail -1)"

# The whole node: the same slowness is the node's own and drains it.
whole=$(on_cluster sbatch --parsable -N1 -w n1 --exclusive --sigma-preflight=quick --sigma-fresh \
  -o "$out/whole.out" --wrap 'echo ran')
wait_until 90 "n1 to be drained" node_is n1 'drained\*\{0,1\}\|draining\*\{0,1\}'
reason=$(on_cluster sinfo -h -n n1 -o '%E')
[[ "$reason" == "sigma: "*" slow "* ]] || fail "n1's drain reason is \"$reason\""
pass "exclusive job $whole: n1 drained ($reason)"
