/* task.h — the GMM task families of the paper (isotropic, anisotropic, mean shift, phase
 * transition; README "Config reference"), drawn from counter-based streams.
 *
 * A task is determined by (seed, stream kind, global id, class, N): the class c selects K (or
 * the phase-transition a value) — class = index into cfg->K (or cfg->pt_a). Families:
 * isotropic (means U[-5 mean_scale, 5 mean_scale]^d), anisotropic (per-component diagonal standard deviations 2*softplus(u/5)),
 * mean_shift (N(0, sigma_p^2) noise on the means before the cosine filter), phase_transition
 * (K = 2, equal weights, +-(delta/2)u plus a common N(0, delta^2 I) offset). Weights are sorted
 * ascending (canonical component order). The cosine filter (redraw all K means while the largest
 * pairwise cosine is >= 0.8; none for K = 1 or phase_transition) gives up after 100000 draws
 * with TGMM_EUSER, never returning fewer tasks. Stream layout: see src/tasks/task.c. */
#ifndef TGMM_TASK_H
#define TGMM_TASK_H

#include <stdint.h>

#include "tgmm/config.h"

typedef struct {
  int64_t id;  /* global task id */
  int cls;     /* class index (into cfg->K or cfg->pt_a) */
  int d, K, N; /* dimension, components, valid samples */
  double *weights; /* [K] ascending, sum 1 */
  double *means;   /* [K, d] */
  double *scales;  /* [K, d] standard deviations (1 for isotropic) */
  double *x;       /* [N, d] samples */
  int32_t *z;      /* [N] true component of each sample */
} tgmm_task;

/* N_i of task `id`: exactly cfg->N, or U{ceil(N/2)..N} when `ragged` (training tasks). */
int tgmm_task_draw_N(const tgmm_config *cfg, uint32_t kind, int64_t id, int ragged);

/* Draw task `id` of class `cls` with N samples into *t (allocates; free with
 * tgmm_task_free). Returns TGMM_EUSER with a message when the request is impossible (e.g. the
 * cosine filter cannot be satisfied: K > 2 in d = 1, or no acceptable draw in many attempts). */
int tgmm_task_sample(const tgmm_config *cfg, uint32_t kind, int64_t id, int cls, int N, tgmm_task *t);

/* Only the parameters (weights, means, scales) of task `id`; t->x and t->z are NULL, t->N = 0. */
int tgmm_task_params(const tgmm_config *cfg, uint32_t kind, int64_t id, int cls, tgmm_task *t);

/* Samples n0..n1-1 of a task whose parameters are in *t (drawn by tgmm_task_params); writes
 * x[(n-n0)*d ...] and z[n-n0]. Lets ranks share the samples of one large task. */
void tgmm_task_samples(const tgmm_config *cfg, uint32_t kind, const tgmm_task *t, int64_t n0,
                       int64_t n1, double *x /* [n1-n0, d] */, int32_t *z /* [n1-n0] */);

/* Check whether the family can satisfy the cosine filter for K components in dimension d at
 * all; returns TGMM_EUSER with a message if not. Called by config validation. */
int tgmm_task_check_feasible(const tgmm_config *cfg);

/* Smallest pairwise Euclidean distance between the K rows of means [K, d] (the separation
 * delta of the misclustering rate); NaN when K < 2 or means is NULL. Pure. */
double tgmm_task_min_distance(const double *means /* [K, d] */, int K, int d);

void tgmm_task_free(tgmm_task *t);

#endif
