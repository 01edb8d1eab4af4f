#!/usr/bin/env bash
# validate-nodes.sbatch, unchanged, on all four nodes with n2 made bad through the site config: the table has one
# verdict per node, n2 fails with the check's reason and is drained, the others pass and stay in service, and
# the job fails (exit 1) because a node did. The reports (written as root) go only into a directory the job
# creates: a path planted beforehand (a link to a directory holding a link to a victim file), a parent owned by
# another user and a group-writable parent are refused with one line and exit 2, and the victim is untouched.
source "$(dirname "$0")/lib.sh"
trap restore_spank_cluster EXIT

site_config "  fault_injection: {enabled: true, gemm_bitflip_rate: 0.01, nodes: n2}"
job=$(submit_template validate-nodes.sbatch -N4)
state=$(wait_job_ends "$job" 180)
output=$out/sigma-validate-$job.out
cat "$output"
[ "$state" = FAILED ] || fail "job $job ended $state although n2 is bad"
grep -qE "^node +verdict +seconds +state +reason$" "$output" || fail "no verdict table"
for node in n1 n3 n4; do
  grep -qE "^$node +pass +[0-9.]+ +(idle|allocated|mixed|completing)" "$output" || fail "$node has no pass row"
  ! node_is "$node" 'drained\|draining' || fail "$node was drained"
done
grep -qE "^n2 +FAIL +[0-9.]+ +drain[a-z]* +sigma: gemm sdc [0-9]+/[0-9]+" "$output" || fail "n2 has no FAIL row with its reason"
[[ "$(on_cluster sinfo -h -n n2 -o '%E')" == "sigma: gemm sdc "* ]] || fail "n2 is not drained with the check's reason"
grep -q "^validate-nodes: 1 node(s) did not pass" "$output" || fail "no closing line"
[ -s "$out/sigma-validate-$job/n2.json" ] || fail "no report kept for n2"
/usr/bin/python3 -c 'import json, sys; sys.exit(json.load(open(sys.argv[1]))["passed"] is not True)' \
  "$out/sigma-validate-$job/n1.json" || fail "n1's report does not say pass"
[ "$(stat -c '%U %a' "$out/sigma-validate-$job")" = "root 755" ] || fail "report directory: $(ls -ld "$out/sigma-validate-$job")"
pass "validate-nodes.sbatch: n1,n3,n4 pass, n2 fails (gemm sdc) and is drained; the job exits 1"

# A root-owned file that a user would like root to overwrite, and a user's directory holding a link to it.
victim=$out/victim
echo precious >"$victim"
decoy=$out/decoy
mkdir "$decoy"
ln -s "$victim" "$decoy/n1.json"
# refused JOB WHY: the job failed, printed the refusal line, and the victim still holds what it held.
refused() {
  local state
  state=$(wait_job_ends "$1" 120)
  cat "$out/sigma-validate-$1.out"
  [ "$(cat "$victim")" = precious ] || fail "job $1 overwrote $victim through a planted link: $(head -c 200 "$victim")"
  [ "$state" = FAILED ] || fail "job $1 ended $state although its report directory is unsafe"
  grep -qxF "validate-nodes: SIGMA_REPORT_DIR $2" "$out/sigma-validate-$1.out" || fail "job $1 does not say: $2"
}

# The default path, predicted: the cluster gives job ids in order, and these tests hold it alone.
probe=$(submit_template validate-nodes.sbatch -w n1 --hold)
on_cluster scancel "$probe"
next=$((probe + 1))
ln -s "$decoy" "$out/sigma-validate-$next"
job=$(submit_template validate-nodes.sbatch -w n1)
[ "$job" = "$next" ] || fail "job id $job, expected $next (another job was submitted meanwhile)"
refused "$job" "$out/sigma-validate-$job: it already exists; the reports go only into a directory this job creates"

export SIGMA_REPORT_DIR=$out/planted
ln -s "$decoy" "$SIGMA_REPORT_DIR"
job=$(submit_template validate-nodes.sbatch -w n1)
refused "$job" "$SIGMA_REPORT_DIR: it already exists; the reports go only into a directory this job creates"

mkdir "$out/alice"
chown nobody "$out/alice"
export SIGMA_REPORT_DIR=$out/alice/reports
job=$(submit_template validate-nodes.sbatch -w n1)
refused "$job" "$SIGMA_REPORT_DIR: $out/alice is owned by nobody, not by root; the reports go only where no other user can plant a link"
[ ! -e "$SIGMA_REPORT_DIR" ] || fail "job $job created $SIGMA_REPORT_DIR in a directory another user owns"

mkdir -m 775 "$out/group"
export SIGMA_REPORT_DIR=$out/group/reports
job=$(submit_template validate-nodes.sbatch -w n1)
refused "$job" "$SIGMA_REPORT_DIR: $out/group is writable by group or others (mode 775); the reports go only where no other user can plant a link"
unset SIGMA_REPORT_DIR
pass "validate-nodes.sbatch refuses a planted report path (default and SIGMA_REPORT_DIR), a foreign-owned and a group-writable parent; the victim is untouched"

export SIGMA_DRAIN=maybe
job=$(submit_template validate-nodes.sbatch -w n1)
state=$(wait_job_ends "$job" 120)
[ "$state" = FAILED ] || fail "job with SIGMA_DRAIN=maybe ended $state"
grep -qx 'validate-nodes: SIGMA_DRAIN: expected yes or no, got "maybe"' "$out/sigma-validate-$job.out" ||
  fail "no message for SIGMA_DRAIN=maybe: $(cat "$out/sigma-validate-$job.out")"
pass "validate-nodes.sbatch refuses SIGMA_DRAIN=maybe with one line"
