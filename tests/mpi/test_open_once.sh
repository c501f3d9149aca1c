#!/usr/bin/env bash
# Rank 0 reads, then broadcasts: under `strace -ff -e trace=openat` (package strace), a 3-rank
# `train` resume and a 3-rank `eval` open the config file and the checkpoint in one process
# only (before, every rank opened both: on a thousand ranks, the metadata storm parallel file
# systems punish); so is the checkpoint the resumed run writes (rank 0 writes it alone). As a
# check that the ranks were traced at all, OpenBLAS's library is opened by 3 processes, and
# eval's results file (written collectively) too. Release build only (the sanitizer's
# leak checker does not work under ptrace): exits 77 (skipped) under ASan.
source "$(dirname "$0")/lib.sh"
[[ ${TGMM_SANITIZE:-0} == 1 ]] && { echo "skipped in the sanitizer build"; exit 77; }
command -v strace >/dev/null || { fail "strace missing (jobs/setup.sh --with-tests installs it)"; finish; }
cat >"$WORK/c.yaml" <<YAML
d: 3
K: [2, 3]
N: 16
model: {n_layer: 1, n_embd: 16, n_head: 2, n_task_embd: 8, n_positions: 32}
train: {batch_size: 2, run_dir: $WORK/run}
YAML
# processes whose trace shows an openat of a path ending in $2 (quoted, so exact)
openers() { grep -l -- "openat(.*/$2\"" "$1"/tr.* 2>/dev/null | wc -l; }
traced() { # dir, what, command...
  local dir="$1" what="$2"; shift 2
  mkdir -p "$dir"
  if timeout 300 strace -f -ff -e trace=openat -o "$dir/tr" mpirun --oversubscribe --bind-to none -np 3 \
       "$@" >"$dir.log" 2>&1; then ok "$what under strace"; else fail "$what under strace"; cat "$dir.log"; finish; fi
}
if ! mpi 3 "$TGMM_BIN" train "$WORK/c.yaml" train.steps=2 >"$WORK/t1.log" 2>&1; then
  fail "first 2 steps"; cat "$WORK/t1.log"; finish
fi
traced "$WORK/st_train" "3-rank train resume (steps 3-4)" "$TGMM_BIN" train "$WORK/c.yaml" train.steps=4
grep -q "resuming from .*ckpt_00000002.h5" "$WORK/st_train.log" && ok "resumed from step 2" || fail "did not resume"
n=$(openers "$WORK/st_train" c.yaml); [[ $n == 1 ]] && ok "train: config opened by $n process" || fail "train: config opened by $n processes"
n=$(openers "$WORK/st_train" ckpt_00000002.h5); [[ $n == 1 ]] && ok "train: checkpoint opened by $n process" || fail "train: checkpoint opened by $n processes"
n=$(openers "$WORK/st_train" ckpt_00000004.h5.tmp); [[ $n == 1 ]] && ok "train: new checkpoint written by $n process" || fail "train: new checkpoint opened by $n processes"
n=$(grep -l 'openat(.*libopenblas[^"]*"' "$WORK/st_train"/tr.* | wc -l); [[ $n == 3 ]] && ok "train: all 3 ranks traced (each opened OpenBLAS)" || fail "train: OpenBLAS opened by $n processes, not 3"

traced "$WORK/st_eval" "3-rank eval" "$TGMM_BIN" eval "$WORK/c.yaml" "eval.methods=[tgmm, em]" \
  eval.tasks_per_setting=6 eval.chunk=2 --checkpoint "$WORK/run" --out "$WORK/ev.h5"
n=$(openers "$WORK/st_eval" c.yaml); [[ $n == 1 ]] && ok "eval: config opened by $n process" || fail "eval: config opened by $n processes"
n=$(openers "$WORK/st_eval" ckpt_00000004.h5); [[ $n == 1 ]] && ok "eval: checkpoint opened by $n process" || fail "eval: checkpoint opened by $n processes"
n=$(openers "$WORK/st_eval" ev.h5.tmp); [[ $n == 3 ]] && ok "eval: all 3 ranks traced (results written collectively)" || fail "eval: results opened by $n processes, not 3"
finish
