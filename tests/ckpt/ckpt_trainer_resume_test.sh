# sigma-train with --ckpt-dir: resuming from step 4 reaches bitwise the same step-12 state as an uninterrupted
# run; SIGTERM saves and exits 42 (requeue) with a loadable checkpoint; retention keeps the last K and every M-th.
# usage: ckpt_trainer_resume_test.sh SIGMA_TRAIN SIGMA_CKPT MPIRUN
source "$(dirname "$0")/ckpt_test_lib.sh"
TRAIN=$FIXTURE
cd "$WORK"
printf 'The quick brown fox jumps over the lazy dog.\n%.0s' {1..200} >text.txt
"$TRAIN" prepare --output data.tok text.txt >/dev/null
args=(--data data.tok --d-model 16 --n-heads 2 --seq-len 16 --d-ff 16 --peak-gflops 1 --n-experts 4
      --global-batch 4 --ep-size 2 --ckpt-every 4)
train() { ranks 2 "$TRAIN" train "${args[@]}" "$@"; }

train --steps 12 --ckpt-dir whole >/dev/null || fail "uninterrupted run"
mkdir resumed && cp -r whole/step_00000004 resumed/
train --steps 12 --ckpt-dir resumed | grep -q "resumed from resumed/step_00000004" || fail "did not resume at step 4"
/usr/bin/python3 - <<'PY' || fail "step 12 differs between the uninterrupted and the resumed run"
import json
a = json.load(open("whole/step_00000012/manifest.json"))["tensors"]
b = json.load(open("resumed/step_00000012/manifest.json"))["tensors"]
assert a == b, "checksums differ"
print(f"ok: {len(a)} tensors bitwise identical at step 12 (XXH3-64 per dataset)")
PY

# Stop signal: SIGTERM to the ranks mid-run -> save, exit 42, the saved step verifies and resumes.
"$MPIEXEC" -n 2 --oversubscribe --bind-to none "$TRAIN" train "${args[@]}" --steps 100000 \
  --log-every 1 --ckpt-dir signalled >train.log 2>&1 &
launcher=$!
# Signal only once training runs, however long start-up takes on a busy machine (ctest's TIMEOUT guards a hang).
until grep -q "^step 3/" train.log; do kill -0 "$launcher" 2>/dev/null || fail "run ended before step 3"; sleep 0.1; done
pkill -TERM -P "$launcher" || fail "no ranks to signal"
set +e; wait "$launcher"; rc=$?; set -e
[[ $rc == 42 ]] || fail "exit $rc after SIGTERM, want 42"
"$SIGMA_CKPT" verify signalled || fail "checkpoint saved on SIGTERM does not verify"
step=$(sed 's/step_0*//' signalled/latest)
train --steps $((step + 2)) --ckpt-dir signalled | grep -q "resumed from signalled/step_" || fail "no resume after 42"
echo "ok: SIGTERM at step $step -> exit 42, verified checkpoint, resumed"

# Retention: keep the newest 2 committed steps and every 16th; latest is the last step.
train --steps 40 --ckpt-dir kept --ckpt-keep-last 2 --ckpt-keep-every 16 >/dev/null || fail "run with retention"
kept=$(cd kept && ls -d step_* | tr '\n' ' ')
[[ $kept == "step_00000016 step_00000032 step_00000036 step_00000040 " ]] || fail "retention kept: $kept"
[[ $(cat kept/latest) == step_00000040 ]] || fail "latest is $(cat kept/latest), want step_00000040"
"$SIGMA_CKPT" verify kept >/dev/null || fail "kept steps do not verify"
set +e; "$TRAIN" train "${args[@]}" --steps 4 --ckpt-keep-every 3 2>err.txt; rc=$?; set -e
[[ $rc == 2 ]] && grep -q "^sigma-train: --ckpt-keep-every: needs --ckpt-keep-last" err.txt \
  || fail "--ckpt-keep-every alone: exit $rc, $(cat err.txt)"
echo "ok: retention kept $kept"
