/* train_data.c — packed batches, rank shares and the task source of `tgmm train`
 * (see include/tgmm/train.h). */
#define _GNU_SOURCE
#include <sched.h>
#include <stdlib.h>
#include <string.h>

#include "tgmm/common.h"
#include "tgmm/rng.h"
#include "tgmm/train.h"

void tgmm_batch_buf_init(tgmm_batch_buf *bb, int d, int Kmax) {
  memset(bb, 0, sizeof *bb);
  bb->d = d;
  bb->Kmax = Kmax;
}

void tgmm_batch_buf_free(tgmm_batch_buf *bb) {
  free(bb->off), free(bb->K), free(bb->cls), free(bb->x);
  free(bb->weights), free(bb->means), free(bb->scales);
  memset(bb, 0, sizeof *bb);
}

static void refresh_view(tgmm_batch_buf *bb) {
  tgmm_batch b = {.ntask = bb->ntask, .off = bb->off, .K = bb->K, .cls = bb->cls, .x = bb->x,
                  .weights = bb->weights, .means = bb->means, .scales = bb->scales};
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
  if (!x) {
    tgmm_error("out of memory for a batch of %d samples", cap);
    return TGMM_ENOMEM;
  }
  bb->x = x;
  bb->cap_tok = cap;
  return TGMM_OK;
}

int tgmm_batch_buf_add(tgmm_batch_buf *bb, const tgmm_task *t, int cls) {
  TGMM_TRY(grow_tasks(bb, bb->ntask + 1));
  int i = bb->ntask, o = bb->off[i], d = bb->d, Q = bb->Kmax;
  TGMM_TRY(grow_tokens(bb, o + t->N));
  for (size_t j = 0; j < (size_t)t->N * (size_t)d; j++) bb->x[(size_t)o * d + j] = (float)t->x[j];
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

void tgmm_share(int64_t n, int rank, int size, int64_t *t0, int64_t *t1) {
  *t0 = n * rank / size;
  *t1 = n * (rank + 1) / size;
}

int tgmm_class_of(const tgmm_config *cfg, int K, int64_t id) {
  if (cfg->family == FAMILY_PHASE_TRANSITION) return (int)(id % tgmm_config_nclass(cfg));
  for (int c = 0; c < cfg->nK; c++)
    if (cfg->K[c] == K) return c;
  return -1;
}

static int fill_generated(const tgmm_task_source *src, int64_t s, int64_t t0, int64_t t1,
                          tgmm_batch_buf *bb) {
  const tgmm_config *cfg = src->cfg;
  for (int64_t t = t0; t < t1; t++) {
    int64_t g = s * src->B + t;
    int cls = (int)(t / cfg->train.batch_size);
    int N = tgmm_task_draw_N(cfg, TGMM_STREAM_TRAIN, g, 1);
    tgmm_task task;
    TGMM_TRY(tgmm_task_sample(cfg, TGMM_STREAM_TRAIN, g, cls, N, &task));
    int rc = tgmm_batch_buf_add(bb, &task, cls);
    tgmm_task_free(&task);
    TGMM_TRY(rc);
  }
  return TGMM_OK;
}

static int fill_dataset(const tgmm_task_source *src, int64_t s, int64_t t0, int64_t t1,
                        tgmm_batch_buf *bb) {
  for (int64_t t = t0; t < t1; t++) {
    int64_t g = s * src->B + t;
    tgmm_task task;
    TGMM_TRY(tgmm_dataset_read_task(src->ds, g, &task));
    int cls = tgmm_class_of(src->cfg, task.K, g);
    int rc = cls < 0 ? TGMM_EUSER : tgmm_batch_buf_add(bb, &task, cls);
    if (cls < 0)
      tgmm_error("%s: task %lld has K = %d, which is not in the config's K list", src->ds->path,
                 (long long)g, task.K);
    tgmm_task_free(&task);
    TGMM_TRY(rc);
  }
  return TGMM_OK;
}

int tgmm_source_fill(const tgmm_task_source *src, int64_t s, int64_t t0, int64_t t1,
                     tgmm_batch_buf *bb) {
  tgmm_batch_buf_clear(bb);
  TGMM_TRY(grow_tasks(bb, (int)(t1 - t0) + 1));
  return src->ds ? fill_dataset(src, s, t0, t1, bb) : fill_generated(src, s, t0, t1, bb);
}

int tgmm_train_threads(const tgmm_config *cfg) {
  if (cfg->train.threads > 0) return cfg->train.threads;
  cpu_set_t set;
  CPU_ZERO(&set);
  if (sched_getaffinity(0, sizeof set, &set) != 0) return 1;
  int n = CPU_COUNT(&set);
  return n > 0 ? n : 1;
}
