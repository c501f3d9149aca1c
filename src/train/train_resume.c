/* train_resume.c — train.resume: auto continues from the newest checkpoint of the run directory
 * (include/tgmm/checkpoint.h). The checkpoint's resolved config must equal this run's except for
 * the keys below, which do not change what the run computes. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "tgmm/common.h"
#include "tgmm/checkpoint.h"
#include "train_impl.h"

/* Keys that may change on resume: they do not change what the run computes (evaluation and
 * checkpoint cadence, the start of a fresh run, where and how long it runs). */
static const char *const EXEMPT[] = {"train.steps",      "train.resume",         "train.threads",
                                     "train.run_dir",    "train.init_from",      "train.eval_every",
                                     "train.checkpoint_every", "train.eval_baselines",
                                     "train.keep_checkpoints", NULL};

int tgmm_train_resume(trainer *tr, int64_t step) {
  char path[TGMM_MAX_STR + 64];
  tgmm_checkpoint_path(tr->cfg->train.run_dir, step, path, sizeof path);
  int rc = tgmm_checkpoint_check_config(
      path, tr->cfg, EXEMPT,
      "train.steps, train.resume, train.threads, train.run_dir, train.init_from, "
      "train.eval_every, train.checkpoint_every, train.eval_baselines and train.keep_checkpoints");
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
