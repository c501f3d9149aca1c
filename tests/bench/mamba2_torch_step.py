"""mamba2_torch_step.py — the training step of TGMM with the Mamba2 backbone in PyTorch (float32,
CPU), written the way a PyTorch user would, for tests/bench/mamba2_vs_torch.sh: a padded batch
[B, N, C] (tasks padded to the longest; the conv and the scan are causal, so padding at the end
does not change the valid tokens; the read-out masks it, as torch_step.py), nn.Linear, nn.Conv1d,
torch.optim.AdamW; the scan vectorised over tasks and heads as Hugging Face's Mamba2
torch_forward computes it (the SSD form: one chunk per task, since N <= its chunk size 256,
written with einsum as state-spaces/mamba's ssd_minimal rather than with HF's broadcast sums,
which would need gigabytes here). To bound memory a step runs in slices of MICRO tasks with the
gradients accumulated. The input side, read-outs and loss are torch_step.py's.

usage: mamba2_torch_step.py THREADS STEPS [L C d N H P S G k [BATCH MATCHING]]
  BATCH tasks per K (default 64), MATCHING canonical (default) or hungarian (torch_step.py's).
  Prints 'torch_step_seconds S'."""
import sys

import torch
import torch.nn as nn
import torch.nn.functional as F

import torch_step

MICRO = 32  # tasks per forward/backward slice of a step (gradients accumulated): the full batch's
            # [tasks, heads, N, N] scan intermediates would need ~17 GB, 32 tasks need ~2 GB


def rms_norm(x, w, eps=1e-5):
    return x * torch.rsqrt(x.pow(2).mean(-1, keepdim=True) + eps) * w


def segment_sum(a):
    """[..., T] -> [..., T, T]: out[..., t, s] = a[s+1] + ... + a[t] (s <= t), -inf above."""
    T = a.size(-1)
    x = a[..., None].expand(*a.size(), T)
    x = x.masked_fill(~torch.tril(torch.ones(T, T, dtype=torch.bool), diagonal=-1), 0)
    x = torch.cumsum(x, dim=-2)
    return x.masked_fill(~torch.tril(torch.ones(T, T, dtype=torch.bool), diagonal=0), -torch.inf)


class Mamba2Layer(nn.Module):
    def __init__(self, C, H, P, S, G, k):
        super().__init__()
        self.H, self.P, self.S, self.G, self.k = H, P, S, G, k
        I = H * P
        self.I, self.Cc = I, I + 2 * G * S
        self.norm = nn.Parameter(torch.ones(C))
        self.in_proj = nn.Linear(C, 2 * I + 2 * G * S + H, bias=False)
        self.conv1d = nn.Conv1d(self.Cc, self.Cc, k, groups=self.Cc, padding=k - 1)
        dt = torch.exp(torch.rand(H) * (torch.log(torch.tensor(0.1)) - torch.log(torch.tensor(1e-3)))
                       + torch.log(torch.tensor(1e-3))).clamp(min=1e-4)
        self.dt_bias = nn.Parameter(dt + torch.log(-torch.expm1(-dt)))
        self.A_log = nn.Parameter(torch.log(torch.arange(1, H + 1, dtype=torch.float32)))
        self.D = nn.Parameter(torch.ones(H))
        self.gnorm = nn.Parameter(torch.ones(I))
        self.out_proj = nn.Linear(I, C, bias=False)

    def forward(self, h):
        B_, N, _ = h.shape
        H, P, S, G = self.H, self.P, self.S, self.G
        z, xBC, dt = self.in_proj(rms_norm(h, self.norm)).split([self.I, self.Cc, H], dim=-1)
        xBC = F.silu(self.conv1d(xBC.transpose(1, 2))[..., :N].transpose(1, 2))
        x, Bm, Cm = xBC.split([self.I, G * S, G * S], dim=-1)
        dt = F.softplus(dt + self.dt_bias)  # [B, N, H]
        A = -torch.exp(self.A_log)
        x = x.reshape(B_, N, H, P)
        Bm = Bm.reshape(B_, N, G, S).repeat_interleave(H // G, dim=2)  # [B, N, H, S]
        Cm = Cm.reshape(B_, N, G, S).repeat_interleave(H // G, dim=2)
        L = torch.exp(segment_sum((dt * A).transpose(1, 2)))  # [B, H, N, N] decays
        scores = torch.einsum("bthn,bshn->bhts", Cm, Bm) * L
        y = torch.einsum("bhts,bshp->bthp", scores, x * dt[..., None]) + self.D[:, None] * x
        y = rms_norm(y.reshape(B_, N, self.I) * F.silu(z), self.gnorm)
        return h + self.out_proj(y)


class Mamba2TGMM(torch_step.TGMM):
    def __init__(self, L, C, d, E, Kmax, nclass, H, P, S, G, k):
        super().__init__(0, C, 1, d, E, Kmax, nclass, 1)
        del self.pos, self.ln_f
        self.layers = nn.ModuleList([Mamba2Layer(C, H, P, S, G, k) for _ in range(L)])
        self.norm_f = nn.Parameter(torch.ones(C))

    def forward(self, x, valid, K, cls):
        B_, N, _ = x.shape
        e = self.task_embd(K - 1)[:, None, :].expand(B_, N, -1)
        h = self.read_in(torch.cat([x, e], dim=2))
        for layer in self.layers:
            h = layer(h)
        return self.readout(rms_norm(h, self.norm_f), valid, cls)


def main():
    threads, steps = int(sys.argv[1]), int(sys.argv[2])
    args = [int(a) for a in sys.argv[3:12]]
    L, C, d, N, H, P, S, G, k = args if len(args) == 9 else (12, 128, 8, 128, 8, 64, 16, 2, 4)
    batch = int(sys.argv[12]) if len(sys.argv) > 12 else 64
    hungarian = (sys.argv[13] if len(sys.argv) > 13 else "canonical") == "hungarian"
    torch.set_num_threads(threads)
    torch.manual_seed(0)
    Ks = torch_step.KS
    model = Mamba2TGMM(L, C, d, 128, max(Ks), len(Ks), H, P, S, G, k)
    torch_step.bench(model, steps, d, N, batch, hungarian, micro=MICRO)


if __name__ == "__main__":
    main()
