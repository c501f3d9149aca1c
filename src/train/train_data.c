/* train_data.c — rank shares and the task source of `tgmm train` (see include/tgmm/train.h). */
#define _GNU_SOURCE
#include <sched.h>
#include <stdlib.h>
#include <string.h>

#include "tgmm/common.h"
#include "tgmm/rng.h"
#include "tgmm/train.h"

void tgmm_share(int64_t n, int rank, int size, int64_t *t0, int64_t *t1) {
  *t0 = n * rank / size;
  *t1 = n * (rank + 1) / size;
}

int tgmm_class_of(const tgmm_config *cfg, int K, int64_t id) {
  if (cfg->family == TGMM_FAMILY_PHASE_TRANSITION) return (int)(id % tgmm_config_nclass(cfg));
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
  TGMM_TRY(tgmm_batch_buf_reserve(bb, (int)(t1 - t0) + 1));
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
