# kill -9 a writer at random moments within saves, 20 times: the previous checkpoint always loads, and most
# kills must land inside a save (a temporary step directory is left behind), or the test proves nothing.
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
  # Saves follow each other back to back once the first has started (its temporary directory exists), however
  # long MPI start-up takes; the kill then lands 0-99 ms into the run of saves.
  until compgen -G "$dir/.tmp_step_*" >/dev/null || ! kill -0 "$launcher" 2>/dev/null; do sleep 0.01; done
  sleep "0.0$(( RANDOM % 10 ))$(( RANDOM % 10 ))"
  # Kill one writer rank with SIGKILL mid-flight, then its partner and the launcher (children first, so none
  # is orphaned and keeps saving).
  writers=$(pgrep -P "$launcher" || true)
  victim=$(shuf -n 1 <<<"$writers" || true)
  [[ -n "$victim" ]] && kill -9 "$victim" 2>/dev/null || true
  sleep 0.05
  for pid in $writers; do kill -9 "$pid" 2>/dev/null || true; done
  kill -9 "$launcher" 2>/dev/null || true
  wait "$launcher" 2>/dev/null || true
  in_save=no
  if compgen -G "$dir/.tmp_step_*" >/dev/null; then in_save=yes; interrupted=$((interrupted + 1)); fi
  newest=$(ls -d "$dir"/step_* | sort | tail -1)
  step=$((10#${newest##*step_}))
  ranks 2 "$FIXTURE" check "$dir" "$step" 2 40 || fail "trial $trial: newest committed step $step does not load"
  ranks 1 "$FIXTURE" check "$dir" "$step" 1 40 || fail "trial $trial: step $step does not load into 1 rank"
  echo "trial $trial: $(grep -c saved "$WORK/loop.log" || true) saves completed, kill within a save: $in_save; step $step loads"
done
(( interrupted * 2 > trials )) || fail "only $interrupted of $trials kills landed within a save"
echo "$interrupted of $trials kills landed within a save"
