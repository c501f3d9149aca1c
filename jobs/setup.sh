#!/usr/bin/env bash
# jobs/setup.sh — install what tgmm needs (Debian 12 packages, only those missing) and build it
# into build/. Idempotent: a second run installs nothing and rebuilds only what changed.
#   jobs/setup.sh               build dependencies, then configure + build (Release)
#   jobs/setup.sh --with-tests  also the test dependencies (PyTorch, scikit-learn, SciPy,
#                               h5py, pandas, PyYAML, Slurm + munge for the one-node Slurm test)
#   jobs/setup.sh --no-build    packages only
#   jobs/setup.sh --tgmm-only   build only the tgmm binary (not the test programs)
# Environment: BUILD_DIR (default build), CMAKE_ARGS (extra configure arguments).
set -euo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"

build_pkgs=(build-essential cmake pkg-config git libopenmpi-dev openmpi-bin
  libscalapack-openmpi-dev libopenblas-dev liblapacke-dev libhdf5-openmpi-dev hdf5-tools
  librandom123-dev libyaml-dev libcmocka-dev gnuplot-nox)
test_pkgs=(python3 python3-numpy python3-scipy python3-sklearn python3-h5py python3-torch python3-pandas
  python3-yaml strace time
  slurmctld slurmd slurm-client munge)

with_tests=0 build=1 target=()
for arg in "$@"; do
  case "$arg" in
    --with-tests) with_tests=1 ;;
    --no-build) build=0 ;;
    --tgmm-only) target=(--target tgmm) ;;
    -h|--help) sed -n '2,10p' "$0"; exit 0 ;;
    *) echo "setup.sh: unknown argument '$arg' (try --help)" >&2; exit 2 ;;
  esac
done

pkgs=("${build_pkgs[@]}")
[[ $with_tests == 1 ]] && pkgs+=("${test_pkgs[@]}")

missing=()
for p in "${pkgs[@]}"; do
  if ! dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed"; then
    missing+=("$p")
  fi
done
if ((${#missing[@]})); then
  echo "setup: installing ${#missing[@]} missing package(s): ${missing[*]}"
  sudo=""
  [[ $(id -u) != 0 ]] && sudo="sudo"
  $sudo apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq --no-install-recommends "${missing[@]}"
else
  echo "setup: all ${#pkgs[@]} required packages are installed"
fi

if [[ $build == 1 ]]; then
  bdir="${BUILD_DIR:-$here/build}"
  # shellcheck disable=SC2086
  cmake -S "$here" -B "$bdir" -DCMAKE_BUILD_TYPE=Release -DTGMM_WERROR=ON ${CMAKE_ARGS:-} >/dev/null
  cmake --build "$bdir" -j"$(nproc)" "${target[@]}"
  echo "setup: built $bdir/tgmm"
fi
