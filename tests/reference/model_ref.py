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
    def __init__(self, d, C, L, H, E, Kmax, nclass, causal, learned, aniso, hungarian=False):
        self.hungarian = hungarian
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


def pooled(spec, p, x, K, cls):
    """Pooled read-out output O [Kmax, W] of one task (x [N, d])."""
    N = x.shape[0]
    te = p["task_embd.weight"][K - 1].expand(N, spec.E)
    h = torch.cat([x, te], dim=1) @ p["read_in.weight"].T + p["read_in.bias"]
    if spec.learned:
        h = h + p["pos_embd.weight"][:N]
    for l in range(spec.L):
        h = _block(spec, p, l, h)
    h = F.layer_norm(h, (spec.C,), p["ln_f.weight"], p["ln_f.bias"], eps=1e-5)
    r = f"readout.{cls}."
    k = h @ p[r + "wk"].T  # [N, W]
    v = h @ p[r + "wv"].T
    A = torch.softmax(p[r + "q"] @ k.T, dim=-1)  # [Kmax, N]: softmax over samples, no scaling
    return A @ v


def task_loss(spec, O, K, w, mu, sd):
    """Loss of one task: CE(soft targets, k < K) + means MSE (+ scales MSE), reduced per PAPER.md."""
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


def batch_loss(spec, p, tasks, norm):
    """Mean loss over tasks (sum / norm); each task: dict x, K, cls, w, mu, sd (torch float64)."""
    tot = torch.zeros((), dtype=torch.float64)
    for t in tasks:
        O = pooled(spec, p, t["x"], t["K"], t["cls"])
        w, mu, sd = t["w"], t["mu"], t["sd"]
        if spec.hungarian:
            w, mu, sd = matched_targets(spec, O, t["K"], w, mu, sd)
        ce, lm, ls = task_loss(spec, O, t["K"], w, mu, sd)
        tot = tot + ce + lm + ls
    return tot / norm
