#!/usr/bin/python3
"""tests/bench/findings.py RUNS_DIR [OUT_DIR] — the findings tables from the launcher's outputs.

For every experiment directory RUNS_DIR/EXPERIMENT with a merged rows.csv (jobs/reproduce.sh
writes it), writes OUT_DIR/EXPERIMENT.csv (default OUT_DIR: tests/bench/findings): one row per
(run, setting, method) with the metric's mean, median, sd and task count, and, for every method
other than tgmm, the paired comparison with tgmm on the same tasks: the mean difference
(tgmm - method) with its 95% t interval, the two-sided Wilcoxon signed-rank p-value and the
verdict ("tgmm better" / "method better" only when p < 0.05, else "no significant difference").
Both metrics, l2_means and misclustering (a label model has no l2_means: its rows are n = 0).
In an experiment of several runs, the rows tgmm[OTHER] compare this run's tgmm with run OTHER's
tgmm on the same tasks (evaluation tasks depend only on the seed and the setting).
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


def values(tasks, metric):
    """{task: value} of the ok, finite rows."""
    out = {}
    for t, r in tasks.items():
        if r["status"] == "ok" and r[metric] not in ("", "nan"):
            x = float(r[metric])
            if math.isfinite(x):
                out[t] = x
    return out


def summary_row(run, setting, keys, any_row, meth, metric, tasks, ref):
    v = values(tasks, metric)
    x = list(v.values())
    row = {"run": run, "setting": setting}
    row.update({k: any_row[k] for k in keys})
    row.update({"method": meth, "metric": metric, "n": len(x), "n_not_ok": len(tasks) - len(x),
                "mean": np.mean(x) if x else float("nan"),
                "median": np.median(x) if x else float("nan"),
                "sd": np.std(x, ddof=1) if len(x) > 1 else float("nan")})
    if ref is not None:  # paired with tgmm (ref: tgmm's {task: value}) on the tasks both have
        common = sorted(set(v) & set(ref))
        n, m, lo, hi, p = paired([ref[t] for t in common], [v[t] for t in common])
        row.update({"paired_n": n, "diff_mean": m, "diff_lo": lo, "diff_hi": hi, "p_wilcoxon": p,
                    "verdict": verdict(meth, m, p, lower_better=metric != "accuracy")})
    return row


def one(exp_dir, out_path):
    rows = list(csv.DictReader(open(os.path.join(exp_dir, "rows.csv"))))
    if not rows:
        return 0
    cand = [c for c in rows[0].keys() if c not in BASE_COLS and not c.startswith("run.")]
    runs = {r["run"]: os.path.basename(os.path.dirname(r["file"])) for r in rows}
    # a column constant within every run but different between runs says how the runs differ
    # (the report's run columns); the others are the evaluation setting's keys
    per_run = defaultdict(lambda: defaultdict(set))
    for r in rows:
        for c in cand:
            per_run[c][r["run"]].add(r[c])
    # (the report's run columns); those of the model and training leave the tasks as they are,
    # so they are not keys of the setting (tasks of another d or N are other tasks)
    def run_key(c):
        return (c.startswith(("model.", "train.")) and all(len(v) == 1 for v in per_run[c].values())
                and len({next(iter(v)) for v in per_run[c].values()}) > 1)
    keys = [c for c in cand if not run_key(c)]
    by = defaultdict(dict)  # (run, setting key values) -> method -> {task: row}
    for r in rows:
        sk = tuple(r[k] for k in keys)
        by[(runs[r["run"]], r["setting"], sk)].setdefault(r["method"], {})[r["task"]] = r
    out = []
    for (run, setting, sk), meths in sorted(by.items(), key=lambda kv: (kv[0][0], int(kv[0][1]))):
        any_row = next(iter(next(iter(meths.values())).values()))
        for metric in ("l2_means", "misclustering"):
            tg = values(meths.get("tgmm", {}), metric)
            ref = tg if tg else None
            for meth, tasks in meths.items():
                out.append(summary_row(run, setting, keys, any_row, meth, metric, tasks,
                                       ref if meth != "tgmm" else None))
            # tgmm of the experiment's other runs on the same tasks (same setting keys):
            # tgmm[OTHER] rows, paired with this run's tgmm
            for (run2, setting2, sk2), meths2 in by.items():
                if run2 != run and sk2 == sk and "tgmm" in meths2 and ref is not None:
                    out.append(summary_row(run, setting, keys, any_row, f"tgmm[{run2}]", metric,
                                           meths2["tgmm"], ref))
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
