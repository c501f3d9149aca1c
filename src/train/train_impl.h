/* train_impl.h — the state of one `tgmm train` run shared by src/train*.c (internal).
 * train.c: setup, loop, log, progress, signals; train_step.c: one step (normal and bitwise
 * modes, guards, test hooks); train_resume.c: finding and loading the newest checkpoint;
 * train_eval.c: the held-out evaluation. */
#ifndef TGMM_TRAIN_IMPL_H
#define TGMM_TRAIN_IMPL_H

#include <stdio.h>

#include "tgmm/runlog.h"
#include "tgmm/checkpoint.h"
#include "tgmm/train.h"

enum { FX_EXTRA = 5 }; /* bitwise sum: 4 loss terms + FLOPs after the gradient */

typedef struct {
  double loss, parts[3], gnorm, lr, seconds, comm_seconds, flops;
  int stop; /* a rank saw SIGUSR1/SIGTERM before this step's reduction */
} step_stats;

/* Held-out tasks of this rank for eval_every (TGMM_STREAM_HELDOUT, exactly N samples). */
typedef struct {
  int n;            /* this rank's tasks */
  tgmm_task *tasks; /* [n] */
  tgmm_batch_buf bb;
  double *w, *mu, *sd; /* predictions [n, Kmax], [n, Kmax, d], [n, Kmax, d] */
  int32_t *labels;     /* label head: predicted labels [bb.off[n]] */
} heldout;

typedef struct {
  const tgmm_config *cfg;
  tgmm_model model;
  tgmm_task_source src;
  tgmm_dataset ds;
  int has_ds;
  tgmm_batch_buf bb;
  FILE *log;               /* RUN_DIR/train.log (rank 0) */
  int64_t B, t0, t1;       /* tasks per step; this rank's slots [t0, t1) (normal mode) */
  int64_t nchunk, c0, c1;  /* bitwise mode: chunks per step; this rank's chunks [c0, c1) */
  float *chunk_grads;      /* bitwise mode: [c1 - c0, nparams] */
  double *chunk_loss;      /* bitwise mode: [c1 - c0, 4] loss, ce, means, scales */
  double *acc;             /* bitwise mode: [nparams + 4] (loss terms at nparams..) */
  int64_t *iacc;           /* bitwise mode: [nparams + FX_EXTRA] the fixed-point sum */
  double *fx_max;          /* bitwise mode: [ntensors + 2] largest magnitudes, stop flag */
  int chain_sum;           /* TGMM_BENCH_CHAIN_SUM: the former chain sum, for comparison */
  int64_t start;           /* first step to run (0, or the resumed checkpoint's step) */
  int threads;
  int64_t inject_step, die_step; /* test hooks (-1: off) */
  int inject_rank, die_rank;
  tgmm_runlog rl; /* rank 0 */
  heldout ho;
  int tty; /* rank 0's stderr is a terminal: live progress bar */
} trainer;

/* train_step.c */
int tgmm_train_step_setup(trainer *tr);
void tgmm_train_step_free(trainer *tr);
/* One step s: gradients, reduction, guards, clipping, AdamW. */
int tgmm_train_step(trainer *tr, int64_t s, step_stats *st);

/* Check the checkpoint's config against cfg and load params, moments and step (collective). */
int tgmm_train_resume(trainer *tr, int64_t step);

/* train_dir.c: the run directory (collective; rank 0 looks and acts). */
int tgmm_train_dir_make(const tgmm_config *cfg);
int tgmm_train_dir_exists(const tgmm_config *cfg);
/* Take RUN_DIR/.lock (rank 0, flock, held until tgmm_train_dir_unlock or death) unless *fd >= 0
 * already; another holder: exit-2 error naming it. */
int tgmm_train_dir_lock(const tgmm_config *cfg, int *fd);
void tgmm_train_dir_unlock(int *fd);
/* 1 if the run directory holds a run (a checkpoint or a metrics series). */
int tgmm_train_dir_holds_run(const tgmm_config *cfg);
/* train.resume: restart: move the earlier run's files into RUN_DIR/previous-N. */
int tgmm_train_dir_move_aside(const tgmm_config *cfg);

/* train_eval.c */
int tgmm_heldout_init(trainer *tr);
void tgmm_heldout_free(heldout *ho);
/* Collective: per-class means of l2_means, l2_weights, accuracy: out[nclass, RL_EVAL_NCOL]. A
 * model with a label head scores accuracy from its labels (1 - misclustering); one without the
 * mixture read-out has NaN l2 errors. */
int tgmm_heldout_eval(trainer *tr, double *out);
/* Collective: the baselines' levels on the same tasks (train.eval_baselines): EM as configured,
 * a strong EM (k-means++ start, 10 restarts), spectral, the oracle;
 * out[RL_NREF, nclass, RL_EVAL_NCOL] (NaN where a method never applies). */
int tgmm_heldout_baselines(trainer *tr, double *out);

#endif
