#!/usr/bin/env bash
# The requeue cap: a job that keeps asking to be requeued (exit 42, RequeueExit) runs 1 + cap times, then ends
# FAILED with a message that names the cap, without draining the node it last landed on.
source "$(dirname "$0")/lib.sh"
trap restore_spank_cluster EXIT
out=$(scratch)

job=$(on_cluster sbatch --parsable -N1 --sigma-max-requeues=1 -o "$out/job.out" --open-mode=append \
  --wrap 'echo "run $SIGMA_RESTART_COUNT of at most $SIGMA_MAX_REQUEUES requeues"; exit 42')
wait_until 90 "job $job to fail" job_in_state "$job" FAILED
cat "$out/job.out"
[ "$(grep -c '^run ' "$out/job.out")" = 2 ] || fail "expected 2 runs (the first and one requeue)"
grep -q "sigma: job $job was requeued 2 times, more than its cap of 1" "$out/job.out" || fail "no cap message"
[ "$(job_field "$job" Restarts)" = 2 ] || fail "Restarts=$(job_field "$job" Restarts)"
[ -n "$(events "$job" requeue_cap_reached)" ] || fail "no requeue_cap_reached event"
all_nodes_idle || fail "a node left service: $(on_cluster sinfo -h -N -o '%N %T')"
pass "job $job: 2 runs, then FAILED with the cap's message; every node still idle"

# The user cannot raise the site's cap (policy.max_requeues: 3).
job=$(on_cluster sbatch --parsable -N1 --sigma-max-requeues=50 -o "$out/cap.out" --wrap 'echo $SIGMA_MAX_REQUEUES')
wait_until 60 "job $job" job_in_state "$job" COMPLETED
[ "$(cat "$out/cap.out")" = 3 ] || fail "--sigma-max-requeues=50 gave a cap of $(cat "$out/cap.out")"
pass "--sigma-max-requeues=50 is capped at the site's 3"
