"""model_ref.py — an independent PyTorch (float64) implementation of the TGMM model and loss
(README, "The model"), written for the reference test. It works task by task (no packing), from a
dict of parameters named as in tgmm's checkpoints (/params/<name>), so a checkpoint loads with
h5py in a few lines:

    with h5py.File(path) as f:
        params = {k: torch.tensor(f["params"][k][()], dtype=torch.float64) for k in f["params"]}
"""
import math

import torch
import torch.nn.functional as F
from scipy.optimize import linear_sum_assignment


class ModelSpec:
    def __init__(self, d, C, L, H, E, Kmax, nclass, causal, learned, aniso, hungarian=False,
                 head="mixture", nll=False):
        self.hungarian = hungarian
        self.nll = nll  # train.loss = nll: the samples' negative log-likelihood
        self.head = head  # model.head: mixture | labels | both
        self.d, self.C, self.L, self.H, self.E = d, C, L, H, E
        self.Kmax, self.nclass = Kmax, nclass
        self.causal, self.learned, self.aniso = causal, learned, aniso
        self.W = Kmax + d * (2 if aniso else 1)


def load_params(h5group):
    return {k: torch.tensor(h5group[k][()], dtype=torch.float64) for k in h5group}


def _block(spec, p, l, h):
    N, C, H = h.shape[0], spec.C, spec.H
    hs = C // H
    pre = f"blocks.{l}."
    a = F.layer_norm(h, (C,), p[pre + "ln1.weight"], p[pre + "ln1.bias"], eps=1e-5)
    qkv = a @ p[pre + "attn.qkv.weight"].T + p[pre + "attn.qkv.bias"]
    q, k, v = qkv.split(C, dim=1)
    q = q.view(N, H, hs).transpose(0, 1)  # [H, N, hs]
    k = k.view(N, H, hs).transpose(0, 1)
    v = v.view(N, H, hs).transpose(0, 1)
    s = q @ k.transpose(1, 2) / math.sqrt(hs)  # [H, N, N]
    if spec.causal:
        mask = torch.triu(torch.ones(N, N, dtype=torch.bool), diagonal=1)
        s = s.masked_fill(mask, float("-inf"))
    y = (torch.softmax(s, dim=-1) @ v).transpose(0, 1).reshape(N, C)
    h = h + y @ p[pre + "attn.proj.weight"].T + p[pre + "attn.proj.bias"]
    a = F.layer_norm(h, (C,), p[pre + "ln2.weight"], p[pre + "ln2.bias"], eps=1e-5)
    m = F.gelu(a @ p[pre + "mlp.fc.weight"].T + p[pre + "mlp.fc.bias"], approximate="tanh")
    return h + m @ p[pre + "mlp.proj.weight"].T + p[pre + "mlp.proj.bias"]


def hidden(spec, p, x, K):
    """Final hidden states (ln_f output) [N, C] of one task (x [N, d])."""
    N = x.shape[0]
    te = p["task_embd.weight"][K - 1].expand(N, spec.E)
    h = torch.cat([x, te], dim=1) @ p["read_in.weight"].T + p["read_in.bias"]
    if spec.learned:
        h = h + p["pos_embd.weight"][:N]
    for l in range(spec.L):
        h = _block(spec, p, l, h)
    return F.layer_norm(h, (spec.C,), p["ln_f.weight"], p["ln_f.bias"], eps=1e-5)


def pooled(spec, p, x, K, cls, h=None):
    """Pooled read-out output O [Kmax, W] of one task (x [N, d])."""
    if h is None:
        h = hidden(spec, p, x, K)
    r = f"readout.{cls}."
    k = h @ p[r + "wk"].T  # [N, W]
    v = h @ p[r + "wv"].T
    A = torch.softmax(p[r + "q"] @ k.T, dim=-1)  # [Kmax, N]: softmax over samples, no scaling
    return A @ v


def task_loss(spec, O, K, w, mu, sd):
    """Loss of one task: CE(soft targets, k < K) + means MSE (+ scales MSE), reduced as the paper does (mean over components and coordinates)."""
    Q, d = spec.Kmax, spec.d
    logits = O[:, :Q].mean(dim=0)[:K]
    ce = -(w * torch.log_softmax(logits, dim=0)).sum()
    means = O[:K, Q:Q + d]
    lm = ((means - mu) ** 2).mean(dim=1).sum() / K
    ls = torch.zeros((), dtype=O.dtype)
    if spec.aniso:
        scales = F.softplus(O[:K, Q + d:Q + 2 * d])
        ls = ((scales - sd) ** 2).mean(dim=1).sum() / K
    return ce, lm, ls


def nll_loss(spec, O, K, x):
    """train.loss = nll: minus the mean over the task's samples x [N, d] of the log-density of the
    predicted mixture (weights softmax of the column-mean logits, means, softplus scales or 1),
    through torch.distributions."""
    Q, d = spec.Kmax, spec.d
    logw = torch.log_softmax(O[:, :Q].mean(dim=0)[:K], dim=0)
    means = O[:K, Q:Q + d]
    scales = F.softplus(O[:K, Q + d:Q + 2 * d]) if spec.aniso else torch.ones_like(means)
    comp = torch.distributions.Normal(means, scales).log_prob(x[:, None, :]).sum(-1)  # [N, K]
    return -torch.logsumexp(comp + logw, dim=1).mean()


def matched_targets(spec, O, K, w, mu, sd):
    """Set loss (train.matching = hungarian): the targets reordered so that predicted component j
    faces the true component assigned to it by a minimum-cost matching on squared distances of
    the means (computed on detached values, then held fixed, as DETR does)."""
    Q, d = spec.Kmax, spec.d
    pred = O[:K, Q:Q + d].detach().numpy()
    cost = ((mu.numpy()[:, None, :] - pred[None, :, :]) ** 2).sum(-1)  # [true k, predicted j]
    rows, cols = linear_sum_assignment(cost)
    order = [0] * K
    for k, j in zip(rows, cols):
        order[j] = k  # predicted j <- true k
    order = torch.tensor(order)
    return w[order], mu[order], sd[order]


def label_loss(spec, p, h, K, z, match=True):
    """Label head (model.head = labels | both): logits = h W^T + b over the first K classes; the
    mean over samples of -log p(label of the sample's true component), with labels assigned to
    true components by the permutation of least total cost (scipy's linear_sum_assignment on the
    detached K x K cost, then held fixed). match=False: the identity assignment."""
    logits = h @ p["label_head.weight"].T + p["label_head.bias"]
    lp = torch.log_softmax(logits[:, :K], dim=1)  # [N, K]
    cost = torch.stack([-(lp[z == b]).sum(dim=0) for b in range(K)])  # [true b, label a]
    perm = list(range(K))
    if match:
        rows, cols = linear_sum_assignment(cost.detach().numpy())
        perm = [int(c) for _, c in sorted(zip(rows, cols))]
    return sum(cost[b, perm[b]] for b in range(K)) / h.shape[0]


def batch_loss(spec, p, tasks, norm, label_match=True):
    """Mean loss over tasks (sum / norm); each task: dict x, z, K, cls, w, mu, sd (torch
    float64). The mixture loss and/or the label loss, as spec.head says."""
    tot = torch.zeros((), dtype=torch.float64)
    for t in tasks:
        h = hidden(spec, p, t["x"], t["K"])
        if spec.head != "labels":
            O = pooled(spec, p, t["x"], t["K"], t["cls"], h)
            w, mu, sd = t["w"], t["mu"], t["sd"]
            if spec.nll:
                tot = tot + nll_loss(spec, O, t["K"], t["x"])
            elif spec.hungarian:
                w, mu, sd = matched_targets(spec, O, t["K"], w, mu, sd)
            if not spec.nll:
                ce, lm, ls = task_loss(spec, O, t["K"], w, mu, sd)
                tot = tot + ce + lm + ls
        if spec.head != "mixture":
            tot = tot + label_loss(spec, p, h, t["K"], t["z"], label_match)
    return tot / norm
