"""torch_step.py — the training step of the same TGMM model in PyTorch (float32, CPU), written
the way a PyTorch user would (padded batch [B, N, C], key-padding + causal masks, nn.Linear,
nn.LayerNorm, torch.optim.AdamW), for tests/bench/train_vs_torch.sh.

usage: torch_step.py THREADS STEPS [L C H d N [BATCH ATTENTION MATCHING]]
  BATCH tasks per K (default 64); ATTENTION causal (with learned positions, the paper's) or
  bidirectional (no positions, the set model); MATCHING canonical or hungarian (per task, a
  minimum-cost matching of predicted to true means with scipy's linear_sum_assignment on detached
  values, as DETR does). Prints 'torch_step_seconds S' (median of the steps after one warm-up
  step) and 'torch_tokens T' (valid tokens per step)."""
import math
import statistics
import sys
import time

import torch
import torch.nn as nn
import torch.nn.functional as F
from scipy.optimize import linear_sum_assignment


class Block(nn.Module):
    def __init__(self, C, H):
        super().__init__()
        self.H = H
        self.ln1, self.ln2 = nn.LayerNorm(C), nn.LayerNorm(C)
        self.qkv, self.proj = nn.Linear(C, 3 * C), nn.Linear(C, C)
        self.fc, self.fc_proj = nn.Linear(C, 4 * C), nn.Linear(4 * C, C)

    def forward(self, h, mask):
        B, N, C = h.shape
        q, k, v = self.qkv(self.ln1(h)).split(C, dim=2)
        q, k, v = (t.view(B, N, self.H, C // self.H).transpose(1, 2) for t in (q, k, v))
        s = (q @ k.transpose(-1, -2)) / math.sqrt(C // self.H)
        s = s.masked_fill(mask, float("-inf"))
        y = (torch.softmax(s, dim=-1) @ v).transpose(1, 2).reshape(B, N, C)
        h = h + self.proj(y)
        return h + self.fc_proj(F.gelu(self.fc(self.ln2(h)), approximate="tanh"))


class TGMM(nn.Module):
    def __init__(self, L, C, H, d, E, Kmax, nclass, n_pos, causal=True):
        super().__init__()
        self.Kmax, self.d, self.causal = Kmax, d, causal
        W = Kmax + d
        self.task_embd = nn.Embedding(Kmax, E)
        self.read_in = nn.Linear(d + E, C)
        self.pos = nn.Embedding(n_pos, C) if causal else None
        self.blocks = nn.ModuleList([Block(C, H) for _ in range(L)])
        self.ln_f = nn.LayerNorm(C)
        self.q = nn.ParameterList([nn.Parameter(torch.randn(Kmax, W)) for _ in range(nclass)])
        self.wk = nn.ModuleList([nn.Linear(C, W, bias=False) for _ in range(nclass)])
        self.wv = nn.ModuleList([nn.Linear(C, W, bias=False) for _ in range(nclass)])

    def forward(self, x, valid, K, cls):
        B, N, _ = x.shape
        e = self.task_embd(K - 1)[:, None, :].expand(B, N, -1)
        h = self.read_in(torch.cat([x, e], dim=2))
        mask = ~valid[:, None, None, :]
        if self.causal:
            h = h + self.pos.weight[:N]
            mask = mask | torch.triu(torch.ones(N, N, dtype=torch.bool), diagonal=1)[None, None]
        for blk in self.blocks:
            h = blk(h, mask)
        return self.readout(self.ln_f(h), valid, cls)

    def readout(self, h, valid, cls):
        """Attentive pooling per class: O [B, Kmax, W] (padded samples masked)."""
        outs = []
        for c in range(len(self.q)):  # tasks of class c are a contiguous slice
            sl = cls == c
            hc = h[sl]
            k, v = self.wk[c](hc), self.wv[c](hc)
            s = torch.einsum("qw,bnw->bqn", self.q[c], k)
            s = s.masked_fill(~valid[sl][:, None, :], float("-inf"))
            outs.append(torch.softmax(s, dim=-1) @ v)
        return torch.cat(outs)


def match(O, K, w, mu, Kmax, d):
    """Targets reordered per task so that predicted component j faces its matched true one."""
    pred = O[:, :, Kmax:Kmax + d].detach()
    w, mu = w.clone(), mu.clone()
    for i in range(O.shape[0]):
        k = int(K[i])
        cost = torch.cdist(mu[i, :k], pred[i, :k]) ** 2  # [true, predicted]
        r, c = linear_sum_assignment(cost.numpy())
        order = torch.empty(k, dtype=torch.long)
        order[torch.as_tensor(c)] = torch.as_tensor(r)
        w[i, :k], mu[i, :k] = w[i, order], mu[i, order]
    return w, mu


def loss_fn(O, K, w, mu, Kmax, d):
    logits = O[:, :, :Kmax].mean(dim=1)
    kmask = torch.arange(Kmax)[None, :] < K[:, None]
    logp = torch.log_softmax(logits.masked_fill(~kmask, float("-inf")), dim=1)
    ce = -(w * logp.masked_fill(~kmask, 0.0)).sum(1)
    err = ((O[:, :, Kmax:Kmax + d] - mu) ** 2).mean(2) * kmask
    return (ce + err.sum(1) / K).mean()


KS, BATCH = [2, 3, 4, 5], 64  # 64 tasks for each K


def main():
    threads, steps = int(sys.argv[1]), int(sys.argv[2])
    L, C, H, d, N = (int(a) for a in sys.argv[3:8]) if len(sys.argv) >= 8 else (12, 128, 4, 8, 128)
    batch = int(sys.argv[8]) if len(sys.argv) > 8 else 64
    causal = (sys.argv[9] if len(sys.argv) > 9 else "causal") == "causal"
    hungarian = (sys.argv[10] if len(sys.argv) > 10 else "canonical") == "hungarian"
    torch.set_num_threads(threads)
    torch.manual_seed(0)
    bench(TGMM(L, C, H, d, 128, max(KS), len(KS), 4096, causal), steps, d, N, batch, hungarian)


def bench(model, steps, d, N, batch=64, hungarian=False, micro=0):
    """Median seconds of `steps` AdamW steps (after one warm-up) on fresh random batches; with
    micro > 0 each step accumulates the gradients of slices of `micro` tasks (to bound memory)."""
    Ks = KS
    Kmax, B = max(Ks), batch * len(Ks)
    opt = torch.optim.AdamW(model.parameters(), lr=1e-4, weight_decay=1e-4)
    K = torch.tensor([k for k in Ks for _ in range(batch)])
    cls = torch.arange(B) // batch
    times, tokens = [], 0
    for s in range(steps + 1):
        n = torch.randint(N // 2, N + 1, (B,))
        valid = torch.arange(N)[None, :] < n[:, None]
        tokens = int(n.sum())
        x = torch.randn(B, N, d) * 3
        w = torch.rand(B, Kmax) * (torch.arange(Kmax)[None, :] < K[:, None])
        w = w / w.sum(1, keepdim=True)
        mu = torch.randn(B, Kmax, d) * 3
        t = time.perf_counter()
        opt.zero_grad()
        for a in range(0, B, micro or B):
            sl = slice(a, min(B, a + (micro or B)))
            O = model(x[sl], valid[sl], K[sl], cls[sl])
            ws, mus = w[sl], mu[sl]
            if hungarian:
                ws, mus = match(O, K[sl], ws, mus, Kmax, d)
            loss = loss_fn(O, K[sl], ws, mus, Kmax, d) * (O.shape[0] / B)
            loss.backward()
        opt.step()
        if s > 0:
            times.append(time.perf_counter() - t)
    print(f"torch_step_seconds {statistics.median(times):.4f}")
    print(f"torch_tokens {tokens}")


if __name__ == "__main__":
    main()
