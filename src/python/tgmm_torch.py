"""tgmm_torch.py — load a tgmm checkpoint or exported model into PyTorch.

    import sys; sys.path.insert(0, "src/python")
    import tgmm_torch
    model = tgmm_torch.load("runs/quickstart/train")        # a run directory, ckpt_*.h5 or MODEL.h5
    w, mu, sd = model.predict(x, K=3)                       # x: [N, d] samples of one task
    labels = model.predict_labels(x, K=3)                   # model.head = labels | both

The model is built from the file's stored config (the root attribute `config`, YAML) and its
tensors (/params/<name>, PyTorch names and shapes: include/tgmm/model.h) are loaded with
load_state_dict(strict=True), so a tensor missing, left over or of another shape is an error.
Backbones: transformer (pre-LayerNorm GPT-2 blocks, causal or bidirectional attention, learned
or no position embeddings) and mamba2 (Hugging Face Mamba2 layers: RMSNorm, in_proj, causal
depthwise conv, selective scan, gated RMSNorm, out_proj; a final RMSNorm). Heads (model.head):
mixture (weights, means; anisotropic: scales), labels (a linear map from each sample's final
hidden state to Kmax class logits, classes >= K masked), both. Anything else stored in a config (another backbone or head) raises NotImplementedError naming
it. Needs Debian's python3-torch, python3-h5py and python3-yaml.
"""
import glob
import math
import os

import h5py
import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F
import yaml

__all__ = ["TGMM", "load", "read_config"]


class Block(nn.Module):
    """Pre-LayerNorm GPT-2 block: x + attn(ln1(x)); x + mlp(ln2(x)) (tanh-GELU, width 4C)."""

    def __init__(self, C, H, causal):
        super().__init__()
        self.H, self.causal = H, causal
        self.ln1 = nn.LayerNorm(C, eps=1e-5)
        self.attn = nn.Module()
        self.attn.qkv = nn.Linear(C, 3 * C)
        self.attn.proj = nn.Linear(C, C)
        self.ln2 = nn.LayerNorm(C, eps=1e-5)
        self.mlp = nn.Module()
        self.mlp.fc = nn.Linear(C, 4 * C)
        self.mlp.proj = nn.Linear(4 * C, C)

    def forward(self, h, pad):  # h [B, N, C]; pad [B, N] True where padding
        B, N, C = h.shape
        hs = C // self.H
        q, k, v = self.attn.qkv(self.ln1(h)).split(C, dim=2)
        q, k, v = (t.view(B, N, self.H, hs).transpose(1, 2) for t in (q, k, v))  # [B, H, N, hs]
        s = q @ k.transpose(-1, -2) / math.sqrt(hs)  # [B, H, N, N]
        mask = pad[:, None, None, :].expand(B, 1, N, N)
        if self.causal:
            mask = mask | torch.triu(torch.ones(N, N, dtype=torch.bool, device=h.device), 1)
        s = s.masked_fill(mask, float("-inf"))
        y = (torch.softmax(s, dim=-1) @ v).transpose(1, 2).reshape(B, N, C)
        h = h + self.attn.proj(y)
        return h + self.mlp.proj(F.gelu(self.mlp.fc(self.ln2(h)), approximate="tanh"))


class RMSNorm(nn.Module):
    def __init__(self, n, eps=1e-5):
        super().__init__()
        self.eps = eps
        self.weight = nn.Parameter(torch.ones(n))

    def forward(self, x):
        return x * torch.rsqrt(x.pow(2).mean(dim=-1, keepdim=True) + self.eps) * self.weight


class Mixer(nn.Module):
    """Mamba2 mixer: [z | xBC | dt] = in_proj(u); xBC = silu(causal depthwise conv(xBC));
    selective scan S_t = exp(dt_t A) S_{t-1} + dt_t x_t B_t^T, y_t = S_t C_t + D x_t (per head;
    head h reads B, C of group h // (H / G)); out_proj(rmsnorm(y * silu(z)))."""

    def __init__(self, C, H, P, S, G, k):
        super().__init__()
        self.H, self.P, self.S, self.G = H, P, S, G
        I, Cc = H * P, H * P + 2 * G * S
        self.in_proj = nn.Linear(C, 2 * I + 2 * G * S + H, bias=False)
        self.conv1d = nn.Conv1d(Cc, Cc, k, groups=Cc, padding=k - 1)
        self.dt_bias = nn.Parameter(torch.zeros(H))
        self.A_log = nn.Parameter(torch.zeros(H))
        self.D = nn.Parameter(torch.ones(H))
        self.norm = RMSNorm(I)
        self.out_proj = nn.Linear(I, C, bias=False)

    def forward(self, u):  # u [B, N, C]; causal, so padding at the end changes no valid token
        Bn, N, _ = u.shape
        H, P, S, G = self.H, self.P, self.S, self.G
        I = H * P
        z, xBC, dt = self.in_proj(u).split([I, I + 2 * G * S, H], dim=-1)
        xBC = F.silu(self.conv1d(xBC.transpose(1, 2))[..., :N].transpose(1, 2))
        x, Bm, Cm = xBC.split([I, G * S, G * S], dim=-1)
        dt = F.softplus(dt + self.dt_bias)  # [B, N, H]
        A = -torch.exp(self.A_log)  # [H]
        x = x.reshape(Bn, N, H, P)
        Bm = Bm.reshape(Bn, N, G, S).repeat_interleave(H // G, dim=2)  # [B, N, H, S]
        Cm = Cm.reshape(Bn, N, G, S).repeat_interleave(H // G, dim=2)
        state = torch.zeros(Bn, H, P, S, dtype=u.dtype)
        ys = []
        for t in range(N):
            dtt = dt[:, t]  # [B, H]
            state = (torch.exp(dtt * A)[..., None, None] * state
                     + (dtt[..., None] * x[:, t])[..., None] * Bm[:, t, :, None, :])
            ys.append((state @ Cm[:, t, :, :, None])[..., 0] + self.D[:, None] * x[:, t])
        y = torch.stack(ys, dim=1).reshape(Bn, N, I)
        return self.out_proj(self.norm(y * F.silu(z)))


class MambaLayer(nn.Module):
    def __init__(self, C, H, P, S, G, k):
        super().__init__()
        self.norm = RMSNorm(C)
        self.mixer = Mixer(C, H, P, S, G, k)

    def forward(self, h, pad):
        return h + self.mixer(self.norm(h))


class Readout(nn.Module):
    """Attentive pooling of one class: Kmax learned queries, softmax over the samples of
    k q^T (no scaling, padding masked); output O [Kmax, W]."""

    def __init__(self, Kmax, W, C):
        super().__init__()
        self.q = nn.Parameter(torch.zeros(Kmax, W))
        self.wk = nn.Parameter(torch.zeros(W, C))
        self.wv = nn.Parameter(torch.zeros(W, C))

    def forward(self, h, pad):  # h [B, N, C] -> O [B, Kmax, W]
        k, v = h @ self.wk.T, h @ self.wv.T  # [B, N, W]
        s = (self.q @ k.transpose(1, 2)).masked_fill(pad[:, None, :], float("-inf"))
        return torch.softmax(s, dim=-1) @ v


def _section(cfg, name):
    s = cfg.get(name) or {}
    return s if isinstance(s, dict) else {}


class TGMM(nn.Module):
    """The TGMM model of a stored config (the dict of the YAML text)."""

    def __init__(self, cfg):
        super().__init__()
        model = _section(cfg, "model")
        backbone = model.get("backbone", "transformer")
        if backbone not in ("transformer", "mamba2"):
            raise NotImplementedError(f"tgmm_torch: model.backbone = {backbone} is not supported "
                                      "by this loader (it knows: transformer, mamba2)")
        self.ssm = backbone == "mamba2"
        head = model.get("head", "mixture")
        if head not in ("mixture", "labels", "both"):
            raise NotImplementedError(f"tgmm_torch: model.head = {head} is not supported by this "
                                      "loader (it knows: mixture, labels, both)")
        self.mixture, self.labels = head != "labels", head != "mixture"
        self.family = cfg.get("family", "isotropic")
        if self.family == "phase_transition":
            self.classes = [float(a) for a in _section(cfg, "pt")["a"]]
            self.Kmax = 2
        else:
            self.classes = [int(k) for k in cfg["K"]]
            self.Kmax = max(self.classes)
        self.d, self.C = int(cfg["d"]), int(model["n_embd"])
        self.L, self.H = int(model["n_layer"]), int(model["n_head"])
        self.E = int(model["n_task_embd"])
        self.causal = model.get("attention", "causal") == "causal"
        self.learned = model.get("positions", "learned") == "learned" and not self.ssm
        self.aniso = self.family == "anisotropic"
        self.W = self.Kmax + self.d * (2 if self.aniso else 1)
        if self.C % self.H and not self.ssm:
            raise ValueError(f"model.n_embd = {self.C} is not divisible by model.n_head = {self.H}")
        self.task_embd = nn.Embedding(self.Kmax, self.E)
        self.read_in = nn.Linear(self.d + self.E, self.C)
        self.n_positions = int(model["n_positions"]) if self.learned else 0
        if self.learned:
            self.pos_embd = nn.Embedding(self.n_positions, self.C)
        if self.ssm:
            ssm = [int(model[k]) for k in ("ssm_heads", "ssm_head_dim", "ssm_state", "ssm_groups",
                                           "conv_kernel")]
            self.layers = nn.ModuleList(MambaLayer(self.C, *ssm) for _ in range(self.L))
            self.norm_f = RMSNorm(self.C)
        else:
            self.blocks = nn.ModuleList(Block(self.C, self.H, self.causal) for _ in range(self.L))
            self.ln_f = nn.LayerNorm(self.C, eps=1e-5)
        if self.mixture:
            self.readout = nn.ModuleList(Readout(self.Kmax, self.W, self.C) for _ in self.classes)
        if self.labels:
            self.label_head = nn.Linear(self.C, self.Kmax)

    def class_of(self, K=None, a=None):
        """The read-out of a task: the index of K in the K list (phase_transition: of a)."""
        key = float(a) if self.family == "phase_transition" else int(K)
        if key not in self.classes:
            raise ValueError(f"the model has no read-out for {'a' if a is not None else 'K'} = {key} "
                             f"(it has {self.classes})")
        return self.classes.index(key)

    def hidden(self, x, K, lengths=None):
        """x [B, N, d] (padded), K [B] (ints), lengths [B] or None -> the final hidden states
        h [B, N, C] and the padding mask pad [B, N] (True where padding)."""
        B, N, _ = x.shape
        K = torch.as_tensor(K, dtype=torch.long).reshape(B)
        lengths = torch.full((B,), N) if lengths is None else torch.as_tensor(lengths).reshape(B)
        pad = torch.arange(N)[None, :] >= lengths[:, None]  # [B, N]
        if self.learned and N > self.n_positions:
            raise ValueError(f"N = {N} exceeds the model's {self.n_positions} positions")
        te = self.task_embd(K - 1)[:, None, :].expand(B, N, self.E)
        h = self.read_in(torch.cat([x, te], dim=2))
        if self.learned:
            h = h + self.pos_embd.weight[:N][None]
        if self.ssm:
            for layer in self.layers:
                h = layer(h, pad)
            h = self.norm_f(h)
        else:
            for blk in self.blocks:
                h = blk(h, pad)
            h = self.ln_f(h)
        return h, pad

    def pooled(self, x, K, cls, lengths=None):
        """x [B, N, d] (padded), K and cls [B] (ints), lengths [B] or None -> O [B, Kmax, W]."""
        if not self.mixture:
            raise ValueError("the model has no mixture read-out (model.head = labels)")
        B = x.shape[0]
        h, pad = self.hidden(x, K, lengths)
        cls = torch.as_tensor(cls, dtype=torch.long).reshape(B)
        out = torch.empty(B, self.Kmax, self.W, dtype=h.dtype)
        for c in cls.unique().tolist():
            sel = cls == c
            out[sel] = self.readout[c](h[sel], pad[sel])
        return out

    def head(self, O, K):
        """One task's O [Kmax, W] -> weights [K], means [K, d], scales [K, d] or None."""
        Q, d = self.Kmax, self.d
        w = torch.softmax(O[:, :Q].mean(dim=0)[:K], dim=0)
        mu = O[:K, Q:Q + d]
        sd = F.softplus(O[:K, Q + d:Q + 2 * d]) if self.aniso else None
        return w, mu, sd

    @torch.no_grad()
    def predict(self, x, K=None, a=None):
        """One task: x [N, d] (array or tensor) -> (weights [K], means [K, d], scales [K, d] or
        None) as float64 numpy arrays, in the model's own component order."""
        x = torch.as_tensor(np.asarray(x), dtype=self.read_in.weight.dtype)
        Kt = 2 if self.family == "phase_transition" else int(K)
        O = self.pooled(x[None], [Kt], [self.class_of(K, a)])[0]
        w, mu, sd = self.head(O, Kt)
        f = lambda t: None if t is None else t.double().numpy()
        return f(w), f(mu), f(sd)


    @torch.no_grad()
    def predict_labels(self, x, K=None, a=None):
        """One task: x [N, d] -> the label head's labels [N] (int numpy array, in 0..K-1: the
        argmax of each sample's logits over the first K classes)."""
        if not self.labels:
            raise ValueError("the model has no label head (model.head = mixture)")
        x = torch.as_tensor(np.asarray(x), dtype=self.read_in.weight.dtype)
        Kt = 2 if self.family == "phase_transition" else int(K)
        self.class_of(K, a)  # the model must know this K
        h, _ = self.hidden(x[None], [Kt])
        return self.label_head(h[0])[:, :Kt].argmax(dim=1).numpy()


def _resolve(path):
    if os.path.isdir(path):
        ck = sorted(glob.glob(os.path.join(path, "ckpt_*.h5")))
        if not ck:
            raise FileNotFoundError(f"{path}: a directory without ckpt_*.h5 checkpoints")
        return ck[-1]
    return path


def read_config(path):
    """The stored config of a checkpoint, exported model or results file, as a dict."""
    with h5py.File(_resolve(path), "r") as f:
        if "config" not in f.attrs:
            raise ValueError(f"{path}: no `config` attribute (not a tgmm file)")
        text = f.attrs["config"]
    return yaml.safe_load(text.decode() if isinstance(text, bytes) else text)


def load(path, dtype=torch.float32):
    """A checkpoint (ckpt_*.h5), a run directory (its newest checkpoint) or an exported model
    -> TGMM in eval mode, its tensors loaded (strict)."""
    path = _resolve(path)
    model = TGMM(read_config(path))
    with h5py.File(path, "r") as f:
        if "params" not in f:
            raise ValueError(f"{path}: no /params group (not a tgmm checkpoint or exported model)")
        state = {k: torch.from_numpy(np.asarray(f["params"][k][()])) for k in f["params"]}
    model.load_state_dict(state, strict=True)
    return model.to(dtype).eval()
