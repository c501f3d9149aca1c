#!/usr/bin/env bash
# jobs/quickstart.sh — the embedded default (configs/quickstart.yaml), end to end, no Slurm:
# setup; generate tasks; EM, spectral and the oracle on them with their metrics; train a small
# model; evaluate it against the baselines per K; tables and plots. Then the finding itself: the
# pretrained model shipped in configs/pretrained/ (the laptop setting, configs/laptop.yaml)
# against EM, spectral and the oracle, first under a sample-size shift (trained at N = 64,
# evaluated at N = 128), last in distribution (K = 2..5, 128 tasks per K), each with a report
# that says where TGMM beats EM and where it does not; and He et al.'s question: the shipped
# label-head model's misclustering against EM and Lloyd stopped after 1, 2, 4, ... iterations.
# A few minutes on a laptop.
# (The 200-step model of step 3 is far from converged: it shows the pipeline.)
#   NP=2 jobs/quickstart.sh     ranks to use (default: 2, or 1 on a one-core machine)
set -euo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$here"
"$here/jobs/setup.sh" --tgmm-only > >(grep -v "Built target")  # the tests are built by tests/run.sh
export OMPI_ALLOW_RUN_AS_ROOT=1 OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1
np="${NP:-$(( $(nproc) >= 2 ? 2 : 1 ))}"
cfg=configs/quickstart.yaml
out=runs/quickstart
mkdir -p "$out"
run() { echo "+ $*"; "$@"; }
mpi() { run mpirun --oversubscribe -np "$np" build/tgmm "$@"; }

echo "== 1. generate evaluation tasks =="
mpi gen "$cfg" --out "$out/tasks.h5"
echo "== 2. baselines on the generated tasks =="
# each prints its summary (every metric); shown here: the task count, l2 of means, misclustering
# (and any error)
brief() { grep -E "^\+ |^(em|spectral): [0-9]+ tasks, [0-9]+ ok|^ *(l2_means|misclustering) |error|warning" || true; }
mpi em "$cfg" --data "$out/tasks.h5" --out "$out/em.h5" 2>&1 | brief
mpi spectral "$cfg" --data "$out/tasks.h5" --out "$out/spectral.h5" 2>&1 | brief
mpi em "$cfg" em.init=truth --data "$out/tasks.h5" --out "$out/oracle.h5" 2>&1 | brief
echo "== 3. a short training run =="
mpi train "$cfg" train.run_dir="$out/train" train.resume=restart   # a rerun moves the last one aside
ckpt=$(ls "$out"/train/ckpt_*.h5 | tail -1)
echo "== 4. the trained model against EM, spectral and the oracle, per K (tgmm eval) =="
mpi eval "$cfg" --checkpoint "$ckpt" --out "$out/eval.h5"
echo "== 5. tables and plots (tgmm report) =="
run build/tgmm report --data "$out/eval.h5" --out "$out/report" >/dev/null
run build/tgmm report --data "$out/train" >/dev/null
model=configs/pretrained/tgmm_laptop.h5
echo "== 6. the shipped pretrained model ($model) under a sample-size shift: N = 128 =="
mpi eval configs/laptop.yaml N=128 eval.tasks_per_setting=64 --checkpoint "$model" \
  --out "$out/pretrained_N128.h5"
run build/tgmm report --data "$out/pretrained_N128.h5" --out "$out/pretrained_N128"
echo "== 7. the shipped pretrained model in distribution: d = 8, N = 64, K = 2..5, 128 tasks per K =="
mpi eval configs/laptop.yaml --checkpoint "$model" --out "$out/pretrained.h5"
run build/tgmm report --data "$out/pretrained.h5" --out "$out/pretrained"
lmodel=configs/pretrained/tgmm_labels_laptop.h5
echo "== 8. He et al.: the shipped label-head model ($lmodel) against EM and Lloyd stopped after 1..100 iterations =="
mpi eval configs/paper/he_misclustering.yaml N=64 "eval.grid.mean_scale=[0.5,1]" eval.tasks_per_setting=64 \
  --checkpoint "$lmodel" --out "$out/labels.h5"
# the depth-against-iterations table is long (8 settings x 6 iteration counts): it stays in
# labels.md and labels.txt; the console shows the table and verdicts before it
run build/tgmm report --data "$out/labels.h5" --out "$out/labels" >"$out/labels.txt"
sed '/^## Misclustering: transformer depth/,$d' "$out/labels.txt"
echo "(the depth-against-iterations table: $out/labels.md, $out/labels.txt)"
echo
echo "quickstart done. Results in $out/: $(find "$out" -maxdepth 1 -name '*.h5' | wc -l) HDF5 files," \
  "$(find "$out" -maxdepth 1 -name '*.png' | wc -l) plots, $(find "$out/train" -name 'ckpt_*.h5' | wc -l) checkpoints in $out/train"
echo "Tables: $out/report.md, $out/pretrained.md, $out/pretrained_N128.md, $out/labels.md (also .csv, .tex);"
echo "plots: $out/*.png; learning curves of the short run: $out/train/curves.*.png."
echo "Open the .h5 files with h5dump or h5py; README.md explains every file."
