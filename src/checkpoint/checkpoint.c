/* checkpoint.c — TGMM checkpoints in HDF5 (include/tgmm/checkpoint.h): one dataset per tensor
 * with its PyTorch name and shape, under /params, /adam_m, /adam_v (and /grads); the newest of a
 * run directory; the config check on resume; exported models (/params only). The `tgmm export`
 * command: export_cmd.c. */
#define _GNU_SOURCE
#include <ctype.h>
#include <dirent.h>
#include <stdio.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <errno.h>
#include <unistd.h>

#include "tgmm/common.h"
#include "tgmm/checkpoint.h"
#include "tgmm/h5io.h"

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

/* Every rank holds the same parameters and moments, so rank 0 alone writes the file (one open
 * per job, not one per rank); the others wait for its result. */
int tgmm_checkpoint_write(const char *path, const tgmm_model *m, const tgmm_config *cfg,
                          int64_t step, int save_grads, double loss) {
  int rc = TGMM_OK;
  if (tgmm_mpi.rank == 0) {
    tgmm_h5out out;
    rc = tgmm_h5_create(&out, path, MPI_COMM_SELF);
    if (rc == TGMM_OK) rc = write_all(out.file, m, cfg, step, save_grads, loss);
    if (rc == TGMM_OK) rc = tgmm_h5_commit(&out);
    else if (out.tmp[0]) tgmm_h5_abort(&out);
    /* every input was checked before the first step: a checkpoint that cannot be written (its
     * temporary's name taken by a directory, a read-only run directory) is an I/O failure */
    if (rc == TGMM_EUSER) rc = TGMM_EIO;
  }
  return tgmm_agree(rc);
}

static int read_group(hid_t f, const char *path, const char *group, tgmm_model *m, float *buf) {
  for (int j = 0; j < m->ntensors; j++) {
    const tgmm_tensor *t = &m->tensors[j];
    char name[160];
    snprintf(name, sizeof name, "/%s/%s", group, t->name);
    hsize_t dims[3] = {(hsize_t)t->shape[0], (hsize_t)t->shape[1], (hsize_t)t->shape[2]};
    TGMM_TRY(tgmm_h5_read(f, path, name, H5T_NATIVE_FLOAT, t->ndim, dims, buf + t->off));
    size_t n = (size_t)t->shape[0] * (size_t)(t->ndim > 1 ? t->shape[1] : 1) *
               (size_t)(t->ndim > 2 ? t->shape[2] : 1);
    for (size_t i = 0; i < n; i++)
      if (!isfinite(buf[t->off + i])) {
        tgmm_error("%s: dataset %s has a non-finite value (NaN or infinity) at entry %zu: the "
                   "checkpoint is not usable", path, name, i);
        return TGMM_EUSER;
      }
  }
  return TGMM_OK;
}

static int read_local(const char *path, tgmm_model *m, int moments, int64_t *step) {
  hid_t f;
  TGMM_TRY(tgmm_h5_open_read(path, MPI_COMM_SELF, &f));
  int rc = read_group(f, path, "params", m, m->params);
  if (rc == TGMM_OK && moments) rc = read_group(f, path, "adam_m", m, m->m);
  if (rc == TGMM_OK && moments) rc = read_group(f, path, "adam_v", m, m->v);
  hsize_t one = 1; /* /step [1]: any other shape is refused before it is read */
  if (rc == TGMM_OK && tgmm_h5_exists(f, "/step"))
    rc = tgmm_h5_read(f, path, "/step", H5T_NATIVE_INT64, 1, &one, step);
  H5Fclose(f);
  return rc;
}

/* Rank 0 opens and reads the file; the others receive the tensors by broadcast (pieces of at
 * most 2^30 bytes), so a job opens a checkpoint once, whatever its rank count. */
int tgmm_checkpoint_read(const char *path, tgmm_model *m, int moments, int64_t *step) {
  int64_t s = 0;
  int rc = tgmm_mpi.rank == 0 ? read_local(path, m, moments, &s) : TGMM_OK;
  MPI_Bcast(&rc, 1, MPI_INT, 0, tgmm_mpi.comm);
  if (rc != TGMM_OK) return rc;
  size_t bytes = sizeof(float) * m->nparams;
  tgmm_bcast_bytes(m->params, bytes, 0, tgmm_mpi.comm, 0);
  if (moments) {
    tgmm_bcast_bytes(m->m, bytes, 0, tgmm_mpi.comm, 0);
    tgmm_bcast_bytes(m->v, bytes, 0, tgmm_mpi.comm, 0);
  }
  MPI_Bcast(&s, 1, MPI_INT64_T, 0, tgmm_mpi.comm);
  if (step) *step = s;
  return TGMM_OK;
}

int tgmm_checkpoint_resolve(const char *arg, char *out, size_t out_len) {
  struct stat st; /* rank 0 looks; one stat per job, not one per rank */
  int dir = tgmm_mpi.rank == 0 && stat(arg, &st) == 0 && S_ISDIR(st.st_mode);
  MPI_Bcast(&dir, 1, MPI_INT, 0, tgmm_mpi.comm);
  if (!dir) {
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

/* Rank 0 opens the file and broadcasts the attribute; every rank parses it. */
int tgmm_checkpoint_config(const char *path, tgmm_config *cfg) {
  char *text = NULL;
  int rc = TGMM_OK;
  if (tgmm_mpi.rank == 0) {
    hid_t f;
    rc = tgmm_h5_open_read(path, MPI_COMM_SELF, &f);
    if (rc == TGMM_OK) {
      rc = tgmm_h5_read_attr_str(f, "config", &text);
      H5Fclose(f);
      if (rc != TGMM_OK || !text) {
        tgmm_error("%s: no 'config' attribute: not a tgmm checkpoint or exported model", path);
        rc = TGMM_EUSER;
      }
    }
  }
  MPI_Bcast(&rc, 1, MPI_INT, 0, tgmm_mpi.comm);
  if (rc == TGMM_OK) rc = tgmm_bcast_text(&text, 0, tgmm_mpi.comm);
  if (rc != TGMM_OK) {
    free(text);
    tgmm_config_defaults(cfg);
    return rc;
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
  int rc = TGMM_OK;
  if (tgmm_mpi.rank == 0) { /* as tgmm_checkpoint_write: one process writes */
    tgmm_h5out out;
    rc = tgmm_h5_create(&out, path, MPI_COMM_SELF);
    if (rc == TGMM_OK) rc = write_group(out.file, "params", m, m->params);
    if (rc == TGMM_OK) rc = tgmm_h5_write_meta(out.file, cfg, tgmm_mpi.size);
    if (rc == TGMM_OK) rc = tgmm_h5_attr_str(out.file, "exported_from", source);
    if (rc == TGMM_OK) rc = tgmm_h5_attr_i64(out.file, "step", step);
    if (rc == TGMM_OK) rc = tgmm_h5_commit(&out);
    else if (out.tmp[0]) tgmm_h5_abort(&out);
  }
  return tgmm_agree(rc);
}

/* The step of a checkpoint name as tgmm_checkpoint_path writes it: ckpt_<step>.h5 with eight
 * digits below 10^8 and as many as the step needs above (so a step of any size, up to 10^18,
 * is found; the newest is the highest step, never the longest or last name); -1 for any other
 * name (temporary and set-aside files included, and names of another width, which would not
 * map back to the same file). */
static int64_t ckpt_step(const char *name) {
  size_t n = strlen(name);
  if (n < 13 || n > 5 + 18 + 3 || strncmp(name, "ckpt_", 5) != 0 || strcmp(name + n - 3, ".h5") != 0)
    return -1;
  int64_t s = 0;
  for (size_t i = 5; i < n - 3; i++) {
    if (!isdigit((unsigned char)name[i])) return -1;
    s = s * 10 + (name[i] - '0');
  }
  char canon[40];
  snprintf(canon, sizeof canon, "ckpt_%08lld.h5", (long long)s);
  return strcmp(canon, name) == 0 ? s : -1;
}

static int cmp_i64(const void *a, const void *b) {
  int64_t x = *(const int64_t *)a, y = *(const int64_t *)b;
  return (x > y) - (x < y);
}

int tgmm_checkpoint_prune(const char *dir, int keep) {
  int rc = TGMM_OK;
  if (tgmm_mpi.rank == 0 && keep > 0) {
    DIR *d = opendir(dir);
    int64_t *steps = NULL;
    size_t n = 0, cap = 0;
    struct dirent *e;
    while (d && rc == TGMM_OK && (e = readdir(d)) != NULL) {
      int64_t s = ckpt_step(e->d_name);
      if (s < 0) continue;
      if (n == cap) {
        int64_t *t = realloc(steps, (cap = 2 * cap + 16) * sizeof *t);
        if (!t) rc = TGMM_ENOMEM;
        else steps = t;
      }
      if (rc == TGMM_OK) steps[n++] = s;
    }
    if (d) closedir(d);
    if (rc == TGMM_OK && n > (size_t)keep) {
      qsort(steps, n, sizeof *steps, cmp_i64);
      for (size_t i = 0; i + (size_t)keep < n; i++) { /* the oldest first; the newest keep stay */
        char path[TGMM_MAX_STR + 64];
        tgmm_checkpoint_path(dir, steps[i], path, sizeof path);
        if (unlink(path) != 0 && errno != ENOENT)
          tgmm_error("warning: %s: cannot remove an old checkpoint (train.keep_checkpoints = %d): %s", path,
                    keep, strerror(errno));
      }
    }
    free(steps);
  }
  MPI_Bcast(&rc, 1, MPI_INT, 0, tgmm_mpi.comm);
  return rc;
}

int tgmm_checkpoint_newest_below(const char *dir, int64_t below, int64_t *step) {
  long long best = -1;
  if (tgmm_mpi.rank == 0) {
    DIR *d = opendir(dir);
    struct dirent *e;
    while (d && (e = readdir(d)) != NULL) {
      int64_t s = ckpt_step(e->d_name);
      if (s > best && (below < 0 || s < below)) best = s;
    }
    if (d) closedir(d);
  }
  MPI_Bcast(&best, 1, MPI_LONG_LONG, 0, tgmm_mpi.comm);
  *step = best;
  return TGMM_OK;
}

int tgmm_checkpoint_latest(const char *dir, int64_t *step) {
  return tgmm_checkpoint_newest_below(dir, -1, step);
}

int tgmm_checkpoint_set_aside(const char *path) {
  int rc = TGMM_OK;
  if (tgmm_mpi.rank == 0) {
    char bad[TGMM_MAX_STR + 80];
    snprintf(bad, sizeof bad, "%s.damaged", path);
    if (rename(path, bad) != 0) {
      tgmm_error("cannot set the damaged checkpoint %s aside as %s: %s", path, bad, strerror(errno));
      rc = TGMM_EIO;
    } else {
      tgmm_warn0("%s is set aside as %s (damaged)", path, bad);
    }
  }
  return tgmm_agree(rc);
}

/* Rank 0: the checkpoint's stored config parses, its identity is this run's, and every tensor
 * (with the moments), /step and the attributes read back. */
static int verify_local(const char *path, tgmm_model *m, int64_t step) {
  int64_t got = -1;
  int rc = read_local(path, m, 1, &got);
  if (rc == TGMM_OK && got != step) {
    tgmm_error("%s: dataset /step holds %lld, the file name says %lld", path, (long long)got,
               (long long)step);
    rc = TGMM_EUSER;
  }
  return rc;
}

/* The run identity of a config text, with the keys a resume may change that the identity
 * counts (train.steps extends a run; train.init_from only starts one) set alike. Collective. */
static int resume_identity(const char *name, const char *text, char out[17]) {
  char k1[] = "train.steps=1", k2[] = "train.init_from=x";
  char *const ov[2] = {k1, k2};
  tgmm_config c;
  TGMM_TRY(tgmm_config_load_string(&c, name, text ? text : "", 2, ov));
  int rc = tgmm_config_identity(&c, out);
  tgmm_config_free(&c);
  return rc;
}

int tgmm_checkpoint_verify(const char *path, const tgmm_config *cfg, tgmm_model *m, int64_t step,
                           int *other_run) {
  *other_run = 0;
  tgmm_config old; /* collective: the stored config parses (a message names file and line);
                      damage is a warning here: the caller falls back or says the last word */
  tgmm_mpi.warn_only++;
  int rc = tgmm_checkpoint_config(path, &old);
  tgmm_mpi.warn_only--;
  if (rc == TGMM_OK) {
    char mine[17] = "", theirs[17] = "";
    rc = resume_identity("this run's config", cfg->text, mine);
    if (rc == TGMM_OK) rc = resume_identity(path, old.text, theirs);
    if (rc == TGMM_OK && strcmp(mine, theirs) != 0) {
      static const char *const may[] = {"train.steps", "train.init_from", NULL};
      char keys[2048] = "?";
      tgmm_config_diff_training(old.text, cfg->text, cfg, may, keys, (int)sizeof keys);
      tgmm_error0("cannot resume from %s: it belongs to another run: its config differs in %s, "
                  "which shape the training "
                  "(its identity is %s, this run's %s); use another train.run_dir, or "
                  "train.resume=restart to move the old run aside", path, keys, theirs, mine);
      *other_run = 1;
      rc = TGMM_EUSER;
    }
    tgmm_config_free(&old);
  }
  tgmm_mpi.warn_only++;
  if (rc == TGMM_OK && tgmm_mpi.rank == 0) rc = verify_local(path, m, step);
  tgmm_mpi.warn_only--;
  MPI_Bcast(other_run, 1, MPI_INT, 0, tgmm_mpi.comm);
  return tgmm_agree(rc);
}

/* The stored config is resolved (keys it lacks count as their defaults, so a checkpoint of an
 * older version resumes); rank 0 alone opens the file (tgmm_checkpoint_config broadcasts the
 * text); every rank compares the same texts. */
int tgmm_checkpoint_check_config(const char *path, const tgmm_config *cfg,
                                 const char *const exempt[], const char *what_may_change) {
  tgmm_config old;
  if (tgmm_checkpoint_config(path, &old) != TGMM_OK) {
    tgmm_error0("%s: no readable `config` attribute; cannot check that it belongs to this run",
                path);
    return TGMM_EUSER;
  }
  char keys[2048] = "";
  int nd = tgmm_config_diff(old.text, cfg->text, exempt, keys, (int)sizeof keys);
  tgmm_config_free(&old);
  if (nd == 0) return TGMM_OK;
  if (nd > 0)
    tgmm_error0("cannot resume from %s: its config differs in %s (only %s may change on "
                "resume); use train.resume=never or another train.run_dir to start a new run",
                path, keys, what_may_change);
  return TGMM_EUSER;
}

