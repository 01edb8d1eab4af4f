#!/usr/bin/env bash
# sigma-train under Slurm: srun --mpi=pmix over 2 nodes, 4 ranks in 2 expert-parallel groups, gives the same
# losses as one process; a bad config under srun exits with the contract's code and one line.
# Usage: sigma_train_srun_test.sh SIGMA_TRAIN   (needs the slurm_cluster fixture, tests/cluster/lib.sh)
source "$(dirname "$0")/../cluster/lib.sh"
trap restore_cluster EXIT
bin=$1
dir=$(scratch)
"$bin" prepare --output "$dir/licences.tok" "$(dirname "$0")/data/GPL-3.txt" >/dev/null

args=(--data "$dir/licences.tok" --d-model 32 --n-heads 2 --seq-len 32 --d-ff 32 --n-experts 4 --global-batch 8
      --steps 4 --peak-gflops 1 --heartbeat "$dir/heartbeat.json")
one=$("$bin" train "${args[@]}" | grep '^step 4/4' | cut -d'|' -f2)
out=$(on_cluster srun -N2 -n4 --mpi=pmix "$bin" train "${args[@]}" --ep-size 2)
echo "$out"
four=$(echo "$out" | grep '^step 4/4' | cut -d'|' -f2)
[[ -n $one && "$one" == "$four" ]] || fail "1 process '$one' vs srun 4 ranks ep 2 '$four'"
echo "$out" | grep -q '^sigma-train: 4 ranks, ep_size 2' || fail "srun did not give one MPI job of 4 ranks"
grep -q '"step":4' "$dir/heartbeat.json" || fail "no heartbeat from the srun job"
pass "srun --mpi=pmix, 4 ranks on 2 nodes, EP 2: same losses as 1 process:$one"

set +e
on_cluster srun -N2 -n4 --mpi=pmix "$bin" train "${args[@]}" --ep-size 3 >"$dir/out" 2>"$dir/err"
code=$?
set -e
cat "$dir/err"
[[ $code -eq 3 ]] || fail "bad ep_size under srun exited $code, expected 3 (config)"
[[ $(grep -c '^sigma-train: ' "$dir/err") -eq 1 ]] || fail "expected exactly one error line"
grep -q 'ep_size=3 does not divide the world size 4' "$dir/err" || grep -q 'n_experts=4 is not divisible by ep_size=3' "$dir/err" ||
  fail "unexpected message"
pass "bad config under srun: exit 3 and one line"
