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

/* Keys that may change on resume: they do not change what the run computes (evaluation and
 * checkpoint cadence, the start of a fresh run, where and how long it runs). */
static const char *const EXEMPT[] = {"train.steps",      "train.resume",         "train.threads",
                                     "train.run_dir",    "train.init_from",      "train.eval_every",
                                     "train.checkpoint_every", "train.eval_baselines", NULL};

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

/* Rank 0: compare the checkpoint's config (resolved: keys it lacks count as their defaults, so
 * a checkpoint of an older version resumes) with ours. */
static int check_config(const char *path, const tgmm_config *cfg) {
  tgmm_config old;
  if (tgmm_checkpoint_config(path, &old) != TGMM_OK) {
    tgmm_error("%s: no readable `config` attribute; cannot check that it belongs to this run",
               path);
    return TGMM_EUSER;
  }
  char keys[2048] = "";
  int nd = tgmm_config_diff(old.text, cfg->text, EXEMPT, keys, (int)sizeof keys);
  tgmm_config_free(&old);
  if (nd == 0) return TGMM_OK;
  if (nd > 0)
    tgmm_error("cannot resume from %s: its config differs in %s (only train.steps, train.resume, "
               "train.threads, train.run_dir, train.init_from, train.eval_every, "
               "train.checkpoint_every and train.eval_baselines may change on resume); use "
               "train.resume=never or another train.run_dir to start a new run", path, keys);
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
