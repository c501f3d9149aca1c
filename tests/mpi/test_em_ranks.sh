#!/usr/bin/env bash
# tgmm em / lloyd: the same answer whatever the rank count.
#  - distribute=samples (one large task split over ranks, one Allreduce per iteration): 1, 2 and 3
#    ranks agree to 1e-10 relative, for random and k-means++ starts and every covariance type;
#  - distribute=tasks: 1 and 3 ranks give identical rows (all datasets but /seconds);
#  - a missing input dataset: message naming it, exit 2 on every rank, no output left behind.
source "$(dirname "$0")/lib.sh"

close() { /usr/bin/python3 - "$@" <<'PY'
import sys, h5py, numpy as np
tol = float(sys.argv[1]); a = h5py.File(sys.argv[2], "r")
for other in sys.argv[3:]:
    b = h5py.File(other, "r")
    for n in a:
        if n == "seconds": continue
        x, y = a[n][()], b[n][()]
        if x.dtype.kind in "fi":
            ok = x.shape == y.shape and np.allclose(x, y, rtol=tol, atol=tol * max(1.0, np.nanmax(np.abs(x))), equal_nan=True)
        else:
            ok = np.array_equal(x, y)
        if not ok: sys.exit(f"{other}: dataset {n} differs from {sys.argv[2]}")
print("agree")
PY
}

mpi 1 "$TGMM_BIN" gen d=6 K=[4] N=30000 model.positions=none tasks=1 seed=5 --out "$WORK/big.h5" >/dev/null 2>&1 || fail "gen big"
for args in "em.init=random" "em.init=kmeans++ em.restarts=2" "em.covariance=diag em.init=kmeans++" \
            "em.covariance=full em.init=kmeans++ em.max_iter=30" "em.covariance=spherical em.init=truth"; do
  outs=()
  for n in 1 2 3; do
    mpi $n "$TGMM_BIN" em --data "$WORK/big.h5" --out "$WORK/em$n.h5" distribute=samples $args >"$WORK/log" 2>&1 || { fail "em $args on $n ranks"; cat "$WORK/log"; }
    outs+=("$WORK/em$n.h5")
  done
  if close 1e-10 "${outs[@]}"; then ok "em distribute=samples $args: 1/2/3 ranks agree"; else fail "em $args ranks differ"; fi
done
for n in 1 2 3; do
  mpi $n "$TGMM_BIN" lloyd --data "$WORK/big.h5" --out "$WORK/ll$n.h5" distribute=samples lloyd.init=kmeans++ >"$WORK/log" 2>&1 || fail "lloyd on $n ranks"
done
if close 1e-10 "$WORK/ll1.h5" "$WORK/ll2.h5" "$WORK/ll3.h5"; then ok "lloyd distribute=samples: 1/2/3 ranks agree"; else fail "lloyd ranks differ"; fi

mpi 1 "$TGMM_BIN" gen d=4 K=[2,3,4,5] N=200 tasks=17 seed=6 --out "$WORK/many.h5" >/dev/null 2>&1 || fail "gen many"
for cmd in "em em.init=kmeans++ em.covariance=diag" "lloyd" "spectral"; do
  mpi 1 "$TGMM_BIN" $cmd --data "$WORK/many.h5" --out "$WORK/t1.h5" >/dev/null 2>&1 || fail "$cmd 1 rank"
  mpi 3 "$TGMM_BIN" $cmd --data "$WORK/many.h5" --out "$WORK/t3.h5" >/dev/null 2>&1 || fail "$cmd 3 ranks"
  if close 0 "$WORK/t1.h5" "$WORK/t3.h5"; then ok "$cmd distribute=tasks: 1 and 3 ranks identical"; else fail "$cmd tasks 1 vs 3"; fi
done

# Missing and malformed input datasets.
/usr/bin/python3 - "$WORK/many.h5" "$WORK/nox.h5" "$WORK/badoff.h5" <<'PY'
import sys, h5py
src = h5py.File(sys.argv[1], "r")
with h5py.File(sys.argv[2], "w") as f:
    for n in src:
        if n != "x": f[n] = src[n][()]
with h5py.File(sys.argv[3], "w") as f:
    for n in src: f[n] = src[n][()]
    del f["offsets"]; f["offsets"] = src["offsets"][()][::-1]
PY
for case in "nox.h5:/x" "badoff.h5:/offsets"; do
  file=${case%%:*} name=${case#*:}
  rm -f "$WORK"/out.h5*
  mpi 2 "$TGMM_BIN" em --data "$WORK/$file" --out "$WORK/out.h5" >"$WORK/log" 2>&1
  rc=$?
  if [[ $rc == 2 ]] && grep -q -- "$name" "$WORK/log" && ! ls "$WORK"/out.h5* >/dev/null 2>&1; then
    ok "$file: names $name, exit 2, no output"
  else
    fail "$file: rc=$rc"; cat "$WORK/log"
  fi
done
rm -f "$WORK"/out.h5*
mpi 2 "$TGMM_BIN" em --data "$WORK/nox.h5" >"$WORK/log" 2>&1; [[ $? == 2 ]] && ok "em without --out: exit 2" || fail "em without --out"
finish
