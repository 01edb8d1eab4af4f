#!/usr/bin/env bash
# sigma-train's guardrails as a user and a supervisor see them, under mpirun: a loss spike rolled back to the
# newest checkpoint (replaying its data ends bitwise where a fault-free run does; skipping it is recorded), a
# transient fault exits 10 naming rank and node and a restart from the checkpoint ends bitwise where a
# fault-free run does, an injected crash and hang stop the right rank, and bad guardrail keys are one line.
# Weights are compared through the final checkpoint's per-piece XXH3 checksums (ckpt/FORMAT.md).
# usage: sigma_train_guardrails_test.sh SIGMA_TRAIN MPIRUN
set -u
source "$(dirname "$0")/mpirun_lib.sh"
model=(--d-model 16 --n-heads 2 --seq-len 16 --d-ff 16 --n-experts 4 --peak-gflops 1 --data "$tokens")
mpi2=("$mpirun" -n 2 --oversubscribe --bind-to none)
mpi3=("$mpirun" -n 3 --oversubscribe --bind-to none)

# train NAME MPI... -- ARGS: runs into $work/NAME (checkpoints, JSON log, ledger); sets $rc
train() {
  local name=$1
  shift
  local launcher=()
  while [[ $1 != -- ]]; do launcher+=("$1"); shift; done
  shift
  mkdir -p "$work/$name"
  SIGMA_LEDGER="$work/$name/ledger.jsonl" "${launcher[@]}" "$bin" train "${model[@]}" --ckpt-dir "$work/$name/ckpt" \
    --log-jsonl "$work/$name/log.jsonl" "$@" >"$work/$name/out" 2>"$work/$name/err"
  rc=$?
}
# The final checkpoint's checksums: equal lists mean bitwise equal weights and optimizer state.
checksums() { jq -c '[.. | .xxh3_64? // empty]' "$work/$1/ckpt/$(cat "$work/$1/ckpt/latest")/manifest.json"; }
logged() { jq -c "select(.event == \"$2\")" "$work/$1/log.jsonl"; }

# Fault-free references.
train clean2 "${mpi2[@]}" -- --global-batch 4 --steps 10 --ckpt-every 2
[[ $rc -eq 0 ]] || fail "clean 2-rank run exit $rc: $(head -3 "$work/clean2/err")"
train clean3 "${mpi3[@]}" -- --global-batch 6 --steps 8 --ckpt-every 2
[[ $rc -eq 0 ]] || fail "clean 3-rank run exit $rc: $(head -3 "$work/clean3/err")"

# A loss spike at step 7: back to the checkpoint of step 6, the same data again, the same final weights.
train replay "${mpi2[@]}" -- --global-batch 4 --steps 10 --ckpt-every 2 --spike-window 4 \
  --inject-spike-at-step 7 --spike-skip-data false
spike=$(logged replay loss_spike)
rollback=$(logged replay rolled_back)
if [[ $rc -ne 0 ]] || [[ $spike != *'"step":7'* ]] || [[ $rollback != *'"from":"checkpoint"'* ]] ||
   [[ $rollback != *'"to_step":6'* ]] || [[ $(checksums replay) != "$(checksums clean2)" ]] ||
   ! grep -q '"event":"rolled_back"' "$work/replay/ledger.jsonl"; then
  fail "spike replay: exit $rc, spike '$spike', rollback '$rollback'"
else
  ok "spike at step 7 rolled back to step 6 from the checkpoint, replayed: final weights equal the fault-free run's"
fi

# The same spike with its data skipped: sequences 24..28 (the batch of step 7) are recorded as skipped, and
# the weights differ from the fault-free run (they trained on other data).
train skip "${mpi2[@]}" -- --global-batch 4 --steps 10 --ckpt-every 2 --spike-window 4 --inject-spike-at-step 7
skipped=$(logged skip data_skipped)
if [[ $rc -ne 0 ]] || [[ $skipped != *'"first_sequence":24'* ]] || [[ $skipped != *'"end_sequence":28'* ]] ||
   [[ $(checksums skip) == "$(checksums clean2)" ]]; then
  fail "spike skip: exit $rc, skipped '$skipped'"
else
  ok "spike data window skipped: $skipped"
fi

# A transient bit flip in rank 1's reduced gradient at step 5: exit 10 naming rank 1 and its node, before the
# update. The restart (from the step-4 checkpoint, as a supervisor would on a spare) ends where a fault-free
# run does.
train sdc "${mpi3[@]}" -- --global-batch 6 --steps 8 --ckpt-every 2 --inject-bitflip grad --inject-bitflip-rank 1 \
  --inject-bitflip-step 5 --inject-repeat false
first_rc=$rc
message=$(grep 'sigma-train:' "$work/sdc/err")
classified=$(logged sdc fault_classified)
train sdc "${mpi3[@]}" -- --global-batch 6 --steps 8 --ckpt-every 2
if [[ $first_rc -ne 10 ]] || [[ $message != *"transient fault at step 5"*"blaming rank 1 (node "* ]] ||
   [[ $classified != *'"class":"transient"'* ]] || [[ $rc -ne 0 ]] || [[ $(checksums sdc) != "$(checksums clean3)" ]]; then
  fail "transient flip: exit $first_rc then $rc, '$message', '$classified'"
else
  ok "transient flip: exit 10, '$message'; restart from the checkpoint: final weights equal the fault-free run's"
fi

# Crash and hang: the rank they hit records them and stops beating at the step before.
beats=$work/beats
step_of() { jq .step "$beats/rank-$1"; }
mkdir -p "$beats"
SIGMA_HEARTBEAT_DIR=$beats train crash "${mpi2[@]}" -- --global-batch 4 --steps 10 --inject-crash-rank 1 \
  --inject-crash-at-step 3
if [[ $rc -eq 0 ]] || ! grep -q '"fault":"crash"' "$work/crash/ledger.jsonl" || [[ $(step_of 1) != 2 ]]; then
  fail "crash: exit $rc, rank 1 at step $(step_of 1)"
else
  ok "crash of rank 1 at step 3: exit $rc, its last heartbeat is step 2"
fi

rm -rf "$beats" && mkdir -p "$beats" "$work/hang"
SIGMA_HEARTBEAT_DIR=$beats SIGMA_LEDGER="$work/hang/ledger.jsonl" "${mpi2[@]}" "$bin" train "${model[@]}" \
  --global-batch 4 --steps 10 --inject-hang-rank 1 --inject-hang-at-step 3 >"$work/hang/out" 2>&1 &
pid=$!
while ! grep -qs '"fault":"hang"' "$work/hang/ledger.jsonl" && kill -0 $pid 2>/dev/null; do sleep 0.2; done
sleep 1
if ! kill -0 $pid 2>/dev/null || [[ $(step_of 1) != 2 ]] || [[ ! -e $beats/alive-1 ]]; then
  fail "hang: mpirun gone or rank 1 at step $(step_of 1)"
else
  ok "hang of rank 1 at step 3: still running, rank 1's last heartbeat is step 2, its liveness file beats on"
fi
# End the ranks this test started (mpirun's children), then mpirun.
for child in $(pgrep -P $pid); do kill -KILL "$child" 2>/dev/null; done
kill -KILL $pid 2>/dev/null
wait $pid 2>/dev/null

# Bad guardrail keys: one line, the contract's code.
"$bin" train "${model[@]}" --inject-bitflip weights >/dev/null 2>"$work/err1"
[[ $? -eq 2 ]] && grep -q "option --inject-bitflip: expected one of none, param, grad, got 'weights'" "$work/err1" &&
  ok "bad --inject-bitflip: $(cat "$work/err1")" || fail "bad --inject-bitflip: $(cat "$work/err1")"
"${mpi2[@]}" "$bin" train "${model[@]}" --global-batch 4 --inject-slow-rank 2 --inject-slow-factor 3 >/dev/null \
  2>"$work/err2"
[[ $? -eq 3 ]] && [[ $(grep -c sigma-train "$work/err2") -eq 1 ]] &&
  grep -q "inject_slow_rank=2 is not a rank of this run (world size 2)" "$work/err2" &&
  ok "slow rank outside the run: $(grep sigma-train "$work/err2")" || fail "slow rank outside: $(head -3 "$work/err2")"

finish
