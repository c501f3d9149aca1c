"""tgmm_torch.py — load a tgmm checkpoint or exported model into PyTorch.

    import sys; sys.path.insert(0, "src/python")
    import tgmm_torch
    model = tgmm_torch.load("runs/quickstart/train")        # a run directory, ckpt_*.h5 or MODEL.h5
    w, mu, sd = model.predict(x, K=3)                       # x: [N, d] samples of one task (numpy out)
    labels = model.predict_labels(x, K=3)                   # model.head = labels | both

    # a batch (torch tensors out, zero beyond each task's K; labels -1 beyond each task's N):
    w, mu, sd = model.predict([x1, x2, x3], K=[2, 3, 3])    # a list of [N_i, d] arrays or tensors
    w, mu, sd = model.predict(xb, K=kb, mask=mb)            # or padded [B, N_max, d] + mask (or lengths=)
    labels = model.predict_labels([x1, x2], K=[2, 3])       # [B, N_max] long
    xb, mb = tgmm_torch.pad([x1, x2, x3])                   # list -> padded batch + mask
    out = model(xb, K=kb, mask=mb)                          # forward(): differentiable, for training code
    out.weights, out.means, out.scales, out.logits          # [B, Kmax], [B, Kmax, d], ..., [B, N, Kmax]

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
import collections
import glob
import math
import os

import h5py
import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F
import yaml

__all__ = ["TGMM", "Output", "Mixture", "load", "pad", "read_config"]


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
        state = u.new_zeros(Bn, H, P, S)
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
        dev = x.device
        K = torch.as_tensor(K, dtype=torch.long, device=dev).reshape(B)
        lengths = (torch.full((B,), N, device=dev) if lengths is None
                   else torch.as_tensor(lengths, device=dev).reshape(B))
        pad = torch.arange(N, device=dev)[None, :] >= lengths[:, None]  # [B, N]
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

    def _readout(self, h, pad, cls):
        """h [B, N, C], pad [B, N], cls [B] -> O [B, Kmax, W] (each task through its K's read-out)."""
        if not self.mixture:
            raise ValueError("the model has no mixture read-out (model.head = labels)")
        out = h.new_zeros(h.shape[0], self.Kmax, self.W)
        for c in cls.unique().tolist():
            sel = cls == c
            out[sel] = self.readout[c](h[sel], pad[sel])
        return out

    def pooled(self, x, K, cls, lengths=None):
        """x [B, N, d] (padded), K and cls [B] (ints), lengths [B] or None -> O [B, Kmax, W]."""
        if not self.mixture:
            raise ValueError("the model has no mixture read-out (model.head = labels)")
        h, pad = self.hidden(x, K, lengths)
        cls = torch.as_tensor(cls, dtype=torch.long, device=h.device).reshape(x.shape[0])
        return self._readout(h, pad, cls)

    def head(self, O, K):
        """One task's O [Kmax, W] -> weights [K], means [K, d], scales [K, d] or None."""
        Q, d = self.Kmax, self.d
        w = torch.softmax(O[:, :Q].mean(dim=0)[:K], dim=0)
        mu = O[:K, Q:Q + d]
        sd = F.softplus(O[:K, Q + d:Q + 2 * d]) if self.aniso else None
        return w, mu, sd

    # --- batches -------------------------------------------------------------------------------

    def _tensor(self, x):
        w = self.read_in.weight
        x = x if isinstance(x, torch.Tensor) else torch.as_tensor(np.asarray(x))
        return x.to(dtype=w.dtype, device=w.device)

    def _batch(self, x, mask=None, lengths=None):
        """A list of [N_i, d] tasks, or a padded [B, N_max, d] batch with a mask [B, N_max] (True
        where a sample is) or lengths [B] (neither: every task has N_max samples) -> x [B, N, d]
        in the model's dtype and device, lengths [B] (long)."""
        if isinstance(x, (list, tuple)):
            if mask is not None or lengths is not None:
                raise ValueError("a list of tasks carries its own lengths: give no mask or lengths")
            w = self.read_in.weight
            x, mask = pad(x, dtype=w.dtype, device=w.device)
        x = self._tensor(x)
        if x.dim() != 3 or x.shape[2] != self.d:
            raise ValueError(f"a batch is [B, N, d = {self.d}] (got {list(x.shape)})")
        B, N, _ = x.shape
        ar = torch.arange(N, device=x.device)
        if mask is not None and lengths is not None:
            raise ValueError("give a mask or lengths, not both")
        if mask is not None:
            mask = torch.as_tensor(mask, device=x.device).bool()
            if mask.shape != (B, N):
                raise ValueError(f"mask is [B, N] = {[B, N]} (got {list(mask.shape)})")
            lengths = mask.sum(dim=1)
            if not torch.equal(mask, ar[None, :] < lengths[:, None]):
                raise ValueError("mask must be True on the first samples of each task and False "
                                 "after them (padding at the end)")
        elif lengths is not None:
            lengths = torch.as_tensor(lengths, dtype=torch.long, device=x.device).reshape(B)
        else:
            lengths = torch.full((B,), N, dtype=torch.long, device=x.device)
        if B == 0 or bool((lengths < 1).any()) or bool((lengths > N).any()):
            raise ValueError(f"every task needs 1..N = {N} samples (lengths {lengths.tolist()})")
        return x, lengths

    def _keys(self, K, a, B, device):
        """K (or a, phase_transition): one value for all B tasks or one per task -> the tasks' K
        [B] (embedding rows K-1) and read-out classes [B]."""
        pt = self.family == "phase_transition"
        vals = a if pt else K
        if vals is None:
            raise ValueError("give a (phase_transition: the task's pt.a value)" if pt
                             else "give K (one int for the batch or one per task)")
        vals = torch.as_tensor(vals).reshape(-1).tolist()
        if len(vals) == 1:
            vals = vals * B
        if len(vals) != B:
            raise ValueError(f"{'a' if pt else 'K'} has {len(vals)} values for {B} tasks")
        cls = [self.class_of(a=v) if pt else self.class_of(K=v) for v in vals]
        Kt = [2] * B if pt else [int(v) for v in vals]
        return (torch.tensor(Kt, dtype=torch.long, device=device),
                torch.tensor(cls, dtype=torch.long, device=device))

    def forward(self, x, K=None, mask=None, lengths=None, a=None):
        """The model on a batch, differentiable (autograd), for use in PyTorch code.

        x: a padded batch [B, N_max, d] (tensor or array) with mask [B, N_max] (True where a
        sample is; padding at the end of each task) or lengths [B], or a list of B tasks
        [N_i, d]. K: one int or B ints (phase_transition: a, one pt.a value or B). Padding
        changes no output. -> Output(weights [B, Kmax], means [B, Kmax, d], scales [B, Kmax, d]
        (anisotropic, else None), logits [B, N_max, Kmax] (label head, else None)): weights,
        means and scales are 0 beyond each task's K, logits are -inf at classes >= K (and not
        meaningful at padded samples); the mixture parts are None for model.head = labels."""
        x, lengths = self._batch(x, mask, lengths)
        B = x.shape[0]
        Kt, cls = self._keys(K, a, B, x.device)
        h, padm = self.hidden(x, Kt, lengths)
        beyond = torch.arange(self.Kmax, device=x.device)[None, :] >= Kt[:, None]  # [B, Kmax]
        weights = means = scales = logits = None
        if self.mixture:
            O = self._readout(h, padm, cls)  # [B, Kmax, W]
            Q, d = self.Kmax, self.d
            weights = torch.softmax(O[:, :, :Q].mean(dim=1).masked_fill(beyond, float("-inf")), 1)
            keep = ~beyond[:, :, None]
            zero = O.new_zeros(())
            means = torch.where(keep, O[:, :, Q:Q + d], zero)
            if self.aniso:
                scales = torch.where(keep, F.softplus(O[:, :, Q + d:Q + 2 * d]), zero)
        if self.labels:
            logits = self.label_head(h).masked_fill(beyond[:, None, :], float("-inf"))
        return Output(weights, means, scales, logits)

    @staticmethod
    def _one_task(x):
        """True for one task [N, d] (the single-task call), False for a batch (a list of
        [N_i, d] tasks or a padded [B, N, d])."""
        if isinstance(x, (list, tuple)):
            return not (len(x) and np.ndim(x[0]) == 2)
        nd = x.dim() if isinstance(x, torch.Tensor) else np.ndim(x)
        if nd not in (2, 3):
            raise ValueError(f"x is one task [N, d], a list of tasks or a batch [B, N, d] "
                             f"(got {nd} dimensions)")
        return nd == 2

    @torch.no_grad()
    def predict(self, x, K=None, a=None, mask=None, lengths=None):
        """One task: x [N, d] (array or tensor) -> (weights [K], means [K, d], scales [K, d] or
        None) as float64 numpy arrays, in the model's own component order.

        A batch: x a list of [N_i, d] tasks, or padded [B, N_max, d] with mask [B, N_max] (True
        where a sample is) or lengths [B]; K one int or B ints -> Mixture(weights [B, Kmax],
        means [B, Kmax, d], scales [B, Kmax, d] or None) as torch tensors (the model's dtype and
        device), 0 beyond each task's K (the layout of eval's /pred_weights, /pred_means)."""
        if not self.mixture:
            raise ValueError("the model has no mixture read-out (model.head = labels)")
        if self._one_task(x):
            if mask is not None or lengths is not None:
                raise ValueError("one task [N, d] takes no mask or lengths")
            out = self.forward(self._tensor(x)[None], K=K, a=a)
            Kt = 2 if self.family == "phase_transition" else int(K)
            f = lambda t: None if t is None else t[0, :Kt].double().cpu().numpy()
            return f(out.weights), f(out.means), f(out.scales)
        out = self.forward(x, K=K, mask=mask, lengths=lengths, a=a)
        return Mixture(out.weights, out.means, out.scales)

    @torch.no_grad()
    def predict_labels(self, x, K=None, a=None, mask=None, lengths=None):
        """One task: x [N, d] -> the label head's labels [N] (int numpy array, in 0..K-1: the
        argmax of each sample's logits over the first K classes).

        A batch (as predict) -> labels [B, N_max] (a long tensor), -1 beyond each task's
        samples (the layout of eval's /pred_labels)."""
        if not self.labels:
            raise ValueError("the model has no label head (model.head = mixture)")
        if self._one_task(x):
            if mask is not None or lengths is not None:
                raise ValueError("one task [N, d] takes no mask or lengths")
            out = self.forward(self._tensor(x)[None], K=K, a=a)
            return out.logits[0].argmax(dim=1).cpu().numpy()
        xb, lengths = self._batch(x, mask, lengths)
        out = self.forward(xb, K=K, lengths=lengths, a=a)
        N = xb.shape[1]
        padm = torch.arange(N, device=xb.device)[None, :] >= lengths[:, None]
        return out.logits.argmax(dim=2).masked_fill(padm, -1)


Output = collections.namedtuple("Output", "weights means scales logits")
Output.__doc__ = """TGMM.forward's outputs (torch tensors or None): weights [B, Kmax], means [B, Kmax, d],
scales [B, Kmax, d] (anisotropic), logits [B, N_max, Kmax] (label head)."""
Mixture = collections.namedtuple("Mixture", "weights means scales")
Mixture.__doc__ = """TGMM.predict's outputs on a batch: weights [B, Kmax], means [B, Kmax, d], scales
[B, Kmax, d] or None (torch tensors, 0 beyond each task's K)."""


def pad(tasks, dtype=torch.float32, device=None):
    """A list of B tasks ([N_i, d] arrays or tensors, N_i >= 1) -> x [B, N_max, d] (zeros beyond
    each task's samples; differentiable in tensor inputs) and mask [B, N_max] (True where a
    sample is), the padded batch that TGMM.forward and TGMM.predict take."""
    if not isinstance(tasks, (list, tuple)) or not tasks:
        raise ValueError("pad takes a non-empty list of [N_i, d] tasks")
    ts = [(t if isinstance(t, torch.Tensor) else torch.as_tensor(np.asarray(t)))
          .to(dtype=dtype, device=device) for t in tasks]
    for i, t in enumerate(ts):
        if t.dim() != 2 or t.shape[0] < 1 or t.shape[1] != ts[0].shape[1]:
            raise ValueError(f"task {i} is {list(t.shape)}: every task is [N_i >= 1, d] with the "
                             f"same d")
    x = nn.utils.rnn.pad_sequence(ts, batch_first=True)
    n = torch.tensor([t.shape[0] for t in ts], device=x.device)
    return x, torch.arange(x.shape[1], device=x.device)[None, :] < n[:, None]


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
