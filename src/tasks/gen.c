/* gen.c — `tgmm gen`: draw tasks of the configured family and write them with parallel HDF5.
 * Task t has class t mod nclass and comes from the stream (seed, GEN, t) alone (sample n of a task
 * from its own sub-stream), so the file is identical whatever the number of ranks. Rank r writes
 * a contiguous block of tasks' parameters (/K, /weights, /means, /scales) and, independently, a
 * contiguous block of sample rows (/x, /z), drawing the samples of whichever tasks those rows
 * belong to: the work is balanced by samples, also for ragged sizes or one task of 10^8 rows. */
#include <stdlib.h>
#include <string.h>

#include "tgmm/commands.h"
#include "tgmm/common.h"
#include "tgmm/h5io.h"
#include "tgmm/rng.h"
#include "tgmm/task.h"

typedef struct {
  int64_t T, t0, t1; /* all tasks; this rank's tasks [t0, t1) */
  int64_t r0, r1;    /* this rank's sample rows [r0, r1) */
  int d, Kmax;
  int64_t *offsets; /* [T+1] */
  int32_t *K;       /* [t1-t0] */
  double *x;        /* [r1-r0, d] */
  int32_t *z;
  double *weights, *means, *scales; /* [t1-t0, Kmax(, d)] zero-padded beyond K */
} gen_block;

static void block_free(gen_block *b) {
  free(b->offsets), free(b->K), free(b->x), free(b->z);
  free(b->weights), free(b->means), free(b->scales);
}

/* Sample sizes of all tasks (cheap: one stream each) -> global offsets. */
static int compute_offsets(const tgmm_config *cfg, gen_block *b) {
  b->offsets = tgmm_malloc(sizeof(int64_t) * (size_t)(b->T + 1));
  if (!b->offsets) return TGMM_ENOMEM;
  b->offsets[0] = 0;
  for (int64_t t = 0; t < b->T; t++)
    b->offsets[t + 1] = b->offsets[t] + tgmm_task_draw_N(cfg, TGMM_STREAM_GEN, t, cfg->ragged);
  return TGMM_OK;
}

static int alloc_block(gen_block *b) {
  size_t n = (size_t)(b->t1 - b->t0), rows = (size_t)(b->r1 - b->r0);
  size_t kd = (size_t)b->Kmax * (size_t)b->d;
  b->K = tgmm_calloc(n, sizeof(int32_t));
  b->x = tgmm_calloc(rows * (size_t)b->d, sizeof(double));
  b->z = tgmm_calloc(rows, sizeof(int32_t));
  b->weights = tgmm_calloc(n * (size_t)b->Kmax, sizeof(double));
  b->means = tgmm_calloc(n * kd, sizeof(double));
  b->scales = tgmm_calloc(n * kd, sizeof(double));
  return (b->K && b->x && b->z && b->weights && b->means && b->scales) ? TGMM_OK : TGMM_ENOMEM;
}

/* Parameters of the tasks [t0, t1) of this rank. */
static void copy_params(gen_block *b, int64_t i, const tgmm_task *t) {
  size_t kd = (size_t)b->Kmax * (size_t)b->d;
  b->K[i] = t->K;
  memcpy(b->weights + (size_t)i * (size_t)b->Kmax, t->weights, sizeof(double) * (size_t)t->K);
  memcpy(b->means + (size_t)i * kd, t->means, sizeof(double) * (size_t)t->K * (size_t)b->d);
  memcpy(b->scales + (size_t)i * kd, t->scales, sizeof(double) * (size_t)t->K * (size_t)b->d);
}

static int draw_block(const tgmm_config *cfg, gen_block *b) {
  int nclass = tgmm_config_nclass(cfg);
  double t_start = tgmm_now(), t_last = t_start;
  for (int64_t t = b->t0; t < b->t1; t++) { /* parameters of this rank's tasks */
    tgmm_task task;
    TGMM_TRY(tgmm_task_params(cfg, TGMM_STREAM_GEN, t, (int)(t % nclass), &task));
    copy_params(b, t - b->t0, &task);
    tgmm_task_free(&task);
  }
  int64_t t = 0; /* samples of this rank's rows, task by task */
  while (t < b->T && b->offsets[t + 1] <= b->r0) t++;
  for (; t < b->T && b->offsets[t] < b->r1; t++) {
    int64_t lo = b->offsets[t] > b->r0 ? b->offsets[t] : b->r0;
    int64_t hi = b->offsets[t + 1] < b->r1 ? b->offsets[t + 1] : b->r1;
    if (hi <= lo) continue;
    tgmm_task task;
    TGMM_TRY(tgmm_task_params(cfg, TGMM_STREAM_GEN, t, (int)(t % nclass), &task));
    tgmm_task_samples(cfg, TGMM_STREAM_GEN, &task, lo - b->offsets[t], hi - b->offsets[t],
                      b->x + (size_t)(lo - b->r0) * (size_t)b->d, b->z + (lo - b->r0));
    tgmm_task_free(&task);
    tgmm_progress("gen", t_start, &t_last, (double)(hi - b->r0) / (double)(b->r1 - b->r0));
  }
  return TGMM_OK;
}

static int write_block_file(hid_t f, const tgmm_config *cfg, const gen_block *b) {
  hsize_t S = (hsize_t)b->offsets[b->T], T = (hsize_t)b->T, d = (hsize_t)b->d, Km = (hsize_t)b->Kmax;
  hsize_t r0 = (hsize_t)b->r0, nr = (hsize_t)(b->r1 - b->r0);
  hsize_t t0 = (hsize_t)b->t0, nt = (hsize_t)(b->t1 - b->t0);
  hsize_t dx[2] = {S, d}, dz[1] = {S}, doff[1] = {T + 1}, dk[1] = {T}, dw[2] = {T, Km},
          dm[3] = {T, Km, d};
  TGMM_TRY(tgmm_h5_write_rows(f, "/x", H5T_NATIVE_DOUBLE, 2, dx, r0, nr, b->x));
  TGMM_TRY(tgmm_h5_write_rows(f, "/z", H5T_NATIVE_INT32, 1, dz, r0, nr, b->z));
  TGMM_TRY(tgmm_h5_write_rows(f, "/offsets", H5T_NATIVE_INT64, 1, doff, 0,
                              tgmm_mpi.rank == 0 ? T + 1 : 0, b->offsets));
  TGMM_TRY(tgmm_h5_write_rows(f, "/K", H5T_NATIVE_INT32, 1, dk, t0, nt, b->K));
  TGMM_TRY(tgmm_h5_write_rows(f, "/weights", H5T_NATIVE_DOUBLE, 2, dw, t0, nt, b->weights));
  TGMM_TRY(tgmm_h5_write_rows(f, "/means", H5T_NATIVE_DOUBLE, 3, dm, t0, nt, b->means));
  TGMM_TRY(tgmm_h5_write_rows(f, "/scales", H5T_NATIVE_DOUBLE, 3, dm, t0, nt, b->scales));
  TGMM_TRY(tgmm_h5_write_meta(f, cfg, tgmm_mpi.size));
  return TGMM_OK;
}

int tgmm_cmd_gen(const tgmm_cli *cli, const tgmm_config *cfg) {
  if (!cli->out) {
    tgmm_error0("tgmm gen needs --out FILE.h5");
    return TGMM_EUSER;
  }
  TGMM_TRY(tgmm_agree(tgmm_task_check_feasible(cfg)));
  gen_block b = {0};
  b.T = cfg->tasks;
  b.d = cfg->d;
  b.Kmax = tgmm_config_Kmax(cfg);
  b.t0 = b.T * tgmm_mpi.rank / tgmm_mpi.size;
  b.t1 = b.T * (tgmm_mpi.rank + 1) / tgmm_mpi.size;
  double t_start = tgmm_now();
  int rc = compute_offsets(cfg, &b);
  if (rc == TGMM_OK) {
    int64_t S = b.offsets[b.T];
    b.r0 = S * tgmm_mpi.rank / tgmm_mpi.size;
    b.r1 = S * (tgmm_mpi.rank + 1) / tgmm_mpi.size;
    rc = alloc_block(&b);
  }
  if (rc == TGMM_OK) rc = draw_block(cfg, &b);
  rc = tgmm_agree(rc); /* nothing is created unless every rank drew its tasks */
  tgmm_h5out out;
  if (rc == TGMM_OK) rc = tgmm_agree(tgmm_h5_create(&out, cli->out, tgmm_mpi.comm));
  if (rc == TGMM_OK) {
    rc = tgmm_agree(write_block_file(out.file, cfg, &b));
    if (rc == TGMM_OK)
      rc = tgmm_h5_commit(&out);
    else
      tgmm_h5_abort(&out);
  }
  if (rc == TGMM_OK)
    tgmm_info("gen: wrote %lld tasks (%lld samples, d = %d) to %s in %.2f s", (long long)b.T,
              (long long)b.offsets[b.T], b.d, cli->out, tgmm_now() - t_start);
  block_free(&b);
  return rc;
}
