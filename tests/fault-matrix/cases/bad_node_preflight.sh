#!/usr/bin/env bash
# A bad node at preflight: the site config makes n1 flip bits in its matrix products. The job's prolog burns in
# its nodes, n1 fails, is drained ("sigma: gemm sdc ...") and Slurm requeues the job onto n2-n4, where it trains
# to the end: the same weights as the fault-free run (nothing was trained on n1).
source "$(dirname "$0")/../lib.sh"

matrix_site "  fault_injection: {enabled: true, gemm_bitflip_rate: 0.01, nodes: n1}"
use_shape 2ranks
start_job   # an idle cluster gives a 3-node job n1-n3 first
end_of_job COMPLETED
assert_drained n1
[[ "$(on_cluster sinfo -h -n n1 -o '%E')" == "sigma: gemm sdc "* ]] || fail "n1 was not drained for its GEMM check"
[ "$(job_field "$JOB" Restarts)" = 1 ] || fail "job $JOB was requeued $(job_field "$JOB" Restarts) times, expected 1"
[[ "$(job_field "$JOB" NodeList)" != *n1* && "$(job_field "$JOB" NodeList)" != "n[1-"* ]] || fail "the job ran on n1"
story 'preflight_fail{host=n1}' 'node_drained{host=n1}' 'job_prolog{host=n1,verdict=fail}' supervise_started \
  step_started 'supervise_ended{exit_code=0,restarts=0}'
note detection_s "$(printf '%.2f' "$(event_detail job_prolog burn_in_s "$(events "$JOB" job_prolog | grep -n '"verdict":"fail"' | cut -d: -f1)")")"
DETECTED_AT=$(event_time node_drained) LAST_STEP=0
recovered_from_heartbeats
assert_intact
pass "n1 failed its burn-in and was drained; job $JOB requeued onto $(job_field "$JOB" NodeList), trained to the end: the fault-free weights"
