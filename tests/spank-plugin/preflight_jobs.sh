#!/usr/bin/env bash
# A healthy batch job with --sigma-preflight: every node is burned in by the job prolog (PrologFlags=Alloc), the
# batch script and its srun tasks see SIGMA_*; a second job on the same nodes within result_ttl_s skips the
# burn-in (cached). Prints the prolog's own time with and without the cache, and srun's round trip.
source "$(dirname "$0")/lib.sh"
trap restore_spank_cluster EXIT
out=$(scratch)

run_job() {  # run_job NAME SBATCH_ARGS... -> job id; waits for COMPLETED
  local name=$1 job
  shift
  job=$(on_cluster sbatch --parsable -N2 -w n1,n2 -o "$out/$name.out" "$@" --wrap \
    'env | grep ^SIGMA_ | sort; srun bash -c "echo task \$SLURMD_NODENAME \$SIGMA_PREFLIGHT_LEVEL \$SIGMA_PREFLIGHT_VERDICT"')
  wait_until 90 "job $job ($name) to complete" job_in_state "$job" COMPLETED
  echo "$job"
}

first=$(run_job first --sigma-preflight=quick)
cat "$out/first.out"
grep -qx "SIGMA_PREFLIGHT_LEVEL=quick" "$out/first.out" || fail "batch step: SIGMA_PREFLIGHT_LEVEL"
grep -qx "SIGMA_PREFLIGHT_VERDICT=pass" "$out/first.out" || fail "batch step: SIGMA_PREFLIGHT_VERDICT"
grep -qx "SIGMA_SITE_CONFIG=$SITE" "$out/first.out" || fail "batch step: SIGMA_SITE_CONFIG"
grep -qx "SIGMA_LEDGER=$LEDGER" "$out/first.out" || fail "batch step: SIGMA_LEDGER"
grep -qx "SIGMA_MAX_REQUEUES=3" "$out/first.out" || fail "batch step: SIGMA_MAX_REQUEUES (site cap 3)"
grep -qx "SIGMA_RESTART_COUNT=0" "$out/first.out" || fail "batch step: SIGMA_RESTART_COUNT"
[ "$(grep -c '^task n[12] quick pass$' "$out/first.out")" = 2 ] || fail "srun tasks on n1 and n2 did not see a pass"
[ "$(events "$first" preflight_pass | wc -l)" = 2 ] || fail "expected a preflight_pass event per node"
pass "job $first: burned in on n1 and n2, SIGMA_* in the batch step and in srun tasks, 2 preflight_pass events"

second=$(run_job second --sigma-preflight=quick)
[ "$(grep -c '^task n[12] quick cached$' "$out/second.out")" = 2 ] || { cat "$out/second.out"; fail "second job was not cached"; }
[ -z "$(events "$second" preflight_pass)" ] || fail "the cached job was burned in again"
pass "job $second: within result_ttl_s both nodes were cached (no burn-in)"

fresh=$(run_job fresh --sigma-preflight=quick --sigma-fresh)
[ "$(events "$fresh" preflight_pass | wc -l)" = 2 ] || fail "--sigma-fresh did not burn in again"
stronger=$(run_job stronger --sigma-preflight=extended)
[ "$(events "$stronger" preflight_pass | wc -l)" = 2 ] || fail "a stronger level than the cached one was not burned in"
pass "--sigma-fresh and a stronger level burn in again"

burn=$(events "$first" job_prolog | json_field details.prolog_s | sort -n | tail -1)
cached=$(events "$second" job_prolog | json_field details.prolog_s | sort -n | tail -1)
awk -v c="$cached" -v b="$burn" 'BEGIN { exit !(c < b) }' || fail "cached prolog ${cached}s not below burn-in ${burn}s"
srun_time() {  # seconds for `srun -w n1 true` with ARGS
  local t0 t1
  t0=$(now); on_cluster srun -w n1 "$@" true; t1=$(now)
  seconds_between "$t0" "$t1"
}
off=$(srun_time --sigma-preflight=off)
hit=$(srun_time --sigma-preflight=quick)
pass "$(printf 'prolog time: burn-in %.3fs, cached %.1fms; srun -w n1 true: %ss with preflight off, %ss cached' \
  "$burn" "$(awk -v c="$cached" 'BEGIN { print c * 1000 }')" "$off" "$hit")"
