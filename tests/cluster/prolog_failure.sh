#!/usr/bin/env bash
# A Prolog that fails on a node drains that node ("Prolog error") and the batch job is requeued onto another.
source "$(dirname "$0")/lib.sh"
trap restore_cluster EXIT
out=$(scratch)

# Slurm gives an idle cluster's first job the first node, n1: make its prolog fail.
touch "$SIGMA_CLUSTER_DIR/faults/prolog-fail-n1"
submitted=$(now)
job=$(on_cluster sbatch --parsable --requeue -N1 -o "$out/slurm-%j.out" \
  --wrap "echo \"\$SLURMD_NODENAME \$(date +%s.%N)\" > $out/ran-on")
wait_until 90 "job $job to complete on another node" job_in_state "$job" COMPLETED
read -r node started <"$out/ran-on"
reason=$(on_cluster sinfo -h -n n1 -o '%E')
echo "n1: $(node_state n1), reason \"$reason\"; job ran on $node"
node_is n1 'drained\|draining' || fail "n1 is not drained after its prolog failed"
[[ "$reason" == *"Prolog error"* ]] || fail "n1's drain reason is \"$reason\""
[ "$node" != n1 ] || fail "job $job ran on n1 despite its failing prolog"
pass "prolog failure drained n1; job $job requeued and ran on $node, $(seconds_between "$submitted" "$started")s after submission"
