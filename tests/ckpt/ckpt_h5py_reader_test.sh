# An independent reader (h5py + json, no sigma code) rebuilds every tensor from FORMAT.md's rules and checks it.
source "$(dirname "$0")/ckpt_test_lib.sh"
dir="$WORK/ckpt"
ranks 4 "$FIXTURE" save "$dir" 42 2 || fail "save"
/usr/bin/python3 "$(dirname "$0")/read_checkpoint.py" "$dir" 42 || fail "h5py reader"
h5dump -d /embed "$dir/step_00000042/shard_r00000.h5" >"$WORK/embed.txt" || fail "h5dump cannot read /embed"
grep -q "DATASET \"/embed\"" "$WORK/embed.txt" || fail "h5dump output has no /embed"
echo "ok: h5dump reads /embed"
