"""Reference test: the paired verdicts of `tgmm report` against SciPy.

1. tgmm_paired_summary (via $TGMM_BUILD/wilcoxon_tool) on many samples: the two-sided Wilcoxon
   signed-rank p equals scipy.stats.wilcoxon(d) with SciPy's defaults (exact for n <= 50 without
   zeros, normal approximation otherwise; zeros dropped, ties corrected), and the mean and 95%
   interval equal scipy.stats.t's; samples with ties, zeros, all zeros, n = 1..200.
2. End to end: a results file from `tgmm eval` (tgmm, em, spectral) reported by `tgmm report`:
   every per-setting p and interval in the Markdown equals SciPy's on the rows read with h5py
   (paired on /task), and the count line says how many settings are significant.
"""
import os
import re
import subprocess
import sys
import tempfile
import warnings

import h5py
import numpy as np
from scipy import stats

build = os.environ.get("TGMM_BUILD", "build")
tgmm = os.path.abspath(os.environ.get("TGMM_BIN", os.path.join(build, "tgmm")))
fails = 0


def check(cond, what):
    global fails
    if not cond:
        fails += 1
        print("FAIL:", what)


def scipy_ref(d):
    d = np.asarray(d, dtype=float)
    mean = d.mean()
    if len(d) > 1:
        half = stats.t.ppf(0.975, len(d) - 1) * d.std(ddof=1) / np.sqrt(len(d))
    else:
        half = np.nan
    if np.all(d == 0):
        p = 1.0  # SciPy raises; tgmm reports no evidence of a difference
    else:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            p = stats.wilcoxon(d).pvalue
    return p, mean, mean - half, mean + half


rng = np.random.default_rng(7)
samples = []
for n in list(range(1, 60)) + [75, 120, 200]:
    samples.append(rng.normal(0.1, 1, n))                       # continuous, no ties
    samples.append(np.round(rng.normal(0.3, 1, n), 1))          # ties (and some zeros)
    samples.append(np.where(rng.random(n) < 0.3, 0.0, rng.normal(-0.2, 1, n)))  # zeros
samples += [np.zeros(5), np.array([0.0, 0, 0, 1e-3]), np.array([1.0, 1, 1, -1, 1, 1]),
            np.array([2.0, -2, 2, -2]), np.linspace(-1, 3, 50), np.linspace(-1, 3, 51)]
text = f"{len(samples)}\n" + "\n".join(
    f"{len(d)} " + " ".join(repr(float(x)) for x in d) for d in samples) + "\n"
res = subprocess.run([os.path.join(build, "wilcoxon_tool")], input=text, capture_output=True,
                     text=True, check=False)
check(res.returncode == 0, f"wilcoxon_tool failed: {res.stderr}")
worst_p = worst_ci = 0.0
for d, line in zip(samples, res.stdout.splitlines()):
    p, rp, rm, mean, lo, hi = map(float, line.split())
    p_ref, mean_, lo_, hi_ = scipy_ref(d)
    worst_p = max(worst_p, abs(p - p_ref))
    check(abs(p - p_ref) <= 1e-9 + 1e-7 * p_ref, f"n={len(d)}: p {p} vs SciPy {p_ref}: {list(d)}")
    check(abs(mean - mean_) <= 1e-12 * (1 + abs(mean_)), f"n={len(d)}: mean {mean} vs {mean_}")
    if len(d) > 1:
        err = max(abs(lo - lo_), abs(hi - hi_)) / max(hi_ - lo_, 1e-300)
        worst_ci = max(worst_ci, err)
        check(err < 1e-5, f"n={len(d)}: interval [{lo}, {hi}] vs [{lo_}, {hi_}]")
    nz = d[d != 0]
    ranks = stats.rankdata(np.abs(nz if (len(d) > 50 or np.any(d == 0)) else d))
    dd = nz if (len(d) > 50 or np.any(d == 0)) else d
    check(abs(rp - ranks[dd > 0].sum()) < 1e-9 and abs(rm - ranks[dd < 0].sum()) < 1e-9,
          f"n={len(d)}: rank sums {rp}, {rm}")
print(f"ok: {len(samples)} samples: p within {worst_p:.1e} of scipy.stats.wilcoxon, "
      f"95% interval within {worst_ci:.1e} (relative) of scipy.stats.t")

# ---- end to end: eval -> report ----
env = dict(os.environ, OMPI_ALLOW_RUN_AS_ROOT="1", OMPI_ALLOW_RUN_AS_ROOT_CONFIRM="1")
tiny = ["model.n_embd=32", "model.n_layer=2", "model.n_head=2", "model.n_positions=64", "N=32",
        "d=4", "K=[2,3]", "train.batch_size=8", "train.threads=1"]
with tempfile.TemporaryDirectory() as w:
    def run(*args):
        r = subprocess.run([tgmm, *args], capture_output=True, text=True, env=env, cwd=w)
        check(r.returncode == 0, f"tgmm {args[0]} failed: {r.stderr[-2000:]}")
        return r.stdout + r.stderr
    run("train", *tiny, "train.steps=40", "train.lr=3e-3", "train.checkpoint_every=0",
        "train.run_dir=run", "--quiet")
    run("eval", *tiny, "eval.tasks_per_setting=40", "eval.grid={K: [2, 3], mean_scale: [0.5, 3]}",
        "eval.methods=[tgmm, em, spectral]", "--checkpoint", "run", "--out", "e.h5", "--quiet")
    # TGMM's l2 errors rewritten from EM's, so that each verdict occurs: setting 0 no difference
    # (symmetric noise), 1 TGMM better, 2 EM better, 3 no difference with ties and zeros (the
    # normal approximation)
    with h5py.File(os.path.join(w, "e.h5"), "r+") as g:
        meth, setting, task = g["method"].asstr()[()], g["setting"][()], g["task"][()]
        l2 = g["l2_means"][()]
        em = {(s, t): v for s, t, v, m in zip(setting, task, l2, meth) if m == "em"}
        r = np.random.default_rng(3)
        for i in np.flatnonzero(meth == "tgmm"):
            base = em.get((setting[i], task[i]), 1.0)
            noise = r.normal(0, 0.05)
            l2[i] = base + [noise, noise - 0.08, noise + 0.08,
                            np.round(noise, 2) if r.random() < 0.7 else 0.0][setting[i] % 4]
        g["l2_means"][...] = l2
    out = run("report", "--data", "e.h5", "--out", "rep")
    md = open(os.path.join(w, "rep.md")).read()
    f = h5py.File(os.path.join(w, "e.h5"), "r")
    meth = f["method"].asstr()[()]
    status = f["status"].asstr()[()]
    setting, task, l2 = f["setting"][()], f["task"][()], f["l2_means"][()]
    labels = f["settings/label"].asstr()[()]
    sig = 0
    for s, label in enumerate(labels):
        def values(m):
            sel = (setting == s) & (meth == m) & (status == "ok") & np.isfinite(l2)
            return dict(zip(task[sel], l2[sel]))
        t, e, sp = values("tgmm"), values("em"), values("spectral")
        for name, other in (("EM", e), ("spectral", sp)):
            common = sorted(set(t) & set(other))
            d = np.array([t[k] - other[k] for k in common])
            p, mean, lo, hi = scipy_ref(d)
            if name == "EM":
                m = re.search(rf"^- {re.escape(label)}: (.*?) \(TGMM - EM = (\S+) \[(\S+), (\S+)\], "
                              rf"p = (\S+); TGMM lower on (\d+) of (\d+) tasks, higher on (\d+)\)", md, re.M)
                check(m is not None, f"no EM verdict line for {label}:\n{md}")
                if not m:
                    continue
                got = [float(m.group(i)) for i in (2, 3, 4, 5)]
                want = [mean, lo, hi, p]
                check(all(abs(a - b) <= 0.006 * abs(b) + 1e-12 for a, b in zip(got, want)),
                      f"{label}: report {got} vs SciPy {want}")
                check(int(m.group(7)) == len(d) and int(m.group(6)) == int((d < 0).sum()) and
                      int(m.group(8)) == int((d > 0).sum()), f"{label}: task counts")
                word = ("TGMM beats EM" if p < 0.05 and stats.rankdata(np.abs(d[d != 0]))[d[d != 0] < 0].sum() >
                        stats.rankdata(np.abs(d[d != 0]))[d[d != 0] > 0].sum() else
                        "EM beats TGMM" if p < 0.05 else "no significant difference from EM")
                check(m.group(1) == word, f"{label}: verdict '{m.group(1)}', SciPy says '{word}' (p {p})")
                sig += p < 0.05
            else:
                m = re.search(rf"^- {re.escape(label)}: .*; [^;]*spectral[^;]* \(p = (\S+)\)", md, re.M)
                check(m is not None and abs(float(m.group(1)) - p) <= 0.006 * p + 1e-12,
                      f"{label}: spectral p {m and m.group(1)} vs SciPy {p}")
    m = re.search(r"^TGMM beats EM in (\d+) of (\d+) settings \(Wilcoxon p < 0.05\); EM beats TGMM "
                  r"in (\d+); no significant difference in (\d+)", md, re.M)
    check(m is not None and int(m.group(1)) + int(m.group(3)) == sig and
          int(m.group(4)) == len(labels) - sig and int(m.group(2)) == len(labels),
          f"count line vs {sig} significant settings: {m and m.group(0)}")
    check(out.count("Where TGMM beats EM") == 1, "the verdict is printed once on the console")
    words = re.findall(r"^- [^:]*: (TGMM beats EM|EM beats TGMM|no significant difference from EM) ", md, re.M)
    check(len(set(words)) == 3, f"each verdict occurs: {words}")
    print(f"ok: report's paired verdicts on {len(labels)} settings equal SciPy's ({sig} significant): {words}")
if fails:
    sys.exit(f"{fails} check(s) failed")
print("all checks passed")
