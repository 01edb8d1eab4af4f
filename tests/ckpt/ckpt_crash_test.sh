# kill -9 a writer at random moments within saves, 20 times: the previous checkpoint always loads, and most
# kills must land inside a save (its temporary step directory exists at the kill), or the test proves nothing.
# (Sanitizer builds set SIGMA_CKPT_CRASH_TRIALS lower: each trial there costs ~15 s of MPI start-up.)
source "$(dirname "$0")/ckpt_test_lib.sh"
dir="$WORK/ckpt"
ranks 2 "$FIXTURE" save "$dir" 1 2 40 || fail "first save"
trials=${SIGMA_CKPT_CRASH_TRIALS:-20}
interrupted=0
for trial in $(seq 1 "$trials"); do
  rm -rf "$dir"/.tmp_step_*  # debris of the trial before; a save in flight now leaves a new one
  "$MPIEXEC" -n 2 --oversubscribe --bind-to none "$FIXTURE" loop "$dir" $((trial * 1000)) 2 40 >"$WORK/loop.log" 2>&1 &
  launcher=$!
  # Wait for the first save to start (its temporary directory appears), however long MPI start-up takes, and
  # pick the writer to kill; then let the saves run a random 0-99 ms and kill the moment a save is seen in
  # flight (bash builtins only between the look and the kill, so it lands inside that save).
  until compgen -G "$dir/.tmp_step_*" >/dev/null || ! kill -0 "$launcher" 2>/dev/null; do sleep 0.005; done
  writers=$(pgrep -P "$launcher" || true)
  victim=$(shuf -n 1 <<<"$writers" || true)
  sleep "0.0$(( RANDOM % 10 ))$(( RANDOM % 10 ))"
  in_save=no
  while kill -0 "$launcher" 2>/dev/null; do
    if compgen -G "$dir/.tmp_step_*" >/dev/null; then in_save=yes; break; fi
  done
  # Kill that writer with SIGKILL mid-flight, then its partner and the launcher (children first, so none is
  # orphaned and keeps saving).
  [[ -n "$victim" ]] && kill -9 "$victim" 2>/dev/null || true
  sleep 0.05
  for pid in $writers; do kill -9 "$pid" 2>/dev/null || true; done
  kill -9 "$launcher" 2>/dev/null || true
  wait "$launcher" 2>/dev/null || true
  [[ $in_save == yes ]] && interrupted=$((interrupted + 1))
  left=no  # the interrupted save left its temporary step behind (not when the kill fell in rank 0's commit)
  compgen -G "$dir/.tmp_step_*" >/dev/null && left=yes
  newest=$(ls -d "$dir"/step_* | sort | tail -1)
  step=$((10#${newest##*step_}))
  ranks 2 "$FIXTURE" check "$dir" "$step" 2 40 || fail "trial $trial: newest committed step $step does not load"
  ranks 1 "$FIXTURE" check "$dir" "$step" 1 40 || fail "trial $trial: step $step does not load into 1 rank"
  echo "trial $trial: $(grep -c saved "$WORK/loop.log" || true) saves completed, kill within a save: $in_save (temporary step left: $left); step $step loads"
done
(( interrupted * 2 > trials )) || fail "only $interrupted of $trials kills landed within a save"
echo "$interrupted of $trials kills landed within a save"
