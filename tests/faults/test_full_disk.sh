# A full disk: every output of tgmm written to a 200 KB tmpfs at several fill levels, with 1, 2
# and 3 ranks. Each run either succeeds or ends with exit 74 on every rank, no process left, no
# hang, nothing under the final name, no .tmp left, inputs unchanged. Needs root to mount the
# tmpfs: where it cannot, the test says so and skips (exit 77). Timing-free: also runs under the
# sanitizers.
source "$TGMM_SRC/tests/faults/lib.sh"
cd "$WORK"
MNT="$WORK/mnt"
mkdir -p "$MNT"
if ! mount -t tmpfs -o size=200k tmpfs "$MNT" 2>/dev/null; then
  echo "skip: cannot mount a tmpfs here (needs root): the full-disk cases are not run"
  exit 77
fi
trap 'umount "$MNT" 2>/dev/null; rm -rf "$WORK"' EXIT

mpi 1 "$TGMM_BIN" gen "$CFG" tasks=8 --out I.h5 > /dev/null 2>&1 || fail "gen of the input"
"$TGMM_BIN" train "$CFG" "${TINY[@]}" train.steps=2 train.batch_size=2 train.run_dir=run > /dev/null 2>&1 ||
  fail "tiny training run"
"$TGMM_BIN" eval --data I.h5 --out R.h5 "eval.methods=[em, spectral]" > /dev/null 2>&1 || fail "eval input"
CK=run/ckpt_00000002.h5

# fill LEVEL_KB: leave the tmpfs with only what is not filled (an empty tmpfs for 0).
fill() {
  find "$MNT" -mindepth 1 -delete
  (($1 > 0)) && head -c "$(($1 * 1024))" /dev/zero > "$MNT/fill" 2>/dev/null
  true
}
for n in 1 2 3; do
  for level in 196 120 40; do
    fill "$level"; run_all any "$n" "$MNT/g.h5" "" gen "$CFG" tasks=16 --out "$MNT/g.h5"
    fill "$level"; run_all any "$n" "$MNT/o.h5" "I.h5" em "$CFG" --data I.h5 --out "$MNT/o.h5"
    fill "$level"; run_all any "$n" "$MNT/e.h5" "I.h5" eval --data I.h5 --out "$MNT/e.h5" "eval.methods=[em]"
    fill "$level"; run_all any "$n" "$MNT/m.h5" "$CK" export --checkpoint run --out "$MNT/m.h5"
    fill "$level"; run_all any "$n" "$MNT/r.md" "R.h5" report --data R.h5 --out "$MNT/r"
    fill "$level"; run_all any "$n" "$MNT/run/ckpt_00000002.h5" "" train "$CFG" "${TINY[@]}" \
      train.steps=2 train.batch_size=2 "train.run_dir=$MNT/run"
  done
done
# A plot that gnuplot could not finish (it does not always say so) is caught: all or nothing.
command -v gnuplot > /dev/null || echo "skip: no gnuplot, no plots to fill the disk with"
for level in $(command -v gnuplot > /dev/null && echo 150 170); do
  fill "$level"; run_all 74 2 "$MNT/r.md" "R.h5" report --data R.h5 --out "$MNT/r"
  [[ -z $(find "$MNT" -name 'r.*') ]] && ok "no report file left" || fail "report files left"
done
# The failure is reported once, by the failing rank, with the path, the dataset and the reason.
fill 196; run_all 74 3 "$MNT/g.h5" "" gen "$CFG" tasks=16 --out "$MNT/g.h5"
said "cannot write $MNT/g.h5 \(dataset /[a-z]+\): No space left on device"
[[ $(grep -c "tgmm: error" "$WORK/last.log") == 1 ]] && ok "one message" || fail "not one message"
finish
