"""test_mamba2_ref.py — tgmm's C model with model.backbone = mamba2 against the independent
PyTorch float64 recurrence of mamba2_ref.py, in the transformer's tolerances (test_model_ref.py,
whose comparison this reuses): loss and every parameter gradient of one step (per tensor
max|C - torch| / max|torch| <= 1e-4), then the losses of 10 AdamW steps agree to 1e-4 relative.
Cases: isotropic and anisotropic, and the Hungarian-matched loss (train.matching); ragged N (so
packed tasks of different lengths); two groups of two heads each; two K classes.

Needs TGMM_BIN (the tgmm binary); run by Debian's /usr/bin/python3 (torch, numpy, h5py)."""
import os
import sys
import tempfile

import torch

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import mamba2_ref  # noqa: E402
import test_model_ref as ref  # noqa: E402

MODEL = dict(n_embd=16, n_layer=2, n_task_embd=8, ssm_heads=4, ssm_head_dim=4, ssm_state=3,
             ssm_groups=2, conv_kernel=3)


def main():
    torch.set_default_dtype(torch.float64)
    ok = True
    keys = ["model.backbone=mamba2"] + [f"model.{k}={v}" for k, v in MODEL.items()]
    with tempfile.TemporaryDirectory() as tmp:
        for i, (aniso, hungarian) in enumerate([(0, 0), (1, 0), (0, 1)]):
            spec = mamba2_ref.Mamba2Spec(ref.D, MODEL["n_embd"], MODEL["n_layer"],
                                         MODEL["n_task_embd"], max(ref.KLIST), len(ref.KLIST),
                                         aniso, MODEL["ssm_heads"], MODEL["ssm_head_dim"],
                                         MODEL["ssm_state"], MODEL["ssm_groups"],
                                         MODEL["conv_kernel"], hungarian)
            name = f"mamba2, {'anisotropic' if aniso else 'isotropic'}" \
                   f"{', hungarian' if hungarian else ''}"
            match = [f"train.matching={'hungarian' if hungarian else 'canonical'}"]
            ok &= ref.compare(tmp, name, aniso, 31 + i, keys + match, spec, mamba2_ref.batch_loss)
    print("PASS" if ok else "FAIL")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
