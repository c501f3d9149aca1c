/* train_resume.c — train.resume: auto continues from the newest checkpoint of the run directory
 * (the highest step among RUN_DIR/ckpt_<8 digits>.h5; temporary files never match). The
 * checkpoint's resolved config must equal this run's except for the keys DESIGN.md exempts. */
#define _GNU_SOURCE
#include <ctype.h>
#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "tgmm/common.h"
#include "train_impl.h"

static const char *const EXEMPT[] = {"train.steps", "train.resume", "train.threads",
                                     "train.run_dir", NULL};

/* Step of a checkpoint file name "ckpt_DDDDDDDD.h5" (-1 if the name is anything else). */
static int64_t ckpt_step(const char *name) {
  if (strlen(name) != 16 || strncmp(name, "ckpt_", 5) != 0 || strcmp(name + 13, ".h5") != 0)
    return -1;
  int64_t s = 0;
  for (int i = 5; i < 13; i++) {
    if (!isdigit((unsigned char)name[i])) return -1;
    s = s * 10 + (name[i] - '0');
  }
  return s;
}

int tgmm_checkpoint_latest(const char *dir, int64_t *step) {
  long long best = -1;
  if (tgmm_mpi.rank == 0) {
    DIR *d = opendir(dir);
    struct dirent *e;
    while (d && (e = readdir(d)) != NULL) {
      int64_t s = ckpt_step(e->d_name);
      if (s > best) best = s;
    }
    if (d) closedir(d);
  }
  MPI_Bcast(&best, 1, MPI_LONG_LONG, 0, tgmm_mpi.comm);
  *step = best;
  return TGMM_OK;
}

/* Rank 0: compare the checkpoint's config attribute with ours. */
static int check_config(const char *path, const tgmm_config *cfg) {
  hid_t f;
  TGMM_TRY(tgmm_h5_open_read(path, MPI_COMM_SELF, &f));
  char *text = NULL;
  int rc = tgmm_h5_read_attr_str(f, "config", &text);
  H5Fclose(f);
  if (rc != TGMM_OK || !text) {
    tgmm_error("%s: no readable `config` attribute; cannot check that it belongs to this run",
               path);
    free(text);
    return TGMM_EUSER;
  }
  /* A key the stored config lacks (written by an older tgmm) counts as its default: compare
   * the stored config resolved over the defaults, when it resolves. */
  tgmm_config stored;
  const char *cmp = text;
  if (tgmm_config_load_string(&stored, path, text, 0, NULL) == TGMM_OK) cmp = stored.text;
  else stored.text = NULL;
  char keys[2048] = "";
  int nd = tgmm_config_diff(cmp, cfg->text, EXEMPT, keys, (int)sizeof keys);
  tgmm_config_free(&stored);
  free(text);
  if (nd == 0) return TGMM_OK;
  if (nd > 0)
    tgmm_error("cannot resume from %s: its config differs in %s (only train.steps, train.resume, "
               "train.threads and train.run_dir may change on resume); use train.resume=never "
               "or another train.run_dir to start a new run", path, keys);
  return TGMM_EUSER;
}

int tgmm_train_resume(trainer *tr, int64_t step) {
  char path[TGMM_MAX_STR + 64];
  tgmm_checkpoint_path(tr->cfg->train.run_dir, step, path, sizeof path);
  int rc = tgmm_mpi.rank == 0 ? check_config(path, tr->cfg) : TGMM_OK;
  TGMM_TRY(tgmm_agree(rc));
  int64_t got = -1;
  rc = tgmm_checkpoint_read(path, &tr->model, 1, &got);
  if (rc == TGMM_OK && got != step) {
    tgmm_error0("%s: dataset /step holds %lld, the file name says %lld", path, (long long)got,
                (long long)step);
    rc = TGMM_EUSER;
  }
  TGMM_TRY(tgmm_agree(rc));
  tr->start = step;
  tgmm_info("train: resuming from %s (step %lld of %lld)", path, (long long)step,
            (long long)tr->cfg->train.steps);
  return TGMM_OK;
}
