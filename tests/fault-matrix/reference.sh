#!/usr/bin/env bash
# The fault-free reference run shared by every case of one matrix run (ctest fixture e2e_reference): the same
# token file, run config and template, with no fault, in both shapes. Keeps the token file and each shape's
# final manifest (the XXH3-64 of every tensor) in E2E_WORK/reference for the cases to compare against.
source "$(dirname "$0")/lib.sh"

rm -rf "$REFERENCE"
mkdir -p "$REFERENCE"
chmod 755 "$E2E_WORK" "$REFERENCE"
"$SIGMA_TRAIN" prepare --output "$REFERENCE/licences.tok" /usr/share/common-licenses/* >/dev/null
for shape in 2ranks 3ranks; do
  use_shape "$shape"
  start_job
  end_of_job COMPLETED
  story supervise_started step_started 'supervise_ended{exit_code=0,restarts=0}'
  assert_final_step
  cp "$(final_manifest)" "$REFERENCE/$shape.manifest.json"
  assert_only_drained
  pass "reference $shape: job $JOB trained $(shape_steps "$shape") steps without a fault; final step verified"
done
note bitwise "not applicable: the reference itself"
