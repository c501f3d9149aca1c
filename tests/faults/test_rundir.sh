# One run per run directory, checkpoints found by step, durable and verified (timing-light: runs
# in the sanitizer build too): a second train on a locked directory exits 2 at once naming the
# holder, kill -9 frees it; train.resume=never refuses a directory holding a run, restart moves it
# aside; a checkpoint of another run is refused; a damaged newest checkpoint (zero length,
# truncated, a /step of several entries) is skipped for the newest good one and set aside;
# checkpoints of step >= 10^8 are found; a checkpoint that cannot be written is exit 74; an
# init_from that does not fit leaves no run directory.
source "$TGMM_SRC/tests/faults/lib.sh"
cd "$WORK"
T=("$CFG" "${TINY[@]}" train.batch_size=2)

# -- the lock: a live run holds it; a second train exits 2 within a second, naming the holder;
#    readers work on the live run; kill -9 releases it.
mpi 1 "$TGMM_BIN" train "${T[@]}" train.steps=2 train.run_dir=live > /dev/null 2>&1 || fail "first run"
"$TGMM_BIN" train "${T[@]}" train.steps=100000 train.checkpoint_every=0 train.run_dir=live > live.log 2>&1 &
holder=$!
for _ in $(seq 100); do [[ -s live/.lock ]] && grep -q "^step" live.log && break; sleep 0.1; done
run_all 2 1 - "live/ckpt_00000002.h5" train "${T[@]}" train.steps=5 train.run_dir=live
said "train.run_dir 'live' is in use by another tgmm train \(pid $holder"
t0=$(date +%s%N) # at once: one process, no launcher
"$TGMM_BIN" train "${T[@]}" train.steps=5 train.run_dir=live > /dev/null 2>&1; rc=$?
ms=$(( ($(date +%s%N) - t0) / 1000000 ))
((rc == 2 && ms < 3000)) && ok "refused in $ms ms" || fail "the refusal: exit $rc after $ms ms"
run_all 2 2 - "live/ckpt_00000002.h5" train "${T[@]}" train.steps=5 train.run_dir=live
said "in use by another tgmm train"
# readers never take the lock
run_all 0 1 ex.h5 "live/ckpt_00000002.h5" export --checkpoint live --out ex.h5
said "export: live/ckpt_00000002.h5 \(step 2"
run_all 0 1 - "" report --data live
kill -9 $holder; wait $holder 2> /dev/null
run_all 0 1 - "" train "${T[@]}" train.steps=3 train.run_dir=live
said "resuming from live/ckpt_00000002.h5"

# -- train.resume=never on a directory that holds a run: exit 2, nothing touched; restart moves
#    the run aside; another run's checkpoint is refused by identity.
sums=$(md5sum live/ckpt_* live/metrics.h5 | md5sum)
run_all 2 2 - "live/ckpt_00000003.h5 live/metrics.h5" train "${T[@]}" train.steps=4 train.run_dir=live train.resume=never
said "train.resume = never, but train.run_dir 'live' holds a run"
[[ $(md5sum live/ckpt_* live/metrics.h5 | md5sum) == "$sums" ]] && ok "never: the run untouched" || fail "never changed the run"
run_all 0 2 - "" train "${T[@]}" seed=7 train.steps=2 train.run_dir=live train.resume=restart
said "moved to live/previous-1"
[[ -s live/previous-1/ckpt_00000003.h5 && -s live/previous-1/train.log && -s live/ckpt_00000002.h5 &&
   ! -e live/ckpt_00000003.h5 ]] && ok "restart: the earlier run is in previous-1" || fail "restart: $(ls live)"
run_all 2 1 - "live/ckpt_00000002.h5" train "${T[@]}" train.steps=4 train.run_dir=live
said "cannot resume from live/ckpt_00000002.h5: it belongs to another run: its config differs in seed"

# -- a damaged newest checkpoint: zero length (a crash before the data reached the disk),
#    truncated, /step with several entries (once a stack overflow): skipped for the newest good
#    one, set aside as .damaged, training continues.
mpi 1 "$TGMM_BIN" train "${T[@]}" train.steps=4 train.checkpoint_every=1 train.keep_checkpoints=0 train.run_dir=dmg > /dev/null 2>&1 || fail "dmg run"
: > dmg/ckpt_00000004.h5
head -c 4000 dmg/ckpt_00000003.h5 > t && mv t dmg/ckpt_00000003.h5
/usr/bin/python3 - <<'PY' || fail "writing /step [3]"
import h5py
with h5py.File("dmg/ckpt_00000002.h5", "a") as f:
    del f["step"]; f["step"] = [2, 2, 2]
PY
for n in 1 2; do
  rm -rf dmg$n && cp -r dmg dmg$n
  run_all 0 $n - "" train "${T[@]}" train.steps=5 train.checkpoint_every=1 train.keep_checkpoints=0 train.run_dir=dmg$n
  said "warning: .*dmg$n/ckpt_00000004.h5: an empty file"; said "dataset /step has shape \[3\], expected \[1\]"
  said "resuming from dmg$n/ckpt_00000001.h5"
  grep -q "tgmm: error" "$WORK/last.log" && fail "an error printed on a run that exits 0"
  [[ -e dmg$n/ckpt_00000004.h5.damaged && -e dmg$n/ckpt_00000003.h5.damaged && -e dmg$n/ckpt_00000002.h5.damaged &&
     -s dmg$n/ckpt_00000005.h5 ]] && ok "np $n: damaged set aside, run continued" || fail "np $n: $(ls dmg$n)"
done
# none good: exit 2, nothing moved
mkdir -p allbad && : > allbad/ckpt_00000002.h5 && echo junk > allbad/ckpt_00000001.h5
run_all 2 2 - "allbad/ckpt_00000002.h5 allbad/ckpt_00000001.h5" train "${T[@]}" train.steps=3 train.run_dir=allbad
said "no usable checkpoint in allbad \(2 damaged, left in place\)"

# -- checkpoints of step >= 10^8 (nine digits) are found by step: export and eval of the
#    directory take the newest; resume sees it; odd widths are not checkpoints.
mkdir -p big && cp dmg1/ckpt_00000005.h5 big/ckpt_00000005.h5
/usr/bin/python3 - <<'PY' || fail "writing a step-10^8 checkpoint"
import h5py, shutil
for s in (100000000, 1234567890):
    shutil.copy("big/ckpt_00000005.h5", f"big/ckpt_{s:08d}.h5")
    with h5py.File(f"big/ckpt_{s:08d}.h5", "a") as f: f["step"][0] = s
shutil.copy("big/ckpt_00000005.h5", "big/ckpt_0000000000099999999999.h5")
PY
run_all 0 1 bx.h5 "" export --checkpoint big --out bx.h5
said "export: big/ckpt_1234567890.h5 \(step 1234567890"
run_all 0 1 - "" train "${T[@]}" train.steps=1000000000 train.checkpoint_every=1 train.run_dir=big
said "nothing to do: the newest checkpoint has step 1234567890"

# -- a checkpoint that cannot be written (its temporary's name is a directory): exit 74, with
#    the path, after the work; no .tmp of ours left.
mkdir -p blk/ckpt_00000002.h5.tmp
run_all 74 2 - "" train "${T[@]}" train.steps=2 train.run_dir=blk
said "cannot create output file blk/ckpt_00000002.h5.tmp: a directory of that name is in the way"
# -- an init_from that does not fit: exit 2, no run directory created.
run_all 2 2 - "" train "${T[@]}" model.n_embd=32 train.steps=2 train.run_dir=fresh/a/b train.init_from=dmg1/ckpt_00000005.h5
[[ -e fresh ]] && fail "init_from mismatch left fresh/" || ok "init_from mismatch: nothing created"
finish
