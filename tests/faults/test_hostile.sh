# Hostile input and mistyped outputs (timing-free: runs in the sanitizer build too): every case
# ends with the same exit code on every rank, nothing written, inputs untouched.
source "$TGMM_SRC/tests/faults/lib.sh"
cd "$WORK"
mpi 1 "$TGMM_BIN" gen "$CFG" tasks=8 --out I.h5 > /dev/null 2>&1 || fail "gen of the input"
"$TGMM_BIN" train "$CFG" "${TINY[@]}" train.steps=2 train.batch_size=2 train.run_dir=run > /dev/null 2>&1 ||
  fail "tiny training run"
CK=run/ckpt_00000002.h5
ln -s I.h5 L.h5
ln I.h5 H.h5 # a second name (hard link)

# --out naming an input, by any name; an empty --out; a directory; a missing directory;
# --out given twice: exit 2 before any work.
for n in 1 2; do
  run_all 2 $n - "I.h5 $CFG" em "$CFG" --data I.h5 --out I.h5; said "is an input"
  run_all 2 $n - "I.h5" lloyd "$CFG" --data I.h5 --out L.h5; said "is an input"
  run_all 2 $n - "I.h5" spectral "$CFG" --data I.h5 --out H.h5; said "is an input"
  run_all 2 $n - "$CK" eval "$CFG" --checkpoint run --out "$CK" eval.tasks_per_setting=2; said "is an input"
  run_all 2 $n - "$CK" export --checkpoint "$CK" --out run/ckpt_00000002.h5; said "is an input"
  run_all 2 $n - "$CFG" gen "$CFG" tasks=2 --out "$CFG"; said "is an input"
  run_all 2 $n - "I.h5" em "$CFG" --data I.h5 --out=; said "empty"
  run_all 2 $n - "I.h5" em "$CFG" --data I.h5 --out "$WORK"; said "directory"
  run_all 2 $n - "I.h5" em "$CFG" --data I.h5 --out "$WORK/nowhere/o.h5"; said "No such file"
  run_all 2 $n - "I.h5" em "$CFG" --data I.h5 --out a.h5 --out b.h5; said "given twice"
done
[[ -e a.h5 || -e b.h5 || -e .tmp ]] && fail "an output was written"
# `eval --checkpoint RUN_DIR --out RUN_DIR/eval.h5` stays legal (jobs/reproduce.sh does it).
run_all 0 2 - "$CK" eval "$CFG" --checkpoint run --out run/eval.h5 eval.tasks_per_setting=2
[[ -s run/eval.h5 ]] && ok "eval into the run directory" || fail "no run/eval.h5"
# A stale temporary of a killed run is named in a warning (and replaced).
: > st.h5.tmp
run_all 0 1 - "I.h5" em "$CFG" --data I.h5 --out st.h5; said "st.h5.tmp is a stale temporary"
[[ -e st.h5.tmp ]] && fail "stale .tmp left"

# Hostile datasets: a NaN in /x, zero tasks, degenerate tasks.
/usr/bin/python3 - <<'PY' || fail "writing the hostile datasets"
import h5py, numpy as np
src = h5py.File("I.h5", "r")
def copy(name, edit):
    with h5py.File(name, "w") as f:
        d = {k: src[k][()] for k in src}
        edit(d)
        for k, v in d.items(): f[k] = v
def nan(d): d["x"][70, 3] = np.nan
copy("nan.h5", nan)
def inf(d): d["x"][5, 0] = np.inf
copy("inf.h5", inf)
def zero(d):
    for k in list(d): del d[k]
    d["x"] = np.zeros((0, 8)); d["offsets"] = np.zeros(1, np.int64)
copy("zero.h5", zero)
with h5py.File("degen.h5", "w") as f: # task 0: no rows; task 1: 2 rows and K = 5; task 2: K = 100
    x = np.random.default_rng(1).normal(size=(2 + 300, 8))
    f["x"] = x; f["offsets"] = np.array([0, 0, 2, 302], np.int64)
    f["K"] = np.array([2, 5, 100], np.int32)
PY
for n in 1 2; do
  for cmd in em lloyd spectral; do
    run_all 2 $n - "nan.h5" $cmd "$CFG" --data nan.h5 --out o.h5; said "/x has a non-finite.*row 70"
  done
  run_all 2 $n - "inf.h5" eval --data inf.h5 --out o.h5 "eval.methods=[em]"; said "/x has a non-finite.*row 5 "
  run_all 2 $n - "nan.h5" train "$CFG" "${TINY[@]}" --data nan.h5 train.steps=1 train.run_dir=r2; said "/x has a non-finite"
  run_all 2 $n - "zero.h5" em "$CFG" --data zero.h5 --out o.h5; said "no tasks"
  for cmd in em lloyd spectral; do
    rm -f dg.h5
    run_all 0 $n - "degen.h5" $cmd "$CFG" --data degen.h5 --out dg.h5
    said "task 0 .*no samples"; said "task 1 .*fewer samples"; said "task 2 .*beyond the limit"
    /usr/bin/python3 -c "
import h5py, sys
s = [v.decode().strip('\0') for v in h5py.File('dg.h5', 'r')['status'][()]]
sys.exit(0 if s == ['failed'] * 3 else f'status {s}')" && ok "$cmd: degenerate tasks failed" ||
      fail "$cmd: degenerate tasks not all failed"
  done
done
[[ -e o.h5 ]] && fail "o.h5 was written"

# Checkpoints: a variable-length `config` string (what h5py writes for a str) is read; NaN
# parameters are refused; a resume from a checkpoint with a malformed config names the file.
/usr/bin/python3 - <<'PY' || fail "writing the hostile checkpoints"
import h5py, numpy as np, shutil, os
shutil.copy("run/ckpt_00000002.h5", "vl.h5")
with h5py.File("vl.h5", "a") as f:
    c = f.attrs["config"]; c = c.decode() if isinstance(c, bytes) else str(c)
    del f.attrs["config"]; f.attrs["config"] = c
shutil.copy("run/ckpt_00000002.h5", "nanp.h5")
with h5py.File("nanp.h5", "a") as f:
    d = f["params/blocks.0.attn.proj.weight"]; v = d[()]; v.flat[3] = np.nan; d[...] = v
os.makedirs("deeprun", exist_ok=True)   # 5,000 nested flow maps: once a stack overflow
shutil.copy("run/ckpt_00000002.h5", "deeprun/ckpt_00000002.h5")
with h5py.File("deeprun/ckpt_00000002.h5", "a") as f:
    del f.attrs["config"]; f.attrs["config"] = np.bytes_(("x: " + "{a: " * 5000 + "1" + "}" * 5000 + "\n").encode())
os.makedirs("badrun", exist_ok=True)
shutil.copy("run/ckpt_00000002.h5", "badrun/ckpt_00000002.h5")
with h5py.File("badrun/ckpt_00000002.h5", "a") as f:
    del f.attrs["config"]; f.attrs["config"] = np.bytes_(b"seed: 42\nd: [\n")
PY
run_all 0 2 - "vl.h5" eval --checkpoint vl.h5 --out vl_e.h5 N=64 eval.tasks_per_setting=2 "eval.methods=[tgmm]"
for n in 1 2; do
  run_all 2 $n o.h5 "nanp.h5" eval --checkpoint nanp.h5 --out o.h5 N=64 eval.tasks_per_setting=2 "eval.methods=[tgmm]"
  said "nanp.h5: dataset /params/blocks.0.attn.proj.weight has a non-finite"
  run_all 2 $n o.h5 "nanp.h5" export --checkpoint nanp.h5 --out o.h5; said "non-finite"
  run_all 2 $n - "badrun/ckpt_00000002.h5" train "$CFG" "${TINY[@]}" train.steps=3 train.batch_size=2 train.run_dir=badrun
  said "badrun/ckpt_00000002.h5:3:1: malformed YAML"
done
# A scalar eval.grid is located and explained (not "unknown key").
printf 'eval: {grid: 5}\n' > g5.yaml
run_all 2 2 o.h5 "g5.yaml" eval g5.yaml --out o.h5; said "g5.yaml:1:8: key 'eval.grid': must be a map"
# A checkpoint whose stored config nests 5,000 maps: exit 2 on every rank, for eval and resume.
for n in 1 3; do
  run_all 2 $n o.h5 "deeprun/ckpt_00000002.h5" eval --checkpoint deeprun --out o.h5 "eval.methods=[tgmm]"
  said "deeprun/ckpt_00000002.h5:1:.*nest"
  run_all 2 $n - "deeprun/ckpt_00000002.h5" train "$CFG" "${TINY[@]}" train.steps=3 train.batch_size=2 train.run_dir=deeprun
done
# gen ignores the model keys it does not use (model.n_positions < N).
run_all 0 1 n200.h5 "" gen "$CFG" N=200 tasks=2 --out n200.h5
finish
