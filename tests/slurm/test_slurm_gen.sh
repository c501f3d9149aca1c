#!/usr/bin/env bash
# One-node Slurm: jobs/tgmm.sbatch gen under sbatch runs mpirun with 2 ranks and writes the same file
# as a direct 1-rank run.
source "$(dirname "$0")/../mpi/lib.sh"
source "$TGMM_SRC/tests/slurm/slurm_local.sh"
slurm_test_start
if sbatch -W --ntasks=2 -o "$WORK/gen.out" "$TGMM_SRC/jobs/tgmm.sbatch" gen "$TGMM_SRC/configs/quickstart.yaml" tasks=9 --out "$WORK/slurm.h5" >/dev/null; then
  ok "sbatch job finished"
else
  fail "sbatch job failed"; cat "$WORK/gen.out"
fi
grep -q "2 ranks" "$WORK/gen.out" && ok "job ran 2 ranks" || { fail "job did not report 2 ranks"; cat "$WORK/gen.out"; }
mpi 1 "$TGMM_BIN" gen "$TGMM_SRC/configs/quickstart.yaml" tasks=9 --out "$WORK/direct.h5" >/dev/null 2>&1
if same_datasets "$WORK/slurm.h5" "$WORK/direct.h5"; then ok "slurm file equals direct run"; else fail "slurm file differs"; fi
finish
