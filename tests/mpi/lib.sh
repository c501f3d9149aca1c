# tests/mpi/lib.sh — helpers sourced by the MPI/CLI test scripts (run from the build directory
# with TGMM_BIN, TGMM_SRC set by CTest).
set -uo pipefail
: "${TGMM_BIN:?run through ctest}" "${TGMM_SRC:?run through ctest}"
export OMPI_ALLOW_RUN_AS_ROOT=1 OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1
WORK=$(mktemp -d "${TMPDIR:-/tmp}/tgmm-test.XXXXXX")
trap 'rm -rf "$WORK"' EXIT
FAILS=0
# mpirun with n ranks, oversubscribed, quiet, with a hard timeout so a hang fails the test.
mpi() { local n="$1"; shift; timeout 300 mpirun --oversubscribe --bind-to none -np "$n" "$@"; }
ok() { echo "ok: $*"; }
fail() { echo "FAIL: $*"; FAILS=$((FAILS + 1)); }
# Compare every dataset of two HDF5 files value for value (attributes ignored).
same_datasets() { /usr/bin/python3 - "$1" "$2" <<'PY'
import sys, h5py, numpy as np
a, b = h5py.File(sys.argv[1], "r"), h5py.File(sys.argv[2], "r")
names = []
a.visit(lambda n: names.append(n) if isinstance(a[n], h5py.Dataset) else None)
namesb = []
b.visit(lambda n: namesb.append(n) if isinstance(b[n], h5py.Dataset) else None)
if sorted(names) != sorted(namesb):
    sys.exit(f"dataset lists differ: {sorted(names)} vs {sorted(namesb)}")
for n in names:
    x, y = a[n][()], b[n][()]
    if x.shape != y.shape or x.dtype != y.dtype or not np.array_equal(x, y):
        sys.exit(f"dataset {n} differs")
print(f"{len(names)} datasets identical")
PY
}
finish() { if ((FAILS)); then echo "$FAILS check(s) failed"; exit 1; fi; echo "all checks passed"; exit 0; }
