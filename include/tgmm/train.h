/* train.h — the pieces of `tgmm train` (src/train.c): the step's task source (the generator or
 * a dataset file), each rank's contiguous share of the step, the packed batch, checkpoints.
 *
 * Data flow of one step s (../shared/DESIGN.md): B = batch_size x nclass tasks; slot t has
 * global id g = s*B + t and class t / batch_size (generator) or the dataset's task g (--data);
 * rank r computes slots [B r / size, B (r+1) / size); the loss is normalised by the global B; the
 * gradient buffer is summed with one MPI_Allreduce; AdamW runs on every rank.
 * Bitwise mode (train.deterministic): fixed chunks of train.chunk tasks, one forward/backward
 * each on a fixed-block thread pool, chunk gradients summed in chunk order in double along the
 * ranks (src/train_step.c); the rank count must divide the number of chunks.
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

#include "tgmm/config.h"
#include "tgmm/h5io.h"
#include "tgmm/model.h"
#include "tgmm/task.h"

/* A packed batch with owned storage (grows as needed). `b` views the storage. */
typedef struct {
  tgmm_batch b;
  int ntask, cap_task, cap_tok, d, Kmax;
  int *off, *K, *cls;
  float *x, *weights, *means, *scales;
} tgmm_batch_buf;

void tgmm_batch_buf_init(tgmm_batch_buf *bb, int d, int Kmax);
void tgmm_batch_buf_free(tgmm_batch_buf *bb);
void tgmm_batch_buf_clear(tgmm_batch_buf *bb);
/* Append one task (samples converted to float; truth zero-padded to Kmax). */
int tgmm_batch_buf_add(tgmm_batch_buf *bb, const tgmm_task *t, int cls);

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

/* Checkpoint (collective; rank 0 writes the data): /params/<name>, /adam_m/<name>,
 * /adam_v/<name> (float32, PyTorch shapes), /grads/<name> when save_grads, /step [1] int64;
 * root attributes via tgmm_h5_write_meta plus `loss`. Written as <path>.tmp then renamed. */
int tgmm_checkpoint_write(const char *path, const tgmm_model *m, const tgmm_config *cfg,
                          int64_t step, int save_grads, double loss);
/* Read /params (and /adam_m, /adam_v when `moments`) and /step into a model created with the
 * same dimensions; a missing tensor or a shape mismatch is a user error naming the dataset.
 * Independent reads (every rank reads the whole file). */
int tgmm_checkpoint_read(const char *path, tgmm_model *m, int moments, int64_t *step);

/* --checkpoint ARG: a file as given, or a run directory's newest checkpoint (collective). */
int tgmm_checkpoint_resolve(const char *arg, char *out, size_t out_len);
/* The config stored in a checkpoint or exported model, resolved: a key missing from the stored
 * text (written by an older version) counts as its default. Local. */
int tgmm_checkpoint_config(const char *path, tgmm_config *cfg);
/* That config, and a model of its dimensions with the file's parameters (no moments). Local;
 * on failure nothing is left allocated. */
int tgmm_checkpoint_load_model(const char *path, tgmm_config *cfg, tgmm_model *m, int64_t *step);
/* An exported model (collective): /params/<name> (float32, PyTorch shapes) and the root
 * attributes of every output file (config, version, ...) plus exported_from and step; no
 * optimizer state. tgmm eval --checkpoint and train.init_from read it like a checkpoint. */
int tgmm_checkpoint_export(const char *path, const tgmm_model *m, const tgmm_config *cfg,
                           const char *source, int64_t step);

/* Highest step among DIR/ckpt_<8 digits>.h5 (-1 if none; temporary files never match).
 * Collective: rank 0 reads the directory and broadcasts. */
int tgmm_checkpoint_latest(const char *dir, int64_t *step);
/* "RUN_DIR/ckpt_<step, 8 digits>.h5" */
void tgmm_checkpoint_path(const char *run_dir, int64_t step, char *out, size_t out_len);

/* OpenBLAS threads for this rank: cfg->train.threads, or the cores in the affinity mask. */
int tgmm_train_threads(const tgmm_config *cfg);

#endif
