#!/usr/bin/env bash
# moe-train.sbatch, unchanged, when something stops it: the supervisor killed with kill -9 (the job is requeued
# and resumes from its checkpoint; the death is in the output and the ledger), SIGUSR1 to the batch shell (saved,
# requeued, resumed), scancel (saved; the job ends CANCELLED 0:15, not 42); a resubmission that starts from step 0
# beside an earlier run of the same config names that run; SIGMA_TRAIN_ARGS one argument a line (a value with a
# space).
source "$(dirname "$0")/lib.sh"
trap restore_spank_cluster EXIT

# Ranks waiting in MPI give up their core: on a 2-core machine busy-polling ranks train 2-3x slower.
export OMPI_MCA_mpi_yield_when_idle=1
"$SIGMA_TRAIN" prepare --output "$out/licences.tok" /usr/share/common-licenses/* >/dev/null
{ tiny_run_config "$out/licences.tok" 600 8; echo "log_every: 1000"; echo "peak_gflops: 1"; } >"$out/run.yaml"
export SIGMA_TRAIN_CONFIG=$out/run.yaml SIGMA_TRAIN_ARGS="--ep-size 2 --threads 1" SIGMA_CKPT_EVERY=50
runs=$out/sigma-runs

# start JOB_VAR: submits the template and waits until the job's ranks passed step 230 (checkpoints committed).
start() {
  local job
  job=$(submit_template moe-train.sbatch)
  wait_until 120 "job $job to pass step 230" reached_step "$runs/$job/heartbeats" 230
  printf -v "$1" '%s' "$job"
}
show() { grep -E "^(moe-train|sigma-launch|sigma-train: resumed|srun: error)" "$out/moe-train-$1.out" | cut -c1-240 || true; }
last_step() { tail -1 "$runs/$1/train.jsonl" | json_field step; }
exit_code_set() { [ "$(job_field "$1" ExitCode)" != 0:0 ]; }  # the batch script's status arrived

# 1. kill -9 of the supervisor: its step is stopped, exit 42, requeued, resumed from the checkpoint, completed.
start killed
ranks="$(rank_pid_in "$runs/$killed/heartbeats" 0) $(rank_pid_in "$runs/$killed/heartbeats" 1)"
pid=$(supervisor_pid "$killed") || fail "no sigma-launch supervise of job $killed found"
kill -9 "$pid"
state=$(wait_job_ends "$killed" 240)
show "$killed"
[ "$state" = COMPLETED ] || fail "job $killed ended $state after its supervisor was killed, expected requeued and COMPLETED"
[ "$(job_field "$killed" Restarts)" = 1 ] || fail "job $killed was requeued $(job_field "$killed" Restarts) times, expected 1"
grep -q "moe-train: sigma-launch supervise died of SIGKILL: stopping the job's training steps, exit 42" \
  "$out/moe-train-$killed.out" || fail "no line about the supervisor's death"
grep -qx "moe-train: training steps cancelled: $killed.0" "$out/moe-train-$killed.out" ||
  fail "the killed supervisor's training step $killed.0 was not cancelled"
grep -q "moe-train: job $killed, run 2," "$out/moe-train-$killed.out" || fail "no second run of job $killed"
# The requeue runs on the same nodes: their in-memory copies, newer than the file checkpoint, serve.
grep -qE "sigma-train: resumed from ($runs/$killed/ckpt/step_|in-memory copies)" "$out/moe-train-$killed.out" ||
  fail "the requeued run did not resume"
for rank in $ranks; do ! kill -0 "$rank" 2>/dev/null || fail "rank pid $rank of the killed supervisor's step still runs"; done
died=$(events "$killed" supervisor_died)
[ "$(json_field details.signal <<<"$died")" = SIGKILL ] || fail "no supervisor_died event for job $killed: $died"
[ "$(last_step "$killed")" = 600 ] || fail "job $killed's train.jsonl ends at step $(last_step "$killed"), not 600"
"$SIGMA_CKPT" verify "$runs/$killed/ckpt" >/dev/null || fail "job $killed's checkpoints do not verify"
pass "kill -9 of the supervisor: steps stopped, recorded, exit 42, requeued once, resumed, trained to step 600"

# 2. SIGUSR1 to the batch shell (what --signal=B:USR1@300 sends): forwarded, saved, requeued, resumed. The run
# starts from step 0 beside job 1's run of the same config: the start says so, naming it.
start usr1
on_cluster scancel --batch --signal=USR1 "$usr1"
state=$(wait_job_ends "$usr1" 240)
show "$usr1"
[ "$state" = COMPLETED ] || fail "job $usr1 ended $state after SIGUSR1"
[ "$(job_field "$usr1" Restarts)" = 1 ] || fail "job $usr1 was requeued $(job_field "$usr1" Restarts) times, expected 1"
grep -q "sigma-launch: forwarding signal 10 to the step" "$out/moe-train-$usr1.out" || fail "SIGUSR1 was not forwarded"
grep -q "sigma-train: resumed from $runs/$usr1/ckpt/step_" "$out/moe-train-$usr1.out" || fail "the requeued run did not resume"
[ "$(last_step "$usr1")" = 600 ] || fail "job $usr1's train.jsonl ends at step $(last_step "$usr1"), not 600"
notice="moe-train: starting from step 0, yet $runs/$killed (an earlier run of $out/run.yaml) has checkpoints up to"
notice+=" step_00000600; to continue that run instead, submit with SIGMA_RUN_DIR=$runs/$killed"
[ "$(grep -cxF "$notice" "$out/moe-train-$usr1.out")" = 1 ] || fail "no fresh-start notice (once, in run 1) naming $runs/$killed"
pass "SIGUSR1 to the batch shell: forwarded, saved, requeued once, resumed; the fresh start named the earlier run"

# 3. scancel: the supervisor forwards SIGTERM, the trainer saves; the job ends CANCELLED with 0:15, not 42.
start cancelled
on_cluster scancel "$cancelled"
state=$(wait_job_ends "$cancelled" 60)
wait_until 60 "job $cancelled's exit code" exit_code_set "$cancelled"
show "$cancelled"
[ "$state" = CANCELLED ] || fail "job $cancelled ended $state after scancel"
[ "$(job_field "$cancelled" ExitCode)" = 0:15 ] || fail "cancelled job $cancelled shows ExitCode $(job_field "$cancelled" ExitCode), expected 0:15"
grep -q "sigma-launch: summary: stop signal: state saved; SIGTERM without SIGUSR1" "$out/moe-train-$cancelled.out" ||
  fail "the supervisor did not end on the saved state"
ended=$(events "$cancelled" supervise_ended)
[ "$(json_field details.exit_code <<<"$ended")" = 143 ] || fail "supervise_ended is not 143 (SIGTERM): $ended"
"$SIGMA_CKPT" verify "$runs/$cancelled/ckpt" >/dev/null || fail "job $cancelled's checkpoints do not verify"
pass "scancel: forwarded, saved, the job ends CANCELLED 0:15 (supervise_ended 143), not a requeue request"

# 4. SIGMA_TRAIN_ARGS one argument a line: the token file's path has a space, and the config's own data path is
# gone, so the job trains only if that path arrived whole. The notice names the newest earlier run: job 3's.
mkdir -p "$out/token dir"
mv "$out/licences.tok" "$out/token dir/"
export SIGMA_TRAIN_ARGS=$'--ep-size\n2\n--threads\n1\n--steps\n60\n--data\n'"$out/token dir/licences.tok"
lines=$(submit_template moe-train.sbatch)
state=$(wait_job_ends "$lines" 120)
show "$lines"
[ "$state" = COMPLETED ] || fail "job $lines with one argument a line ended $state"
[ "$(last_step "$lines")" = 60 ] || fail "job $lines trained to step $(last_step "$lines"), not 60"
grep -q "moe-train: starting from step 0, yet $runs/$cancelled (an earlier run of $out/run.yaml) has checkpoints up to step_.*SIGMA_RUN_DIR=$runs/$cancelled$" \
  "$out/moe-train-$lines.out" || fail "the fresh-start notice does not name the newest earlier run, $runs/$cancelled"
pass "SIGMA_TRAIN_ARGS one argument a line: a path with a space arrived whole; the notice named the newest run"
