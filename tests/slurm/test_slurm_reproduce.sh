#!/usr/bin/env bash
# One-node Slurm: jobs/reproduce.sh runs one tiny rq1 combination (--only d2_N32) through the job
# arrays: a train array -> an eval array (afterok) -> one merged report job (afterok); the
# report job writes the experiment's report (provenance, the papers' tables) and rows.csv.
source "$(dirname "$0")/../mpi/lib.sh"
source "$TGMM_SRC/tests/slurm/slurm_local.sh"
slurm_test_start
tiny=(model.n_layer=1 model.n_embd=8 model.n_head=2 model.n_task_embd=4 train.steps=2
      train.batch_size=2 train.checkpoint_every=0 train.eval_every=0 train.threads=1
      eval.tasks_per_setting=2 eval.chunk=2)
"$TGMM_SRC/jobs/reproduce.sh" rq1 --only d2_N32 --ntasks 2 --time 00:20:00 --runs "$WORK/runs" "${tiny[@]}" >sub.out 2>&1
rc=$?
if [[ $rc == 0 ]] && grep -q -- "--array=0-0" sub.out && grep -q "submitted rq1: train array" sub.out; then
  ok "submitted: train array -> eval array -> report"
else fail "reproduce.sh rc=$rc"; cat sub.out; finish; fi
rid=$(grep -- "jobs/tgmm.sbatch report" sub.out | sed 's/.*-> //')
# until the report job has ended (its state, not an empty squeue: a client call may fail under load)
[[ $rid =~ ^[0-9]+$ ]] || { fail "no report job id in: $(grep report sub.out)"; finish; }
for _ in $(seq 1200); do
  st=$(scontrol show job "$rid" -o 2>/dev/null | grep -o 'JobState=[A-Z_]*')
  [[ $st =~ COMPLETED|FAILED|CANCELLED|TIMEOUT|NODE_FAIL|OUT_OF_MEMORY ]] && break
  sleep 0.5
done
echo "report job $rid: $st"
r=runs/rq1
if [[ -s $r/d2_N32/eval.h5 && -s $r/report.md && -s $r/rows.csv ]]; then
  ok "the chain ran: checkpoint, eval.h5, merged report (job $rid)"
else fail "chain"; ls -R runs | head -30; for o in runs/rq1/*.out; do tail -n 5 "$o"; done; tail -n 5 slurm/slurmctld.log; finish; fi
grep -q "^## The papers' tables" $r/report.md && grep -q "^| N | K=2 tgmm | K=2 em |" $r/report.md &&
  grep -q "| 0 | $WORK/runs/rq1/d2_N32/eval.h5 | $WORK/runs/rq1/d2_N32/ckpt_00000002.h5 | 2 | 2 | 12 |" $r/report.md &&
  ok "report: provenance (checkpoint, step 2, 2 tasks, 12 settings: K x N = 32, 64, 128) and the papers' table" ||
  { fail "report content"; head -30 $r/report.md; }
/usr/bin/python3 -c "
import pandas as pd
r = pd.read_csv('$r/rows.csv')
assert sorted(r['N'].unique()) == [32, 64, 128] and sorted(r['K'].unique()) == [2, 3, 4, 5], r.head()
assert set(r['method']) == {'tgmm', 'em', 'em_kpp10', 'spectral', 'oracle'} and len(r) == 12 * 2 * 5
" && ok "rows.csv: every model evaluated at N = 32, 64, 128" || fail "rows.csv"
finish
