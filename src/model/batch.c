/* batch.c — the model's packed batch with owned storage (include/tgmm/batch.h). */
#include "tgmm/batch.h"

#include <stdlib.h>
#include <string.h>

#include "tgmm/common.h"

void tgmm_batch_buf_init(tgmm_batch_buf *bb, int d, int Kmax) {
  memset(bb, 0, sizeof *bb);
  bb->d = d;
  bb->Kmax = Kmax;
}

void tgmm_batch_buf_free(tgmm_batch_buf *bb) {
  free(bb->off), free(bb->K), free(bb->cls), free(bb->x);
  free(bb->weights), free(bb->means), free(bb->scales), free(bb->z);
  memset(bb, 0, sizeof *bb);
}

static void refresh_view(tgmm_batch_buf *bb) {
  tgmm_batch b = {.ntask = bb->ntask, .off = bb->off, .K = bb->K, .cls = bb->cls, .x = bb->x,
                  .weights = bb->weights, .means = bb->means, .scales = bb->scales, .z = bb->z};
  bb->b = b;
}

void tgmm_batch_buf_clear(tgmm_batch_buf *bb) {
  bb->ntask = 0;
  if (bb->off) bb->off[0] = 0;
  refresh_view(bb);
}

static int grow_tasks(tgmm_batch_buf *bb, int need) {
  if (need <= bb->cap_task) return TGMM_OK;
  int cap = need > 2 * bb->cap_task ? need : 2 * bb->cap_task;
  size_t kd = (size_t)bb->Kmax * (size_t)bb->d;
  int *off = realloc(bb->off, sizeof(int) * (size_t)(cap + 1));
  if (off) bb->off = off;
  int *K = realloc(bb->K, sizeof(int) * (size_t)cap);
  if (K) bb->K = K;
  int *cls = realloc(bb->cls, sizeof(int) * (size_t)cap);
  if (cls) bb->cls = cls;
  float *w = realloc(bb->weights, sizeof(float) * (size_t)cap * (size_t)bb->Kmax);
  if (w) bb->weights = w;
  float *mu = realloc(bb->means, sizeof(float) * (size_t)cap * kd);
  if (mu) bb->means = mu;
  float *sd = realloc(bb->scales, sizeof(float) * (size_t)cap * kd);
  if (sd) bb->scales = sd;
  if (!off || !K || !cls || !w || !mu || !sd) {
    tgmm_error("out of memory for a batch of %d tasks", cap);
    return TGMM_ENOMEM;
  }
  if (bb->cap_task == 0) bb->off[0] = 0;
  bb->cap_task = cap;
  return TGMM_OK;
}

static int grow_tokens(tgmm_batch_buf *bb, int need) {
  if (need <= bb->cap_tok) return TGMM_OK;
  int cap = need > 2 * bb->cap_tok ? need : 2 * bb->cap_tok;
  float *x = realloc(bb->x, sizeof(float) * (size_t)cap * (size_t)bb->d);
  if (x) bb->x = x;
  int32_t *z = realloc(bb->z, sizeof(int32_t) * (size_t)cap);
  if (z) bb->z = z;
  if (!x || !z) {
    tgmm_error("out of memory for a batch of %d samples", cap);
    return TGMM_ENOMEM;
  }
  bb->cap_tok = cap;
  return TGMM_OK;
}

int tgmm_batch_buf_add(tgmm_batch_buf *bb, const tgmm_task *t, int cls) {
  TGMM_TRY(grow_tasks(bb, bb->ntask + 1));
  int i = bb->ntask, o = bb->off[i], d = bb->d, Q = bb->Kmax;
  TGMM_TRY(grow_tokens(bb, o + t->N));
  for (size_t j = 0; j < (size_t)t->N * (size_t)d; j++) bb->x[(size_t)o * d + j] = (float)t->x[j];
  for (int n = 0; n < t->N; n++) bb->z[o + n] = t->z ? t->z[n] : -1;
  bb->off[i + 1] = o + t->N;
  bb->K[i] = t->K;
  bb->cls[i] = cls;
  size_t kd = (size_t)Q * (size_t)d;
  float *w = bb->weights + (size_t)i * Q, *mu = bb->means + i * kd, *sd = bb->scales + i * kd;
  memset(w, 0, sizeof(float) * (size_t)Q);
  memset(mu, 0, sizeof(float) * kd);
  memset(sd, 0, sizeof(float) * kd);
  for (int k = 0; k < t->K; k++) {
    w[k] = (float)t->weights[k];
    for (int j = 0; j < d; j++) {
      mu[(size_t)k * d + j] = (float)t->means[(size_t)k * d + j];
      sd[(size_t)k * d + j] = (float)t->scales[(size_t)k * d + j];
    }
  }
  bb->ntask++;
  refresh_view(bb);
  return TGMM_OK;
}

int tgmm_batch_buf_reserve(tgmm_batch_buf *bb, int ntask) { return grow_tasks(bb, ntask); }
