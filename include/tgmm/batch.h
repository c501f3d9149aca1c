/* batch.h — the model's packed batch with owned storage: tasks appended one by one (samples
 * converted to float, truth zero-padded to Kmax), packed token by token (no padding), viewed as
 * the tgmm_batch the model's forward and predict take. Used by training and by evaluation; no
 * MPI, no files. */
#ifndef TGMM_BATCH_H
#define TGMM_BATCH_H

#include "tgmm/model.h"
#include "tgmm/task.h"

/* A packed batch with owned storage (grows as needed). `b` views the storage:
 * off [ntask + 1], K [ntask], cls [ntask], x [off[ntask], d], weights [ntask, Kmax],
 * means and scales [ntask, Kmax, d], z [off[ntask]] (a task without z: -1, no label target). */
typedef struct {
  tgmm_batch b;
  int ntask, cap_task, cap_tok, d, Kmax;
  int *off, *K, *cls;
  float *x, *weights, *means, *scales;
  int32_t *z;
} tgmm_batch_buf;

void tgmm_batch_buf_init(tgmm_batch_buf *bb, int d, int Kmax);
void tgmm_batch_buf_free(tgmm_batch_buf *bb);
void tgmm_batch_buf_clear(tgmm_batch_buf *bb);
/* Append one task (samples converted to float; truth zero-padded to Kmax). */
int tgmm_batch_buf_add(tgmm_batch_buf *bb, const tgmm_task *t, int cls);

/* Room for ntask tasks (avoids regrowing while a batch is filled). */
int tgmm_batch_buf_reserve(tgmm_batch_buf *bb, int ntask);

#endif
