/* checkpoint.c — TGMM checkpoints in HDF5 (see include/tgmm/train.h): one dataset per tensor
 * with its PyTorch name and shape, under /params, /adam_m, /adam_v (and /grads); exported models
 * (/params only) and `tgmm export`. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "tgmm/commands.h"
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

int tgmm_checkpoint_resolve(const char *arg, char *out, size_t out_len) {
  struct stat st;
  if (stat(arg, &st) != 0 || !S_ISDIR(st.st_mode)) {
    snprintf(out, out_len, "%s", arg);
    return TGMM_OK;
  }
  int64_t step;
  TGMM_TRY(tgmm_checkpoint_latest(arg, &step));
  if (step < 0) {
    tgmm_error0("%s: a directory without checkpoints (ckpt_<step>.h5)", arg);
    return TGMM_EUSER;
  }
  tgmm_checkpoint_path(arg, step, out, out_len);
  return TGMM_OK;
}

int tgmm_checkpoint_config(const char *path, tgmm_config *cfg) {
  hid_t f;
  TGMM_TRY(tgmm_h5_open_read(path, MPI_COMM_SELF, &f));
  char *text = NULL;
  int rc = tgmm_h5_read_attr_str(f, "config", &text);
  H5Fclose(f);
  if (rc != TGMM_OK || !text) {
    tgmm_error0("%s: no 'config' attribute: not a tgmm checkpoint or exported model", path);
    free(text);
    return TGMM_EUSER;
  }
  rc = tgmm_config_load_string(cfg, path, text, 0, NULL);
  free(text);
  return rc;
}

int tgmm_checkpoint_load_model(const char *path, tgmm_config *cfg, tgmm_model *m, int64_t *step) {
  TGMM_TRY(tgmm_checkpoint_config(path, cfg));
  tgmm_model_dims dim;
  int rc = tgmm_model_dims_from_config(cfg, &dim);
  if (rc == TGMM_OK) rc = tgmm_model_create(m, &dim);
  if (rc != TGMM_OK) {
    tgmm_config_free(cfg);
    return rc;
  }
  rc = tgmm_checkpoint_read(path, m, 0, step);
  if (rc != TGMM_OK) {
    tgmm_model_free(m);
    tgmm_config_free(cfg);
  }
  return rc;
}

int tgmm_checkpoint_export(const char *path, const tgmm_model *m, const tgmm_config *cfg,
                           const char *source, int64_t step) {
  tgmm_h5out out;
  int rc = tgmm_agree(tgmm_h5_create(&out, path, tgmm_mpi.comm));
  if (rc != TGMM_OK) return rc;
  rc = write_group(out.file, "params", m, m->params);
  if (rc == TGMM_OK) rc = tgmm_h5_write_meta(out.file, cfg, tgmm_mpi.size);
  if (rc == TGMM_OK) rc = tgmm_h5_attr_str(out.file, "exported_from", source);
  if (rc == TGMM_OK) rc = tgmm_h5_attr_i64(out.file, "step", step);
  if (tgmm_agree(rc) != TGMM_OK) {
    tgmm_h5_abort(&out);
    return TGMM_EFAIL;
  }
  return tgmm_h5_commit(&out);
}

int tgmm_cmd_export(const tgmm_cli *cli, const tgmm_config *cfg) {
  (void)cfg;
  if (!cli->checkpoint || !cli->out) {
    tgmm_error0("tgmm export needs --checkpoint CKPT.h5|RUN_DIR and --out FILE.h5");
    return TGMM_EUSER;
  }
  char path[TGMM_MAX_STR + 64];
  TGMM_TRY(tgmm_agree(tgmm_checkpoint_resolve(cli->checkpoint, path, sizeof path)));
  tgmm_config mc;
  tgmm_model m;
  int64_t step = 0;
  TGMM_TRY(tgmm_agree(tgmm_checkpoint_load_model(path, &mc, &m, &step)));
  int rc = tgmm_checkpoint_export(cli->out, &m, &mc, path, step);
  if (rc == TGMM_OK)
    tgmm_info("export: %s (step %lld, %zu parameters, %.2f MB) -> %s", path, (long long)step,
              m.nparams, 4e-6 * (double)m.nparams, cli->out);
  tgmm_model_free(&m);
  tgmm_config_free(&mc);
  return rc;
}
