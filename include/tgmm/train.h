/* train.h — the pieces of `tgmm train` (src/train/train.c): the step's task source (the
 * generator or a dataset file), each rank's contiguous share of the step, the packed batch,
 * checkpoints.
 *
 * Data flow of one step s: B = batch_size x nclass tasks; slot t has
 * global id g = s*B + t and class t / batch_size (generator) or the dataset's task g (--data);
 * rank r computes slots [B r / size, B (r+1) / size); the loss is normalised by the global B; the
 * gradient buffer is summed with one MPI_Allreduce; AdamW runs on every rank.
 * Bitwise mode (train.deterministic): fixed chunks of train.chunk tasks, one forward/backward
 * each on a fixed-block thread pool, chunk gradients summed exactly in fixed point with one
 * MPI_Allreduce of 64-bit integers (src/train/train_step.c), so any rank count gives the same bits.
 *
 * Run directory (train.run_dir): ckpt_<step, 8 digits>.h5, train.log (text, rank 0, appended
 * on resume), metrics.h5 (include/tgmm/runlog.h). Exit codes: 0 done; 2 user error (config,
 * data, resume with a changed key, rank count not dividing the chunks); 4 non-finite loss or
 * gradient (step and tensor named; no checkpoint written); 75 (TGMM_REQUEUE) stopped by
 * SIGUSR1/SIGTERM after a checkpoint; a rank killed -> mpirun fails (137).
 * Test hooks (environment): TGMM_TEST_INJECT_NAN=step[:rank] poisons a gradient element of
 * that rank at that (1-based) step; TGMM_TEST_DIE_AT=step[:rank] makes the rank SIGKILL
 * itself after that step. */
#ifndef TGMM_TRAIN_H
#define TGMM_TRAIN_H

#include <stdint.h>

#include "tgmm/batch.h"
#include "tgmm/config.h"
#include "tgmm/dataset.h"
#include "tgmm/model.h"
#include "tgmm/task.h"

/* Contiguous share [t0, t1) of n items for `rank` of `size` (uneven shares allowed). */
void tgmm_share(int64_t n, int rank, int size, int64_t *t0, int64_t *t1);

/* Where the tasks come from: the generator (ds == NULL) or a dataset file read in order. */
typedef struct {
  const tgmm_config *cfg;
  tgmm_dataset *ds; /* NULL: generator, stream TGMM_STREAM_TRAIN */
  int64_t B;        /* tasks per step */
} tgmm_task_source;

/* Fill bb with this rank's tasks of step s: slots [t0, t1) of the step. */
int tgmm_source_fill(const tgmm_task_source *src, int64_t s, int64_t t0, int64_t t1,
                     tgmm_batch_buf *bb);

/* Class of a dataset task with K components: the index of K in cfg->K (phase_transition:
 * id mod nclass); -1 if K is not in the family. */
int tgmm_class_of(const tgmm_config *cfg, int K, int64_t id);

/* OpenBLAS threads for this rank: cfg->train.threads, or the cores in the affinity mask. */
int tgmm_train_threads(const tgmm_config *cfg);

#endif
