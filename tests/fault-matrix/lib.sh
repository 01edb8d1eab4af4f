# The fault matrix's helpers (tests/fault-matrix/README.md). A case sources this file; it brings in tests/sbatch-templates/lib.sh (the
# template submitted unchanged to the local cluster whose plugstack.conf loads the SPANK plugin), which brings in
# tests/spank-plugin/lib.sh and tests/cluster/lib.sh. Besides their variables it expects
#   E2E_WORK     the matrix's directory: the reference run (tests/fault-matrix/reference.sh) and the result records
#   E2E_RUN      which run of the matrix this is (tests/fault-matrix/run-matrix sets it; default 1)
#   E2E_RESULTS  the JSON-lines file that gets this case's result record (default E2E_WORK/results.jsonl)
source "$(dirname "${BASH_SOURCE[0]}")/../sbatch-templates/lib.sh"
: "${E2E_WORK:?}"
readonly E2E_LIB_DIR=$(dirname "${BASH_SOURCE[0]}")
readonly CASE=$(basename "$0" .sh)
readonly REFERENCE=$E2E_WORK/reference
readonly SIGMA_LEDGER_BIN=$(dirname "$SIGMA_HEALTHCHECK")/../contracts/sigma-ledger
export FAIL_NOTE=$out/fail-note

# Ranks waiting in MPI give up their core (sbatch passes the environment to the job): on a 2-core machine shared
# with other work, busy-polling ranks trained 2-3x slower.
export OMPI_MCA_mpi_yield_when_idle=1

# matrix_site [YAML lines under preflight:] [policy keys]: the one site config (plugin and supervisor): two
# restarts, a backoff of 1-2 s, a 20 s hang timeout (a restart under a busy neighbour must not look like a hang;
# HANG_TIMEOUT changes it).
# HANG_TIMEOUT (policy.heartbeat_timeout_s) may be set by a case.
matrix_site() {
  site_config "${1:-}" 600 "max_restarts: 2, heartbeat_timeout_s: ${HANG_TIMEOUT:-20}, backoff: {initial_s: 1, max_s: 2, factor: 2}${2:+, $2}"
}

# ---- the job: one tiny model in two shapes ----
# 2ranks: 2 training nodes (expert parallel over both) + 1 spare, 1200 steps of 1-20 ms, a checkpoint every 50.
# A signal is forwarded within the supervisor's 0.5 s poll: a case that acts after step 230 leaves ~1 s of
# training on a quiet machine for it to land.
# 3ranks: 3 data-parallel replicas + 1 spare, so a replica that disagrees is outvoted (persistent SDC needs a
# majority to blame); three ranks share two cores here, so it trains 300 steps.
# A measured peak is not needed (peak_gflops): it would add ~1 s of sgemm timing to every start.
# In-memory copies every step (memory_copy_budget 0: never widened), so the steps a restart redoes are the
# mechanism's, not the budget's; their cost is bench/'s (sigma_memory_copies_bench), not the matrix's.
shape_steps() { case $1 in 2ranks) echo 1200 ;; 3ranks) echo 300 ;; esac; }
shape_every() { echo 50; }
shape_nodes() { case $1 in 2ranks) echo 3 ;; 3ranks) echo 4 ;; esac; }

# use_shape SHAPE [YAML lines]: the run config and the template's knobs for a job of that shape; the lines add
# guardrail keys. Faults go in FAULTS (sigma-train's --inject-* options, through SIGMA_TRAIN_ARGS).
use_shape() {
  SHAPE=$1
  local ep=2 batch=8
  [ "$SHAPE" = 3ranks ] && ep=1 batch=12
  { tiny_run_config "$REFERENCE/licences.tok" "$(shape_steps "$SHAPE")" "$batch"
    printf '%s\n' "log_every: 500" "peak_gflops: 1" "memory_copy_budget: 0" "${2:-}"; } >"$out/run.yaml"
  export SIGMA_TRAIN_CONFIG=$out/run.yaml SIGMA_CKPT_EVERY=$(shape_every "$SHAPE") SIGMA_SPARES=1
  export SIGMA_TRAIN_ARGS="--ep-size $ep --threads 1 ${FAULTS:-}"
}

# start_job [sbatch options...]: submits moe-train.sbatch unchanged on the shape's nodes; sets JOB, RUN_DIR,
# CKPT (its checkpoints), HB (its heartbeats) and OUTPUT (the job's output file).
start_job() {
  JOB=$(submit_template moe-train.sbatch -N "$(shape_nodes "$SHAPE")" "$@")
  RUN_DIR=$out/sigma-runs/$JOB CKPT=$out/sigma-runs/$JOB/ckpt HB=$out/sigma-runs/$JOB/heartbeats
  OUTPUT=$out/moe-train-$JOB.out
  note job "$JOB"
}
# wait_training_step STEP: polls the heartbeats every 20 ms (a quiet machine trains a step a millisecond).
wait_training_step() {
  local deadline=$(( $(date +%s) + 120 )) polls=0
  until reached_step "$HB" "$1"; do
    [ "$(date +%s)" -lt "$deadline" ] || fail "timed out after 120s waiting for job $JOB to pass step $1"
    (( ++polls % 50 )) || ! job_ended "$JOB" || fail "job $JOB ended before step $1"
    sleep 0.02
  done
}
# end_of_job EXPECTED_STATE: waits for the job to end and checks its state.
end_of_job() {
  local state
  state=$(wait_job_ends "$JOB" "${2:-240}")
  grep -E "^(moe-train|sigma-launch|sigma-train|sigma-ckpt|guardrail): " "$OUTPUT" | cut -c1-240 || true
  [ "$state" = "$1" ] || fail "job $JOB ended $state, expected $1"
}
# victim RANK: sets VICTIM_PID and VICTIM (its node) for that training rank of the job's current attempt.
victim() {
  VICTIM_PID=$(rank_pid_in "$HB" "$1") || fail "no training rank $1 of job $JOB found"
  VICTIM=$(rank_node "$VICTIM_PID")
}

# ---- what the ledger says ----
job_events() { "$SIGMA_LEDGER_BIN" show "$LEDGER" --job "$JOB" --json; }
# event_time EVENT [N]: epoch seconds of the job's Nth (default first) EVENT in the ledger.
event_time() {
  local time
  time=$(events "$JOB" "$1" | json_field time | sed -n "${2:-1}p")
  [ -n "$time" ] || fail "no $1 event for job $JOB"
  epoch_of "$time"
}
# event_detail EVENT FIELD [N]: a detail of the job's Nth EVENT.
event_detail() { events "$JOB" "$1" | sed -n "${3:-1}p" | json_field "details.$2"; }
# story EVENT[{key=value,...}]...: the job's ledger holds these events in this order (other events may come
# between them); tests/fault-matrix/ledger_story.py prints the whole story either way.
story() {
  job_events | /usr/bin/python3 "$E2E_LIB_DIR/ledger_story.py" "$@" || fail "job $JOB's ledger does not tell: $*"
  note story "$*"
}

# ---- what the case observed: detection, recovery, blame ----
# note KEY VALUE: a field of this case's result record.
declare -A RECORD=()
note() { RECORD[$1]=$2; }
# fault_at: the moment of an outside action (kill, SIGSTOP, kill-node, signal).
fault_now() { FAULT_AT=$(now); }
# elapsed FROM TO: seconds between two epoch times, to the hundredth.
elapsed() { awk -v a="$1" -v b="$2" 'BEGIN { printf "%.2f", b - a }'; }
detected_at() { note detection_s "$(elapsed "$FAULT_AT" "$1")"; DETECTED_AT=$1; }
# recovered_from_heartbeats: the first new training step of the last attempt is when every rank was ready to
# train (heartbeat ready_at: data and checkpoint loaded; one step is ~1 ms here); steps redone from the step
# reached before the fault (LAST_STEP) and the step the attempt resumed at.
recovered_from_heartbeats() {
  local ready resumed
  ready=$("$SIGMA_LAUNCH" beats --dir "$HB" | /usr/bin/python3 -c '
import json, sys
beats = json.load(sys.stdin)["beats"]
print(max(beat["ready_at"] for beat in beats), min(beat["resumed_from"] for beat in beats))')
  resumed=${ready#* } ready=${ready% *}
  note recovery_s "$(elapsed "$DETECTED_AT" "$ready")"
  note resumed_from "$resumed"
  [ -z "${LAST_STEP:-}" ] || note steps_redone $((LAST_STEP - resumed))
}
blamed() { note blamed_node "$1"; }
# restart_figures: an in-allocation restart's figures: detected at the supervisor's step_failed, steps redone
# from the step the failed attempt reached.
restart_figures() {
  LAST_STEP=$(event_detail step_failed last_step)
  detected_at "$(event_time step_failed)"
  recovered_from_heartbeats
}
# assert_sdc_recovered CLASS: a bit flip on n2 classified CLASS by the trainer: n2 blamed and drained, the step
# restarted without it, nothing lost, the fault-free weights.
assert_sdc_recovered() {
  story 'fault_injected{node=n2}' step_rerun "fault_classified{class=$1,node=n2}" \
    'step_failed{class=hardware,node=n2,next=restart}' 'node_drained{node=n2}' 'step_started{attempt=2}' recovered \
    'supervise_ended{exit_code=0}'
  assert_drained n2
  assert_restarted_without n2
  FAULT_AT=$(event_time fault_injected)
  restart_figures
  assert_intact
}
# freeze_rank STEP: after STEP, training rank 1 is stopped with SIGSTOP (VICTIM_PID on VICTIM) at FAULT_AT.
freeze_rank() {
  wait_training_step "$1"
  victim 1
  kill -STOP "$VICTIM_PID"
  fault_now
  keep_committed
}

# ---- nodes ----
# assert_drained NODE: drained by sigma (reason "sigma: ..."); the other nodes were not.
assert_drained() {
  local reason
  node_is "$1" 'drained\|draining\|down\*\?+drain\|drained\*' || fail "$1 is $(node_state "$1"), not drained"
  reason=$(on_cluster sinfo -h -n "$1" -o '%E')
  [[ "$reason" == sigma:* ]] || fail "$1's drain reason is \"$reason\", not sigma's"
  assert_only_drained "$1"
  blamed "$1"
  echo "$1 drained: $reason"
}
# assert_only_drained [NODE]: no node but NODE left service.
assert_only_drained() {
  local node
  for node in $(cat "$SIGMA_CLUSTER_DIR/etc/nodes"); do
    [ "$node" = "${1:-}" ] || ! node_is "$node" 'drain.*\|down.*' || fail "$node left service: $(node_state "$node")"
  done
}
# assert_restarted_without NODE: the job's second attempt ran on other nodes, inside the same allocation.
assert_restarted_without() {
  local second
  second=$(grep "starting the step on" "$OUTPUT" | sed -n 2p)
  [[ -n "$second" && "$second" != *"$1"* ]] || fail "the restart (${second:-none}) did not leave $1"
  [ "$(job_field "$JOB" Restarts)" = 0 ] || fail "the job was requeued: Restarts=$(job_field "$JOB" Restarts)"
}

# ---- checkpoints ----
committed_steps() { (cd "$CKPT" 2>/dev/null && ls -d step_* 2>/dev/null) || true; }
# keep_committed: the committed steps now, before the fault (the ones that must survive it).
keep_committed() {
  KEPT=$(committed_steps)
  [ -n "$KEPT" ] || fail "no checkpoint committed before the fault"
}
# assert_kept [STEP_DIR...]: every step committed before the fault (keep_committed) and every periodic step of the
# run is there and verifies, except the ones named (the case's own damage). Nothing is pruned by design: the
# template keeps every step (no --ckpt-keep-last).
# A periodic save the fault interrupted, after the newest committed step, is never written again when the restart
# resumed from the in-memory copies at or after it: that step alone may be missing.
assert_kept() {
  local step count=0 periodic newest from_memory
  periodic=$(seq "$SIGMA_CKPT_EVERY" "$SIGMA_CKPT_EVERY" "$(shape_steps "$SHAPE")" | xargs printf 'step_%08d\n')
  newest=$(printf '%s\n' ${KEPT:-step_00000000} | tail -1)
  from_memory=$(sed -n 's/^sigma-train: resumed from in-memory copies (step \([0-9]*\)).*/\1/p' "$OUTPUT" | tail -1)
  for step in $(printf '%s\n' ${KEPT:-} $periodic | sort -u); do
    [[ " $* " != *" $step "* ]] || continue
    if [ -n "$from_memory" ] && [[ "$step" > "$newest" ]] && (( 10#${step#step_} <= from_memory )) &&
       [ ! -d "$CKPT/$step" ]; then
      continue
    fi
    [ -d "$CKPT/$step" ] || fail "$step is missing"
    "$SIGMA_CKPT" verify "$CKPT" --step "$((10#${step#step_}))" >/dev/null || fail "$step does not verify"
    count=$((count + 1))
  done
  note checkpoints_kept "$count"
  echo "$count checkpoints verified: the $(wc -w <<<"${KEPT:-}") committed before the fault and every periodic one"
}
# assert_final_step: the last checkpoint is the shape's last step and verifies.
assert_final_step() {
  local steps latest
  steps=$(shape_steps "$SHAPE")
  latest=$(cat "$CKPT/latest" 2>/dev/null || true)
  [ "$latest" = "$(printf 'step_%08d' "$steps")" ] || fail "the newest checkpoint is ${latest:-none}, not step $steps"
  "$SIGMA_CKPT" verify "$CKPT" >/dev/null || fail "the final checkpoint does not verify"
}
final_manifest() { echo "$CKPT/$(cat "$CKPT/latest")/manifest.json"; }
# assert_bitwise_equal: the final checkpoint's tensors (XXH3-64 of every piece, ckpt/FORMAT.md) are the
# fault-free reference run's.
assert_bitwise_equal() {
  assert_final_step
  /usr/bin/python3 "$E2E_LIB_DIR/compare_weights.py" equal "$REFERENCE/$SHAPE.manifest.json" "$(final_manifest)" ||
    fail "the final weights differ from the fault-free run's"
  note bitwise yes
}
# assert_intact: nothing committed was lost and the final weights are the fault-free run's.
assert_intact() {
  assert_kept
  assert_bitwise_equal
}
# assert_bitwise_differs WHY: where the fault changes the data the model saw, the weights must differ from the
# reference (else the fault did nothing) and be finite (h5py reads every tensor of the final checkpoint).
assert_bitwise_differs() {
  assert_final_step
  /usr/bin/python3 "$E2E_LIB_DIR/compare_weights.py" differ "$REFERENCE/$SHAPE.manifest.json" "$(final_manifest)" ||
    fail "the final weights are the fault-free run's: the fault had no effect"
  note bitwise "not applicable: $1"
}

# assert_data_position EXTRA_BATCHES: the final checkpoint consumed that many batches more than the steps.
assert_data_position() {
  local position batch
  position=$(/usr/bin/python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["scalars"]["data_position"])' \
    "$(final_manifest)")
  batch=$(sed -n 's/^global_batch: //p' "$out/run.yaml")
  [ "$position" = $(( ($(shape_steps "$SHAPE") + $1) * batch )) ] ||
    fail "data position $position, expected $1 batch(es) of $batch more than the $(shape_steps "$SHAPE") steps"
  note data_position "$position"
}

# ---- the result record, written whatever happens ----
finish_case() {
  local rc=$? reason=""
  trap - EXIT
  [ "$rc" = 0 ] || reason=$(tail -1 "$FAIL_NOTE" 2>/dev/null || echo "exit $rc: see the case's output")
  local fields=()
  for key in "${!RECORD[@]}"; do fields+=("$key=${RECORD[$key]}"); done
  /usr/bin/python3 "$E2E_LIB_DIR/report.py" record "${E2E_RESULTS:-$E2E_WORK/results.jsonl}" \
    "case=$CASE" "run=${E2E_RUN:-1}" "outcome=$([ "$rc" = 0 ] && echo pass || echo fail)" "reason=$reason" \
    "${fields[@]}" || echo "e2e: could not write the result record" >&2
  if declare -F case_cleanup >/dev/null; then case_cleanup || true; fi
  restore_spank_cluster
  exit "$rc"
}
trap finish_case EXIT
[ -s "$REFERENCE/2ranks.manifest.json" ] || [ "$CASE" = reference ] ||
  fail "no fault-free reference run in $REFERENCE (the e2e_reference fixture, tests/fault-matrix/reference.sh)"
