# sigma-train (2 ranks under mpirun) with its checkpoint directory on a tiny tmpfs that holds step 4 but not
# step 8: the run ends once with exit 3 (config) and one "checkpoint filesystem full" line naming the shard,
# no rank crashes (HDF5 once segfaulted in MPI_Finalize), the ledger has ckpt_save_failed with errno 28, no
# temporary step remains, step 4 still verifies and resumes, and the default taxonomy calls it filesystem-full
# (user, fail: nothing drained, not requeued) with the trainer's line as evidence. Mounting needs root.
# usage: ckpt_full_filesystem_test.sh SIGMA_TRAIN SIGMA_CKPT MPIRUN SIGMA_CONFIG
source "$(dirname "$0")/ckpt_test_lib.sh"
TRAIN=$FIXTURE SIGMA_CONFIG=$4
if [[ $(id -u) != 0 ]]; then echo "skipped: mounting a small tmpfs needs root"; exit 0; fi
cd "$WORK"
printf 'The quick brown fox jumps over the lazy dog.\n%.0s' {1..200} >text.txt
"$TRAIN" prepare --output data.tok text.txt >/dev/null
args=(--data data.tok --d-model 16 --n-heads 2 --seq-len 16 --d-ff 16 --peak-gflops 1 --n-experts 4
      --global-batch 4 --ep-size 2 --ckpt-every 4 --memory-copy-every 0)
# No in-memory copies: how soon a copy is taken depends on the machine's load, and a copy of step 8 would
# rightly be resumed from instead of the file step 4 this test is about.
train() { ranks 2 "$TRAIN" train "${args[@]}" "$@"; }

# Size the filesystem from a real step: one step and half of the next one's shards fit.
train --steps 4 --ckpt-dir sizing >/dev/null || fail "sizing run"
step_bytes=$(du -sb sizing/step_00000004 | cut -f1)
mkdir full
mount -t tmpfs -o "mode=755,size=$(( (step_bytes * 3 / 2 / 4096 + 1) * 4096 ))" tmpfs full
trap 'umount -l "$WORK/full" 2>/dev/null; rm -rf "$WORK"' EXIT

set +e
SIGMA_LEDGER="$WORK/ledger.jsonl" train --steps 12 --ckpt-dir full/c >out.txt 2>err.txt
rc=$?
set -e
[[ $rc == 3 ]] || { cat err.txt; fail "exit $rc, want 3 (config)"; }
! grep -Eiq "segmentation fault|signal 11|Process received signal" err.txt || { cat err.txt; fail "a rank crashed"; }
[[ $(grep -c "^sigma-train: " err.txt) == 1 ]] || { cat err.txt; fail "want exactly one sigma-train line"; }
grep -Eq "^sigma-train: checkpoint filesystem full: the save of step 8 failed, the committed steps are kept: .*shard_r0000[01]\.h5: write failed: No space left on device" err.txt \
  || { cat err.txt; fail "no clear 'checkpoint filesystem full' line"; }
[[ -z $(ls -A full/c | grep '^\.tmp_') ]] || fail "a temporary step remains: $(ls -A full/c)"
[[ $(cat full/c/latest) == step_00000004 ]] || fail "latest is $(cat full/c/latest)"
"$SIGMA_CKPT" verify full/c >/dev/null || fail "step 4 does not verify"
/usr/bin/python3 - "$WORK/ledger.jsonl" <<'PY' || fail "no ckpt_save_failed event with errno 28"
import json, sys
events = [json.loads(line) for line in open(sys.argv[1])]
failed = [e for e in events if e["event"] == "ckpt_save_failed"]
assert len(failed) == 1, events
d = failed[0]["details"]
assert d["errno"] == 28 and d["step"] == 8 and d["path"] == "full/c/.tmp_step_00000008" and d["exit_code"] == 3, d
PY
echo 'cluster: {name: test}' >site.yaml  # the default taxonomy only
verdict=$("$SIGMA_CONFIG" classify site.yaml --exit-code "$rc" --log err.txt)
/usr/bin/python3 -c '
import json, sys
v = json.loads(sys.argv[1])
assert v["rule"] == "filesystem-full" and v["class"] == "user" and v["action"] == "fail", v
assert v["evidence"].startswith("sigma-train: checkpoint filesystem full"), v' "$verdict" || fail "verdict: $verdict"
# The step kept is the one a rerun resumes from (its own next save fills the disk again: not checked here).
ranks 2 "$TRAIN" train "${args[@]}" --steps 6 --ckpt-dir full/c >resumed.txt 2>&1 || true
grep -q "resumed from full/c/step_00000004" resumed.txt || { cat resumed.txt; fail "did not resume from step 4"; }
echo "ok: full checkpoint filesystem -> exit 3, one clear line, ckpt_save_failed errno 28, step 4 kept and resumed; $verdict"
