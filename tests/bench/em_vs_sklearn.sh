#!/usr/bin/env bash
# tests/bench/em_vs_sklearn.sh — EM time per iteration: this project's C (one thread, double) vs
# scikit-learn's GaussianMixture (one thread), N = 1e6, d = 32, K = 8, covariance spherical and
# diag; plus the time of the iteration's BLAS calls alone (the floor) and 1 vs 2 ranks.
#   tests/bench/em_vs_sklearn.sh [BUILD_DIR]   (default: build; N, D, K, ITERS from the environment)
# Per-iteration times exclude set-up: the fastest iteration (C: of 3 runs of ITERS iterations;
# scikit-learn: of 2*ITERS calls of its _e_step + _m_step), as the machine may be shared.
set -euo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
build="${1:-$here/build}"
N=${N:-1000000} D=${D:-32} K=${K:-8} ITERS=${ITERS:-5}
export OMPI_ALLOW_RUN_AS_ROOT=1 OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1
export OPENBLAS_NUM_THREADS=1 OMP_NUM_THREADS=1 MKL_NUM_THREADS=1
cmake --build "$build" --target em_bench >/dev/null
# the same OpenBLAS kernels for tgmm and for NumPy/scikit-learn (which link the same OpenBLAS)
core=$("$build/tgmm" --version | sed -n 's/.*OpenBLAS core //p')
export OPENBLAS_CORETYPE=${OPENBLAS_CORETYPE:-$core}
echo "CPU: $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2- | sed 's/^ *//'); $(nproc --all) cores"
echo "OpenBLAS core: $core (OPENBLAS_CORETYPE=$OPENBLAS_CORETYPE for C and scikit-learn); load $(cut -d' ' -f1-3 /proc/loadavg)"
work=$(mktemp -d "${TMPDIR:-/tmp}/tgmm-bench.XXXXXX")
trap 'rm -rf "$work"' EXIT

/usr/bin/python3 "$here/tests/bench/em_sklearn_time.py" gen "$work" "$N" "$D" "$K"
printf '| covariance | scikit-learn s/iter | C s/iter (1 rank) | speed-up | BLAS floor s/iter | C / floor | C s/iter (2 ranks) | 2-rank speed-up |\n'
printf '|---|---|---|---|---|---|---|---|\n'
notes=""
for cov in spherical diag; do
  sk=$(/usr/bin/python3 "$here/tests/bench/em_sklearn_time.py" time "$work" "$N" "$D" "$K" "$cov" "$ITERS")
  c1=$(mpirun --bind-to none -np 1 "$build/em_bench" "$cov" "$N" "$D" "$K" "$ITERS" "$work/x.bin" "$work/init_$cov.bin")
  c2=$(mpirun --bind-to core -np 2 "$build/em_bench" "$cov" "$N" "$D" "$K" "$ITERS" "$work/x.bin" "$work/init_$cov.bin")
  get() { sed -n "s/.*$1=\([^ ]*\).*/\1/p" <<<"$2"; }
  t1=$(get per_iter_s "$c1") fl=$(get floor_s "$c1") t2=$(get per_iter_s "$c2")
  ll1=$(get loglik "$c1") ll2=$(get loglik "$c2") llsk=$(get loglik "$sk") tsk=$(get per_iter_s "$sk")
  printf '| %s | %.3f | %.4f | %.1fx | %.4f | %.2f | %.4f | %.2fx |\n' "$cov" "$tsk" "$t1" \
    "$(bc -l <<<"$tsk / $t1")" "$fl" "$(bc -l <<<"$t1 / $fl")" "$t2" "$(bc -l <<<"$t1 / $t2")"
  notes+="$cov: mean log-likelihood after $ITERS iterations: C 1 rank $ll1, 2 ranks $ll2, scikit-learn $llsk"$'\n'
done
echo
printf '%s' "$notes"
echo "(N=$N d=$D K=$K, double, OPENBLAS_NUM_THREADS=1; load average: $(cut -d' ' -f1-3 /proc/loadavg))"
