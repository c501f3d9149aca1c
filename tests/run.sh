#!/usr/bin/env bash
# tests/run.sh — the one test command: install what is missing, build (Release and
# ASan+UBSan), run every test (unit, MPI, reference, Slurm) in both builds, and end with one line
# "N passed, N failed". Exit status non-zero on any failure. Benchmarks (tests/bench) are not run.
#   TGMM_TEST_FILTER=regex  run only the matching tests (ctest -R)
#   TGMM_SKIP_ASAN=1        skip the sanitizer build (quick local iteration)
set -uo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$here"
export OMPI_ALLOW_RUN_AS_ROOT=1 OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1

if ! jobs/setup.sh --with-tests; then
  echo "setup failed"
  echo "0 passed, 1 failed"
  exit 1
fi

passed=0 failed=0
run_ctest() { # build_dir label_args...
  local bdir="$1"; shift
  local log="$bdir/ctest.log"
  local filter=()
  [[ -n ${TGMM_TEST_FILTER:-} ]] && filter=(-R "$TGMM_TEST_FILTER")
  ctest --test-dir "$bdir" -j2 --output-on-failure "${filter[@]}" "$@" 2>&1 | tee "$log"
  local total nfail
  total=$(sed -n 's/.*tests failed out of \([0-9]*\).*/\1/p' "$log" | tail -1)
  nfail=$(sed -n 's/.*, \([0-9]*\) tests failed out of.*/\1/p' "$log" | tail -1)
  if [[ -z $total ]]; then
    if grep -q "No tests were found" "$log"; then return; fi
    failed=$((failed + 1)); return
  fi
  passed=$((passed + total - nfail))
  failed=$((failed + nfail))
}

t0=$(date +%s)
run_ctest build
echo "== sanitizer build (ASan + UBSan) =="
if [[ ${TGMM_SKIP_ASAN:-0} != 1 ]]; then
  if cmake -S . -B build-asan -DCMAKE_BUILD_TYPE=RelWithDebInfo -DTGMM_SANITIZE=ON -DTGMM_WERROR=ON >/dev/null &&
     cmake --build build-asan -j"$(nproc)"; then
    run_ctest build-asan -LE slurm
  else
    echo "sanitizer build failed"; failed=$((failed + 1))
  fi
fi
echo "tests took $(( $(date +%s) - t0 )) s"
echo "$passed passed, $failed failed"
[[ $failed == 0 ]]
