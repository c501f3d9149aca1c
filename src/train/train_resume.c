/* train_resume.c — train.resume: auto continues from the newest checkpoint of the run directory
 * (include/tgmm/checkpoint.h). Only the keys that shape the training's trajectory
 * (tgmm_config_key_shapes_training: model, task distribution, optimizer, seed, loss, the data
 * source train.data) must equal the checkpoint's; evaluation, report, baseline and gen keys and
 * bookkeeping (cadence, retention, threads, where it runs) may change, so a requeued job whose
 * shared YAML had its eval grid edited still resumes. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "tgmm/common.h"
#include "tgmm/checkpoint.h"
#include "train_impl.h"

/* Training keys that may change all the same: train.steps (a run continues to a new length; a
 * checkpoint at or past it means nothing to do) and train.init_from (the parameters of a
 * fresh start, replaced by the checkpoint's). */
static const char *const EXEMPT[] = {"train.steps", "train.init_from", NULL};

/* Collective: TGMM_OK when the checkpoint's config trains what cfg trains; else one message from
 * rank 0 naming the differing keys. */
static int check_config(const char *path, const tgmm_config *cfg) {
  tgmm_config old;
  if (tgmm_checkpoint_config(path, &old) != TGMM_OK) {
    tgmm_error0("%s: no readable `config` attribute; cannot check that it belongs to this run",
                path);
    return TGMM_EUSER;
  }
  char keys[2048] = "";
  int nd = tgmm_config_diff_training(old.text, cfg->text, cfg, EXEMPT, keys, (int)sizeof keys);
  tgmm_config_free(&old);
  if (nd == 0) return TGMM_OK;
  if (nd > 0)
    tgmm_error0("cannot resume from %s: its config differs in %s, which shape%s the training "
                "(evaluation, report, baseline and bookkeeping keys and train.steps may change); "
                "use train.resume=never or another train.run_dir to start a new run",
                path, keys, nd == 1 ? "s" : "");
  return TGMM_EUSER;
}

int tgmm_train_resume(trainer *tr, int64_t step) {
  char path[TGMM_MAX_STR + 64];
  tgmm_checkpoint_path(tr->cfg->train.run_dir, step, path, sizeof path);
  int rc = check_config(path, tr->cfg);
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
