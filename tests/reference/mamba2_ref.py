"""mamba2_ref.py — an independent PyTorch (float64) implementation of the TGMM model with the
Mamba2 backbone (Hugging Face Mamba2 semantics), written for the reference test from the block's
definition, task by task (no packing) and token by token: the selective scan is the plain
recurrence S_t = exp(dt_t A) S_{t-1} + dt_t x_t B_t^T, y_t = S_t C_t + D x_t, and the causal
conv is PyTorch's Conv1d with k-1 zeros of padding. Parameters are a dict named as in tgmm's
checkpoints (/params/<name>); the input side, read-outs and loss (canonical or Hungarian-matched)
are model_ref's."""
import torch
import torch.nn.functional as F

import model_ref


class Mamba2Spec(model_ref.ModelSpec):
    def __init__(self, d, C, L, E, Kmax, nclass, aniso, heads, head_dim, state, groups, kernel,
                 hungarian=False):
        super().__init__(d, C, L, 1, E, Kmax, nclass, False, False, aniso, hungarian)
        self.heads, self.head_dim, self.state = heads, head_dim, state
        self.groups, self.kernel = groups, kernel


def rms_norm(x, w, eps=1e-5):
    return x * torch.rsqrt(x.pow(2).mean(dim=-1, keepdim=True) + eps) * w


def mixer(spec, p, l, u):
    """One Mamba2 mixer on the tokens u [N, C] of one task."""
    pre = f"layers.{l}.mixer."
    N = u.shape[0]
    H, P, S, G, k = spec.heads, spec.head_dim, spec.state, spec.groups, spec.kernel
    I = H * P
    zxbcdt = u @ p[pre + "in_proj.weight"].T
    z, xBC, dt = torch.split(zxbcdt, [I, I + 2 * G * S, H], dim=-1)
    conv = F.conv1d(xBC.T.unsqueeze(0), p[pre + "conv1d.weight"], p[pre + "conv1d.bias"],
                    padding=k - 1, groups=I + 2 * G * S)
    xBC = F.silu(conv[0, :, :N].T)  # the first N outputs: causal
    x, B, Cm = torch.split(xBC, [I, G * S, G * S], dim=-1)
    dt = F.softplus(dt + p[pre + "dt_bias"])  # [N, H]
    A = -torch.exp(p[pre + "A_log"])  # [H]
    Dv = p[pre + "D"]
    ys = []
    state = [torch.zeros(P, S, dtype=u.dtype) for _ in range(H)]
    for t in range(N):
        yt = []
        for h in range(H):
            g = h // (H // G)
            xh = x[t, h * P:(h + 1) * P]
            Bt = B[t, g * S:(g + 1) * S]
            Ct = Cm[t, g * S:(g + 1) * S]
            state[h] = torch.exp(dt[t, h] * A[h]) * state[h] + dt[t, h] * torch.outer(xh, Bt)
            yt.append(state[h] @ Ct + Dv[h] * xh)
        ys.append(torch.cat(yt))
    y = torch.stack(ys)  # [N, I]
    y = rms_norm(y * F.silu(z), p[pre + "norm.weight"])  # gated, over the whole width I
    return y @ p[pre + "out_proj.weight"].T


def pooled(spec, p, x, K, cls):
    """Pooled read-out output O [Kmax, W] of one task (x [N, d])."""
    N = x.shape[0]
    te = p["task_embd.weight"][K - 1].expand(N, spec.E)
    h = torch.cat([x, te], dim=1) @ p["read_in.weight"].T + p["read_in.bias"]
    for l in range(spec.L):
        h = h + mixer(spec, p, l, rms_norm(h, p[f"layers.{l}.norm.weight"]))
    h = rms_norm(h, p["norm_f.weight"])
    r = f"readout.{cls}."
    k = h @ p[r + "wk"].T
    v = h @ p[r + "wv"].T
    A = torch.softmax(p[r + "q"] @ k.T, dim=-1)
    return A @ v


def batch_loss(spec, p, tasks, norm):
    tot = torch.zeros((), dtype=torch.float64)
    for t in tasks:
        O = pooled(spec, p, t["x"], t["K"], t["cls"])
        w, mu, sd = t["w"], t["mu"], t["sd"]
        if spec.hungarian:
            w, mu, sd = model_ref.matched_targets(spec, O, t["K"], w, mu, sd)
        ce, lm, ls = model_ref.task_loss(spec, O, t["K"], w, mu, sd)
        tot = tot + ce + lm + ls
    return tot / norm
