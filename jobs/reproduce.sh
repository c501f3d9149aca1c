#!/usr/bin/env bash
# jobs/reproduce.sh — reproduce the papers' experiments on Slurm, as job arrays:
#   one train array (jobs/array.sbatch train: checkpoints, requeues itself when preempted)
#   -> one eval array (afterok on the train array) -> one merged report job (afterok on the
#   eval array: `tgmm report --data RUN/eval.h5 ...`, the experiment's tables across its runs).
#
#   jobs/reproduce.sh EXPERIMENT [options] [key=value ...]      (options may stand anywhere)
# EXPERIMENT: rq1 | sample_shift | backbone_size | backbone_mamba2 | loss_matching |
#             he_misclustering (one run per depth model.n_layer = 1, 2, 4, 8, 12) | all | the
#             name of any configs/paper/NAME.yaml (one run: mean_shift, anisotropic,
#             phase_transition, ...)
# Options:
#   --dry-run          validate, print the combinations and the sbatch lines; create nothing
#   --only REGEX       only the combinations whose run name matches REGEX (e.g. d2_N32)
#   --ntasks N         ranks per train/eval job (16)      --time HH:MM:SS  limit per job (24:00:00)
#   --runs DIR         where the runs go (runs)
# Extra key=value arguments override the experiment's config (e.g. train.steps=100000).
# Every combination is validated with `tgmm check` before anything is submitted (exit 2 on the
# first invalid one, naming the key). Results: DIR/<experiment>/<run>/{ckpt_*.h5, train.log,
# metrics.h5, eval.h5}, DIR/<experiment>/{runs.tsv, report.*, rows.csv}.
set -euo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$here"
usage() { sed -n '2,21p' "$0" | sed 's/^# \{0,1\}//' >&2; exit 2; }
exp="" ntasks=16 time_limit=24:00:00 dry=0 only="" runs=runs extra=()
while (($#)); do
  case "$1" in
    --ntasks) ntasks="${2:?--ntasks needs a value}"; shift 2 ;;
    --time) time_limit="${2:?--time needs a value}"; shift 2 ;;
    --only) only="${2:?--only needs a value}"; shift 2 ;;
    --runs) runs="${2:?--runs needs a value}"; shift 2 ;;
    --dry-run) dry=1; shift ;;
    -h|--help) usage ;;
    --*) echo "reproduce.sh: unknown option '$1'" >&2; exit 2 ;;
    *=*) extra+=("$1"); shift ;;
    *) if [[ -z $exp ]]; then exp="$1"; shift
       else echo "reproduce.sh: a second experiment '$1' (one at a time, or 'all')" >&2; exit 2; fi ;;
  esac
done
[[ -n $exp ]] || usage
TGMM="${TGMM:-$here/build/tgmm}"
if [[ ! -x $TGMM ]]; then
  if ((dry)); then echo "reproduce.sh: $TGMM not built (run jobs/setup.sh first)" >&2; exit 2; fi
  jobs/setup.sh
fi

# The combinations: lines "EXPERIMENT<TAB>RUN<TAB>CONFIG<TAB>key=value<TAB>..."
p=configs/paper
combos=()
add() { # EXPERIMENT RUN CONFIG [key=value ...]
  local e="$1" r="$2"
  [[ -z $only || $r =~ $only ]] || return 0
  local line="$e"$'\t'"$r" a
  shift 2
  for a in "$@" "${extra[@]}"; do line+=$'\t'"$a"; done
  combos+=("$line")
}
experiment() {
  case "$1" in
    rq1) for d in 2 8 32 128; do for N in 32 64 128; do
           add rq1 "rq1/d${d}_N${N}" $p/rq1_grid.yaml d=$d N=$N; done; done ;;
    sample_shift) for N in 32 64; do
           add sample_shift "sample_shift/N$N" $p/sample_shift.yaml N=$N "eval.grid.N=[$N,128]"; done ;;
    backbone_size) for L in 3 6 12; do for C in 64 128 256; do
           add backbone_size "backbone_size/L${L}_C${C}" $p/backbone_size.yaml model.n_layer=$L model.n_embd=$C; done; done ;;
    backbone_mamba2) for b in mamba2 transformer; do
           add backbone_mamba2 "backbone_mamba2/$b" $p/backbone_mamba2.yaml model.backbone=$b; done ;;
    he_misclustering) for L in 1 2 4 8 12; do
           add he_misclustering "he_misclustering/L$L" $p/he_misclustering.yaml model.n_layer=$L; done ;;
    loss_matching) for m in canonical hungarian; do
           add loss_matching "loss_matching/$m" $p/loss_matching.yaml train.matching=$m; done ;;
    all) local f n
         for f in $p/*.yaml; do
           n=$(basename "$f" .yaml); [[ $n == rq1_grid ]] && n=rq1
           experiment "$n"
         done ;;
    *) if [[ -f $p/$1.yaml ]]; then add "$1" "$1" "$p/$1.yaml"
       else echo "reproduce.sh: unknown experiment '$1' (rq1, sample_shift, backbone_size, loss_matching, he_misclustering, all, or one of: $(ls $p | sed 's/\.yaml$//' | tr '\n' ' '))" >&2; exit 2; fi ;;
  esac
}
experiment "$exp"
((${#combos[@]})) || { echo "reproduce.sh: no combination of '$exp' matches --only '$only'" >&2; exit 2; }

# Validate every combination as train and eval will take it, before submitting anything.
echo "# $exp: ${#combos[@]} combination(s), each validated with tgmm check"
i=0
for line in "${combos[@]}"; do
  IFS=$'\t' read -r -a f <<<"$line"
  if ! msg=$("$TGMM" check "${f[@]:2}" train.run_dir="$runs/${f[1]}" 2>&1 >/dev/null); then
    echo "$msg" >&2
    echo "reproduce.sh: combination $i (${f[1]}) is not valid: nothing submitted" >&2; exit 2
  fi
  echo "#   $i ${f[1]}: ${f[*]:2}"
  i=$((i + 1))
done

# One experiment at a time: a train array, an eval array, a merged report.
submit_experiment() { # EXPERIMENT: the combinations of that experiment
  local e="$1" list="$runs/$1/runs.tsv" n=0 line sel=()
  for line in "${combos[@]}"; do [[ ${line%%$'\t'*} == "$e" ]] && sel+=("$line"); done
  n=${#sel[@]}
  ((n)) || return 0
  local arr="--array=0-$((n - 1))" tid eid rid data=()
  for line in "${sel[@]}"; do
    IFS=$'\t' read -r -a f <<<"$line"; data+=(--data "$runs/${f[1]}/eval.h5")
  done
  local tl=(sbatch --parsable --job-name="train-$e" "$arr" --ntasks="$ntasks" --time="$time_limit"
            --output="$runs/$e/train-%A_%a.out" jobs/array.sbatch train "$list")
  local el=(sbatch --parsable --job-name="eval-$e" "$arr" --ntasks="$ntasks" --time="$time_limit"
            --dependency=afterok:TRAIN --output="$runs/$e/eval-%A_%a.out" jobs/array.sbatch eval "$list")
  local rl=(sbatch --parsable --job-name="report-$e" --ntasks=1 --dependency=afterok:EVAL
            --output="$runs/$e/report-%j.out" jobs/tgmm.sbatch report "${data[@]}"
            --out "$runs/$e/report" --rows "$runs/$e/rows.csv")
  if ((dry)); then
    echo "${tl[*]}"; echo "${el[*]}"; echo "${rl[*]}"
    return 0
  fi
  mkdir -p "$runs/$e"
  printf '%s\n' "${sel[@]}" | while IFS=$'\t' read -r -a f; do
    mkdir -p "$runs/${f[1]}"; printf '%s\t' "${f[@]:1}"; printf 'train.run_dir=%s\n' "$runs/${f[1]}"
  done >"$list"
  tid=$("${tl[@]}")
  el=("${el[@]/afterok:TRAIN/afterok:$tid}"); eid=$("${el[@]}")
  rl=("${rl[@]/afterok:EVAL/afterok:$eid}"); rid=$("${rl[@]}")
  echo "${tl[*]}  -> $tid"; echo "${el[*]}  -> $eid"; echo "${rl[*]}  -> $rid"
  echo "submitted $e: train array $tid ($n runs) -> eval array $eid -> report $rid ($runs/$e/report.md)"
}
done_exps=" "
for line in "${combos[@]}"; do
  e=${line%%$'\t'*}
  [[ $done_exps == *" $e "* ]] && continue
  done_exps+="$e "
  submit_experiment "$e"
done
