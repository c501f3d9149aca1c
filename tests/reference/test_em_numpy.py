"""The paper's EM (identity covariance) and Lloyd's k-means against NumPy references, including
the tol stopping rule (iteration counts equal) and truncated EM (max_iter small)."""
import os
import sys

import numpy as np

sys.path.insert(0, os.path.dirname(__file__))
from baseline_common import (check, em_identity_ref, em_tool, finish, lloyd_ref, make_gmm,  # noqa: E402
                             run_tool, write, WORK)

rng = np.random.default_rng(11)
for (N, d, K, max_iter, tol) in [(3000, 8, 4, 100, 1e-7), (500, 2, 5, 100, 1e-7), (2000, 32, 3, 3, 1e-7),
                                 (1000, 8, 2, 50, 0.0)]:
    x, z, w_true, m_true = make_gmm(rng, N, d, K)
    w0, m0 = np.full(K, 1.0 / K), rng.standard_normal((K, d))  # the paper's start
    w, m, _, it, conv, ll = em_tool(x, "identity", w0, m0, None, max_iter, tol, 0.0)
    rw, rm, rit, rconv, rll = em_identity_ref(x, w0, m0, max_iter, tol)
    tag = f"identity N={N} d={d} K={K} max_iter={max_iter}"
    check(it == rit and conv == rconv, f"{tag}: iterations {it}/{conv} vs reference {rit}/{rconv}")
    err = max(np.abs(w - rw).max(), np.abs(m - rm).max() / np.abs(rm).max())
    check(err < 1e-9, f"{tag}: parameters match (max rel diff {err:.1e})")
    check(abs(ll - rll) < 1e-10 * abs(rll), f"{tag}: loglik {ll:.12f} vs {rll:.12f}")

for (N, d, K, max_iter) in [(3000, 8, 4, 100), (400, 3, 6, 100), (2000, 16, 3, 2)]:
    x, z, w_true, m_true = make_gmm(rng, N, d, K, sep=0.4)
    m0 = x[rng.choice(N, K, replace=False)]
    xp, mp = write("l_x.bin", x), write("l_m.bin", m0)
    out = run_tool(["lloyd", N, d, K, max_iter, xp, mp, os.path.join(WORK, "l_out.bin")])
    m, w = out[:K * d].reshape(K, d), out[K * d:K * d + K]
    it, conv, inertia = out[K * d + K:]
    rm, rw, rit, rconv, rin = lloyd_ref(x, m0, max_iter)
    tag = f"lloyd N={N} d={d} K={K} max_iter={max_iter}"
    check(int(it) == rit and int(conv) == rconv, f"{tag}: iterations {int(it)} vs reference {rit}")
    check(np.abs(m - rm).max() < 1e-10 * np.abs(rm).max() and np.abs(w - rw).max() < 1e-12,
          f"{tag}: centres and weights match")
    check(abs(inertia - rin) < 1e-10 * rin, f"{tag}: inertia {inertia:.10f} vs {rin:.10f}")

# k-means++ gives distinct data points, and with Lloyd recovers well-separated means.
x, z, w_true, m_true = make_gmm(rng, 20000, 4, 4, sep=2.0)
out = run_tool(["kmeanspp", 20000, 4, 4, 7, 3, write("k_x.bin", x), os.path.join(WORK, "k_out.bin")])
c = out.reshape(4, 4)
is_row = all(np.any(np.all(x == ci, axis=1)) for ci in c)
check(is_row and len({tuple(r) for r in c}) == 4, "kmeans++: centres are 4 distinct data rows")
rm, _, _, _, _ = lloyd_ref(x, c, 100)
from baseline_common import l2_aligned  # noqa: E402
check(l2_aligned(rm, m_true) < 0.01, "kmeans++ + Lloyd recovers separated means")
finish()
