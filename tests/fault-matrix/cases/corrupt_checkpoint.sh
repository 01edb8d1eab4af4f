#!/usr/bin/env bash
# A corrupt newest checkpoint: the job is stopped with SIGUSR1 after step 230 (it saves step N and exits 42);
# before Slurm starts it again, one bit of a tensor in step N's shard is flipped. The requeued run rejects
# step N (checksum mismatch, a ckpt_rejected event), resumes from the newest step that verifies and trains to
# the fault-free weights. Every other committed step still verifies; step N stays broken on disk (it is not a
# periodic step, so nothing saves it again), which is the damage this case makes.
source "$(dirname "$0")/../lib.sh"

matrix_site
use_shape 2ranks
start_job
wait_training_step 230
on_cluster scancel --batch --signal=USR1 "$JOB"
saved_and_stopped() { events "$JOB" supervise_ended | grep -q '"exit_code":42'; }
wait_until 120 "job $JOB to save and exit 42" saved_and_stopped
newest=$(cat "$CKPT/latest")
keep_committed
/usr/bin/python3 - "$CKPT/$newest/shard_r00001.h5" <<'PY'
import h5py, sys
with h5py.File(sys.argv[1], "r") as shard:
    offset = shard["embed"].id.get_offset()
with open(sys.argv[1], "r+b") as data:
    data.seek(offset); byte = data.read(1); data.seek(offset); data.write(bytes([byte[0] ^ 1]))
PY
fault_now
set +e; "$SIGMA_CKPT" verify "$CKPT" --step "$((10#${newest#step_}))" >/dev/null 2>&1; rc=$?; set -e
[ "$rc" = 4 ] || fail "the flipped bit in $newest was not seen as corrupt (verify exit $rc)"
[ "$(job_field "$JOB" JobState)" != RUNNING ] || fail "job $JOB was already running again when $newest was corrupted"
end_of_job COMPLETED
story 'supervise_ended{exit_code=42}' supervise_started 'ckpt_rejected' 'supervise_ended{exit_code=0}'
events "$JOB" ckpt_rejected | grep -q "$newest" || fail "the rejection does not name $newest"
[ "$(job_field "$JOB" Restarts)" = 1 ] || fail "job $JOB was requeued $(job_field "$JOB" Restarts) times, expected 1"
resumed=$(grep -o "sigma-train: resumed from .*step_[0-9]*" "$OUTPUT" | tail -1 | grep -o 'step_[0-9]*')
[[ -n "$resumed" && "$resumed" < "$newest" ]] || fail "resumed from ${resumed:-nothing}, not from a step before $newest"
assert_only_drained
blamed "none (the checkpoint, not a node)"
detected_at "$(event_time ckpt_rejected)"
LAST_STEP=$((10#${newest#step_}))
recovered_from_heartbeats
assert_kept "$newest"
assert_bitwise_equal
pass "$newest corrupted between the stop and the requeue: rejected, resumed from $resumed, fault-free weights"
