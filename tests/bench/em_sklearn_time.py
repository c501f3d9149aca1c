"""Helper of em_vs_sklearn.sh: `gen DIR N d K` writes x.bin and init_{spherical,diag}.bin;
`time DIR N d K COV ITERS` prints scikit-learn's time per EM iteration (one thread)."""
import sys
import time
import warnings

import numpy as np

mode, work, N, d, K = sys.argv[1], sys.argv[2], int(sys.argv[3]), int(sys.argv[4]), int(sys.argv[5])
if mode == "gen":
    rng = np.random.default_rng(0)
    means = rng.uniform(-5, 5, size=(K, d))
    w = np.sort(rng.uniform(0.2, 0.8, K))
    w /= w.sum()
    z = rng.choice(K, size=N, p=w)
    x = means[z] + rng.standard_normal((N, d))
    x.tofile(f"{work}/x.bin")
    m0 = means + rng.standard_normal((K, d))
    w0 = np.full(K, 1.0 / K)
    np.concatenate([w0, m0.ravel(), np.ones(K)]).tofile(f"{work}/init_spherical.bin")
    np.concatenate([w0, m0.ravel(), np.ones(K * d)]).tofile(f"{work}/init_diag.bin")
    sys.exit(0)

from sklearn.mixture import GaussianMixture  # noqa: E402
from threadpoolctl import threadpool_limits  # noqa: E402

warnings.filterwarnings("ignore")
cov, iters = sys.argv[6], int(sys.argv[7])
x = np.fromfile(f"{work}/x.bin").reshape(N, d)
init = np.fromfile(f"{work}/init_{cov}.bin")
w0, m0, c0 = init[:K], init[K:K + K * d].reshape(K, d), init[K + K * d:]


def per_iteration(n):
    """Fastest of n EM iterations (E-step + M-step, as in fit's loop), after set-up."""
    gm = GaussianMixture(K, covariance_type=cov, tol=0, max_iter=1, reg_covar=1e-6, init_params="random",
                         weights_init=w0, means_init=m0, precisions_init=1.0 / c0.reshape((K,) if cov == "spherical" else (K, d)))
    gm.fit(x)
    gm.weights_, gm.means_ = w0.copy(), m0.copy()
    from sklearn.mixture._gaussian_mixture import _compute_precision_cholesky
    gm.precisions_cholesky_ = _compute_precision_cholesky(c0.reshape((K,) if cov == "spherical" else (K, d)), cov)
    best = np.inf
    for _ in range(n):
        t = time.perf_counter()
        _, log_resp = gm._e_step(x)
        gm._m_step(x, log_resp)
        best = min(best, time.perf_counter() - t)
    return best, gm


def fit(n):
    gm = GaussianMixture(K, covariance_type=cov, tol=0, max_iter=n, reg_covar=1e-6, init_params="random",
                         weights_init=w0, means_init=m0, precisions_init=1.0 / c0.reshape((K,) if cov == "spherical" else (K, d)))
    t = time.perf_counter()
    gm.fit(x)
    return time.perf_counter() - t, gm


with threadpool_limits(limits=1):
    t_iter, _ = per_iteration(2 * iters)  # the machine may be shared: fastest iteration
    _, gm = fit(iters)
print(f"per_iter_s={t_iter:.5f} loglik={gm.score(x):.10f}")
