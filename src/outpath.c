/* outpath.c — output paths validated on rank 0 before any work (see include/tgmm/outpath.h). */
#include "tgmm/outpath.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "tgmm/checkpoint.h"
#include "tgmm/common.h"
#include "tgmm/results.h"

/* tgmm's output path buffers hold 4096 bytes with room for ".tmp" (h5io.h). */
enum { PATH_MAX_OUT = 4090 };

static int same_file(const struct stat *a, const char *path) {
  struct stat b;
  return stat(path, &b) == 0 && a->st_dev == b.st_dev && a->st_ino == b.st_ino;
}

/* 0 if `path` (one output) is fine; otherwise prints and returns TGMM_EUSER. Local (rank 0). */
static int check_one(const char *opt, const char *path, const char *const *inputs, int n_inputs) {
  if (strlen(path) > PATH_MAX_OUT) {
    tgmm_error("%s: the output path is too long (%zu characters)", opt, strlen(path));
    return TGMM_EUSER;
  }
  char dir[PATH_MAX_OUT + 8];
  snprintf(dir, sizeof dir, "%s", path);
  char *slash = strrchr(dir, '/');
  if (!slash)
    snprintf(dir, sizeof dir, ".");
  else if (slash == dir)
    dir[1] = 0;
  else
    *slash = 0;
  if (slash && slash[1] == 0) {
    tgmm_error("%s %s: names a directory, not a file", opt, path);
    return TGMM_EUSER;
  }
  struct stat st;
  if (stat(dir, &st) != 0) {
    int e = errno;
    tgmm_error("%s %s: its directory %s: %s", opt, path, dir, strerror(e));
    return TGMM_EUSER;
  }
  if (!S_ISDIR(st.st_mode)) {
    tgmm_error("%s %s: %s is not a directory", opt, path, dir);
    return TGMM_EUSER;
  }
  if (access(dir, W_OK | X_OK) != 0) {
    int e = errno;
    tgmm_error("%s %s: cannot write in directory %s: %s", opt, path, dir, strerror(e));
    return TGMM_EUSER;
  }
  char tmp[PATH_MAX_OUT + 8];
  snprintf(tmp, sizeof tmp, "%s.tmp", path);
  const char *names[2] = {path, tmp};
  for (int k = 0; k < 2; k++) {
    if (stat(names[k], &st) != 0) continue;
    if (S_ISDIR(st.st_mode)) {
      tgmm_error("%s %s: %s is an existing directory", opt, path, names[k]);
      return TGMM_EUSER;
    }
    for (int i = 0; i < n_inputs; i++)
      if (inputs[i] && same_file(&st, inputs[i])) {
        tgmm_error("%s %s: %s is an input of this command (%s); refusing to replace it", opt,
                   path, names[k], inputs[i]);
        return TGMM_EUSER;
      }
  }
  if (stat(tmp, &st) == 0)
    fprintf(stderr, "tgmm: warning: %s is a stale temporary file (of an interrupted run?); it "
                    "will be replaced\n", tmp);
  return TGMM_OK;
}

int tgmm_outpath_check(const char *opt, const char *prefix, const char *const *suffixes,
                       int n_suffixes, const char *const *inputs, int n_inputs) {
  int rc = TGMM_OK;
  if (tgmm_mpi.rank == 0) {
    if (!prefix || !prefix[0]) {
      tgmm_error("%s is empty: give a file name", opt);
      rc = TGMM_EUSER;
    }
    for (int i = 0; rc == TGMM_OK && i < n_suffixes; i++) {
      char path[PATH_MAX_OUT + 64];
      if (snprintf(path, sizeof path, "%s%s", prefix, suffixes[i]) >= (int)sizeof path) {
        tgmm_error("%s: the output path is too long", opt);
        rc = TGMM_EUSER;
      } else {
        rc = check_one(opt, path, inputs, n_inputs);
      }
    }
  }
  MPI_Bcast(&rc, 1, MPI_INT, 0, tgmm_mpi.comm);
  return rc;
}

int tgmm_outpath_check_cli(const char *command, const char *config_path, const char *out,
                           const char *data, const char *checkpoint) {
  int is_report = strcmp(command, "report") == 0;
  char curves[4200] = "", metrics[4200] = "", ckpt[4200] = "";
  int data_dir = 0;
  if (is_report && data) {
    struct stat st;
    data_dir = tgmm_mpi.rank == 0 && stat(data, &st) == 0 && S_ISDIR(st.st_mode);
    MPI_Bcast(&data_dir, 1, MPI_INT, 0, tgmm_mpi.comm);
    if (data_dir) {
      snprintf(curves, sizeof curves, "%s/curves", data);
      snprintf(metrics, sizeof metrics, "%s/metrics.h5", data);
    }
  }
  if (!out && !curves[0]) return TGMM_OK;
  if (checkpoint) TGMM_TRY(tgmm_checkpoint_resolve(checkpoint, ckpt, sizeof ckpt));
  const char *inputs[] = {config_path, data, metrics[0] ? metrics : NULL, ckpt[0] ? ckpt : NULL};
  if (!is_report) {
    static const char *const plain[] = {""};
    return tgmm_outpath_check("--out", out, plain, 1, inputs, 4);
  }
  static const char *const curve_files[] = {".loss.png", ".loss.gp", ".loss.dat",
                                            ".heldout.png", ".heldout.gp", ".heldout.dat"};
  if (data_dir)
    return tgmm_outpath_check("--out", out ? out : curves, curve_files, 6, inputs, 4);
  const char *tables[3 + 1 + 2 * TGMM_REPORT_NMETRIC];
  char names[2 * TGMM_REPORT_NMETRIC][64];
  int n = 0;
  tables[n++] = ".md";
  tables[n++] = ".csv";
  tables[n++] = ".tex";
  tables[n++] = ".plot.dat";
  for (int c = 0; c < TGMM_REPORT_NMETRIC; c++) {
    snprintf(names[2 * c], sizeof names[0], ".%s.png", tgmm_report_metric_name[c]);
    snprintf(names[2 * c + 1], sizeof names[0], ".%s.gp", tgmm_report_metric_name[c]);
    tables[n++] = names[2 * c];
    tables[n++] = names[2 * c + 1];
  }
  return tgmm_outpath_check("--out", out, tables, n, inputs, 4);
}
