#!/usr/bin/env bash
# One-node Slurm: jobs/train.sbatch with 2 ranks; `scancel --signal=USR1 --batch` (what
# `--signal=B:USR1@120` does before the time limit) makes the ranks checkpoint and exit 75; the
# job script requeues the job; the requeued job resumes from the checkpoint and finishes. Between
# the two runs the job's config file has its evaluation and baseline keys edited (what a user does
# while trainings are queued): the requeued run re-reads it and still resumes.
source "$(dirname "$0")/../mpi/lib.sh"
source "$TGMM_SRC/tests/slurm/slurm_local.sh"
slurm_test_start
STEPS=20000
printf 'eval:\n  tasks_per_setting: 16\nem:\n  restarts: 1\n' >"$WORK/cfg.yaml"
job=$(sbatch --parsable --ntasks=2 --open-mode=append -o "$WORK/train.out" "$TGMM_SRC/jobs/train.sbatch" \
  "$WORK/cfg.yaml" model.n_embd=32 model.n_layer=2 model.n_head=2 model.n_positions=64 N=32 d=4 K=[2,3] \
  train.batch_size=6 train.threads=1 train.steps=$STEPS train.checkpoint_every=0 \
  train.run_dir="$WORK/run")
[[ -n $job ]] && ok "submitted job $job" || { fail "sbatch failed"; finish; }
for _ in $(seq 600); do grep -q "^step 5 " "$WORK/run/train.log" 2>/dev/null && break; sleep 0.2; done
if grep -q "^step 5 " "$WORK/run/train.log" 2>/dev/null; then
  t_sig=$(date +%s)
  printf 'eval:\n  tasks_per_setting: 9\n  grid: {N: [16, 32]}\nem:\n  restarts: 4\nreport:\n  error_bars: ci95\n' >"$WORK/cfg.yaml"
  scancel --signal=USR1 --batch "$job" && ok "sent SIGUSR1 to the batch script"
else fail "training did not start"; cat "$WORK/train.out"; finish; fi
# Slurm delays a requeued job's start (BeginTime, about 2 minutes); a test need not wait: move
# the begin time to now until the job runs again (an update during the requeue's clean-up can be
# overridden, so repeat it).
for _ in $(seq 300); do grep -q "requeueing job" "$WORK/train.out" && break; sleep 0.2; done
# The new start must come at least a second after the old allocation's credential was revoked
# (slurmd compares whole-second timestamps and kills a job launched in the same second: "Job
# credential revoked"): start it 3 s from now.
for _ in $(seq 60); do
  st=$(squeue -h -j "$job" -o "%T %r" 2>/dev/null)
  [[ $st == "PENDING BeginTime" ]] && scontrol update JobId="$job" StartTime=now+3 2>/dev/null
  [[ $st == RUNNING* || -z $st ]] && break
  sleep 1
done
final="$WORK/run/ckpt_$(printf %08d $STEPS).h5"
# until the job has left the queue (finished, or failed: then the checks below say so)
for _ in $(seq 2400); do squeue -h -j "$job" 2>/dev/null | grep -q . || break; sleep 0.2; done
ckpts=$(ls "$WORK/run" | grep -c '^ckpt_.*\.h5$')
if grep -q "requeueing job $job" "$WORK/train.out" && grep -q "restart 1" "$WORK/train.out"; then
  ok "exit 75 -> job requeued and restarted"
else fail "no requeue"; cat "$WORK/train.out"; fi
if [[ -e $final && $ckpts == 2 ]] && grep -q "resuming from" "$WORK/train.out" &&
   grep -q "^# resumed run" "$WORK/run/train.log"; then
  ok "after $(( $(date +%s) - t_sig )) s: requeued job resumed from $(ls "$WORK/run" | grep '^ckpt_' | head -1) and finished at step $STEPS"
else fail "resume after requeue"; ls "$WORK/run"; tail -20 "$WORK/train.out"; tail -20 "$WORK/slurm/slurmctld.log"; fi
if grep -q "^  tasks_per_setting: 9$" "$WORK/run/config.yaml" && grep -q "^  restarts: 4$" "$WORK/run/config.yaml"; then
  ok "the requeued run read the edited eval/em keys and resumed all the same"
else fail "edited config not in the requeued run"; grep -n "tasks_per_setting\|restarts" "$WORK/run/config.yaml"; fi
grep -E "^tgmm-train|^train: (resuming|stopped)" "$WORK/train.out" | sed 's/^/  /' 
finish
