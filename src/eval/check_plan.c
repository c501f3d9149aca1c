/* check_plan.c — `tgmm check --sweep` (the runs of the config's sweep block, each validated) and
 * `tgmm check --cost` (what a training of the config costs: parameters, checkpoint size, disk
 * kept under train.keep_checkpoints, FLOPs of the whole training). The launcher
 * (jobs/reproduce.sh) reads both. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "tgmm/common.h"
#include "tgmm/model.h"
#include "tgmm/sweep.h"
#include "eval_impl.h"

/* Run name of a config without a sweep block: the last config file's name without .yaml. */
static void fallback_name(const tgmm_cli *cli, char *out, size_t n) {
  const char *p = cli->n_configs ? cli->configs[cli->n_configs - 1] : "default";
  const char *slash = strrchr(p, '/');
  if (slash) p = slash + 1;
  size_t len = strlen(p);
  if (len > 5 && !strcmp(p + len - 5, ".yaml")) len -= 5;
  snprintf(out, n, "%.*s", (int)(len < n ? len : n - 1), p);
}

/* One line per run on stdout (rank 0): NAME<TAB>key=value<TAB>...; every run loaded (keys,
 * values and cross-key rules) with its overrides before the command line's. */
int tgmm_check_sweep(const tgmm_cli *cli, const tgmm_config *cfg) {
  long n = tgmm_sweep_count(&cfg->sweep);
  int rc = n < 0 ? TGMM_EUSER : TGMM_OK;
  char fallback[128];
  fallback_name(cli, fallback, sizeof fallback);
  tgmm_sweep_run *run = malloc(sizeof *run);
  if (!run) rc = TGMM_ENOMEM;
  for (long i = 0; rc == TGMM_OK && i < n; i++) {
    rc = tgmm_sweep_run_at(&cfg->sweep, i, fallback, run);
    char *ov[TGMM_MAX_SWEEP];
    for (int k = 0; k < run->n_ov; k++) ov[k] = run->ov[k];
    tgmm_config rcfg;
    if (rc == TGMM_OK) {
      rc = tgmm_cli_load_config_with(cli, run->n_ov, ov, &rcfg);
      if (rc != TGMM_OK) tgmm_error0("check: run %ld (%s) of the sweep is not valid", i, run->name);
      tgmm_config_free(&rcfg);
    }
    if (rc == TGMM_OK && tgmm_mpi.rank == 0) {
      printf("%s", run->name);
      for (int k = 0; k < run->n_ov; k++) printf("\t%s", run->ov[k]);
      printf("\n");
    }
  }
  free(run);
  fflush(stdout);
  rc = tgmm_agree(rc);
  if (rc == TGMM_OK) tgmm_info("check: %ld run(s)", n);
  return rc;
}

/* identity: 16 hex digits (tgmm_config_identity) */
int tgmm_check_identity(const tgmm_config *cfg) {
  char id[17];
  TGMM_TRY(tgmm_config_identity(cfg, id));
  if (tgmm_mpi.rank == 0) printf("identity: %s\n", id), fflush(stdout);
  return TGMM_OK;
}

/* cost: steps=S params=P ckpt_bytes=B keep=K checkpoints=C disk_bytes=D train_flop=F */
int tgmm_check_cost(const tgmm_config *cfg) {
  tgmm_model m;
  memset(&m, 0, sizeof m);
  tgmm_model_dims dim;
  TGMM_TRY(tgmm_model_dims_from_config(cfg, &dim));
  TGMM_TRY(tgmm_model_create(&m, &dim));
  int nclass = tgmm_config_nclass(cfg);
  int ntask = cfg->train.batch_size * nclass;
  int *off = malloc(((size_t)ntask + 1) * sizeof *off);
  if (!off) {
    tgmm_model_free(&m);
    return TGMM_ENOMEM;
  }
  off[0] = 0; /* training tasks have N_i ~ U{N/2..N}: the mean, 3N/4 */
  int Ni = (3 * cfg->N + 3) / 4;
  for (int t = 0; t < ntask; t++) off[t + 1] = off[t] + (Ni > 0 ? Ni : 1);
  double flop = tgmm_model_step_flops(&m, off, ntask) * (double)cfg->train.steps;
  /* params, adam_m, adam_v (and grads with save_grads), float32 */
  double bytes = (double)m.nparams * 4.0 * (cfg->train.save_grads ? 4 : 3) + 65536.0;
  int64_t every = cfg->train.checkpoint_every, steps = cfg->train.steps;
  int64_t nck = (every > 0 ? steps / every : 0) + (every <= 0 || steps % every ? 1 : 0);
  int64_t keep = cfg->train.keep_checkpoints;
  int64_t kept = keep > 0 && keep < nck ? keep : nck;
  if (tgmm_mpi.rank == 0) {
    printf("cost: steps=%lld params=%zu ckpt_bytes=%.0f keep=%lld checkpoints=%lld "
           "disk_bytes=%.0f train_flop=%.6g\n",
           (long long)steps, m.nparams, bytes, (long long)keep, (long long)nck,
           bytes * (double)kept, flop);
    fflush(stdout);
  }
  free(off);
  tgmm_model_free(&m);
  return TGMM_OK;
}
