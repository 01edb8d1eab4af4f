#!/usr/bin/env bash
# sigma-train against its environment: a model larger than the memory it may use is refused before anything is
# allocated, with one line saying what it needs and what is left (exit 3); an unwritable ledger is a warning,
# not a failure; bytes from the user (control characters, invalid UTF-8) are printed escaped.
# (A directory as --data or --config, and `latest` as a directory, are in sigma_train_cli_test.sh.)
# usage: sigma_train_environment_test.sh SIGMA_TRAIN MPIRUN SANITIZED(0|1)
set -u
sanitized=$3
source "$(dirname "$0")/mpirun_lib.sh" "$1" "$2"
fail() {  # as mpirun_lib.sh's, with the command's stderr
  echo "FAIL: $*"; sed 's/^/    /' "$work/err" | head -5; failures=$((failures + 1)); }

# expect CODE PATTERN -- COMMAND...: the exit code, exactly one stderr line from sigma-train, matching PATTERN.
expect() {
  local code=$1 pattern=$2
  shift 3
  "$@" >"$work/out" 2>"$work/err"
  local got=$? lines
  lines=$(grep -c 'sigma-train' "$work/err")
  if [[ $got -ne $code ]] || ! grep -Eq -- "$pattern" "$work/err" || [[ $lines -ne 1 ]]; then
    fail "$* -> exit $got (want $code), stderr lines from sigma-train: $lines"
  else
    echo "ok: exit $got: $(grep sigma-train "$work/err" | cut -c1-220)"
  fi
}

small=(--d-model 16 --n-heads 2 --seq-len 16 --d-ff 16 --peak-gflops 1 --n-experts 4 --global-batch 4)
# 16M sequences of 16 tokens: about 1.6 TB of activations, beyond any test machine.
huge=(--d-model 16 --n-heads 2 --seq-len 16 --d-ff 16 --peak-gflops 1 --n-experts 4 --global-batch 16000000)
# About 600 MiB per rank (measured resident: 617 MiB), plus the 256 MiB of address space a rank reserves.
mid=(--d-model 256 --n-heads 4 --seq-len 256 --d-ff 512 --n-layers 4 --n-experts 8 --global-batch 8 --peak-gflops 1)

fits="the model does not fit in memory: it needs [0-9.]+ [MG]iB \(model state"
expect 3 "$fits.*\), MemAvailable \(/proc/meminfo\) has [0-9.]+ [MG]iB left" -- \
  "$bin" train "${huge[@]}" --steps 1 --data "$tokens"
expect 3 "needs [0-9.]+ [MG]iB \(2 ranks on this node x [0-9.]+ [MG]iB\)" -- \
  "$mpirun" -n 2 --oversubscribe --bind-to none "$bin" train "${huge[@]}" --steps 1 --data "$tokens"
if [[ $sanitized == 1 ]]; then
  echo "skip: RLIMIT_AS under a sanitizer (its shadow memory alone is terabytes of address space)"
else
  expect 3 "$fits.*reserved address space 256.0 MiB\), RLIMIT_AS \(ulimit -v\) has [0-9.]+ MiB left" -- \
    prlimit --as=$((1000 * 1024 * 1024)) "$bin" train "${mid[@]}" --steps 1 --data "$tokens"
  # The same model with room for it trains.
  prlimit --as=$((1400 * 1024 * 1024)) "$bin" train "${mid[@]}" --steps 1 --data "$tokens" >"$work/out" 2>"$work/err" &&
    grep -q '^step 1/1' "$work/out" && echo "ok: the same model under a 1400 MiB RLIMIT_AS trains" ||
    fail "the model under a 1400 MiB RLIMIT_AS did not train"
fi

# An unwritable ledger (a directory; a path below a file) loses the event, not the run: one warning line each.
"$bin" train "${small[@]}" --steps 4 --checkpoint-every 2 --data "$tokens" --ckpt-dir "$work/ckpt" >/dev/null
for ledger in "$work" "$work/text.txt/ledger.jsonl"; do
  rm -rf "$work/ckpt_copy" && cp -r "$work/ckpt" "$work/ckpt_copy"
  truncate -s 100 "$work/ckpt_copy/step_00000004/shard_r00000.h5"  # a rejected step is a ledger event
  SIGMA_LEDGER=$ledger "$bin" train "${small[@]}" --steps 5 --data "$tokens" --ckpt-dir "$work/ckpt_copy" \
    >"$work/out" 2>"$work/err"
  rc=$?
  if [[ $rc -ne 0 ]] || [[ $(grep -c "cannot append to the event ledger" "$work/err") -ne 1 ]] ||
     ! grep -q "resumed from .*step_00000002" "$work/out"; then
    fail "ledger $ledger: exit $rc"
  else
    echo "ok: ledger $ledger: exit 0, $(grep ledger "$work/err")"
  fi
done

# User bytes in messages: ESC, BEL and a byte that is not UTF-8 come out as \xNN, never raw.
escaped() {  # escaped WANT -- COMMAND...: WANT (fixed string) in stderr, and no ESC, BEL or 0xff byte there
  local want=$1
  shift 2
  "$@" >"$work/out" 2>"$work/err"
  if ! grep -qF -- "$want" "$work/err" || LC_ALL=C grep -q $'[\x1b\x07\xff]' "$work/err"; then
    fail "escaping: $want"
  else
    echo "ok: escaped: $(head -1 "$work/err" | cut -c1-160)"
  fi
}
escaped 'bad\x1b[31m\xff.yaml: cannot open run config' -- "$bin" train --config "$work/bad"$'\x1b[31m\xff'.yaml
printf 'd_model: "\x1b]0;title\x07"\n' >"$work/value.yaml"
escaped 'd_model: expected an integer, got "\x1b]0;title\x07"' -- "$bin" train --config "$work/value.yaml" --data "$tokens"
escaped 'data\x01\xfe.tok' -- "$bin" train "${small[@]}" --data "$work/data"$'\x01\xfe'.tok
escaped "unknown command 'fit\\x1b[2J'" -- "$bin" $'fit\x1b[2J'

finish
