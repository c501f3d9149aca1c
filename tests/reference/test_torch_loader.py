"""test_torch_loader.py — src/python/tgmm_torch.py (the PyTorch loader) predicts what `tgmm eval`
predicted and stored (eval --data TASKS.h5, eval.save_predictions) on the same tasks, to float32
tolerance: the shipped pretrained model (an exported model: causal, learned positions) on
isotropic tasks, and a freshly trained anisotropic set model (a checkpoint: bidirectional, no
positions, scales head) on ragged tasks, a trained Mamba2 model (exported) on ragged
tasks, and a model with both heads (model.head = both): its mixture (the tgmm_plugin rows) and its
labels (/pred_labels; equal wherever the top two logits are not within float32 noise). A config
naming a backbone or head the loader does not
know raises NotImplementedError naming it.

Batches (each model above): predict on a list of tasks returns torch tensors equal to the
single-task calls and to eval's stored rows (0 beyond each K), a padded batch with a mask or
lengths equals the list (whatever the padding holds), predict_labels on a batch equals the
single-task labels (-1 beyond N), and the single-task call still returns float64 numpy arrays.
forward(): differentiable (gradcheck in float64 on the input and a parameter), no gradient
reaches the padding, and one SGD step on it lowers a loss.

Needs TGMM_BIN; run by Debian's /usr/bin/python3 (torch, h5py, PyYAML)."""
import os
import subprocess
import sys
import tempfile

import h5py
import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F

HERE = os.path.dirname(os.path.abspath(__file__))
SRC = os.path.dirname(os.path.dirname(HERE))
sys.path.insert(0, os.path.join(SRC, "src", "python"))
import tgmm_torch  # noqa: E402

BIN = os.environ.get("TGMM_BIN", "tgmm")
ENV = dict(os.environ, OMPI_ALLOW_RUN_AS_ROOT="1", OMPI_ALLOW_RUN_AS_ROOT_CONFIRM="1")
TOL = 2e-4  # float32 model in C (OpenBLAS) and in torch: same maths, different summation orders
BTOL = 1e-4  # a task alone or in a padded batch: the same torch maths on other tensor shapes
BTOL64 = 1e-10  # the same in float64: the batch computes what the single task computes


def tgmm(*args):
    r = subprocess.run([BIN, *args, "--quiet"], env=ENV, capture_output=True, text=True)
    if r.returncode:
        sys.exit(f"tgmm {' '.join(args)} failed ({r.returncode}):\n{r.stderr}")


def agree(name, model_path, tasks, results, method="tgmm"):
    model = tgmm_torch.load(model_path)
    with h5py.File(tasks, "r") as t, h5py.File(results, "r") as r:
        off, x = t["offsets"][()], t["x"][()]
        meth = r["method"][()].astype(str)
        rows = np.nonzero(meth == method)[0]
        assert len(rows) == len(off) - 1, (len(rows), len(off))
        worst = 0.0
        for i in rows:
            task, K = int(r["task"][i]), int(r["K"][i])
            w, mu, sd = model.predict(x[off[task]:off[task + 1]], K=K)
            pairs = [(w, r["pred_weights"][i, :K]), (mu, r["pred_means"][i, :K, :model.d])]
            if model.aniso:
                pairs.append((sd, r["pred_scales"][i, :K, :model.d]))
            for a, b in pairs:
                err = np.max(np.abs(a - b) / np.maximum(1.0, np.abs(b)))
                worst = max(worst, err)
                assert err <= TOL, (name, task, K, err, a, b)
    print(f"{name}: {len(rows)} tasks, predictions agree (max relative error {worst:.2e})")


def labels_agree(model_path, tasks, results):
    model = tgmm_torch.load(model_path)
    with h5py.File(tasks, "r") as t, h5py.File(results, "r") as r:
        off, x = t["offsets"][()], t["x"][()]
        rows = np.nonzero(r["method"][()].astype(str) == "tgmm")[0]
        n = ties = 0
        for i in rows:
            task, K, N = int(r["task"][i]), int(r["K"][i]), int(r["N"][i])
            xi = x[off[task]:off[task + 1]]
            lab = model.predict_labels(xi, K=K)
            stored = r["pred_labels"][i]
            assert (stored[N:] == -1).all() and len(lab) == N
            h, _ = model.hidden(torch.as_tensor(xi, dtype=torch.float32)[None], [K])
            logits = model.label_head(h[0])[:, :K].detach().numpy()
            top2 = np.sort(logits, axis=1)[:, -2:] if K > 1 else np.zeros((N, 2))
            tie = (top2[:, 1] - top2[:, 0]) < 1e-4
            bad = (lab != stored[:N]) & ~tie
            assert not bad.any(), (task, lab, stored[:N])
            n += N
            ties += int(((lab != stored[:N]) & tie).sum())
    print(f"both heads: the labels of {n} samples agree ({ties} differ at a float32 tie)")


def rel(a, b):
    a, b = np.asarray(a, dtype=np.float64), np.asarray(b, dtype=np.float64)
    return float(np.max(np.abs(a - b) / np.maximum(1.0, np.abs(b)), initial=0.0))


def read_rows(tasks, results, method):
    """The tasks of a method's rows: a list of [N_i, d] arrays, their K and the row indices."""
    with h5py.File(tasks, "r") as t, h5py.File(results, "r") as r:
        off, x = t["offsets"][()], t["x"][()]
        rows = np.nonzero(r["method"].asstr()[()] == method)[0]
        task, K = r["task"][()][rows], r["K"][()][rows]
    return [x[off[i]:off[i + 1]] for i in task], [int(k) for k in K], rows


def batch_agree(name, model_path, tasks, results, method="tgmm"):
    """predict / predict_labels on batches against the single-task calls and eval's rows."""
    model = tgmm_torch.load(model_path)
    xs, Ks, rows = read_rows(tasks, results, method)
    B, Q, d = len(xs), model.Kmax, model.d
    # the tasks as stored, and each cut to a prefix of another length (ragged for every model)
    cut = [x[:max(1, len(x) - 3 * i)] for i, x in enumerate(xs)]
    worst = 0.0
    for batch in (xs, cut):
        single = [model.predict(x, K=K) for x, K in zip(batch, Ks)]
        # the single-task call: unchanged (float64 numpy arrays of the task's K)
        for (w, mu, sd), K in zip(single, Ks):
            assert isinstance(w, np.ndarray) and w.dtype == np.float64 and w.shape == (K,), w
            assert isinstance(mu, np.ndarray) and mu.shape == (K, d), mu.shape
            assert (sd is None) == (not model.aniso) and (sd is None or sd.shape == (K, d))
        got = model.predict(batch, K=Ks)  # a list of numpy tasks
        assert isinstance(got, tgmm_torch.Mixture)
        parts = [got.weights, got.means] + ([got.scales] if model.aniso else [])
        for t, shape in zip(parts, [(B, Q), (B, Q, d), (B, Q, d)]):
            assert isinstance(t, torch.Tensor) and t.dtype == torch.float32, type(t)
            assert tuple(t.shape) == shape and not t.requires_grad, (t.shape, shape)
        assert got.scales is None or model.aniso
        for i, K in enumerate(Ks):
            for a, b in zip(parts, single[i]):
                assert (a[i, K:] == 0).all(), (name, i, K, a[i])
                err = rel(a[i, :K], b)
                worst = max(worst, err)
                assert err <= BTOL, (name, i, K, err)
        # a list of tensors, a padded tensor + mask, + lengths, numpy padded + mask: the same
        xb, mb = tgmm_torch.pad(batch)
        lengths = mb.sum(dim=1)
        noisy = xb.masked_fill(~mb[:, :, None], 1e3)  # the padding holds anything
        variants = {
            "list of tensors": model.predict([torch.as_tensor(x) for x in batch], K=Ks),
            "padded + mask": model.predict(xb, K=torch.tensor(Ks), mask=mb),
            "padded + lengths": model.predict(xb, K=np.array(Ks), lengths=lengths),
            "numpy padded + mask": model.predict(xb.numpy(), K=Ks, mask=mb.numpy().astype(int)),
            "noisy padding + mask": model.predict(noisy, K=Ks, mask=mb),
        }
        for v, out in variants.items():
            for a, b in zip(out, got):
                assert (a is None) == (b is None), v
                if a is not None:
                    err = rel(a, b)
                    assert err <= 1e-6, (name, v, err)
        if model.mixture and batch is xs:  # eval's stored rows
            with h5py.File(results, "r") as r:
                stored = [r["pred_weights"][()][rows], r["pred_means"][()][rows]]
                if model.aniso:
                    stored.append(r["pred_scales"][()][rows])
            for a, b in zip(parts, stored):
                for i, K in enumerate(Ks):
                    assert rel(a[i, :K], b[i, :K, :d] if b.ndim == 3 else b[i, :K]) <= TOL, (name, i)
        if model.labels:
            lab = model.predict_labels(batch, K=Ks)
            assert isinstance(lab, torch.Tensor) and lab.dtype == torch.long
            assert lab.shape == (B, max(len(x) for x in batch)), lab.shape
            logits = model(xb, K=Ks, mask=mb).logits.detach()
            for i, (x, K) in enumerate(zip(batch, Ks)):
                one = model.predict_labels(x, K=K)
                assert isinstance(one, np.ndarray) and one.shape == (len(x),)
                assert (lab[i, len(x):] == -1).all() and (lab[i, :len(x)] < K).all()
                top2 = logits[i, :len(x)].topk(min(K, 2), dim=1).values
                tie = (top2[:, 0] - top2[:, -1]) < 1e-4 if K > 1 else torch.zeros(len(x), dtype=bool)
                bad = (lab[i, :len(x)].numpy() != one) & ~tie.numpy()
                assert not bad.any(), (name, i, lab[i], one)
            lab2 = model.predict_labels(xb, K=Ks, mask=mb)
            assert torch.equal(lab, lab2)
    # in float64 the batch and the single tasks agree to rounding: the same maths
    m64 = tgmm_torch.load(model_path, dtype=torch.float64)
    worst64 = 0.0
    if model.mixture:
        got = m64.predict(cut, K=Ks)
        for i, (x, K) in enumerate(zip(cut, Ks)):
            for a, b in zip(got, m64.predict(x, K=K)):
                if b is not None:
                    worst64 = max(worst64, rel(a[i, :K], b))
        assert worst64 <= BTOL64, (name, worst64)
    print(f"{name}: batches of {B} tasks (as stored and ragged): torch tensors, list == padded + "
          f"mask == padded + lengths, equal to the single-task calls (max relative error "
          f"{worst:.1e} in float32, {worst64:.1e} in float64)")


def forward_grad(name, model_path, tasks, results, method="tgmm"):
    """forward() in PyTorch code: gradients (gradcheck in float64), none into the padding, and
    one SGD step lowers a loss."""
    xs, Ks, _ = read_rows(tasks, results, method)
    xs, Ks = xs[:3], Ks[:3]
    model = tgmm_torch.load(model_path)
    xb, mb = tgmm_torch.pad([x[:max(2, len(x) - 5 * i)] for i, x in enumerate(xs)])
    xb.requires_grad_(True)
    target = torch.randint(0, 1 << 20, mb.shape) % torch.tensor(Ks)[:, None]
    inK = torch.arange(model.Kmax)[None, :] < torch.tensor(Ks)[:, None]  # [B, Kmax]

    def loss_of(out):
        loss = 0.0
        if out.weights is not None:
            loss = loss + (out.means ** 2).mean() - out.weights[inK].log().mean()
            if out.scales is not None:
                loss = loss + out.scales.mean()
        if out.logits is not None:
            loss = loss + F.cross_entropy(out.logits[mb], target[mb])
        return loss

    out = model(xb, K=Ks, mask=mb)
    for t in out:
        assert t is None or (isinstance(t, torch.Tensor) and t.requires_grad), type(t)
    with torch.no_grad():  # forward == predict
        if model.mixture:
            p = model.predict(xb, K=Ks, mask=mb)
            assert all(a is None or torch.equal(a, b) for a, b in zip(p, out[:3]))
    loss = loss_of(out)
    loss.backward()
    assert torch.isfinite(xb.grad).all()
    assert (xb.grad[~mb] == 0).all(), "a gradient reached the padding"
    assert (xb.grad[mb].abs().sum(dim=-1) > 0).any(), "no gradient reached the samples"
    used = [n for n, q in model.named_parameters() if q.grad is not None]
    assert "read_in.weight" in used and all(
        torch.isfinite(q.grad).all() for q in model.parameters() if q.grad is not None)
    assert model.read_in.weight.grad.abs().sum() > 0
    # one SGD step along the gradient lowers the loss
    before = float(loss)
    nn.utils.clip_grad_norm_(model.parameters(), 1.0)  # a step of length 1e-3
    opt = torch.optim.SGD(model.parameters(), lr=1e-3)
    opt.step()
    with torch.no_grad():
        after = float(loss_of(model(xb, K=Ks, mask=mb)))
    assert after < before, (name, before, after)
    # gradcheck in float64: the input and the read-in weights, through the finite outputs
    m64 = tgmm_torch.load(model_path, dtype=torch.float64)
    x64 = xb.detach()[:2, :6].double().requires_grad_(True)
    m2 = mb[:2, :6]

    call = getattr(getattr(torch, "func", None), "functional_call", None) \
        or torch.nn.utils.stateless.functional_call
    w0 = m64.read_in.weight.detach().clone().requires_grad_(True)

    def fw(x, w):  # the outputs as functions of the input and of read_in.weight
        out = call(m64, {"read_in.weight": w}, (x,), dict(K=Ks[:2], mask=m2))
        res = [t for t in out[:3] if t is not None]
        if out.logits is not None:
            res.append(out.logits.masked_fill(torch.isinf(out.logits), 0.0))
        return tuple(res)

    assert torch.autograd.gradcheck(fw, (x64, w0), eps=1e-6, atol=1e-5)
    print(f"{name}: forward() is differentiable (gradcheck on the input and read_in.weight), "
          f"no gradient in the padding, an SGD step lowers the loss ({before:.4f} -> {after:.4f})")


def main():
    with tempfile.TemporaryDirectory() as tmp:
        p = lambda n: os.path.join(tmp, n)
        # 1. the shipped exported model (configs/laptop.yaml: d = 8, N = 64, K = 2..5)
        model = os.path.join(SRC, "configs", "pretrained", "tgmm_laptop.h5")
        laptop = os.path.join(SRC, "configs", "laptop.yaml")
        tgmm("gen", laptop, "tasks=12", "--out", p("iso.h5"))
        tgmm("eval", "d=8", "N=64", "eval.methods=[tgmm]", "eval.save_predictions=true",
             "--checkpoint", model, "--data", p("iso.h5"), "--out", p("iso_res.h5"))
        agree("pretrained (exported, causal, learned positions)", model, p("iso.h5"), p("iso_res.h5"))
        batch_agree("pretrained", model, p("iso.h5"), p("iso_res.h5"))
        forward_grad("pretrained", model, p("iso.h5"), p("iso_res.h5"))
        # 2. a trained anisotropic set model, from its checkpoint, on ragged tasks
        cfg = ["family=anisotropic", "d=3", "K=[2,3]", "N=24", "model.n_embd=16", "model.n_layer=2",
               "model.n_head=2", "model.n_task_embd=8", "model.attention=bidirectional",
               "model.positions=none", "train.steps=3", "train.batch_size=4", "train.lr=0.01",
               "train.checkpoint_every=0", "train.resume=never", "train.run_dir=" + p("run")]
        tgmm("train", *cfg)
        tgmm("gen", *cfg, "tasks=10", "ragged=true", "--out", p("an.h5"))
        tgmm("eval", *cfg, "eval.methods=[tgmm,em]", "eval.save_predictions=true",
             "--checkpoint", p("run"), "--data", p("an.h5"), "--out", p("an_res.h5"))
        agree("anisotropic set model (checkpoint, run directory)", p("run"), p("an.h5"), p("an_res.h5"))
        batch_agree("anisotropic", p("run"), p("an.h5"), p("an_res.h5"))
        forward_grad("anisotropic", p("run"), p("an.h5"), p("an_res.h5"))
        with h5py.File(p("an_res.h5"), "r") as r:  # its scales are scored too
            sel = r["method"][()].astype(str) == "tgmm"
            assert np.isfinite(r["l2_scales"][()][sel]).all(), r["l2_scales"][()]
        # 3. a trained Mamba2 model (model.backbone = mamba2), exported, on ragged tasks
        cfg = ["d=4", "K=[2,3,4]", "N=20", "model.backbone=mamba2", "model.n_embd=16",
               "model.n_layer=2", "model.n_task_embd=8", "model.ssm_heads=4", "model.ssm_head_dim=4",
               "model.ssm_state=6", "model.ssm_groups=2", "model.conv_kernel=3", "train.steps=3",
               "train.batch_size=3", "train.lr=0.01", "train.checkpoint_every=0",
               "train.resume=never", "train.run_dir=" + p("mrun")]
        tgmm("train", *cfg)
        tgmm("export", "--checkpoint", p("mrun"), "--out", p("mamba2.h5"))
        tgmm("gen", *cfg, "tasks=9", "ragged=true", "--out", p("m.h5"))
        tgmm("eval", *cfg, "eval.methods=[tgmm]", "eval.save_predictions=true",
             "--checkpoint", p("mamba2.h5"), "--data", p("m.h5"), "--out", p("m_res.h5"))
        agree("mamba2 (exported)", p("mamba2.h5"), p("m.h5"), p("m_res.h5"))
        batch_agree("mamba2", p("mamba2.h5"), p("m.h5"), p("m_res.h5"))
        forward_grad("mamba2", p("mamba2.h5"), p("m.h5"), p("m_res.h5"))
        # 4. both heads: the mixture (tgmm_plugin rows) and the labels (tgmm rows)
        cfg = ["d=3", "K=[2,3]", "N=24", "model.head=both", "model.n_embd=16", "model.n_layer=2",
               "model.n_head=2", "model.n_task_embd=8", "model.attention=bidirectional",
               "model.positions=none", "train.steps=30", "train.batch_size=4", "train.lr=0.01",
               "train.checkpoint_every=0", "train.resume=never", "train.run_dir=" + p("brun")]
        tgmm("train", *cfg)
        tgmm("gen", *cfg, "tasks=10", "ragged=true", "--out", p("b.h5"))
        tgmm("eval", *cfg, "eval.methods=[tgmm]", "eval.save_predictions=true",
             "--checkpoint", p("brun"), "--data", p("b.h5"), "--out", p("b_res.h5"))
        agree("both heads: the mixture (tgmm_plugin rows)", p("brun"), p("b.h5"), p("b_res.h5"),
              "tgmm_plugin")
        labels_agree(p("brun"), p("b.h5"), p("b_res.h5"))
        batch_agree("both heads", p("brun"), p("b.h5"), p("b_res.h5"), "tgmm_plugin")
        forward_grad("both heads", p("brun"), p("b.h5"), p("b_res.h5"))
    # 5. what the loader does not know
    cfg = tgmm_torch.read_config(model)
    for key, val in [("backbone", "rwkv"), ("head", "labels_only")]:
        bad = dict(cfg, model=dict(cfg["model"], **{key: val}))
        try:
            tgmm_torch.TGMM(bad)
            sys.exit(f"model.{key} = {val} was accepted")
        except NotImplementedError as e:
            assert val in str(e), e
    print("unknown backbone and head: NotImplementedError naming them")
    # 6. batches the loader refuses, each with a ValueError saying why
    m = tgmm_torch.load(model)
    x = np.random.default_rng(1).standard_normal((2, 5, m.d))
    holes = np.array([[1, 1, 0, 1, 0], [1, 1, 1, 1, 1]], dtype=bool)
    for call, words in [
            (lambda: m.predict(x, K=3, mask=holes), "padding at the end"),
            (lambda: m.predict(x, K=[2, 3, 4]), "3 values for 2 tasks"),
            (lambda: m.predict(list(x), K=3, lengths=[5, 5]), "no mask or lengths"),
            (lambda: m.predict(x[0], K=3, lengths=[5]), "takes no mask"),
            (lambda: m.predict(x, K=3, lengths=[0, 5]), "1..N"),
            (lambda: m.predict(x, K=7), "no read-out for K = 7"),
            (lambda: m(x[..., :3], K=3), "d = 8")]:
        try:
            call()
            sys.exit(f"accepted: expected a ValueError with '{words}'")
        except ValueError as e:
            assert words in str(e), (words, str(e))
    print("bad batches (mask with holes, K count, mask with a list, empty task, K, d): ValueError")


if __name__ == "__main__":
    main()
