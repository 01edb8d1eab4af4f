# sigma-ckpt verify names the damaged file and dataset and exits 4 (corrupt) or 5 (missing); load falls back.
source "$(dirname "$0")/ckpt_test_lib.sh"
dir="$WORK/ckpt"
ranks 2 "$FIXTURE" save "$dir" 1 2 || fail "save 1"
ranks 2 "$FIXTURE" save "$dir" 2 2 || fail "save 2"
"$SIGMA_CKPT" verify "$dir" || fail "clean checkpoint does not verify"
"$SIGMA_CKPT" list "$dir" | grep -qE "verified +\(latest\)" || fail "list does not show the verified latest"
# Flip one bit in the raw data of every dataset of every shard in turn (offsets from h5py).
for shard in "$dir"/step_00000002/shard_r*.h5; do
  for ds in $(/usr/bin/python3 -c "import h5py,sys; print(' '.join(h5py.File(sys.argv[1]).keys()))" "$shard"); do
    cp "$shard" "$WORK/saved.h5"
    /usr/bin/python3 - "$shard" "$ds" <<'PY'
import h5py, sys
path, name = sys.argv[1], sys.argv[2]
with h5py.File(path, "r") as f:
    d = f[name]
    offset = d.id.get_offset() + (d.size * 4) // 2
with open(path, "r+b") as f:
    f.seek(offset); b = f.read(1); f.seek(offset); f.write(bytes([b[0] ^ 0x10]))
PY
    set +e; out=$("$SIGMA_CKPT" verify "$dir" --step 2 2>&1); rc=$?; set -e
    [[ $rc == 4 ]] || fail "flipped bit in $shard /$ds: verify exit $rc, want 4"
    grep -q "$(basename "$shard"): dataset /$ds: checksum mismatch" <<<"$out" || fail "message does not name $ds: $out"
    cp "$WORK/saved.h5" "$shard"
  done
done
echo "ok: every flipped dataset detected"
# Load falls back to step 1 and the ledger records why.
/usr/bin/python3 - "$dir/step_00000002/shard_r00001.h5" <<'PY'
import h5py, sys
with h5py.File(sys.argv[1], "r") as f:
    offset = f["embed"].id.get_offset()
with open(sys.argv[1], "r+b") as f:
    f.seek(offset); b = f.read(1); f.seek(offset); f.write(bytes([b[0] ^ 1]))
PY
SIGMA_LEDGER="$WORK/ledger.jsonl" ranks 2 "$FIXTURE" check "$dir" 1 2 || fail "load did not fall back to step 1"
grep -q ckpt_rejected "$WORK/ledger.jsonl" || fail "no ckpt_rejected event in the ledger"
set +e; ranks 2 "$FIXTURE" check "$dir" 2 2 1 strict; rc=$?; set -e
[[ $rc == 4 ]] || fail "strict load exit $rc, want 4"
# Missing shard: exit 5, its first problem and how many more datasets it held (not one line per dataset).
rm "$dir/step_00000002/shard_r00001.h5"
set +e; out=$("$SIGMA_CKPT" verify "$dir" --step 2 2>&1); rc=$?; set -e
[[ $rc == 5 ]] || fail "missing shard: verify exit $rc, want 5"
[[ $(grep -c shard_r00001 <<<"$out") -le 2 ]] || fail "missing shard: $(grep -c shard_r00001 <<<"$out") lines for one shard"
# Bad input: one line, usage exit 2 or not_found 5.
set +e; "$SIGMA_CKPT" verify "$WORK/nope"; rc=$?; set -e
[[ $rc == 5 ]] || fail "missing dir: exit $rc, want 5"
set +e; "$SIGMA_CKPT" prune "$dir" --keep-last 0; rc=$?; set -e
[[ $rc == 2 ]] || fail "--keep-last 0: exit $rc, want 2"
set +e; "$SIGMA_CKPT" frobnicate "$dir"; rc=$?; set -e
[[ $rc == 2 ]] || fail "unknown command: exit $rc, want 2"
# Retention counts only steps that verify: with step 2 broken, keeping one keeps step 1, the newest good one.
out=$("$SIGMA_CKPT" prune "$dir" --keep-last 1)
[[ -z $out && -d "$dir/step_00000001" ]] || fail "prune removed the only step that verifies: $out"
ranks 2 "$FIXTURE" save "$dir" 3 2 || fail "save 3"
"$SIGMA_CKPT" prune "$dir" --keep-last 1 | grep -q step_00000001 || fail "prune did not remove step 1 once step 3 verifies"
echo "ok"
