#!/usr/bin/env bash
# The report's plots are paper-ready (every kind rendered with tiny settings from the shipped
# models: a single file, a label-head model, two merged runs, a training run's learning curves),
# checked on their gnuplot scripts and data:
#  - no title holds a path (a single file's plots name the model, a merged report the keys);
#  - every key sits outside the data (its own column, or below);
#  - a log y axis draws bars whose lower end is positive (the 95% interval of the mean, cut at
#    the axis' bottom), never mean - sd < 0; a linear axis of a rate starts at 0 and ends near 1,
#    its bars clipped to [0, 1]; every y range is a real range (a constant series too);
#  - a method without values of a metric is named in the plot's key and in PREFIX.md;
#  - the rate plot has every bin of every method (a bin with tasks and no misclustered sample is a
#    rate 0, drawn on the bottom edge; '?' only for a bin without tasks);
#  - a merged report's labels name only the differing key (N), never a bookkeeping key, and each
#    run's baselines keep their own lines (never pooled across runs whose tasks differ); runs of
#    one config (two models) get a tgmm line each, named by the model, and one line per baseline.
source "$(dirname "$0")/lib.sh"
cd "$WORK" || exit 1
command -v gnuplot >/dev/null || { echo "gnuplot not installed: skipped"; exit 77; }
P=$TGMM_SRC/configs/pretrained
ev() { mpi 1 "$TGMM_BIN" eval "$TGMM_SRC/configs/laptop.yaml" eval.tasks_per_setting=32 "eval.grid.K=[2,3,4,5]" \
         "eval.methods=[tgmm, em, spectral, oracle]" "$@" >>ev.log 2>&1; }
ev --checkpoint "$P/tgmm_laptop.h5" --out a.h5 || fail "eval a"
ev --checkpoint "$P/tgmm_laptop.h5" N=32 train.checkpoint_every=7 train.eval_every=3 --out b.h5 || fail "eval b"
ev --checkpoint "$P/tgmm_labels_laptop.h5" --out lab.h5 || fail "eval labels"
tiny=(model.n_layer=1 model.n_embd=8 model.n_head=2 model.n_task_embd=4 model.n_positions=32 N=32 d=2
      "K=[2,3]" train.batch_size=2 train.checkpoint_every=0 train.resume=never train.steps=20
      train.eval_every=10 train.eval_tasks=4 train.eval_baselines=true)
mpi 1 "$TGMM_BIN" train "${tiny[@]}" train.run_dir="$WORK/runs/tiny" >train.log 2>&1 || { fail "train"; cat train.log; }
rep() { local out=$1; shift; "$TGMM_BIN" report "$@" --out "$out" >"$out.log" 2>&1 || { fail "report $out"; cat "$out.log"; }; }
rep one --data "$WORK/a.h5"
rep lab --data "$WORK/lab.h5"
rep two --data "$WORK/a.h5" --data "$WORK/b.h5"
rep cv --data "$WORK/runs/tiny"
rep same --data "$WORK/a.h5" --data "$WORK/lab.h5"   # one config, two models: the same tasks
for f in one.l2_means one.misclustering one.rate lab.l2_means lab.misclustering two.l2_means two.rate cv.loss cv.heldout; do
  [[ -s $f.png && -s $f.gp ]] || fail "$f.png missing"
done

if /usr/bin/python3 - <<'PY'
import glob, re, sys
bad = []
def strings(line):  # the gnuplot string literals of a line ('a''b' = a'b)
    return [m.replace("''", "'") for m in re.findall(r"'((?:[^']|'')*)'", line)]
gps = sorted(glob.glob("*.gp"))
assert len(gps) >= 15, gps
logs = 0
for gp in gps:
    text = open(gp).read()
    lines = text.splitlines()
    # 1. titles: no path
    for l in lines:
        if re.match(r"set (multiplot .*title|title) ", l):
            t = l[l.index("title"):]
            if any("/" in s for s in strings(t)):
                bad.append(f"{gp}: a path in a title: {l}")
    # 2. keys outside the data
    for l in lines:
        if l.startswith("set key") and not re.search(r"\b(outside|below|at screen)\b", l):
            bad.append(f"{gp}: key over the data: {l}")
    # 3. y ranges: real, from 0 on a linear axis, positive on a log axis
    log = "set logscale y" in text
    for l in lines:
        m = re.match(r"set yrange \[([^:]*):([^\]]*)\]", l)
        if not m: continue
        lo, hi = float(m.group(1)), float(m.group(2))
        if not hi > lo: bad.append(f"{gp}: degenerate y range {l}")
        if log and not lo > 0: bad.append(f"{gp}: log axis from {lo}")
        if not log and lo != 0: bad.append(f"{gp}: linear axis of a non-negative metric from {lo}")
        if re.search(r"(misclustering|accuracy)\.gp$", gp) and not log and not (lo == 0 and hi <= 1.05):
            bad.append(f"{gp}: rate axis {l}")
    # 4. bars: a log axis cuts the lower end at its positive bottom; a rate's bars stay in [0, 1]
    if log and "yerrorlines" in text:
        logs += 1
        floor = float(re.search(r"set yrange \[([^:]*):", text).group(1))
        for l in lines:
            if "yerrorlines" not in l: continue
            m = re.search(r":\(\$(\d+)-\$(\d+) > ([^ ]+) \? \$\1-\$\2 : ([^ )]+)\)", l)
            if not m or float(m.group(3)) != floor or float(m.group(4)) != floor or not floor > 0:
                bad.append(f"{gp}: a log-axis bar not cut at the positive bottom: {l}")
    if re.search(r"(misclustering|accuracy)\.gp$", gp):
        for l in lines:
            if "yerrorlines" in l and not ((log or re.search(r"> 0 \? \$\d+-\$\d+ : 0\)", l)) and re.search(r"< 1 \? \$\d+\+\$\d+ : 1\)", l)):
                bad.append(f"{gp}: rate bars not clipped to [0, 1]: {l}")
if logs == 0: bad.append("no plot on a log axis: the log-axis checks checked nothing")
# 5. a method without values is named (label head: no means)
t = open("lab.l2_means.gp").read()
if "title 'tgmm: no l2_means (label head)'" not in t: bad.append("lab.l2_means.gp: no note on tgmm")
if "- tgmm: no l2_means (label head" not in open("lab.md").read(): bad.append("lab.md: no note on tgmm")
# 6. the rate plot: every bin of every method; '?' only for a bin without tasks
for dat in ("one.rate.dat", "two.rate.dat"):
    blocks = [b for b in open(dat).read().split("\n\n\n") if b.strip()]
    nbin = int(re.search(r"in (\d+) quantile bins", blocks[0]).group(1))
    if nbin < 3: bad.append(f"{dat}: {nbin} bins (too few tasks for the check)")
    zero = 0
    for b in blocks:
        rows = [l.split() for l in b.splitlines() if l.strip() and not l.startswith("#")]
        name = [l for l in b.splitlines() if l.startswith("# ")][-1][2:]
        if len(rows) != nbin: bad.append(f"{dat}: {name} has {len(rows)} of {nbin} bins")
        for r in rows:
            if (r[1] == "?") != (int(r[2]) == 0): bad.append(f"{dat}: {name}: bin {r}")
            zero += r[1] != "?" and float(r[1]) == 0
    if zero == 0: bad.append(f"{dat}: no rate-0 bin: the zero check checked nothing")
for gp in ("one.rate.gp", "two.rate.gp"):
    t = open(gp).read()
    floor = re.search(r"set yrange \[([^:]*):", t).group(1)
    if "set ytics add ('0' " + floor + ")" not in t:
        bad.append(f"{gp}: the bottom edge is not labelled 0")
    for l in t.splitlines():
        if "index" in l and "using 1:($2 >" not in l: bad.append(f"{gp}: a rate 0 not drawn: {l}")
# 7. merged: labels of the differing key only; each run's baselines its own
t = open("two.rate.gp").read()
titles = re.findall(r"with linespoints .* title '([^']*)'", t)
want = {f"{m} N={n}" for m in ("tgmm", "em", "spectral", "oracle") for n in (32, 64)}
if set(titles) != want: bad.append(f"two.rate.gp: lines {titles}, want {sorted(want)}")
for gp in glob.glob("two.*.gp"):
    if re.search(r"checkpoint_every|eval_every|keep_checkpoints|run_dir", open(gp).read()):
        bad.append(f"{gp}: a bookkeeping key in a label")
if "set title 'N=32'" not in open("two.l2_means.gp").read(): bad.append("two.l2_means.gp: no panel N=32")
# 8. runs of one config (the models differ): tgmm a line per model, the baselines (the same
#    tasks) one line each; a panel without a method's values says so
t = open("same.rate.gp").read()
titles = re.findall(r"with linespoints .* title '([^']*)'", t)
want = ["tgmm tgmm_laptop", "tgmm tgmm_labels_laptop", "em", "spectral", "oracle"]
if titles != want: bad.append(f"same.rate.gp: lines {titles}, want {want}")
if "set title 'run=tgmm_labels_laptop (no values: tgmm)'" not in open("same.l2_means.gp").read():
    bad.append("same.l2_means.gp: the label-head panel does not say tgmm has no values there")
if bad:
    print("\n".join(bad)); sys.exit(1)
print(f"{len(gps)} scripts checked ({logs} on a log axis)")
PY
then ok "plots: titles without paths, keys outside, bars and axes, notes, every rate bin, merged labels"
else fail "plots"; fi
for f in one.l2_means lab.misclustering two.rate; do   # the kept scripts rerun as they are
  gnuplot -e "out='rerun.png'" "$f.gp" 2>/dev/null && [[ -s rerun.png ]] || fail "$f.gp does not rerun"
  rm -f rerun.png
done
finish
