/* checkpoint.c — TGMM checkpoints in HDF5 (see include/tgmm/train.h): one dataset per tensor
 * with its PyTorch name and shape, under /params, /adam_m, /adam_v (and /grads). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "tgmm/common.h"
#include "tgmm/train.h"

void tgmm_checkpoint_path(const char *run_dir, int64_t step, char *out, size_t out_len) {
  snprintf(out, out_len, "%s/ckpt_%08lld.h5", run_dir, (long long)step);
}

static int write_group(hid_t f, const char *group, const tgmm_model *m, const float *buf) {
  for (int j = 0; j < m->ntensors; j++) {
    const tgmm_tensor *t = &m->tensors[j];
    char name[160];
    snprintf(name, sizeof name, "/%s/%s", group, t->name);
    hsize_t dims[3] = {(hsize_t)t->shape[0], (hsize_t)t->shape[1], (hsize_t)t->shape[2]};
    hsize_t rows = tgmm_mpi.rank == 0 ? dims[0] : 0;
    TGMM_TRY(tgmm_h5_write_rows(f, name, H5T_NATIVE_FLOAT, t->ndim, dims, 0, rows, buf + t->off));
  }
  return TGMM_OK;
}

static int write_all(hid_t f, const tgmm_model *m, const tgmm_config *cfg, int64_t step,
                     int save_grads, double loss) {
  TGMM_TRY(write_group(f, "params", m, m->params));
  TGMM_TRY(write_group(f, "adam_m", m, m->m));
  TGMM_TRY(write_group(f, "adam_v", m, m->v));
  if (save_grads) TGMM_TRY(write_group(f, "grads", m, m->grads));
  hsize_t one = 1;
  TGMM_TRY(tgmm_h5_write_rows(f, "/step", H5T_NATIVE_INT64, 1, &one, 0,
                              tgmm_mpi.rank == 0 ? 1 : 0, &step));
  TGMM_TRY(tgmm_h5_write_meta(f, cfg, tgmm_mpi.size));
  TGMM_TRY(tgmm_h5_attr_f64(f, "loss", loss));
  return TGMM_OK;
}

int tgmm_checkpoint_write(const char *path, const tgmm_model *m, const tgmm_config *cfg,
                          int64_t step, int save_grads, double loss) {
  tgmm_h5out out;
  int rc = tgmm_agree(tgmm_h5_create(&out, path, tgmm_mpi.comm));
  if (rc != TGMM_OK) return rc;
  rc = tgmm_agree(write_all(out.file, m, cfg, step, save_grads, loss));
  if (rc != TGMM_OK) {
    tgmm_h5_abort(&out);
    return rc;
  }
  return tgmm_h5_commit(&out);
}

static int read_group(hid_t f, const char *path, const char *group, tgmm_model *m, float *buf) {
  for (int j = 0; j < m->ntensors; j++) {
    const tgmm_tensor *t = &m->tensors[j];
    char name[160];
    snprintf(name, sizeof name, "/%s/%s", group, t->name);
    hsize_t dims[3] = {0, 0, 0};
    TGMM_TRY(tgmm_h5_dims(f, path, name, t->ndim, H5T_FLOAT, dims));
    int same = 1;
    char got[80] = "", want[80] = "";
    for (int k = 0; k < t->ndim; k++) {
      same &= dims[k] == (hsize_t)t->shape[k];
      snprintf(got + strlen(got), sizeof got - strlen(got), "%s%llu", k ? ", " : "",
               (unsigned long long)dims[k]);
      snprintf(want + strlen(want), sizeof want - strlen(want), "%s%d", k ? ", " : "", t->shape[k]);
    }
    if (!same) {
      tgmm_error0("%s: dataset %s has shape [%s], the model needs [%s]", path, name, got, want);
      return TGMM_EUSER;
    }
    TGMM_TRY(tgmm_h5_read_all(f, path, name, H5T_NATIVE_FLOAT, buf + t->off));
  }
  return TGMM_OK;
}

int tgmm_checkpoint_read(const char *path, tgmm_model *m, int moments, int64_t *step) {
  hid_t f;
  TGMM_TRY(tgmm_h5_open_read(path, MPI_COMM_SELF, &f));
  int rc = read_group(f, path, "params", m, m->params);
  if (rc == TGMM_OK && moments) rc = read_group(f, path, "adam_m", m, m->m);
  if (rc == TGMM_OK && moments) rc = read_group(f, path, "adam_v", m, m->v);
  int64_t s = 0;
  if (rc == TGMM_OK && tgmm_h5_exists(f, "/step"))
    rc = tgmm_h5_read_all(f, path, "/step", H5T_NATIVE_INT64, &s);
  if (step) *step = s;
  H5Fclose(f);
  return rc;
}
