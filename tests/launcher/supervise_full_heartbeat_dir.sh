#!/usr/bin/env bash
# A full heartbeat directory: every rank's progress beats stop at once (their writes fail with ENOSPC); their
# liveness beats, datagrams to the supervisor, go on. The supervisor probes the directory itself every second,
# finds it not writable, and stops once with config (3) and "heartbeat directory ... not writable: ...": no node
# is drained, no restart, no requeue.
# The directory is a 1 MiB tmpfs, filled while the job trains.
source "$(dirname "$0")/lib.sh"
dir=$HEARTBEATS.full
cleanup() {
  umount "$dir" 2>/dev/null || true
  restore_cluster
}
trap cleanup EXIT
mkdir -p "$dir"
mount -t tmpfs -o size=1m,mode=0755 sigma-test-heartbeats "$dir" || fail "cannot mount a tmpfs at $dir"

start_training full 6000
job=$JOB
dd if=/dev/zero of="$dir/fill" bs=64k 2>/dev/null || true  # until ENOSPC
filled_at=$(now)
wait_until 120 "the directory's fault to be seen" grep -q "heartbeat directory $dir not writable" "$out/full.out"
stopped_at=$(now)
wait_until 120 "job $job to end" job_in_state "$job" FAILED
grep "sigma-launch" "$out/full.out"
elapsed=$(seconds_between "$filled_at" "$stopped_at")
# Seen by the supervisor's probe, before the 10 s progress timeout (17.6 s from the fill to the stop once).
awk -v e="$elapsed" 'BEGIN { exit !(e < 10) }' || fail "the full directory was seen ${elapsed}s after the fill"
line=$(grep -m1 "heartbeat directory $dir not writable: " "$out/full.out") || fail "no 'heartbeat directory ... not writable' line"
[[ $line == *"No space left on device"* ]] || fail "the line does not say why: $line"
[ "$(job_field "$job" ExitCode)" = "3:0" ] || fail "exit $(job_field "$job" ExitCode), expected 3:0 (config)"
[ "$(job_field "$job" Restarts)" = 0 ] || fail "the job was requeued"
[ "$(grep -c "starting the step on" "$out/full.out")" = 1 ] || fail "the step was restarted"
for node in $(cat "$SIGMA_CLUSTER_DIR/etc/nodes"); do
  ! node_is "$node" 'drained\|draining\|drain' || fail "$node was drained ($(on_cluster sinfo -h -n "$node" -o '%E'))"
done
[ -z "$(events node_drained)" ] || fail "the ledger has a node_drained event: $(events node_drained)"
failed=$(events step_failed)
[ "$(json_field details.fault_code <<<"$failed")" = heartbeat_dir_unwritable ] || fail "step_failed: $failed"
[ "$(json_field details.node <<<"$failed")" = None ] || fail "step_failed names a node: $failed"
pass "full heartbeat directory: seen ${elapsed}s after it filled, exit 3, no node drained: $line"
