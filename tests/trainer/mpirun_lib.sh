# Set-up shared by the sigma-train tests under mpirun (sourced): Open MPI allowed to run as root over shared
# memory, a scratch directory removed on exit, a failure count, and a small token file.
# usage: source mpirun_lib.sh SIGMA_TRAIN MPIRUN
# Sets: bin, mpirun, work (scratch), tokens ($work/data.tok, from $work/text.txt), failures; fail and ok say
# one line each. The test ends with `finish`.
bin=$1
mpirun=$2
export OMPI_ALLOW_RUN_AS_ROOT=1 OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1 OMPI_MCA_btl=self,vader
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
failures=0
fail() { echo "FAIL: $*"; failures=$((failures + 1)); }
ok() { echo "ok: $*"; }
finish() {
  echo "$failures failure(s)"
  [[ $failures -eq 0 ]]
}

printf 'The quick brown fox jumps over the lazy dog.\n%.0s' {1..200} >"$work/text.txt"
tokens=$work/data.tok
"$bin" prepare --output "$tokens" "$work/text.txt" >/dev/null || { echo "FAIL: prepare"; exit 1; }
