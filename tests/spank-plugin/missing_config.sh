#!/usr/bin/env bash
# Without its site config the plugin fails closed for preflight: a job that asked for it ends FAILED once with
# the reason in its output (not requeued, no node drained); a job that did not ask runs, with a warning line.
source "$(dirname "$0")/lib.sh"
trap restore_spank_cluster EXIT
out=$(scratch)

mv "$SITE" "$SITE.away"
trap 'mv "$SITE.away" "$SITE" 2>/dev/null || true; restore_spank_cluster' EXIT
asked=$(on_cluster sbatch --parsable -N1 --requeue --sigma-preflight -o "$out/asked.out" --wrap 'echo ran')
plain=$(on_cluster sbatch --parsable -N1 -o "$out/plain.out" --wrap 'echo ran')
wait_until 60 "job $asked to fail" job_in_state "$asked" FAILED
wait_until 60 "job $plain to complete" job_in_state "$plain" COMPLETED
cat "$out/asked.out"
grep -q "sigma: preflight cannot run on n[0-9]: $SITE: cannot open site config" "$out/asked.out" || fail "no message"
! grep -q '^ran$' "$out/asked.out" || fail "the job ran on an unvalidated node"
[ "$(job_field "$asked" Restarts)" = 0 ] || fail "the job was requeued"
all_nodes_idle || fail "a node left service: $(on_cluster sinfo -h -N -o '%N %T')"
grep -qx ran "$out/plain.out" || fail "a job without --sigma-preflight did not run"
cat "$out/plain.out"
grep -q "sigma: warning: n[0-9]: $SITE: cannot open site config" "$out/plain.out" ||
  fail "the job without --sigma-preflight was not told that sigma could not run"
pass "missing site config: job $asked FAILED once with the reason, job $plain (no preflight) ran and was told, no node drained"
