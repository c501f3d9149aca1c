/* runlog.c — the metrics series of a training run (see include/tgmm/runlog.h). */
#define _GNU_SOURCE
#include "tgmm/runlog.h"

#include <hdf5.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "tgmm/common.h"
#include "tgmm/h5io.h"
#include "tgmm/out.h"

static const char *const COL_NAMES[RL_NCOL] = {
    "loss", "loss_weights", "loss_means", "loss_scales", "lr", "grad_norm",
    "tasks_per_s", "seconds", "allreduce_seconds"};
static const char *const EVAL_NAMES[RL_EVAL_NCOL] = {"eval/l2_means", "eval/l2_weights",
                                                     "eval/accuracy", "eval/misclustering"};

const char *const tgmm_runlog_ref_names[RL_NREF] = {"em", "em_strong", "spectral", "oracle"};

void tgmm_runlog_init(tgmm_runlog *rl, const tgmm_config *cfg) {
  memset(rl, 0, sizeof *rl);
  snprintf(rl->path, sizeof rl->path, "%s/metrics.h5", cfg->train.run_dir);
  rl->nclass = tgmm_config_nclass(cfg);
  for (int c = 0; c < rl->nclass; c++) rl->K[c] = tgmm_config_class_K(cfg, c);
}

void tgmm_runlog_free(tgmm_runlog *rl) {
  free(rl->step), free(rl->col), free(rl->estep), free(rl->ecol), free(rl->ref);
  rl->step = rl->estep = NULL;
  rl->col = rl->ecol = rl->ref = NULL;
  rl->n = rl->cap = rl->ne = rl->ecap = 0;
}

/* Make room for `need` rows of `width` doubles (+ the step index). */
static int grow(int64_t need, int64_t *cap, int64_t **step, double **col, size_t width) {
  if (need <= *cap) return TGMM_OK;
  int64_t nc = need > 2 * *cap ? need : 2 * *cap;
  if (nc < 64) nc = 64;
  int64_t *s = realloc(*step, sizeof(int64_t) * (size_t)nc);
  if (s) *step = s;
  double *c = realloc(*col, sizeof(double) * (size_t)nc * width);
  if (c) *col = c;
  if (!s || !c) {
    tgmm_error("out of memory for the metrics series (%lld rows)", (long long)nc);
    return TGMM_ENOMEM;
  }
  *cap = nc;
  return TGMM_OK;
}

int tgmm_runlog_add(tgmm_runlog *rl, int64_t step, const double *values) {
  TGMM_TRY(grow(rl->n + 1, &rl->cap, &rl->step, &rl->col, RL_NCOL));
  rl->step[rl->n] = step;
  memcpy(rl->col + (size_t)rl->n * RL_NCOL, values, sizeof(double) * RL_NCOL);
  rl->n++;
  return TGMM_OK;
}

int tgmm_runlog_add_eval(tgmm_runlog *rl, int64_t step, const double *values) {
  size_t w = (size_t)rl->nclass * RL_EVAL_NCOL;
  TGMM_TRY(grow(rl->ne + 1, &rl->ecap, &rl->estep, &rl->ecol, w));
  rl->estep[rl->ne] = step;
  memcpy(rl->ecol + (size_t)rl->ne * w, values, sizeof(double) * w);
  rl->ne++;
  return TGMM_OK;
}

/* ---------- writing ---------- */

static int write_ds(hid_t f, const char *name, hid_t type, int ndim, const hsize_t *dims,
                    const void *buf) {
  /* the one write path: a failure names the file, the dataset and the system's reason */
  return tgmm_h5_write_rows(f, name, type, ndim, dims, 0, dims[0], buf);
}

/* Column j of a row-major [rows, width] table, as a contiguous vector. */
static void column(const double *tab, int64_t rows, size_t width, size_t j, double *out) {
  for (int64_t i = 0; i < rows; i++) out[i] = tab[(size_t)i * width + j];
}

static int write_steps(hid_t f, const tgmm_runlog *rl, double *tmp) {
  hsize_t n = (hsize_t)rl->n;
  TGMM_TRY(write_ds(f, "/step", H5T_NATIVE_INT64, 1, &n, rl->step));
  for (int j = 0; j < RL_NCOL; j++) {
    char name[64];
    snprintf(name, sizeof name, "/%s", COL_NAMES[j]);
    column(rl->col, rl->n, RL_NCOL, (size_t)j, tmp);
    TGMM_TRY(write_ds(f, name, H5T_NATIVE_DOUBLE, 1, &n, tmp));
  }
  return TGMM_OK;
}

static int write_evals(hid_t f, const tgmm_runlog *rl, double *tmp) {
  hsize_t ne = (hsize_t)rl->ne, nc = (hsize_t)rl->nclass, dims[2] = {ne, nc};
  TGMM_TRY(write_ds(f, "/eval/step", H5T_NATIVE_INT64, 1, &ne, rl->estep));
  int32_t K[TGMM_MAX_LIST];
  for (int c = 0; c < rl->nclass; c++) K[c] = rl->K[c];
  TGMM_TRY(write_ds(f, "/eval/K", H5T_NATIVE_INT32, 1, &nc, K));
  for (int j = 0; j < RL_EVAL_NCOL; j++) {
    for (int64_t i = 0; i < rl->ne; i++)
      for (int c = 0; c < rl->nclass; c++)
        tmp[(size_t)i * nc + c] = rl->ecol[((size_t)i * nc + c) * RL_EVAL_NCOL + j];
    char name[64];
    snprintf(name, sizeof name, "/%s", EVAL_NAMES[j]);
    TGMM_TRY(write_ds(f, name, H5T_NATIVE_DOUBLE, 2, dims, tmp));
  }
  return TGMM_OK;
}

int tgmm_runlog_set_ref(tgmm_runlog *rl, const double *ref) {
  size_t n = (size_t)RL_NREF * (size_t)rl->nclass * RL_EVAL_NCOL;
  free(rl->ref);
  rl->ref = tgmm_malloc(sizeof(double) * n);
  if (!rl->ref) return TGMM_ENOMEM;
  memcpy(rl->ref, ref, sizeof(double) * n);
  return TGMM_OK;
}

static int write_refs(hid_t f, const tgmm_runlog *rl) {
  hsize_t nc = (hsize_t)rl->nclass;
  double v[TGMM_MAX_LIST];
  for (int r = 0; r < RL_NREF && rl->ref; r++)
    for (int j = 0; j < RL_EVAL_NCOL; j++) {
      for (int c = 0; c < rl->nclass; c++)
        v[c] = rl->ref[((size_t)r * rl->nclass + c) * RL_EVAL_NCOL + j];
      char name[96];
      snprintf(name, sizeof name, "/eval/baselines/%s/%s", tgmm_runlog_ref_names[r],
               EVAL_NAMES[j] + 5);
      TGMM_TRY(write_ds(f, name, H5T_NATIVE_DOUBLE, 1, &nc, v));
    }
  return TGMM_OK;
}

int tgmm_runlog_write(const tgmm_runlog *rl, const tgmm_config *cfg, int world_size) {
  int64_t rows = rl->n > rl->ne * rl->nclass ? rl->n : rl->ne * rl->nclass;
  double *tmp = tgmm_malloc(sizeof(double) * (size_t)(rows > 0 ? rows : 1));
  if (!tmp) return TGMM_ENOMEM;
  tgmm_out o;
  hid_t f = tgmm_out_h5(&o, rl->path); /* written as <path>.tmp, renamed when complete */
  int rc = f < 0 ? TGMM_EIO : TGMM_OK;
  if (rc == TGMM_OK) rc = write_steps(f, rl, tmp);
  if (rc == TGMM_OK) rc = write_evals(f, rl, tmp);
  if (rc == TGMM_OK) rc = write_refs(f, rl);
  if (rc == TGMM_OK) rc = tgmm_h5_write_meta(f, cfg, world_size);
  free(tmp);
  if (rc == TGMM_OK) return tgmm_out_commit(&o);
  tgmm_out_abort(&o);
  return rc;
}

/* ---------- reading back (resume) ---------- */

/* Length of 1-D dataset `name` (-1 if missing; its shape is checked when it is read). */
static int64_t len_of(hid_t f, const char *name) {
  if (!tgmm_h5_exists(f, name)) return -1;
  hid_t ds = H5Dopen2(f, name, H5P_DEFAULT);
  if (ds < 0) return -1;
  hid_t sp = H5Dget_space(ds);
  hsize_t dims[H5S_MAX_RANK] = {0};
  int nd = H5Sget_simple_extent_ndims(sp);
  if (nd >= 1 && nd <= H5S_MAX_RANK) H5Sget_simple_extent_dims(sp, dims, NULL);
  H5Sclose(sp);
  H5Dclose(ds);
  return nd >= 1 ? (int64_t)dims[0] : -1;
}

/* Dataset `name` of shape [n] (nc == 0) or [n, nc], checked before it is read into buf. */
static int read_vec(hid_t f, const char *path, const char *name, hid_t type, void *buf, int64_t n,
                    int64_t nc) {
  hsize_t d[2] = {(hsize_t)n, (hsize_t)nc};
  return tgmm_h5_read(f, path, name, type, nc ? 2 : 1, d, buf);
}

static int load_steps(tgmm_runlog *rl, hid_t f, int64_t upto) {
  int64_t n = len_of(f, "/step");
  if (n < 0) return TGMM_EUSER;
  int64_t *step = tgmm_malloc(sizeof(int64_t) * (size_t)(n + 1));
  double *tab = tgmm_malloc(sizeof(double) * (size_t)(n + 1) * RL_NCOL);
  double *v = tgmm_malloc(sizeof(double) * (size_t)(n + 1));
  int rc = step && tab && v ? read_vec(f, rl->path, "/step", H5T_NATIVE_INT64, step, n, 0) : TGMM_ENOMEM;
  for (int j = 0; j < RL_NCOL && rc == TGMM_OK; j++) {
    char name[64];
    snprintf(name, sizeof name, "/%s", COL_NAMES[j]);
    rc = len_of(f, name) == n ? read_vec(f, rl->path, name, H5T_NATIVE_DOUBLE, v, n, 0) : TGMM_EUSER;
    for (int64_t i = 0; i < n && rc == TGMM_OK; i++) tab[(size_t)i * RL_NCOL + j] = v[i];
  }
  for (int64_t i = 0; i < n && rc == TGMM_OK; i++)
    if (step[i] <= upto) rc = tgmm_runlog_add(rl, step[i], tab + (size_t)i * RL_NCOL);
  free(step), free(tab), free(v);
  return rc;
}

static int load_evals(tgmm_runlog *rl, hid_t f, int64_t upto) {
  int64_t ne = len_of(f, "/eval/step"), nc = rl->nclass;
  if (ne < 0) return TGMM_OK; /* no evaluations yet */
  size_t w = (size_t)nc * RL_EVAL_NCOL;
  int64_t *step = tgmm_malloc(sizeof(int64_t) * (size_t)(ne + 1));
  double *tab = tgmm_malloc(sizeof(double) * (size_t)(ne + 1) * w);
  double *v = tgmm_malloc(sizeof(double) * (size_t)(ne + 1) * (size_t)nc);
  int rc = step && tab && v ? read_vec(f, rl->path, "/eval/step", H5T_NATIVE_INT64, step, ne, 0) : TGMM_ENOMEM;
  for (int j = 0; j < RL_EVAL_NCOL && rc == TGMM_OK; j++) {
    char name[64];
    snprintf(name, sizeof name, "/%s", EVAL_NAMES[j]);
    int64_t len = len_of(f, name); /* a column added later (misclustering): NaN before */
    rc = len == ne ? read_vec(f, rl->path, name, H5T_NATIVE_DOUBLE, v, ne, nc) : len < 0 ? TGMM_OK : TGMM_EUSER;
    for (int64_t i = 0; i < ne * nc && rc == TGMM_OK; i++)
      tab[(size_t)i * RL_EVAL_NCOL + j] = len < 0 ? NAN : v[i];
  }
  for (int64_t i = 0; i < ne && rc == TGMM_OK; i++)
    if (step[i] <= upto) rc = tgmm_runlog_add_eval(rl, step[i], tab + (size_t)i * w);
  free(step), free(tab), free(v);
  return rc;
}

int tgmm_runlog_load(tgmm_runlog *rl, int64_t upto) {
  if (access(rl->path, F_OK) != 0) return TGMM_OK;
  hid_t f = H5I_INVALID_HID;
  H5E_BEGIN_TRY { f = H5Fopen(rl->path, H5F_ACC_RDONLY, H5P_DEFAULT); }
  H5E_END_TRY;
  int rc = f < 0 ? TGMM_EUSER : load_steps(rl, f, upto);
  if (rc == TGMM_OK) rc = load_evals(rl, f, upto);
  if (f >= 0) H5Fclose(f);
  if (rc != TGMM_OK)
    tgmm_error("%s: cannot read the metrics series back (move the file away to start a new one)",
               rl->path);
  return rc;
}
