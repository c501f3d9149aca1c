#!/usr/bin/env bash
# jobs/reproduce.sh — reproduce the papers' experiments: train -> eval -> a merged report per
# experiment, on Slurm (job arrays; the default) or on this machine (--local).
set -uo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
caller="$(pwd)"

usage() {
  cat <<'EOF'
usage: jobs/reproduce.sh EXPERIMENT [options] [key=value ...]     (options may stand anywhere)

EXPERIMENT
  NAME        configs/paper/NAME.yaml (rq1 = rq1_grid, sample_shift, mean_shift, anisotropic,
              backbone_mamba2, backbone_size, phase_transition, he_misclustering, loss_matching)
  findings    every experiment of the README's findings table (F1-F10)
  all         every configs/paper/*.yaml
  FILE.yaml   your own config; its `sweep:` block (if any) gives the runs
An experiment's runs come from its config's `sweep:` block, expanded by `tgmm check --sweep`
(one run when there is none). The combinations are printed and validated before any work.

options
  --local          run here, without Slurm: runs of an experiment --jobs at a time, each run
                   train -> eval, then the experiment's merged report. Resumable: a rerun skips
                   complete runs, resumes trainings from their newest checkpoint and redoes an
                   eval older than its checkpoint. SIGINT/SIGTERM checkpoints and stops.
  --jobs J         (--local) runs at a time (1). Keep J x ranks x train.threads <= cores.
  --ranks R        (--local) MPI ranks per run (1)
  --scale S        paper (default: the authors' settings) | laptop (configs/laptop/NAME.yaml
                   applied on top of configs/paper/NAME.yaml: what changes, readable there)
  --runs DIR       where runs go (runs): DIR/EXPERIMENT/RUN/{ckpt_*.h5, train.log, metrics.h5,
                   eval.h5}, DIR/EXPERIMENT/{report.*, rows.csv}
  --only REGEX     only the runs whose EXPERIMENT/RUN name matches
  --dry-run        print the plan (runs, commands; with --scale paper the estimated checkpoint
                   disk use and core-hours); create nothing; needs no Slurm
  --ntasks N       (Slurm) ranks per train/eval job (16)
  --time HH:MM:SS  (Slurm) limit per job (24:00:00)
  -h, --help       this text
key=value arguments override every run's config (e.g. train.steps=100000).
Without --local, sbatch and a Slurm controller (sinfo) must answer, else exit 2.
Environment: TGMM (the binary; default build/tgmm), MPIRUN_ARGS (extra mpirun options, --local).
EOF
}

die() { echo "reproduce.sh: $*" >&2; exit 2; }
exp="" ntasks=16 time_limit=24:00:00 dry=0 only="" runs=runs extra=() local=0 jobs=1 ranks=1 scale=paper
need() { [[ $# -ge 2 && -n $2 ]] || die "$1 needs a value"; }
while (($#)); do
  case "$1" in
    --ntasks) need "$@"; ntasks="$2"; shift 2 ;;
    --time) need "$@"; time_limit="$2"; shift 2 ;;
    --only) need "$@"; only="$2"; shift 2 ;;
    --runs) need "$@"; runs="$2"; shift 2 ;;
    --jobs) need "$@"; jobs="$2"; shift 2 ;;
    --ranks) need "$@"; ranks="$2"; shift 2 ;;
    --scale) need "$@"; scale="$2"; shift 2 ;;
    --local) local=1; shift ;;
    --dry-run) dry=1; shift ;;
    -h|--help) usage; exit 0 ;;
    --*) die "unknown option '$1' (see --help)" ;;
    *=*) extra+=("$1"); shift ;;
    *) [[ -z $exp ]] || die "a second experiment '$1' (one at a time, or 'all' / 'findings')"
       exp="$1"; shift ;;
  esac
done
[[ -n $exp ]] || { usage >&2; exit 2; }
# Paths the user gives are relative to where the command was typed; the script works from the
# repository (configs/, jobs/: Slurm's submit directory).
[[ $runs == /* ]] || runs="$caller/$runs"
[[ ($exp == *.yaml || $exp == */*) && $exp != /* ]] && exp="$caller/$exp"
cd "$here" || exit 2
[[ $jobs =~ ^[1-9][0-9]*$ ]] || die "--jobs must be a positive integer, got '$jobs'"
[[ $ranks =~ ^[1-9][0-9]*$ ]] || die "--ranks must be a positive integer, got '$ranks'"
[[ $ntasks =~ ^[1-9][0-9]*$ ]] || die "--ntasks must be a positive integer, got '$ntasks'"
[[ $scale == paper || $scale == laptop ]] || die "--scale must be paper or laptop, got '$scale'"
TGMM="${TGMM:-$here/build/tgmm}"
if [[ ! -x $TGMM ]]; then
  ((dry)) && die "$TGMM not built (run jobs/setup.sh first)"
  jobs/setup.sh >&2 || die "jobs/setup.sh failed"
fi

# ---- the experiments: NAME -> config files ------------------------------------------------------
p=configs/paper
FINDINGS="rq1 sample_shift mean_shift anisotropic backbone_mamba2 backbone_size phase_transition he_misclustering loss_matching"
exp_names=()
case "$exp" in
  all) for f in $p/*.yaml; do n=$(basename "$f" .yaml); [[ $n == rq1_grid ]] && n=rq1; exp_names+=("$n"); done ;;
  findings) read -r -a exp_names <<<"$FINDINGS" ;;
  *) exp_names=("$exp") ;;
esac
configs_of() { # NAME -> cf=(the config files)
  local n="$1" base
  cf=()
  if [[ $n == *.yaml || $n == */* ]]; then
    [[ -f $n ]] || die "no config file '$n'"
    cf=("$n"); return
  fi
  base=$n; [[ $n == rq1 ]] && base=rq1_grid
  [[ -f $p/$base.yaml ]] ||
    die "unknown experiment '$n' (all, findings, a FILE.yaml, or one of: rq1 $(ls $p | sed 's/\.yaml$//' | grep -v '^rq1_grid$' | tr '\n' ' '))"
  cf=("$p/$base.yaml")
  if [[ $scale == laptop ]]; then
    [[ -f configs/laptop/$base.yaml ]] || die "experiment '$n' has no laptop scale (configs/laptop/$base.yaml)"
    cf+=("configs/laptop/$base.yaml")
  fi
}
exp_label() { local n="$1"; [[ $n == *.yaml || $n == */* ]] && n=$(basename "$n" .yaml); echo "$n"; }

# ---- the runs: lines EXPERIMENT<TAB>RUN<TAB>n_configs<TAB>config...<TAB>key=value... ---------------
combos=()
for n in "${exp_names[@]}"; do
  configs_of "$n"
  label=$(exp_label "$n")
  out=$("$TGMM" check "${cf[@]}" --sweep "${extra[@]}" 2>/dev/null) ||
    { "$TGMM" check "${cf[@]}" --sweep "${extra[@]}" >/dev/null; die "$label: the sweep is not valid: nothing run"; }
  while IFS= read -r line; do
    [[ -z $line || $line == \#* ]] && continue
    IFS=$'\t' read -r -a f <<<"$line"
    [[ -z $only || $label/${f[0]} =~ $only ]] || continue
    row="$label"$'\t'"${f[0]}"$'\t'"${#cf[@]}"
    for a in "${cf[@]}" "${f[@]:1}" "${extra[@]}"; do row+=$'\t'"$a"; done
    combos+=("$row")
  done <<<"$out"
done
((${#combos[@]})) || die "no run of '$exp' matches --only '$only'"

# Split a combination line into globals: E R CFGS OV DIR
split_combo() {
  IFS=$'\t' read -r -a f <<<"$1"
  E=${f[0]} R=${f[1]}
  local nc=${f[2]}
  CFGS=("${f[@]:3:nc}") OV=("${f[@]:3+nc}")
  DIR="$runs/$E/$R"
}

# Validate every run as train and eval will take it, before any work.
echo "# $exp ($scale scale): ${#combos[@]} run(s), each validated with tgmm check"
i=0 total_bytes=0 total_flop=0
for line in "${combos[@]}"; do
  split_combo "$line"
  if ! msg=$("$TGMM" check "${CFGS[@]}" "${OV[@]}" train.run_dir="$DIR" --cost 2>&1); then
    echo "$msg" >&2; die "run $i ($E/$R) is not valid: nothing run"
  fi
  cost=$(grep '^cost:' <<<"$msg")
  echo "#   $i $E/$R: ${OV[*]}${cost:+   [${cost#cost: }]}"
  b=$(sed -n 's/.*disk_bytes=\([0-9]*\).*/\1/p' <<<"$cost"); f=$(sed -n 's/.*train_flop=\([0-9.e+]*\).*/\1/p' <<<"$cost")
  [[ -n $b ]] && total_bytes=$((total_bytes + b))
  [[ -n $f ]] && total_flop=$(awk -v a="$total_flop" -v b="$f" 'BEGIN{printf "%.6g", a + b}')
  i=$((i + 1))
done
if ((dry)); then
  awk -v b="$total_bytes" -v f="$total_flop" 'BEGIN{
    printf "# estimate: checkpoints kept on disk %.2f GB; training %.3g PFLOP = %.1f core-hours at 60 GFLOP/s a core\n",
           b / 1e9, f / 1e15, f / 60e9 / 3600 }'
fi

if ((!local && !dry)); then
  command -v sbatch >/dev/null && sinfo >/dev/null 2>&1 ||
    die "no Slurm here (sbatch missing or no controller answers sinfo): run on this machine with --local"
fi

# ---- Slurm: one train array -> one eval array -> one merged report per experiment ----------------
submit_experiment() { # EXPERIMENT
  local e="$1" list="$runs/$1/runs.tsv" line sel=() data=() tid eid rid
  for line in "${combos[@]}"; do [[ ${line%%$'\t'*} == "$e" ]] && sel+=("$line"); done
  local n=${#sel[@]}
  ((n)) || return 0
  for line in "${sel[@]}"; do split_combo "$line"; data+=(--data "$DIR/eval.h5"); done
  local arr="--array=0-$((n - 1))"
  local tl=(sbatch --parsable --job-name="train-$e" "$arr" --ntasks="$ntasks" --time="$time_limit"
            --output="$runs/$e/train-%A_%a.out" jobs/array.sbatch train "$list")
  local el=(sbatch --parsable --job-name="eval-$e" "$arr" --ntasks="$ntasks" --time="$time_limit"
            --dependency=afterok:TRAIN --output="$runs/$e/eval-%A_%a.out" jobs/array.sbatch eval "$list")
  local rl=(sbatch --parsable --job-name="report-$e" --ntasks=1 --dependency=afterok:EVAL
            --output="$runs/$e/report-%j.out" jobs/tgmm.sbatch report "${data[@]}"
            --out "$runs/$e/report" --rows "$runs/$e/rows.csv")
  if ((dry)); then echo "${tl[*]}"; echo "${el[*]}"; echo "${rl[*]}"; return 0; fi
  mkdir -p "$runs/$e" || exit 74
  for line in "${sel[@]}"; do
    split_combo "$line"; mkdir -p "$DIR"
    printf '%s' "$R"; printf '\t%s' "${CFGS[@]}" "${OV[@]}"; printf '\ttrain.run_dir=%s\n' "$DIR"
  done >"$list"
  tid=$("${tl[@]}") || die "sbatch failed"
  el=("${el[@]/afterok:TRAIN/afterok:$tid}"); eid=$("${el[@]}") || die "sbatch failed"
  rl=("${rl[@]/afterok:EVAL/afterok:$eid}"); rid=$("${rl[@]}") || die "sbatch failed"
  echo "${tl[*]}  -> $tid"; echo "${el[*]}  -> $eid"; echo "${rl[*]}  -> $rid"
  echo "submitted $e: train array $tid ($n runs) -> eval array $eid -> report $rid ($runs/$e/report.md)"
}

# ---- local: J runs at a time, each train -> eval; then the experiment's report ------------------
run_tgmm() { # ARGS... : tgmm under mpirun when more than one rank
  if ((ranks == 1)); then "$TGMM" "$@"
  else mpirun --oversubscribe --bind-to none ${MPIRUN_ARGS:-} -np "$ranks" "$TGMM" "$@"; fi
}
newest_ckpt() { # DIR -> path of the newest complete checkpoint (by step, any width), or nothing
  local c; c=$(ls "$1" 2>/dev/null | sed -n 's/^ckpt_0*\([0-9][0-9]*\)\.h5$/\1 &/p' | sort -n | tail -1)
  [[ -n $c ]] && echo "$1/${c#* }"
}
cost_of() { # CONFIG... key=value... -> "identity steps" of the run
  "$TGMM" check "$@" --cost 2>/dev/null |
    sed -n 's/^identity: \(.*\)/\1/p; s/^cost: .*steps=\([0-9]*\) .*/\1/p' | tr '\n' ' '
}
share_from() { # IDENTITY STEPS: a complete run of the same identity under --runs, or nothing
  local f d c s
  for f in "$runs"/*/*/.identity; do
    [[ -f $f && $(cat "$f") == "$1" ]] || continue
    d=$(dirname "$f"); c=$(newest_ckpt "$d"); s=$(basename "${c:-x}" .h5 | sed 's/^ckpt_0*//')
    [[ -n $c && ${s:-0} -ge $2 ]] && { echo "$d"; return; }
  done
}
status() { echo "[$(date +%H:%M:%S)] $*"; }
local_run() { # combination line: train (unless complete) -> eval (unless up to date)
  split_combo "$1"
  local steps ck step rc t0 id src
  mkdir -p "$DIR" || return 74
  read -r id steps <<<"$(cost_of "${CFGS[@]}" "${OV[@]}" train.run_dir="$DIR")"
  ck=$(newest_ckpt "$DIR")
  step=$( [[ -n $ck ]] && basename "$ck" .h5 | sed 's/^ckpt_0*//')
  src=""
  [[ -z $ck && -n $id ]] && src=$(share_from "$id" "${steps:-1}")
  if [[ -n $src && $src != "$DIR" ]]; then
    # Same identity (every key that shapes training equal): the model is the same; link it.
    c=$(newest_ckpt "$src")
    ln -f "$c" "$DIR/" && for x in metrics.h5 train.log config.yaml; do
      [[ -f $src/$x ]] && ln -f "$src/$x" "$DIR/$x"; done
    echo "$id" >"$DIR/.identity"
    echo "# training shared with $src (identity $id): $(basename "$c")" >>"$DIR/train.out"
    status "$E/$R: training shared with ${src#"$runs"/} (the same training config)"
    ck=$(newest_ckpt "$DIR")
  elif [[ -n $ck && ${step:-0} -ge ${steps:-1} ]]; then
    local stored=""
    [[ -f $DIR/config.yaml ]] && read -r stored _ <<<"$(cost_of "$DIR/config.yaml")"
    if [[ -n $stored && -n $id && $stored != "$id" ]]; then
      status "$E/$R: $DIR holds a run trained with another config (identity $stored, this run's $id): move it away"
      return 2
    fi
    [[ -n $id ]] && echo "$id" >"$DIR/.identity"
    status "$E/$R: training complete (step $step), skipped"
  else
    status "$E/$R: train${ck:+ (resuming from step ${step:-0})}"
    t0=$(date +%s)
    run_tgmm train "${CFGS[@]}" "${OV[@]}" train.run_dir="$DIR" >>"$DIR/train.out" 2>&1 &
    local pid=$!
    echo "$pid" >"$DIR/.pid"
    trap 'kill -TERM $pid 2>/dev/null' TERM
    wait "$pid"; rc=$?
    while kill -0 "$pid" 2>/dev/null; do wait "$pid"; rc=$?; done
    rm -f "$DIR/.pid"
    echo -e "$E/$R\ttrain\t$(( $(date +%s) - t0 ))s\tload $(cut -d' ' -f1-3 /proc/loadavg)\trc=$rc" >>"$runs/times.tsv"
    if ((rc == 75)); then status "$E/$R: checkpointed and stopped (rerun to resume)"; return 75; fi
    if ((rc)); then status "$E/$R: train failed (exit $rc; see $DIR/train.out)"; return "$rc"; fi
    [[ -n $id ]] && echo "$id" >"$DIR/.identity"
    ck=$(newest_ckpt "$DIR")
  fi
  [[ -n $ck ]] || { status "$E/$R: no checkpoint in $DIR"; return 1; }
  if [[ -s $DIR/eval.h5 && $DIR/eval.h5 -nt $ck ]]; then
    status "$E/$R: eval up to date, skipped"; return 0
  fi
  status "$E/$R: eval of $(basename "$ck")"
  t0=$(date +%s)
  run_tgmm eval "${CFGS[@]}" "${OV[@]}" train.run_dir="$DIR" --checkpoint "$DIR" --out "$DIR/eval.h5" \
    >"$DIR/eval.out" 2>&1; rc=$?
  echo -e "$E/$R\teval\t$(( $(date +%s) - t0 ))s\tload $(cut -d' ' -f1-3 /proc/loadavg)\trc=$rc" >>"$runs/times.tsv"
  ((rc)) && status "$E/$R: eval failed (exit $rc; see $DIR/eval.out)"
  return "$rc"
}
progress() { # one line per training in flight: run, step/steps, ETA (from its own progress line)
  local d
  for d in "$@"; do
    [[ -f $d/.pid ]] || continue
    local l; l=$(tail -c 2000 "$d/train.out" 2>/dev/null | tr '\r' '\n' | grep '^step ' | tail -1)
    [[ -n $l ]] && status "${d#"$runs"/}: $(sed 's/  loss.*ETA/ ETA/; s/  loss.*//' <<<"$l")"
  done
}
stopping=0
on_signal() {
  stopping=1
  echo "reproduce.sh: stopping: trainings checkpoint, nothing else starts (rerun to resume)" >&2
  local f; for f in "$runs"/*/*/.pid; do [[ -f $f ]] && kill -TERM "$(cat "$f")" 2>/dev/null; done
}
local_experiment() { # EXPERIMENT
  local e="$1" line sel=() dirs=() data=() failed=0 pids=()
  for line in "${combos[@]}"; do [[ ${line%%$'\t'*} == "$e" ]] && sel+=("$line"); done
  ((${#sel[@]})) || return 0
  mkdir -p "$runs/$e" || exit 74
  for line in "${sel[@]}"; do split_combo "$line"; dirs+=("$DIR"); data+=(--data "$DIR/eval.h5"); done
  local next=0 last=0 q rc alive
  while ((next < ${#sel[@]} || ${#pids[@]})); do
    while ((!stopping && next < ${#sel[@]} && ${#pids[@]} < jobs)); do
      local_run "${sel[next]}" & pids+=($!); next=$((next + 1))
    done
    ((stopping)) && next=${#sel[@]}
    sleep 1
    alive=()
    for q in "${pids[@]}"; do
      if kill -0 "$q" 2>/dev/null; then alive+=("$q")
      else wait "$q"; rc=$?; ((rc && rc != 75)) && failed=$((failed + 1)); fi
    done
    pids=("${alive[@]}")
    if (( $(date +%s) - last >= 60 )); then progress "${dirs[@]}"; last=$(date +%s); fi
  done
  ((stopping)) && exit 75
  ((failed)) && { echo "reproduce.sh: $e: $failed run(s) failed; no report" >&2; return 1; }
  status "$e: merged report -> $runs/$e/report.md"
  "$TGMM" report "${data[@]}" --out "$runs/$e/report" --rows "$runs/$e/rows.csv" >"$runs/$e/report.out" 2>&1 ||
    { echo "reproduce.sh: $e: report failed (see $runs/$e/report.out)" >&2; return 1; }
}

done_exps=" " status_all=0
if ((local && !dry)); then trap on_signal INT TERM; fi
for line in "${combos[@]}"; do
  e=${line%%$'\t'*}
  [[ $done_exps == *" $e "* ]] && continue
  done_exps+="$e "
  if ((local)); then
    if ((dry)); then
      for l in "${combos[@]}"; do
        [[ ${l%%$'\t'*} == "$e" ]] || continue
        split_combo "$l"
        echo "tgmm train ${CFGS[*]} ${OV[*]} train.run_dir=$DIR  ->  tgmm eval ... --checkpoint $DIR --out $DIR/eval.h5"
      done
      echo "tgmm report --data $runs/$e/*/eval.h5 --out $runs/$e/report --rows $runs/$e/rows.csv"
    else
      local_experiment "$e" || status_all=1
    fi
  else
    submit_experiment "$e"
  fi
done
exit "$status_all"
