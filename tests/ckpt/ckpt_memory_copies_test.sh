# sigma-train's in-memory copies (ckpt/include/sigma/ckpt/memory_copies.hpp), two ranks posing as two nodes:
# - killed mid-run and node n1's memory gone: the restart resumes from the copies (rank 1's from its mirror on
#   n0), at most one step behind the last step reached, and ends bitwise equal to an uninterrupted run;
# - rank 1's mirror also corrupted: that copy is rejected, never loaded, and the run falls back to its newest
#   file checkpoint, still bitwise equal at the end;
# - a job that shrank: 4 ranks (EP 2, posing as 4 nodes) killed, n1's memory gone, restarted on 2 ranks: each
#   takes up the copy of a replica with its layout (rank 1 rank 3's mirror on n0), bitwise equal at the end to
#   a 4-rank run saved at that step and resumed on 2 ranks from its file checkpoint;
# - a memory directory others can write: copies are turned off with one line, training goes on.
# usage: ckpt_memory_copies_test.sh SIGMA_TRAIN SIGMA_CKPT MPIRUN
source "$(dirname "$0")/ckpt_test_lib.sh"
TRAIN=$FIXTURE
cd "$WORK"
printf 'The quick brown fox jumps over the lazy dog.\n%.0s' {1..200} >text.txt
"$TRAIN" prepare --output data.tok text.txt >/dev/null
cat >as_node.sh <<'SH'
#!/bin/bash
export SLURMD_NODENAME=n$OMPI_COMM_WORLD_RANK
exec "$@"
SH
chmod +x as_node.sh
mkdir -m 0700 shm
# The run's length (SIGMA_MEMORY_TEST_STEPS: 3000, a sanitizer build 240); a checkpoint every sixth of it, and the
# kills a little past the second one, so a fallback has a committed file step to take.
steps=${SIGMA_MEMORY_TEST_STEPS:-3000}
every=$((steps / 6))
kill_step=$((2 * every + every * 2 / 5))
second_save=$(printf 'step_%08d' $((2 * every)))
args=(--data data.tok --d-model 16 --n-heads 2 --seq-len 16 --d-ff 16 --peak-gflops 1 --n-experts 4
      --global-batch 4 --ep-size 2 --ckpt-every $every --memory-copy-dir "$WORK/shm"
      --memory-copy-budget 0)
train() { ranks "${RANKS:-2}" ./as_node.sh "$TRAIN" train "${args[@]}" --steps "${STEPS:-$steps}" "$@"; }
same_weights() {  # same_weights DIR1 DIR2 [STEP]
  /usr/bin/python3 - "$1" "$2" "${3:-$steps}" <<'PY' || fail "$2 differs from $1 at step ${3:-$steps}"
import json, sys
a, b = (json.load(open(f"{d}/step_{int(sys.argv[3]):08d}/manifest.json"))["tensors"] for d in sys.argv[1:3])
assert a == b
PY
}
# Runs until rank 0's heartbeat passes step $2, then kills every rank at once (a failure that ends the whole
# step) and waits until none is left; prints the last step rank 0 finished.
kill_at() {
  train --heartbeat "$1.hb" --ckpt-dir "$1" "${@:3}" >"$1.log" 2>&1 &
  local launcher=$! step=0
  while (( step < $2 )); do
    kill -0 "$launcher" 2>/dev/null || fail "$1 ended before step $2"
    step=$(grep -o '"step":[0-9]*' "$1.hb" 2>/dev/null | cut -d: -f2) || step=0
    sleep 0.02
  done
  pkill -KILL -f -- "--ckpt-dir $1( |\$)" || true
  wait "$launcher" 2>/dev/null || true
  while pgrep -f -- "--ckpt-dir $1( |\$)" >/dev/null; do sleep 0.05; done
  grep -o '"step":[0-9]*' "$1.hb" | cut -d: -f2
}

train --ckpt-dir whole >/dev/null || fail "uninterrupted run"
[ -z "$(find shm -type f)" ] || fail "copies left in memory after a run that ended: $(find shm -type f)"

last=$(kill_at killed $kill_step)
rm -rf shm/sigma-mem-*/*/n1  # node n1 died: its memory is gone
train --ckpt-dir killed >resumed.log 2>&1 || { cat resumed.log; fail "resume after the kill"; }
resumed=$(grep -o "resumed from in-memory copies (step [0-9]*)" resumed.log | grep -o "[0-9]*") ||
  { cat resumed.log; fail "did not resume from the in-memory copies"; }
(( resumed >= last - 1 )) || fail "resumed at step $resumed, but step $last was reached: $((last - resumed)) redone"
same_weights whole killed
echo "ok: killed after step $last, n1's memory gone: resumed from memory at step $resumed, bitwise equal"

last=$(kill_at corrupt $kill_step)
rm -rf shm/sigma-mem-*/*/n1
for slot in shm/sigma-mem-*/*/n0/mirror-r1.*; do printf 'x' | dd of="$slot" bs=1 seek=100 conv=notrunc status=none; done
train --ckpt-dir corrupt >fallback.log 2>&1 || { cat fallback.log; fail "resume with a corrupt mirror"; }
grep -q "memory copy .*mirror-r1.* rejected: checksum mismatch" fallback.log || { cat fallback.log; fail "corrupt copy not rejected"; }
grep -q "resumed from corrupt/$second_save" fallback.log || { cat fallback.log; fail "no fall back to the file checkpoint"; }
same_weights whole corrupt
echo "ok: rank 1's only copy corrupt: rejected, resumed from corrupt/$second_save, bitwise equal"

chmod 0777 shm/sigma-mem-*
train --ckpt-dir open >open.log 2>&1 || { cat open.log; fail "a run with an unsafe memory directory"; }
grep -q "in-memory copies off: .*others may use it" open.log || { cat open.log; fail "unsafe directory not refused"; }
[ -z "$(find shm -type f)" ] || fail "copies written into a directory others can use"
echo "ok: a memory directory others can write is refused; training goes on"

# A shrink: a constant learning rate after warm-up, so that a run told to stop at step S computes what a longer
# one does up to S.
flat=(--lr 0.002 --min-lr 0.002)
export STEPS=$((steps * 3 / 10))
chmod 0700 shm/sigma-mem-*
last=$(RANKS=4 kill_at shrunk $((steps * 2 / 15)) "${flat[@]}")
rm -rf shm/sigma-mem-*/*/n1
RANKS=2 train --ckpt-dir shrunk "${flat[@]}" >shrunk.log 2>&1 || { cat shrunk.log; fail "resume on 2 ranks"; }
resumed=$(grep -o "resumed from in-memory copies (step [0-9]*)" shrunk.log | grep -o "[0-9]*") ||
  { cat shrunk.log; fail "the 2-rank restart did not take up the 4 ranks' in-memory copies"; }
grep -q "in-memory copies of 4 ranks taken up by 2 ranks" shrunk.log || { cat shrunk.log; fail "no reshard said"; }
(( resumed >= last - 1 )) || fail "resumed at step $resumed, but step $last was reached"
RANKS=4 STEPS=$resumed train --ckpt-dir reference "${flat[@]}" >/dev/null || fail "4-rank reference"
RANKS=2 train --ckpt-dir reference "${flat[@]}" >reference.log 2>&1 || { cat reference.log; fail "reference resume"; }
grep -q "resumed from reference/step_$(printf %08d "$resumed")" reference.log || { cat reference.log; fail "reference load"; }
same_weights reference shrunk "$STEPS"
echo "ok: 4 ranks killed after step $last, n1's memory gone: 2 ranks took up the copies of step $resumed, bitwise equal"
