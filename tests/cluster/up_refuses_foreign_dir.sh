#!/usr/bin/env bash
# sigma-cluster up deletes tmp/, log/, spool/ and faults/ under its directory: it refuses a directory it did not
# make, and the lines `env` prints for eval keep an odd directory name a plain string. Needs no cluster.
# Usage: up_refuses_foreign_dir.sh SIGMA_CLUSTER
set -u
cluster=$1
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
failures=0
fail() { echo "FAIL: $*"; failures=$((failures + 1)); }

mkdir -p "$work/home/tmp" "$work/home/log"
echo keep >"$work/home/tmp/file"
"$cluster" up "$work/home" >"$work/out" 2>&1
code=$?
[[ $code -eq 2 ]] || fail "up in a foreign directory exited $code (want 2)"
grep -q "was not made by sigma-cluster" "$work/out" || fail "no reason given: $(cat "$work/out")"
[[ -f "$work/home/tmp/file" ]] || fail "up deleted a file in a directory it did not make"

odd="$work/a b\$(touch $work/pwned)"
eval "$("$cluster" env "$odd")"
[[ "$SIGMA_CLUSTER_DIR" == "$odd" ]] || fail "env: SIGMA_CLUSTER_DIR is '$SIGMA_CLUSTER_DIR', want '$odd'"
[[ "$SLURM_CONF" == "$odd/etc/slurm.conf" ]] || fail "env: SLURM_CONF is '$SLURM_CONF'"
[[ ! -e "$work/pwned" ]] || fail "env: a \$(...) in the directory name was run"

[[ $failures -eq 0 ]] && echo "sigma-cluster refuses foreign directories and quotes its env lines"
exit $((failures > 0))
