#!/usr/bin/env bash
# OpenBLAS core selection (include/tgmm/blas_core.h): a value the user set is respected; a
# fallback core detected with the variable unset is replaced (forced here with the test hook
# TGMM_TEST_FAKE_CORE, since this machine's OpenBLAS may well choose its best core itself), said
# once on rank 0, and recorded in the output file; bitwise mode refuses ranks with different
# kernels.
source "$(dirname "$0")/lib.sh"
cfg="$TGMM_SRC/configs/quickstart.yaml"
core_of() { h5dump -a openblas_core "$1" 2>/dev/null | sed -n 's/.*(0): "\(.*\)".*/\1/p'; }
# the best core by the CPU's features, independently of tgmm
flags=$(grep -m1 '^flags' /proc/cpuinfo)
has() { [[ " $flags " == *" $1 "* ]]; }
if has avx512f && has avx512bw && has avx512vl && has avx512dq && has avx512cd; then best=SkylakeX
elif has avx2 && has fma; then best=Haswell
elif has avx; then best=Sandybridge
else best=Prescott; fi
sse_cores=" Prescott Core2 Penryn Dunnington Nehalem Atom Opteron Barcelona Bobcat "

# 1. the user's value is respected: Prescott stays Prescott, and nothing is said
OPENBLAS_CORETYPE=Prescott mpi 2 -x OPENBLAS_CORETYPE "$TGMM_BIN" gen "$cfg" tasks=4 --out "$WORK/a.h5" >"$WORK/a.log" 2>&1
c=$(core_of "$WORK/a.h5")
if [[ $c == Prescott ]] && ! grep -q "fallback" "$WORK/a.log"; then ok "OPENBLAS_CORETYPE=Prescott respected (recorded: $c)"
else fail "OPENBLAS_CORETYPE=Prescott: recorded '$c'"; cat "$WORK/a.log"; fi

# 2. a fallback detected with the variable unset is replaced, said once, recorded
env -u OPENBLAS_CORETYPE TGMM_TEST_FAKE_CORE=Prescott \
  timeout 300 mpirun --oversubscribe --bind-to none -x TGMM_TEST_FAKE_CORE -np 2 \
  "$TGMM_BIN" gen "$cfg" tasks=4 --out "$WORK/b.h5" >"$WORK/b.log" 2>&1
c=$(core_of "$WORK/b.h5")
n=$(grep -c "fallback kernels (Prescott)" "$WORK/b.log")
if [[ $best == Prescott ]]; then ok "this CPU has no SIMD level above SSE3: nothing to replace"
elif [[ $c == "$best" && $n == 1 ]]; then ok "fallback replaced by $c, said once"
else fail "fallback: recorded '$c' (best '$best'), note printed $n times"; cat "$WORK/b.log"; fi

# 3. without the hook and without the variable, never a fallback core on a CPU with AVX or more
env -u OPENBLAS_CORETYPE "$TGMM_BIN" gen "$cfg" tasks=4 --out "$WORK/c.h5" >"$WORK/c.log" 2>&1
c=$(core_of "$WORK/c.h5")
if [[ -n $c && ( $best == Prescott || $sse_cores != *" $c "* ) ]]; then ok "default run records $c (best by features: $best)"
else fail "default run records '$c', best by features is '$best'"; fi

# 4. bitwise mode refuses ranks whose kernels differ (2 ranks, different OPENBLAS_CORETYPE)
timeout 300 mpirun --oversubscribe --bind-to none -np 1 -x OPENBLAS_CORETYPE=Prescott "$TGMM_BIN" train "$cfg" \
  train.deterministic=true train.steps=2 train.chunk=8 train.run_dir="$WORK/run" : \
  -np 1 -x OPENBLAS_CORETYPE=Haswell "$TGMM_BIN" train "$cfg" train.deterministic=true \
  train.steps=2 train.chunk=8 train.run_dir="$WORK/run" >"$WORK/d.log" 2>&1
rc=$?
if [[ $rc == 2 ]] && grep -q "same OpenBLAS kernels on every rank" "$WORK/d.log" && [[ ! -e $WORK/run/ckpt_00000002.h5 ]]; then
  ok "bitwise mode with different kernels refused (exit 2)"
else fail "bitwise mode with different kernels: exit $rc"; cat "$WORK/d.log"; fi
finish
