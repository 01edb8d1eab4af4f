#!/usr/bin/env bash
# sigma-config and sigma-ledger as a user runs them: exit codes from the contract, one-line errors on stderr.
set -u
config=$1 ledger=$2 site_configs=$3
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
failures=0

expect() {  # expect CODE STDERR_SUBSTRING -- command...
  local code=$1 want=$2
  shift 3
  "$@" >"$tmp/out" 2>"$tmp/err"
  local got=$?
  if [ "$got" -ne "$code" ] || { [ -n "$want" ] && ! grep -qF -- "$want" "$tmp/err" "$tmp/out"; }; then
    echo "FAIL: $* -> exit $got (want $code), output: $(cat "$tmp/err" "$tmp/out" | head -3)"
    failures=$((failures + 1))
  fi
  if [ "$code" -ne 0 ] && [ "$(wc -l <"$tmp/err")" -ne 1 ]; then
    echo "FAIL: $* -> stderr is not exactly one line"; failures=$((failures + 1))
  fi
}

expect 0 "example.yaml: ok" -- "$config" check "$site_configs/example.yaml"
expect 3 "max_restart: unknown key (did you mean \"max_restarts\"?)" -- \
  bash -c "printf 'cluster: {name: c}\npolicy: {max_restart: 1}\n' > $tmp/bad.yaml; $config check $tmp/bad.yaml"
expect 5 "cannot open site config" -- "$config" check "$tmp/missing.yaml"
expect 2 "unknown command" -- "$config" frobnicate
expect 2 "see --help" -- "$config" --no-such-option
expect 0 "10,12,13,42" -- "$config" requeue-exit
expect 0 "node_hardware" -- "$config" exit-codes
printf 'NVRM: Xid (PCI:0000:3b:00): 79, pid=1, GPU has fallen off the bus.\n' > "$tmp/step.log"
expect 0 '"action":"drain_requeue"' -- "$config" classify "$site_configs/example.yaml" --exit-code 1 --log "$tmp/step.log"
expect 2 "--exit-code is required" -- "$config" classify "$site_configs/example.yaml"

# The printed defaults are a valid config, and show prints what check accepts.
"$config" defaults > "$tmp/defaults.yaml"
expect 0 "ok" -- "$config" check "$tmp/defaults.yaml"

expect 0 "" -- "$ledger" append "$tmp/events.jsonl" --component test --event node_drained --detail node=n3 --detail reason=gemm
expect 0 "node_drained" -- "$ledger" show "$tmp/events.jsonl" --event node_drained
expect 2 "expected KEY=VALUE" -- "$ledger" append "$tmp/events.jsonl" --component t --event e --detail novalue
expect 5 "cannot open event ledger" -- "$ledger" show "$tmp/nothing.jsonl"

if [ "$failures" -ne 0 ]; then echo "$failures check(s) failed"; exit 1; fi
echo "all sigma-config/sigma-ledger checks passed"
