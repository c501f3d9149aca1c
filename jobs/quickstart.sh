#!/usr/bin/env bash
# jobs/quickstart.sh — the embedded default, end to end, no Slurm: setup, then generate tasks,
# run the baselines on them, and train a small model. Says what it ran and where results are.
#   NP=2 jobs/quickstart.sh     ranks to use (default: 2, or 1 on a one-core machine)
set -euo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$here"
"$here/jobs/setup.sh"
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
mpi em "$cfg" --data "$out/tasks.h5" --out "$out/em.h5"
mpi spectral "$cfg" --data "$out/tasks.h5" --out "$out/spectral.h5"
mpi em "$cfg" em.init=truth --data "$out/tasks.h5" --out "$out/oracle.h5"
echo "== 3. a short training run =="
mpi train "$cfg" train.run_dir="$out/train"
echo
echo "quickstart done. Results in $out/:"
ls -l "$out" "$out/train" 2>/dev/null || true
echo "Open them with h5dump or h5py; README.md explains every file."
