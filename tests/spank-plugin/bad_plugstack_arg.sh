#!/usr/bin/env bash
# A bad plugstack.conf argument (min_level=Quick) is the admin's mistake, like a broken site config: no node is
# drained. A queued job then starts with its steps refused (the site asked for a floor it misspelt: failing
# closed), the reason in its output; a submission says what is wrong and goes through.
source "$(dirname "$0")/lib.sh"
plugstack=$SIGMA_CLUSTER_DIR/etc/plugstack.sigma
good=$(cat "$plugstack")
trap 'echo "$good" >"$plugstack"; restore_spank_cluster' EXIT
out=$(scratch)

ended_or_drained() { job_in_state "$1" FAILED || on_cluster sinfo -h -N -o '%T' | grep -q 'drain'; }

# A job queued before the argument went bad: only the node side sees it.
queued=$(on_cluster sbatch --parsable -N1 --hold --requeue -o "$out/queued.out" --wrap 'echo ran')
echo "$good min_level=Quick" >"$plugstack"
on_cluster scontrol release "$queued"
wait_until 60 "job $queued to end" ended_or_drained "$queued"
all_nodes_idle || fail "a node left service: $(on_cluster sinfo -h -N -o '%N %T %E')"
set +e
submitted=$(on_cluster sbatch --parsable -N1 --requeue -o "$out/submitted.out" --wrap 'echo ran' 2>"$out/sbatch.err")
set -e
cat "$out/sbatch.err"
grep -q 'sigma: plugstack.conf: sigma: "min_level=Quick": expected min_level=' "$out/sbatch.err" ||
  fail "sbatch did not report the bad argument"
[ -n "$submitted" ] || fail "sbatch refused the submission"
for job in "$queued" "$submitted"; do
  wait_until 60 "job $job to end" ended_or_drained "$job"
  job_in_state "$job" FAILED || fail "job $job is $(job_field "$job" JobState)"
  [ "$(job_field "$job" Restarts)" = 0 ] || fail "job $job was requeued"
done
cat "$out/queued.out"
for job in queued submitted; do
  grep -q 'sigma: preflight cannot run on n[0-9]: plugstack.conf: sigma: "min_level=Quick"' "$out/$job.out" ||
    fail "no reason in the $job job's output"
  ! grep -qx ran "$out/$job.out" || fail "the $job job ran on an unvalidated node"
done
all_nodes_idle || fail "a node left service: $(on_cluster sinfo -h -N -o '%N %T %E')"
pass "min_level=Quick: jobs $queued and $submitted FAILED once with the reason, no node drained"
