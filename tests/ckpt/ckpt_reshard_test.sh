# Save with one world size / expert-parallel size, load with another: every value bitwise identical.
source "$(dirname "$0")/ckpt_test_lib.sh"
# writer ranks, writer EP, reader ranks, reader EP
for layout in "4 2 2 1" "4 4 2 2" "2 2 4 4" "2 1 4 2" "1 1 4 4" "1 1 4 2" "2 2 3 1"; do
  read -r wn wep rn rep <<<"$layout"
  dir="$WORK/ckpt_${wn}_${wep}_${rn}_${rep}"
  ranks "$wn" "$FIXTURE" save "$dir" 100 "$wep" || fail "save with $wn ranks, EP $wep"
  ranks "$rn" "$FIXTURE" check "$dir" 100 "$rep" || fail "load $wn ranks EP $wep -> $rn ranks EP $rep"
  echo "ok: $wn ranks EP $wep -> $rn ranks EP $rep"
done
# Async save from 2 ranks, load into 4.
ranks 2 "$FIXTURE" save "$WORK/async" 5 2 1 async || fail "async save"
ranks 4 "$FIXTURE" check "$WORK/async" 5 4 || fail "load of async save"
"$SIGMA_CKPT" verify "$WORK/async" || fail "verify async save"
echo "ok: async 2 -> 4"
