#!/usr/bin/env bash
# tests/bench/paper_cost.sh — the compute cost of every experiment at paper and laptop scale, as
# README's "The papers, result by result" table gives it: runs, kept checkpoints and training
# PFLOP from `jobs/reproduce.sh EXP --dry-run [--scale laptop]` (the analytic FLOP count of
# `tgmm check --cost`; core-hours at the launcher's 60 GFLOP/s a core), and the measured laptop
# wall time of each training from tests/bench/findings/times.tsv (the findings runs).
# Usage: tests/bench/paper_cost.sh   (run from the repository; prints a Markdown table)
set -euo pipefail
cd "$(dirname "$0")/../.."
echo "# $(date -u +%FT%TZ) $(lscpu | sed -n 's/^Model name: *//p' | head -1)"
printf '| experiment | paper scale: runs, kept checkpoints, training | laptop scale: runs, training | laptop wall time, measured (sum of trainings) |\n|---|---|---|---|\n'
for exp in rq1_grid sample_shift mean_shift anisotropic backbone_mamba2 backbone_size \
           phase_transition he_misclustering loss_matching; do
  cost() { # scale-args... -> "R runs, G GB, P PFLOP (H core-hours)"
    bash jobs/reproduce.sh "$exp" "$@" --dry-run --runs "$(mktemp -d)" 2>&1 | awk '
      /run\(s\), each validated/ { for (i = 1; i <= NF; i++) if ($i ~ /^run\(s\)/) runs = $(i - 1) }
      /^# estimate:/ { for (i = 1; i <= NF; i++) { if ($i == "GB;") gb = $(i - 1);
                       if ($i == "PFLOP") pf = $(i - 1); if ($i == "core-hours") ch = $(i - 1) } }
      END { printf "%s runs, %s GB, %s PFLOP (%s core-hours)", runs, gb, pf, ch }'
  }
  paper=$(cost)
  laptop=$(cost --scale laptop | sed 's/, [0-9.]* GB//')
  wall=$(awk -F'\t' -v e="$exp" '$1 == e && $3 ~ /^rc=0/ { sub(/s$/, "", $4); s += $4; n++ }
    END { if (n) printf "%d training(s), %dm%02ds", n, s / 60, s % 60; else print "shared model" }' \
    tests/bench/findings/times.tsv)
  printf '| %s | %s | %s | %s |\n' "$exp" "$paper" "$laptop" "$wall"
done
