#!/usr/bin/python3
"""Reference test: tgmm_hungarian (via $TGMM_BUILD/hungarian_tool) against
scipy.optimize.linear_sum_assignment on 1000 random square matrices of sizes 1..20
(real, integer with many ties, wide signed range, constant)."""
import os
import subprocess
import sys
import tempfile

import numpy as np
from scipy.optimize import linear_sum_assignment


def make_matrices(rng, count=1000):
    mats = []
    for i in range(count):
        n = int(rng.integers(1, 21))
        kind = i % 5
        if kind == 0:
            c = rng.random((n, n))
        elif kind == 1:
            c = rng.integers(0, 4, (n, n)).astype(float)  # many ties
        elif kind == 2:
            c = rng.uniform(-1e4, 1e4, (n, n))
        elif kind == 3:
            c = rng.integers(-50, 51, (n, n)).astype(float)
        else:
            c = np.full((n, n), float(rng.integers(-3, 4)))  # all equal
        mats.append(c)
    return mats


def main():
    build = os.environ.get("TGMM_BUILD")
    if not build:
        print("TGMM_BUILD is not set", file=sys.stderr)
        return 2
    tool = os.path.join(build, "hungarian_tool")
    mats = make_matrices(np.random.default_rng(12345))
    with tempfile.NamedTemporaryFile("w", suffix=".txt", delete=False) as f:
        path = f.name
        f.write(f"{len(mats)}\n")
        for c in mats:
            f.write(f"{c.shape[0]}\n")
            f.write(" ".join(repr(float(v)) for v in c.ravel()) + "\n")
    try:
        with open(path) as inp:
            res = subprocess.run([tool], stdin=inp, capture_output=True, text=True, check=False)
    finally:
        os.unlink(path)
    if res.returncode != 0:
        print(f"hungarian_tool failed with {res.returncode}: {res.stderr}", file=sys.stderr)
        return 1
    lines = res.stdout.strip().split("\n")
    if len(lines) != len(mats):
        print(f"expected {len(mats)} result lines, got {len(lines)}", file=sys.stderr)
        return 1
    bad = 0
    worst = 0.0
    for i, (c, line) in enumerate(zip(mats, lines)):
        parts = line.split()
        total = float(parts[0])
        assign = np.array([int(p) for p in parts[1:]])
        n = c.shape[0]
        rows, cols = linear_sum_assignment(c)
        want = c[rows, cols].sum()
        tol = 1e-9 * max(1.0, abs(want))
        valid = len(assign) == n and sorted(assign.tolist()) == list(range(n))
        own = c[np.arange(n), assign].sum() if valid else np.nan
        err = abs(total - want)
        worst = max(worst, err / max(1.0, abs(want)))
        if not valid or err > tol or abs(own - total) > tol:
            bad += 1
            if bad <= 5:
                print(f"matrix {i} (n={n}): tgmm {total!r} scipy {want!r} assignment valid={valid}",
                      file=sys.stderr)
    print(f"hungarian vs scipy: {len(mats) - bad}/{len(mats)} matrices agree "
          f"(sizes 1..20, worst relative difference {worst:.2e})")
    return 1 if bad else 0


if __name__ == "__main__":
    sys.exit(main())
