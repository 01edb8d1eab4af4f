#!/usr/bin/env bash
# The plugin's options appear in srun/sbatch/salloc --help, and a bad value fails the submission where the user
# typed it: one line naming the option and what was expected, a non-zero exit, and no job created.
source "$(dirname "$0")/lib.sh"
trap restore_spank_cluster EXIT

for client in srun sbatch salloc; do
  help=$(on_cluster "$client" --help)
  for option in --sigma-preflight --sigma-max-requeues --sigma-fresh; do
    grep -q -- "$option" <<<"$help" || fail "$client --help does not list $option"
  done
done
pass "srun, sbatch and salloc --help list --sigma-preflight, --sigma-max-requeues, --sigma-fresh"

long=$(printf 'q%.0s' $(seq 1 300))
# Slurm's clients exit 255 (exit(-1) in slurm_process_option_or_exit) when a plugin refuses an option.
check_refused() {  # check_refused CLIENT OPTION EXPECTED_TEXT
  local out rc
  set +e
  if [ "$1" != sbatch ]; then
    out=$(on_cluster "$1" "$2" -N1 true 2>&1 </dev/null)
  else
    out=$(on_cluster "$1" "$2" --wrap true -N1 2>&1 </dev/null)
  fi
  rc=$?
  set -e
  [ "$rc" -eq 255 ] || fail "$1 $2: exit $rc, expected 255: $out"
  grep -q -- "$3" <<<"$out" || fail "$1 $2: expected \"$3\" in: $out"
  echo "  $1 ${2:0:40}: exit $rc: $(grep 'sigma:' <<<"$out" | head -1)"
}
check_refused sbatch --sigma-preflight=paranoid 'sigma: --sigma-preflight: expected off, quick, standard or extended, got "paranoid"'
check_refused sbatch --sigma-preflight= 'sigma: --sigma-preflight: expected off, quick, standard or extended, got ""'
check_refused srun "--sigma-preflight=$long" 'got a 300-character value'
check_refused srun "--sigma-preflight=qu$(printf '\xc3\xaf')ck" 'got a value with non-ASCII or control characters'
check_refused sbatch '--sigma-preflight=$(reboot)' 'got "$(reboot)"'
check_refused sbatch --sigma-max-requeues=-1 'sigma: --sigma-max-requeues: expected a whole number from 0 to 1000, got "-1"'
check_refused srun --sigma-max-requeues=1001 'expected a whole number from 0 to 1000, got "1001"'
check_refused sbatch --sigma-max-requeues=3x 'got "3x"'
check_refused salloc --sigma-preflight=paranoid 'got "paranoid"'
[ -z "$(on_cluster squeue -h)" ] || fail "a refused submission left a job: $(on_cluster squeue -h)"
pass "9 bad values refused at submission with one line each and exit 255; no job created"
