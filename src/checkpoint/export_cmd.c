/* export_cmd.c — `tgmm export --checkpoint CKPT.h5|RUN_DIR --out FILE.h5`: a checkpoint's
 * parameters alone (what ships under configs/pretrained/), with its config and step. */
#include "tgmm/checkpoint.h"
#include "tgmm/commands.h"
#include "tgmm/common.h"

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
