#!/usr/bin/env bash
# A bad user config: the run config misspells a key. sigma-train refuses it with one line naming the file, the
# place and the key (exit 3, config); the supervisor calls it a user error: the job fails once, is neither
# restarted nor requeued, and no node is blamed. Nothing trained, so there are no weights to compare.
source "$(dirname "$0")/../lib.sh"

matrix_site
use_shape 2ranks "n_expert: 4"
start_job
end_of_job FAILED
story 'step_started{attempt=1}' 'step_failed{class=user,next=stop}' 'supervise_ended{exit_code=3,restarts=0}'
[ "$(job_field "$JOB" ExitCode)" = "3:0" ] || fail "exit code $(job_field "$JOB" ExitCode), expected 3:0 (config)"
[ "$(job_field "$JOB" Restarts)" = 0 ] || fail "a user error was requeued"
[ "$(grep -c 'starting the step' "$OUTPUT")" = 1 ] || fail "a user error was retried"
errors=$(grep '^sigma-train: ' "$OUTPUT" | grep -v 'ranks, ep_size' || true)
[ "$(wc -l <<<"$errors")" = 1 ] || fail "expected one line from sigma-train, got: $errors"
[[ "$errors" == "sigma-train: $out/run.yaml:"*"n_expert"* ]] || fail "the line does not name the file and key: $errors"
grep -q "a user error: not restarted or requeued" "$OUTPUT" || fail "the supervisor did not say why it stopped"
assert_only_drained
blamed "none (the user's config)"
note detection_s "$(elapsed "$(event_time step_started)" "$(event_time step_failed)")"
note bitwise "not applicable: a user error, nothing trained"
pass "a misspelt key: \"$errors\", the job failed once (exit 3), not restarted or requeued"
