"""EM with spherical / diag / full covariance against sklearn.mixture.GaussianMixture started from
the same weights, means and precisions, same max_iter, tol 0: parameters equal to 1e-6 relative."""
import sys
import warnings

import numpy as np
from sklearn.mixture import GaussianMixture

sys.path.insert(0, __import__("os").path.dirname(__file__))
from baseline_common import check, em_tool, finish, make_gmm  # noqa: E402

warnings.filterwarnings("ignore")
rng = np.random.default_rng(4)
N, d, K, iters, reg = 4000, 5, 3, 25, 1e-6
scales = rng.uniform(0.6, 2.0, size=(K, d))
x, z, w_true, m_true = make_gmm(rng, N, d, K, sep=0.5, scales=scales)


def rel(a, b):
    return float(np.max(np.abs(a - b)) / max(1e-300, np.max(np.abs(b))))


for cov in ["spherical", "diag", "full"]:
    w0 = np.full(K, 1.0 / K)
    m0 = m_true + rng.standard_normal((K, d))
    if cov == "spherical":
        c0 = rng.uniform(0.5, 2.0, size=K)
        p0 = 1.0 / c0
    elif cov == "diag":
        c0 = rng.uniform(0.5, 2.0, size=(K, d))
        p0 = 1.0 / c0
    else:
        A = rng.standard_normal((K, d, d)) * 0.3
        c0 = np.array([a @ a.T + np.eye(d) for a in A])
        p0 = np.linalg.inv(c0)
    gm = GaussianMixture(K, covariance_type=cov, tol=0, max_iter=iters, reg_covar=reg, n_init=1,
                         weights_init=w0, means_init=m0, precisions_init=p0)
    gm.fit(x)
    w, m, c, it, conv, ll = em_tool(x, cov, w0, m0, c0, iters, 0.0, reg, tag=cov)
    c = c.reshape(gm.covariances_.shape)
    check(it == gm.n_iter_ == iters, f"{cov}: iterations {it} vs sklearn {gm.n_iter_}")
    for name, a, b in [("weights", w, gm.weights_), ("means", m, gm.means_), ("covariances", c, gm.covariances_)]:
        r = rel(a, b)
        check(r < 1e-6, f"{cov}: {name} relative difference {r:.2e} < 1e-6")
    sk_ll = gm.score(x)  # mean log-likelihood of the final parameters
    check(abs(ll - sk_ll) < 1e-6 * abs(sk_ll), f"{cov}: loglik {ll:.10f} vs sklearn score {sk_ll:.10f}")
finish()
