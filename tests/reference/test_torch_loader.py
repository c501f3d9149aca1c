"""test_torch_loader.py — src/python/tgmm_torch.py (the PyTorch loader) predicts what `tgmm eval`
predicted and stored (eval --data TASKS.h5, eval.save_predictions) on the same tasks, to float32
tolerance: the shipped pretrained model (an exported model: causal, learned positions) on
isotropic tasks, and a freshly trained anisotropic set model (a checkpoint: bidirectional, no
positions, scales head) on ragged tasks, a trained Mamba2 model (exported) on ragged
tasks, and a model with both heads (model.head = both): its mixture (the tgmm_plugin rows) and its
labels (/pred_labels; equal wherever the top two logits are not within float32 noise). A config
naming a backbone or head the loader does not
know raises NotImplementedError naming it.

Needs TGMM_BIN; run by Debian's /usr/bin/python3 (torch, h5py, PyYAML)."""
import os
import subprocess
import sys
import tempfile

import h5py
import numpy as np
import torch

HERE = os.path.dirname(os.path.abspath(__file__))
SRC = os.path.dirname(os.path.dirname(HERE))
sys.path.insert(0, os.path.join(SRC, "src", "python"))
import tgmm_torch  # noqa: E402

BIN = os.environ.get("TGMM_BIN", "tgmm")
ENV = dict(os.environ, OMPI_ALLOW_RUN_AS_ROOT="1", OMPI_ALLOW_RUN_AS_ROOT_CONFIRM="1")
TOL = 2e-4  # float32 model in C (OpenBLAS) and in torch: same maths, different summation orders


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


if __name__ == "__main__":
    main()
