/* runlog.h — the per-step metrics series of a training run (RUN_DIR/metrics.h5), kept in memory
 * on rank 0 and rewritten atomically (temporary name, then rename) at every held-out evaluation,
 * every checkpoint and at the end, so a killed run never leaves a torn file and a live run can be
 * drawn. On resume the rows up to the checkpoint's step are read back and later rows dropped, so
 * no step appears twice.
 *
 * File layout (all 1-D datasets share the row index; `step` counts completed steps, 1-based,
 * like checkpoint names):
 *   /step int64 [n]; /loss, /loss_weights, /loss_means, /loss_scales, /lr, /grad_norm,
 *   /tasks_per_s, /seconds, /allreduce_seconds float64 [n];
 *   /eval/step int64 [ne]; /eval/K int32 [nclass];
 *   /eval/l2_means, /eval/l2_weights, /eval/accuracy float64 [ne, nclass] (means over the
 *   held-out tasks of each class);
 *   with train.eval_baselines: /eval/baselines/<em|em_strong|spectral|oracle>/<l2_means|
 *   l2_weights|accuracy> float64 [nclass], the baselines' levels on the same held-out tasks.
 *   Root attributes: config, seed, world_size, version,
 *   git_commit. Local to rank 0 (serial HDF5); other ranks keep an empty log. */
#ifndef TGMM_RUNLOG_H
#define TGMM_RUNLOG_H

#include <stdint.h>

#include "tgmm/config.h"

enum {
  RL_LOSS, RL_CE, RL_MEANS, RL_SCALES, RL_LR, RL_GNORM, RL_TASKS_PER_S, RL_SECONDS,
  RL_COMM_SECONDS, RL_NCOL
};
enum { RL_EVAL_L2_MEANS, RL_EVAL_L2_WEIGHTS, RL_EVAL_ACCURACY, RL_EVAL_MISCLUSTERING, RL_EVAL_NCOL };
/* Reference baselines of the held-out evaluation (train.eval_baselines). */
enum { RL_REF_EM, RL_REF_EM_STRONG, RL_REF_SPECTRAL, RL_REF_ORACLE, RL_NREF };
extern const char *const tgmm_runlog_ref_names[RL_NREF]; /* "em", "em_strong", ... */

typedef struct {
  char path[TGMM_MAX_STR + 32];
  int nclass;
  int K[TGMM_MAX_LIST]; /* K of each class */
  int64_t n, cap;       /* step rows */
  int64_t *step;        /* [cap] */
  double *col;          /* [cap, RL_NCOL] */
  int64_t ne, ecap;     /* eval rows */
  int64_t *estep;       /* [ecap] */
  double *ecol;         /* [ecap, nclass, RL_EVAL_NCOL] */
  double *ref;          /* [RL_NREF, nclass, RL_EVAL_NCOL] or NULL */
} tgmm_runlog;

/* Empty series for RUN_DIR/metrics.h5 (local). */
void tgmm_runlog_init(tgmm_runlog *rl, const tgmm_config *cfg);
void tgmm_runlog_free(tgmm_runlog *rl);
/* Read back the rows with step <= upto from an existing file (missing file: empty series, 0;
 * unreadable or other layout: message, TGMM_EUSER). Local. */
int tgmm_runlog_load(tgmm_runlog *rl, int64_t upto);
/* Append one step row (values [RL_NCOL]) / one eval row (values [nclass, RL_EVAL_NCOL]). */
int tgmm_runlog_add(tgmm_runlog *rl, int64_t step, const double *values);
int tgmm_runlog_add_eval(tgmm_runlog *rl, int64_t step, const double *values);
/* Keep the baselines' held-out levels (copied), written with the series. */
int tgmm_runlog_set_ref(tgmm_runlog *rl, const double *ref /* [RL_NREF, nclass, RL_EVAL_NCOL] */);
/* Write the whole series to <path>.tmp, then rename to <path>. Local (call on rank 0). */
int tgmm_runlog_write(const tgmm_runlog *rl, const tgmm_config *cfg, int world_size);

#endif
