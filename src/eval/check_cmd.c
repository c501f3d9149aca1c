/* check_cmd.c — `tgmm check [config.yaml] [key=value ...]`: validates a config with its
 * overrides for train and eval (the model it trains, the task family, the methods, every
 * evaluation setting and that the model fits them) without running anything, and prints the
 * resolved config (job scripts call it before submitting). */
#include <stdio.h>
#include <string.h>

#include "eval_impl.h"
#include "tgmm/commands.h"
#include "tgmm/common.h"

int tgmm_cmd_check(const tgmm_cli *cli, const tgmm_config *cfg) {
  if (cli->sweep) return tgmm_check_sweep(cli, cfg);
  evaluator ev;
  memset(&ev, 0, sizeof ev);
  ev.cfg = cfg;
  ev.chunk = cfg->eval.chunk;
  int rc = tgmm_model_dims_from_config(cfg, &ev.model.dim);
  if (rc == TGMM_OK) rc = tgmm_task_check_feasible(cfg);
  if (rc == TGMM_OK) rc = tgmm_eval_parse_methods(&ev);
  if (rc == TGMM_OK) rc = tgmm_eval_grid_settings(&ev);
  if (rc == TGMM_OK) rc = tgmm_eval_variant_keys(&ev);
  if (rc == TGMM_OK && ev.has_tgmm) {
    ev.tcfg = *cfg; /* borrowed: cleared before tgmm_eval_free */
    ev.ckpt = "this config (the model it trains)";
    rc = tgmm_eval_check_model_fits(&ev);
    if (rc == TGMM_OK) rc = tgmm_eval_plugin_method(&ev);
  }
  memset(&ev.tcfg, 0, sizeof ev.tcfg);
  int ns = ev.ns;
  tgmm_eval_free(&ev);
  rc = tgmm_agree(rc);
  if (rc == TGMM_OK && cli->cost) {
    rc = tgmm_agree(tgmm_check_identity(cfg));
    return rc == TGMM_OK ? tgmm_agree(tgmm_check_cost(cfg)) : rc;
  }
  if (rc == TGMM_OK && tgmm_mpi.rank == 0) {
    size_t n = strlen(cfg->text);
    printf("%s%s", cfg->text, n && cfg->text[n - 1] == '\n' ? "" : "\n");
    fflush(stdout);
    tgmm_info("check: %s%s is valid for train and eval (%d evaluation setting(s))",
              cli->config_path ? cli->config_path : "the built-in config",
              cli->n_overrides ? " with its overrides" : "", ns);
  }
  return rc;
}
