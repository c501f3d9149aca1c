"""curves.py — tables from training runs' metrics.h5 (held-out l2 of means per K against
training time), for tests/bench/time_to_em.sh and tests/bench/laptop_sweep.sh.

usage: curves.py table RUN_DIR[=LABEL] ...   every evaluation of each run, then a summary
       curves.py sweep RUN_DIR[=LABEL] ...   one line per run (its last evaluation)
Time is the sum of the steps' own seconds (/seconds: the optimizer steps, without the held-out
evaluations and checkpoints). The baselines' levels come from the first run that stored them
(train.eval_baselines: /eval/baselines/<method>/l2_means)."""
import sys

import h5py
import numpy as np

REFS = ["em", "em_strong", "spectral", "oracle"]


def load(spec):
    path, _, label = spec.partition("=")
    with h5py.File(f"{path}/metrics.h5", "r") as f:
        step = f["step"][()]
        sec = np.cumsum(f["seconds"][()])
        r = dict(label=label or path, K=f["eval/K"][()], estep=f["eval/step"][()],
                 l2=f["eval/l2_means"][()], refs={})
        for m in REFS:
            if f"eval/baselines/{m}/l2_means" in f:
                r["refs"][m] = f[f"eval/baselines/{m}/l2_means"][()]
    # training minutes at each evaluation
    r["emin"] = np.array([sec[np.searchsorted(step, s)] / 60 if s <= step[-1] else np.nan
                          for s in r["estep"]])
    return r


def beats(r, em):
    """First (minutes, step) at which the run's l2 of means is below EM's for every K >= 3."""
    cols = [i for i, k in enumerate(r["K"]) if k >= 3]
    for i in range(len(r["estep"])):
        if all(r["l2"][i, c] < em[c] for c in cols):
            return r["emin"][i], int(r["estep"][i])
    return None


def fmt(v):
    return " | ".join(f"{x:.3f}" for x in v)


def refs_of(runs):
    for r in runs:
        if "em" in r["refs"]:
            return r["refs"]
    return {}


def table(runs):
    refs = refs_of(runs)
    Ks = runs[0]["K"]
    head = " | ".join(f"K={k}" for k in Ks)
    print(f"| run | minutes | steps | {head} |")
    print("|---|---|---|" + "---|" * len(Ks))
    for r in runs:
        for i in range(len(r["estep"])):
            print(f"| {r['label']} | {r['emin'][i]:.1f} | {r['estep'][i]} | {fmt(r['l2'][i])} |")
    for m in REFS:
        if m in refs:
            print(f"| {m} (same tasks) | | | {fmt(refs[m])} |")
    summary(runs, refs)


def summary(runs, refs):
    if "em" not in refs:
        print("\n(no baseline levels stored: run with train.eval_baselines=true)")
        return
    print("\nfirst evaluation below the paper's EM at every K >= 3:")
    for r in runs:
        b = beats(r, refs["em"])
        print(f"  {r['label']}: " + (f"minute {b[0]:.1f}, step {b[1]}" if b else "not reached"))


def sweep(runs):
    refs = refs_of(runs)
    Ks = runs[0]["K"]
    head = " | ".join(f"K={k}" for k in Ks)
    print(f"| setting | minutes | steps | {head} | mean K>=3 |")
    print("|---|---|---|" + "---|" * len(Ks) + "---|")
    for r in runs:
        c = [i for i, k in enumerate(Ks) if k >= 3]
        last = r["l2"][-1]
        print(f"| {r['label']} | {r['emin'][-1]:.1f} | {r['estep'][-1]} | {fmt(last)} | "
              f"{np.mean(last[c]):.3f} |")
    for m in REFS:
        if m in refs:
            print(f"| {m} (same tasks) | | | {fmt(refs[m])} | |")
    summary(runs, refs)


if __name__ == "__main__":
    if len(sys.argv) < 3 or sys.argv[1] not in ("table", "sweep"):
        sys.exit(__doc__)
    runs = [load(a) for a in sys.argv[2:]]
    (table if sys.argv[1] == "table" else sweep)(runs)
