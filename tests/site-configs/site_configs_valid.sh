#!/usr/bin/env bash
# Every shipped site config passes `sigma-config check`; each says what it documents (the local default: small
# checks, fault injection off; the GPU example: the cuda check, its budgets); the GPU example's taxonomy sends
# each Xid/ECC line to the documented rule, and lines it does not name still reach sigma's default rules.
set -euo pipefail
config=$1 dir=$2
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
fail() { echo "FAIL: $*" >&2; exit 1; }

for file in example.yaml local.yaml gpu-cluster.yaml; do
  "$config" check "$dir/$file" || fail "$file does not validate"
done

"$config" show "$dir/local.yaml" >"$tmp/local.yaml"
grep -q "^  fault_injection:" "$tmp/local.yaml" || fail "local.yaml: no fault_injection section in show"
sed -n '/^  fault_injection:/,/^  [a-z]/p' "$tmp/local.yaml" | grep -qx "    enabled: false" ||
  fail "local.yaml: fault injection must be off in the shipped default"

"$config" show "$dir/gpu-cluster.yaml" >"$tmp/gpu.yaml"
for level in quick standard extended; do
  grep -A2 "^    $level:" "$tmp/gpu.yaml" | grep -q "checks: \[.*cuda" || fail "gpu-cluster.yaml: $level has no cuda check"
done
grep -q "budget_s: 1800" "$tmp/gpu.yaml" || fail "gpu-cluster.yaml: extended budget is not 1800 s"

# classify LINE RULE ACTION: the GPU example's verdict for a step that exited 1 with LINE in its log.
classify() {
  printf '%s\n' "$1" >"$tmp/step.log"
  local verdict
  verdict=$("$config" classify "$dir/gpu-cluster.yaml" --exit-code 1 --log "$tmp/step.log")
  [[ "$verdict" == *"\"rule\":\"$2\""* && "$verdict" == *"\"action\":\"$3\""* ]] ||
    fail "\"$1\": expected rule $2 action $3, got $verdict"
  echo "ok: $2 <- $1"
}
classify 'NVRM: Xid (PCI:0000:3b:00): 95, pid=4242, Uncontained ECC error' xid-uncontained-ecc drain_requeue
classify 'NVRM: Xid (PCI:0000:3b:00): 64, pid=4242, Row remapping failure' xid-row-remap-failure drain_requeue
classify 'NVRM: Xid (PCI:0000:3b:00): 48, pid=4242, DBE (double bit error) ECC error' xid-double-bit-ecc drain_requeue
classify 'NVRM: Xid (PCI:0000:3b:00): 74, pid=4242, NVLink: fatal error' xid-nvlink drain_requeue
classify 'NVRM: Xid (PCI:0000:3b:00): 94, pid=4242, Contained ECC error' xid-contained-ecc restart
classify 'NVRM: Xid (PCI:0000:3b:00): 13, pid=4242, Graphics SM Warp Exception' xid-application fail
classify 'RuntimeError: CUDA error: uncorrectable ECC error encountered' cuda-uncorrectable-ecc drain_requeue
classify '| 0  NVIDIA H100  Volatile Uncorrectable ECC: 2 |' ecc-volatile-count drain_requeue
# Not a site rule: falls through to sigma's defaults.
classify 'NVRM: Xid (PCI:0000:3b:00): 79, pid=4242, GPU has fallen off the bus.' nvidia-xid-hardware drain_requeue
# Xid 950 is not Xid 95.
classify 'NVRM: Xid (PCI:0000:3b:00): 950, pid=4242, unknown' unclassified fail
echo "PASS: every shipped site config validates; the GPU example classifies Xid and ECC lines as documented"
