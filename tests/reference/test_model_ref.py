"""test_model_ref.py — tgmm's C model against an independent PyTorch float64 implementation
(model_ref.py): loss and every parameter gradient of one step (per tensor
max|C - torch| / max|torch| <= 1e-4), then the losses of 10 AdamW steps (torch.optim.AdamW)
agree to 1e-4 relative. Cases: causal + learned positions and bidirectional + no positions,
each isotropic and anisotropic; ragged N; two K classes (two read-outs); and the Hungarian-matched
set loss (train.matching = hungarian) in two of them, checked to permute some task's match; the
label head (model.head = labels, and both with the Hungarian set loss), checked to permute some
task's labels; the samples' negative log-likelihood (train.loss = nll, through
torch.distributions.Normal), isotropic with unit variances and anisotropic with train.matching
hungarian set (which the nll ignores).

Needs TGMM_BIN (the tgmm binary); run by Debian's /usr/bin/python3 (torch, numpy, h5py)."""
import copy
import os
import subprocess
import sys
import tempfile

import h5py
import numpy as np
import torch

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import model_ref  # noqa: E402

BIN = os.environ.get("TGMM_BIN", "tgmm")
D, KLIST, NMAX, BATCH = 3, [2, 3], 24, 3
B = BATCH * len(KLIST)
STEPS = 10
TOL = 1e-4
MODEL = dict(n_embd=32, n_layer=2, n_head=4, n_task_embd=16, n_positions=32)


def make_tasks(rng, aniso, n_tasks):
    """Tasks in training order: slot t of a step has K = KLIST[t // BATCH]; ragged N."""
    Kmax = max(KLIST)
    tasks = []
    for g in range(n_tasks):
        K = KLIST[(g % B) // BATCH]
        N = int(rng.integers(NMAX // 2, NMAX + 1))
        w = np.sort(rng.uniform(0.2, 0.8, K))
        w /= w.sum()
        mu = rng.uniform(-5, 5, (K, D))
        sd = 2 * np.log1p(np.exp(rng.uniform(-5, 5, (K, D)) / 5)) if aniso else np.ones((K, D))
        z = rng.choice(K, size=N, p=w)
        x = mu[z] + sd[z] * rng.standard_normal((N, D))
        tasks.append(dict(x=x, z=z, K=K, w=w, mu=mu, sd=sd, Kmax=Kmax))
    return tasks


def write_dataset(path, tasks):
    Kmax = max(KLIST)
    T = len(tasks)
    off = np.zeros(T + 1, dtype=np.int64)
    off[1:] = np.cumsum([t["x"].shape[0] for t in tasks])
    W = np.zeros((T, Kmax))
    M = np.zeros((T, Kmax, D))
    S = np.zeros((T, Kmax, D))
    for i, t in enumerate(tasks):
        W[i, :t["K"]] = t["w"]
        M[i, :t["K"]] = t["mu"]
        S[i, :t["K"]] = t["sd"]
    with h5py.File(path, "w") as f:
        f["x"] = np.concatenate([t["x"] for t in tasks])
        f["z"] = np.concatenate([t["z"] for t in tasks]).astype(np.int32)
        f["offsets"] = off
        f["K"] = np.array([t["K"] for t in tasks], dtype=np.int32)
        f["weights"], f["means"], f["scales"] = W, M, S


def run_train(data, run_dir, keys):
    cmd = [BIN, "train", "--data", data, f"train.run_dir={run_dir}", "train.threads=1",
           "train.checkpoint_every=0", "train.resume=never"] + keys
    r = subprocess.run(cmd, capture_output=True, text=True)
    if r.returncode != 0:
        sys.stderr.write(r.stdout + r.stderr)
        raise SystemExit(f"FAIL: {' '.join(cmd)} exited with {r.returncode}")


def read_log(run_dir):
    losses = []
    with open(os.path.join(run_dir, "train.log")) as f:
        for line in f:
            w = line.split()
            if w and w[0] == "step":
                losses.append(float(w[w.index("loss") + 1]))
    return losses


def torch_tasks(tasks):
    out = []
    for t in tasks:
        out.append(dict(x=torch.tensor(t["x"]), z=torch.tensor(t["z"]), K=t["K"],
                        cls=KLIST.index(t["K"]),
                        w=torch.tensor(t["w"]), mu=torch.tensor(t["mu"]), sd=torch.tensor(t["sd"])))
    return out


def rel_err(a, b):
    m = b.abs().max().item()
    e = (a - b).abs().max().item()
    return e / m if m > 0 else e


def check_case(tmp, causal, aniso, seed, hungarian=False, head="mixture", nll=False):
    name = f"{'causal+learned' if causal else 'bidirectional+none'}, " \
           f"{'anisotropic' if aniso else 'isotropic'}{', hungarian' if hungarian else ''}" \
           f"{', head ' + head if head != 'mixture' else ''}{', nll loss' if nll else ''}"
    keys = [f"model.attention={'causal' if causal else 'bidirectional'}",
            f"model.positions={'learned' if causal else 'none'}",
            f"train.matching={'hungarian' if hungarian else 'canonical'}", f"model.head={head}",
            f"train.loss={'nll' if nll else 'params'}"]
    keys += [f"model.{k}={v}" for k, v in MODEL.items()]
    spec = model_ref.ModelSpec(D, MODEL["n_embd"], MODEL["n_layer"], MODEL["n_head"],
                               MODEL["n_task_embd"], max(KLIST), len(KLIST), causal, causal, aniso,
                               hungarian, head, nll)
    return compare(tmp, name, aniso, seed, keys, spec, model_ref.batch_loss)


def compare(tmp, name, aniso, seed, model_keys, spec, batch_loss):
    """Loss, every gradient and STEPS AdamW steps of `tgmm train` with the keys model_keys
    (model and train.matching) against batch_loss(spec, params, tasks, norm) in float64."""
    rng = np.random.default_rng(seed)
    tasks = make_tasks(rng, aniso, STEPS * B)
    data = os.path.join(tmp, f"tasks_{seed}.h5")
    write_dataset(data, tasks)
    keys = [f"d={D}", f"K=[{','.join(map(str, KLIST))}]", f"N={NMAX}",
            f"family={'anisotropic' if aniso else 'isotropic'}",
            f"train.batch_size={BATCH}", f"seed={seed}"] + model_keys
    tt = torch_tasks(tasks)

    # 1. one step at lr = 0: /params are the parameters the gradients were taken at
    d1 = os.path.join(tmp, f"grads_{seed}")
    run_train(data, d1, keys + ["train.steps=1", "train.lr=0", "train.save_grads=true"])
    with h5py.File(os.path.join(d1, "ckpt_00000001.h5"), "r") as f:
        p0 = model_ref.load_params(f["params"])
        gC = model_ref.load_params(f["grads"])
        assert int(f["step"][0]) == 1
    params = {k: v.clone().requires_grad_(True) for k, v in p0.items()}
    loss = batch_loss(spec, params, tt[:B], B)
    loss.backward()
    lossC = read_log(d1)[0]
    if spec.head != "mixture":  # some task's labels must be permuted, else the match is untested
        li = batch_loss(spec, p0, tt[:B], B, label_match=False).item()
        print(f"{name}: label loss with identity labels {li:.9g} vs matched {loss.item():.9g}")
        if not li > loss.item() + 1e-9:
            print(f"  FAIL {name}: the label match permutes no task")
            return False
    if spec.hungarian and not spec.nll and spec.head != "labels":  # a non-trivial match
        canon = copy.copy(spec)
        canon.hungarian = False
        lc = batch_loss(canon, p0, tt[:B], B).item()
        print(f"{name}: canonical loss {lc:.6g} vs matched {loss.item():.6g}")
        if not lc > loss.item() + 1e-6:
            print(f"  FAIL {name}: the match permutes no task (matched loss = canonical)")
            return False
    e_loss = abs(lossC - loss.item()) / abs(loss.item())
    assert set(gC) == set(params), f"{name}: tensor names differ: {set(gC) ^ set(params)}"
    worst = max(((rel_err(gC[k], params[k].grad), k) for k in params))
    print(f"{name}: loss C {lossC:.9g} torch {loss.item():.9g} (rel {e_loss:.1e}); "
          f"worst gradient {worst[1]} rel {worst[0]:.1e} over {len(params)} tensors")
    ok = e_loss <= TOL and worst[0] <= TOL
    for k in params:
        e = rel_err(gC[k], params[k].grad)
        if e > TOL:
            print(f"  FAIL {k}: rel err {e:.2e}")

    # 2. ten AdamW steps with PyTorch's AdamW from the same initial parameters
    d2 = os.path.join(tmp, f"adam_{seed}")
    lr, wd = 1e-3, 1e-4
    run_train(data, d2, keys + [f"train.steps={STEPS}", f"train.lr={lr}",
                                f"train.weight_decay={wd}"])
    lossesC = read_log(d2)
    params = {k: v.clone().requires_grad_(True) for k, v in p0.items()}
    opt = torch.optim.AdamW(params.values(), lr=lr, betas=(0.9, 0.999), eps=1e-8, weight_decay=wd)
    worst_step = 0.0
    for s in range(STEPS):
        opt.zero_grad()
        loss = batch_loss(spec, params, tt[s * B:(s + 1) * B], B)
        loss.backward()
        opt.step()
        e = abs(lossesC[s] - loss.item()) / abs(loss.item())
        worst_step = max(worst_step, e)
        if e > TOL:
            print(f"  FAIL step {s}: loss C {lossesC[s]:.9g} torch {loss.item():.9g} rel {e:.2e}")
    with h5py.File(os.path.join(d2, f"ckpt_{STEPS:08d}.h5"), "r") as f:
        pC = model_ref.load_params(f["params"])
    pworst = max(rel_err(pC[k], params[k].detach()) for k in params)
    print(f"{name}: {STEPS} AdamW steps, losses {lossesC[0]:.5f} -> {lossesC[-1]:.5f}, "
          f"worst relative loss difference {worst_step:.1e}; final params worst rel {pworst:.1e}")
    return ok and worst_step <= TOL and len(lossesC) == STEPS


def main():
    torch.set_default_dtype(torch.float64)
    ok = True
    with tempfile.TemporaryDirectory() as tmp:
        for i, (causal, aniso) in enumerate([(1, 0), (1, 1), (0, 0), (0, 1)]):
            ok &= check_case(tmp, causal, aniso, seed=11 + i)
        for i, (causal, aniso) in enumerate([(0, 0), (1, 1)]):
            ok &= check_case(tmp, causal, aniso, seed=21 + i, hungarian=True)
        ok &= check_case(tmp, 0, 0, seed=31, head="labels")
        ok &= check_case(tmp, 1, 1, seed=32, hungarian=True, head="both")
        ok &= check_case(tmp, 0, 0, seed=41, nll=True)
        ok &= check_case(tmp, 1, 1, seed=42, hungarian=True, nll=True)
    print("PASS" if ok else "FAIL")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
