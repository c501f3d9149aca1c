#!/usr/bin/python3
"""tests/bench/findings.py RUNS_DIR [OUT_DIR] — the findings tables from the launcher's outputs.

For every experiment directory RUNS_DIR/EXPERIMENT with a merged rows.csv (jobs/reproduce.sh
writes it), writes OUT_DIR/EXPERIMENT.csv (default OUT_DIR: tests/bench/findings): one row per
(run, setting, method) with the metric's mean, median, sd and task count, and, for every method
other than tgmm, the paired comparison with tgmm on the same tasks: the mean difference
(tgmm - method) with its 95% t interval, the two-sided Wilcoxon signed-rank p-value and the
verdict ("tgmm better" / "method better" only when p < 0.05, else "no significant difference").
The metric is l2_means for mixture models and misclustering for label models (l2_means NaN).
Then tests/bench/findings_table.py turns these CSVs into README's Findings table.
"""
import csv, math, os, sys
from collections import defaultdict

import numpy as np
from scipy import stats

BASE_COLS = {"run", "file", "setting", "task", "method", "status", "l2_means", "l2_weights",
             "accuracy", "misclustering", "loglik", "seconds", "l2_scales", "delta"}


def paired(a, b):
    """a, b: per-task values (same tasks). Returns n, mean diff, ci lo, ci hi, p."""
    d = np.asarray(a) - np.asarray(b)
    n = len(d)
    if n < 2:
        return n, float("nan"), float("nan"), float("nan"), float("nan")
    m, s = float(d.mean()), float(d.std(ddof=1))
    h = stats.t.ppf(0.975, n - 1) * s / math.sqrt(n) if s > 0 else 0.0
    p = 1.0 if not np.any(d != 0) else float(stats.wilcoxon(d).pvalue)
    return n, m, m - h, m + h, p


def verdict(meth, mdiff, p, lower_better=True):
    if not (p < 0.05):
        return "no significant difference"
    tg_better = mdiff < 0 if lower_better else mdiff > 0
    return "tgmm better" if tg_better else f"{meth} better"


def one(exp_dir, out_path):
    rows = list(csv.DictReader(open(os.path.join(exp_dir, "rows.csv"))))
    if not rows:
        return 0
    keys = [c for c in rows[0].keys() if c not in BASE_COLS]
    runs = {}
    for r in rows:  # run name = the run directory's name
        runs[r["run"]] = os.path.basename(os.path.dirname(r["file"]))
    by = defaultdict(dict)  # (run, setting) -> method -> {task: row}
    for r in rows:
        by[(r["run"], r["setting"])].setdefault(r["method"], {})[r["task"]] = r
    out = []
    for (run, setting), meths in sorted(by.items(), key=lambda kv: (int(kv[0][0]), int(kv[0][1]))):
        any_row = next(iter(next(iter(meths.values())).values()))
        tg = meths.get("tgmm", {})
        label = any(math.isnan(float(r["l2_means"] or "nan")) and r["status"] == "ok"
                    for r in tg.values())
        metric = "misclustering" if label else "l2_means"
        for meth, tasks in meths.items():
            v = [float(r[metric]) for r in tasks.values() if r["status"] == "ok" and r[metric] not in ("", "nan")]
            v = [x for x in v if math.isfinite(x)]
            row = {"run": runs[run], "setting": setting}
            row.update({k: any_row[k] for k in keys})
            row.update({"method": meth, "metric": metric, "n": len(v), "n_not_ok": len(tasks) - len(v),
                        "mean": np.mean(v) if v else float("nan"),
                        "median": np.median(v) if v else float("nan"),
                        "sd": np.std(v, ddof=1) if len(v) > 1 else float("nan")})
            if meth != "tgmm" and tg:
                common = [t for t in tasks if t in tg and tasks[t]["status"] == "ok" and tg[t]["status"] == "ok"]
                a = [float(tg[t][metric]) for t in common]
                b = [float(tasks[t][metric]) for t in common]
                ok = [i for i in range(len(a)) if math.isfinite(a[i]) and math.isfinite(b[i])]
                n, m, lo, hi, p = paired([a[i] for i in ok], [b[i] for i in ok])
                row.update({"paired_n": n, "diff_mean": m, "diff_lo": lo, "diff_hi": hi, "p_wilcoxon": p,
                            "verdict": verdict(meth, m, p)})
            out.append(row)
    cols = ["run", "setting"] + keys + ["method", "metric", "n", "n_not_ok", "mean", "median", "sd",
                                        "paired_n", "diff_mean", "diff_lo", "diff_hi", "p_wilcoxon", "verdict"]
    with open(out_path, "w", newline="") as f:
        w = csv.DictWriter(f, fieldnames=cols)
        w.writeheader()
        for r in out:
            w.writerow({k: (f"{r[k]:.6g}" if isinstance(r.get(k), (float, np.floating)) else r.get(k, ""))
                        for k in cols})
    return len(out)


def main():
    if len(sys.argv) < 2 or sys.argv[1] in ("-h", "--help"):
        print(__doc__)
        sys.exit(0 if len(sys.argv) > 1 else 2)
    runs = sys.argv[1]
    out = sys.argv[2] if len(sys.argv) > 2 else os.path.join(os.path.dirname(os.path.abspath(__file__)), "findings")
    os.makedirs(out, exist_ok=True)
    for e in sorted(os.listdir(runs)):
        if os.path.isfile(os.path.join(runs, e, "rows.csv")):
            n = one(os.path.join(runs, e), os.path.join(out, e + ".csv"))
            print(f"{e}: {n} rows -> {os.path.join(out, e + '.csv')}")


if __name__ == "__main__":
    main()
