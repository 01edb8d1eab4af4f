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

# Bad inputs: not a regular file, several files (each gets its line), a log line of 100 KB, a nested quantifier.
expect 3 "must be a regular file, not a device" -- timeout 10 "$config" check /dev/zero
mkfifo "$tmp/fifo"
expect 3 "must be a regular file, not a FIFO" -- timeout 10 "$config" check "$tmp/fifo"
expect 3 "must be a regular file, not a directory" -- "$config" check "$tmp"
printf 'cluster: {name: c}\n' > "$tmp/good.yaml"
chmod 644 "$tmp/good.yaml"
"$config" check "$tmp/missing.yaml" "$tmp/good.yaml" >"$tmp/out" 2>"$tmp/err"
if [ $? -ne 5 ] || ! grep -q "good.yaml: ok" "$tmp/out"; then
  echo "FAIL: check of several files stopped at the first bad one"; failures=$((failures + 1))
fi
chmod 666 "$tmp/good.yaml"
expect 0 "warning: $tmp/good.yaml: it is not owned by root or is group/world-writable" -- "$config" check "$tmp/good.yaml"
head -c 102400 /dev/zero | tr '\0' 'a' > "$tmp/long.log"
echo " Segmentation fault" >> "$tmp/long.log"
expect 0 '"rule":"unclassified"' -- timeout 20 "$config" classify "$site_configs/example.yaml" --exit-code 1 --log "$tmp/long.log"
printf 'cluster: {name: c}\ntaxonomy:\n  rules:\n    - {name: r, pattern: "(a+)+$", class: user, action: fail}\n' \
  > "$tmp/nested.yaml"
head -c 40 /dev/zero | tr '\0' 'a' > "$tmp/nested.log"; echo '!' >> "$tmp/nested.log"
expect 0 '"rule":"unclassified"' -- timeout 20 "$config" classify "$tmp/nested.yaml" --exit-code 1 --log "$tmp/nested.log"
printf 'cluster: {name: c}\ntaxonomy:\n  rules:\n    - {name: r, pattern: "(x)\\\\1", class: user, action: fail}\n' \
  > "$tmp/backref.yaml"
expect 3 "expected an RE2 regular expression" -- "$config" check "$tmp/backref.yaml"

# Fault injection (healthy nodes made to fail their burn-in) is refused unless asked for, on every node or on some.
printf 'cluster: {name: c}\npreflight:\n  fault_injection: {enabled: true, gemm_bitflip_rate: 0.01}\n' > "$tmp/faults-all.yaml"
printf 'cluster: {name: c}\npreflight:\n  fault_injection: {enabled: true, crash_check: gemm, nodes: "n[1-2]"}\n' \
  > "$tmp/faults-some.yaml"
chmod 644 "$tmp/faults-all.yaml" "$tmp/faults-some.yaml"
expect 3 "faults-all.yaml: preflight.fault_injection is enabled on every node" -- "$config" check "$tmp/faults-all.yaml"
expect 3 "enabled on nodes n[1-2]: their burn-ins fail on purpose and drain them; refused without --allow-fault-injection" \
  -- "$config" check "$tmp/faults-some.yaml"
expect 0 "faults-all.yaml: ok" -- "$config" check --allow-fault-injection "$tmp/faults-all.yaml"
if ! grep -qF "warning: $tmp/faults-all.yaml: preflight.fault_injection is enabled on every node" "$tmp/err"; then
  echo "FAIL: an allowed fault injection is not warned about: $(cat "$tmp/err")"; failures=$((failures + 1))
fi
expect 0 "faults-some.yaml: ok" -- "$config" check "$tmp/faults-some.yaml" --allow-fault-injection
printf 'cluster: {name: c}\npreflight:\n  fault_injection: {enabled: false, gemm_bitflip_rate: 0.01}\n' > "$tmp/faults-off.yaml"
expect 0 "faults-off.yaml: ok" -- "$config" check "$tmp/faults-off.yaml"

# A retired key is accepted, with one warning line naming where it is and why it is ignored.
printf 'cluster: {name: c}\npreflight:\n  gemm:\n    rel_tolerance: 1.0e-4\npolicy: {exclude_for_s: 60}\n' > "$tmp/retired.yaml"
chmod 644 "$tmp/retired.yaml"
expect 0 "retired.yaml: ok" -- "$config" check "$tmp/retired.yaml"
if [ "$(grep -c 'ignored: ' "$tmp/err")" -ne 2 ] ||
   ! grep -qF "warning: $tmp/retired.yaml:4:20: preflight.gemm.rel_tolerance: ignored: " "$tmp/err" ||
   ! grep -qF "warning: $tmp/retired.yaml:5:25: policy.exclude_for_s: ignored: " "$tmp/err"; then
  echo "FAIL: retired keys are not warned about once each: $(cat "$tmp/err")"; failures=$((failures + 1))
fi
expect 0 "/etc/sigma/site.yaml" -- "$config" default-path

# The printed defaults are a valid config, and show prints what check accepts.
"$config" defaults > "$tmp/defaults.yaml"
expect 0 "ok" -- "$config" check "$tmp/defaults.yaml"

expect 0 "" -- "$ledger" append "$tmp/events.jsonl" --component test --event node_drained --detail node=n3 --detail reason=gemm
expect 0 "node_drained" -- "$ledger" show "$tmp/events.jsonl" --event node_drained
expect 2 "expected KEY=VALUE" -- "$ledger" append "$tmp/events.jsonl" --component t --event e --detail novalue
expect 5 "cannot open event ledger" -- "$ledger" show "$tmp/nothing.jsonl"
expect 3 "event ledger must be a regular file, not a directory" -- "$ledger" show "$tmp"
# An unusable ledger path is the environment's fault, not a bug in sigma (exit 1).
mkdir "$tmp/adir"
expect 3 "Is a directory" -- "$ledger" append "$tmp/adir" --component t --event e
expect 5 "cannot append to the event ledger" -- "$ledger" append /proc/sigma-events.jsonl --component t --event e
# A forged event's control characters (an escape sequence, a newline) are shown escaped, never raw.
printf '{"time":"t","host":"h\\u001b[2Jx\\nforged","job_id":"1","component":"c","event":"e","details":{}}\n' \
  > "$tmp/forged.jsonl"
"$ledger" show "$tmp/forged.jsonl" >"$tmp/out" 2>&1
if [ "$(wc -l <"$tmp/out")" -ne 1 ] || grep -q $'\x1b' "$tmp/out" || ! grep -qF 'h\x1b[2Jx\x0aforged' "$tmp/out"; then
  echo "FAIL: sigma-ledger show printed control characters: $(cat -v "$tmp/out")"; failures=$((failures + 1))
fi

if [ "$failures" -ne 0 ]; then echo "$failures check(s) failed"; exit 1; fi
echo "all sigma-config/sigma-ledger checks passed"
