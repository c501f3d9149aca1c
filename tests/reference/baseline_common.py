"""Helpers shared by the EM / Lloyd / spectral reference tests: run tests/tools/baseline_tool on
raw float64 files and read its output back; the NumPy references of the algorithms."""
import os
import subprocess
import sys
import tempfile

import numpy as np

BUILD = os.environ.get("TGMM_BUILD", os.getcwd())
TOOL = os.path.join(BUILD, "baseline_tool")
WORK = tempfile.mkdtemp(prefix="tgmm-ref-")
FAILS = []


def check(ok, what):
    print(("ok: " if ok else "FAIL: ") + what, flush=True)
    if not ok:
        FAILS.append(what)


def finish():
    if FAILS:
        print(f"{len(FAILS)} check(s) failed")
        sys.exit(1)
    print("all checks passed")


def write(name, a):
    p = os.path.join(WORK, name)
    np.ascontiguousarray(a, dtype=np.float64).tofile(p)
    return p


def run_tool(args, ranks=1):
    cmd = [TOOL] + [str(a) for a in args]
    if ranks > 1:
        cmd = ["mpirun", "--oversubscribe", "--bind-to", "none", "-np", str(ranks)] + cmd
    env = dict(os.environ, OMPI_ALLOW_RUN_AS_ROOT="1", OMPI_ALLOW_RUN_AS_ROOT_CONFIRM="1")
    subprocess.run(cmd, check=True, env=env, timeout=600)
    return np.fromfile(args[-1], dtype=np.float64)


def make_gmm(rng, N, d, K, sep=1.0, scales=None):
    """Means U[-5,5]^d times sep, weights U[0.2,0.8] normalised, noise N(0, diag(scales_k^2))."""
    means = rng.uniform(-5, 5, size=(K, d)) * sep
    w = np.sort(rng.uniform(0.2, 0.8, size=K))
    w /= w.sum()
    z = rng.choice(K, size=N, p=w)
    sc = np.ones((K, d)) if scales is None else scales
    x = means[z] + rng.standard_normal((N, d)) * sc[z]
    return x, z, w, means


def em_tool(x, cov, init_w, init_m, init_c, max_iter, tol, reg, ranks=1, tag="em"):
    N, d = x.shape
    K = init_w.shape[0]
    parts = [init_w.ravel(), init_m.ravel()] + ([] if init_c is None else [np.asarray(init_c).ravel()])
    xp = write(f"{tag}_x.bin", x)
    ip = write(f"{tag}_init.bin", np.concatenate(parts))
    op = os.path.join(WORK, f"{tag}_out_{ranks}.bin")
    out = run_tool(["em", cov, N, d, K, max_iter, repr(tol), repr(reg), xp, ip, op], ranks)
    cs = {"identity": 0, "spherical": K, "diag": K * d, "full": K * d * d}[cov]
    w, m = out[:K], out[K:K + K * d].reshape(K, d)
    c = out[K + K * d:K + K * d + cs]
    it, conv, ll = out[K + K * d + cs:]
    return w, m, c, int(it), int(conv), ll


def lse(a, axis=1):
    m = a.max(axis=axis, keepdims=True)
    return (m + np.log(np.exp(a - m).sum(axis=axis, keepdims=True))).squeeze(axis)


def em_identity_ref(x, w, m, max_iter, tol):
    """The paper's EM (identity covariance), scikit-learn's iteration/stopping order."""
    N, d = x.shape
    prev, it, conv = -np.inf, 0, 0
    for it in range(1, max_iter + 1):
        sq = ((x[:, None, :] - m[None, :, :]) ** 2).sum(-1)
        lp = np.log(w)[None, :] - 0.5 * d * np.log(2 * np.pi) - 0.5 * sq
        ln = lse(lp)
        ll = ln.mean()
        r = np.exp(lp - ln[:, None])
        nk = r.sum(0) + 10 * np.finfo(float).eps
        w = nk / nk.sum()
        m = r.T @ x / nk[:, None]
        if abs(ll - prev) < tol:
            conv = 1
            break
        prev = ll
    sq = ((x[:, None, :] - m[None, :, :]) ** 2).sum(-1)
    ll = lse(np.log(w)[None, :] - 0.5 * d * np.log(2 * np.pi) - 0.5 * sq).mean()
    return w, m, it, conv, ll


def lloyd_ref(x, m, max_iter):
    m = m.copy()
    lab = np.full(x.shape[0], -1)
    it, conv = 0, 0
    for it in range(1, max_iter + 1):
        dist = ((x[:, None, :] - m[None, :, :]) ** 2).sum(-1)
        new = dist.argmin(1)
        changed = (new != lab).sum()
        lab = new
        inertia = dist[np.arange(len(x)), lab].mean()
        counts = np.bincount(lab, minlength=m.shape[0])
        w = counts / len(x)
        if it > 1 and changed == 0:
            conv = 1
            break
        for k in range(m.shape[0]):
            if counts[k] > 0:
                m[k] = x[lab == k].mean(0)
    return m, w, it, conv, inertia


def eigh_signed(a):
    """eigh with tgmm_eigh's sign convention: each eigenvector's largest-magnitude entry > 0."""
    ev, V = np.linalg.eigh(a)
    idx = np.abs(V).argmax(0)
    return ev, V * np.sign(V[idx, np.arange(V.shape[1])])


def spectral_ref(x, K, starts, restarts, iters):
    """NumPy reference of Hsu–Kakade + robust tensor power method (include/tgmm/spectral.h)."""
    N, d = x.shape
    mean = x.mean(0)
    exx = x.T @ x / N
    cov = exx - np.outer(mean, mean)
    ev, V = eigh_signed(cov)
    sig2, v = ev[0], V[:, 0]
    m1 = (x * (((x - mean) @ v) ** 2)[:, None]).mean(0)
    m2 = exx - sig2 * np.eye(d)
    e2, V2 = eigh_signed(m2)
    e2, V2 = e2[::-1][:K], V2[:, ::-1][:, :K]
    W = V2 / np.sqrt(e2)
    B = V2 * np.sqrt(e2)
    y = x @ W
    T = np.einsum("na,nb,nc->abc", y, y, y) / N
    mw, G = W.T @ m1, W.T @ W
    T -= (np.einsum("a,bc->abc", mw, G) + np.einsum("b,ac->abc", mw, G) + np.einsum("c,ab->abc", mw, G))
    st = starts.reshape(K, restarts, K)

    def power(t, n):
        for _ in range(n):
            t = np.einsum("abc,b,c->a", T, t, t)
            t = t / np.linalg.norm(t)
        return t, np.einsum("abc,a,b,c->", T, t, t, t)

    lam, th = np.zeros(K), np.zeros((K, K))
    for k in range(K):
        best, bl = None, -np.inf
        for r in range(restarts):
            t, l = power(st[k, r] / np.linalg.norm(st[k, r]), iters)
            if l > bl or r == 0:
                best, bl = t, l
        t, l = power(best, iters)
        lam[k], th[k] = l, t
        T -= l * np.einsum("a,b,c->abc", t, t, t)
    w = lam ** -2.0
    w /= w.sum()
    means = lam[:, None] * (th @ B.T)
    return w, means, sig2


def l2_aligned(est, true):
    from scipy.optimize import linear_sum_assignment
    cost = ((true[:, None, :] - est[None, :, :]) ** 2).sum(-1)
    r, c = linear_sum_assignment(cost)
    return ((est[c] - true[r]) ** 2).mean()
