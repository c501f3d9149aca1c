#!/usr/bin/env bash
# jobs/reproduce.sh — submit the Slurm chains that reproduce the papers' experiments:
# for every training run, train (jobs/train.sbatch: checkpoints, requeues itself when
# preempted) -> eval (jobs/tgmm.sbatch eval, after the training job succeeded) -> report.
#   jobs/reproduce.sh EXPERIMENT [--ntasks N] [--time HH:MM:SS] [--dry-run] [key=value ...]
# EXPERIMENT: rq1 | sample_shift | mean_shift | anisotropic | phase_transition | backbone_size |
#             backbone_mamba2 | he_misclustering | loss_matching | all
# Extra key=value arguments override the experiment's config (e.g. train.steps=100000).
# Results: runs/<experiment>/<run>/{ckpt_*.h5, train.log, metrics.h5, eval.h5, report.*}
set -euo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$here"
exp="${1:-}"; shift || true
ntasks=16 time_limit=24:00:00 dry=0 extra=()
while (($#)); do
  case "$1" in
    --ntasks) ntasks="$2"; shift 2 ;;
    --time) time_limit="$2"; shift 2 ;;
    --dry-run) dry=1; shift ;;
    *=*) extra+=("$1"); shift ;;
    *) echo "reproduce.sh: unknown argument '$1'" >&2; exit 2 ;;
  esac
done

submit() { # prints the job id
  if ((dry)); then echo "sbatch $*" >&2; echo "DRY$RANDOM"; else sbatch --parsable "$@"; fi
}

# One chain: NAME CONFIG [key=value ...]
chain() {
  local name="$1" cfg="$2"; shift 2
  local dir="runs/$name"
  mkdir -p "$dir"
  local args=("$cfg" "$@" "${extra[@]}" train.run_dir="$dir")
  local tid eid
  tid=$(submit --job-name="train-$name" --ntasks="$ntasks" --time="$time_limit" \
    --output="$dir/train-%j.out" jobs/train.sbatch "${args[@]}")
  eid=$(submit --job-name="eval-$name" --ntasks="$ntasks" --time="$time_limit" \
    --dependency=afterok:"$tid" --output="$dir/eval-%j.out" \
    jobs/tgmm.sbatch eval "${args[@]}" --checkpoint "$dir" --out "$dir/eval.h5")
  submit --job-name="report-$name" --ntasks=1 --dependency=afterok:"$eid" \
    --output="$dir/report-%j.out" jobs/tgmm.sbatch report --data "$dir/eval.h5" --out "$dir/report" >/dev/null
  echo "submitted $name: train $tid -> eval $eid -> report ($dir)"
}

p=configs/paper
run_exp() {
  case "$1" in
    rq1) for d in 2 8 32 128; do for N in 32 64 128; do
           chain "rq1/d${d}_N${N}" $p/rq1_grid.yaml d=$d N=$N; done; done ;;
    sample_shift) for N in 32 64; do chain "sample_shift/N$N" $p/sample_shift.yaml N=$N "eval.grid.N=[$N,128]"; done ;;
    mean_shift) chain mean_shift $p/mean_shift.yaml ;;
    anisotropic) chain anisotropic $p/anisotropic.yaml ;;
    phase_transition) chain phase_transition $p/phase_transition.yaml ;;
    backbone_size) for L in 3 6 12; do for C in 64 128 256; do
           chain "backbone_size/L${L}_C${C}" $p/backbone_size.yaml model.n_layer=$L model.n_embd=$C; done; done ;;
    backbone_mamba2) for b in mamba2 transformer; do
           chain "backbone_mamba2/$b" $p/backbone_mamba2.yaml model.backbone=$b; done ;;
    he_misclustering) chain he_misclustering $p/he_misclustering.yaml ;;
    loss_matching) for m in canonical hungarian; do
           chain "loss_matching/$m" $p/loss_matching.yaml train.matching=$m; done ;;
    all) for e in rq1 sample_shift mean_shift anisotropic phase_transition backbone_size backbone_mamba2 he_misclustering loss_matching; do run_exp $e; done ;;
    *) sed -n '2,10p' "$0" >&2; exit 2 ;;
  esac
}
[[ -x build/tgmm ]] || jobs/setup.sh
run_exp "$exp"
