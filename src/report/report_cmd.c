/* report_cmd.c — `tgmm report`: a run directory -> learning curves (report_curves.c); one or
 * several results files of `tgmm eval` -> tables and plots (report_merge.c). Rank 0 does the
 * work, all or none (report_stage.c: the files reach their real names together at the end;
 * SIGTERM and SIGINT stop it with nothing left); the other ranks only agree on the exit code. */
#include <signal.h>
#include <string.h>
#include <sys/stat.h>

#include "tgmm/commands.h"
#include "tgmm/common.h"
#include "tgmm/report.h"

static void on_signal(int sig) { tgmm_stop_signal = sig; }

/* No SA_RESTART: a wait for gnuplot returns, and the report stops. */
static void install_signals(struct sigaction old[2]) {
  struct sigaction sa;
  memset(&sa, 0, sizeof sa);
  sa.sa_handler = on_signal;
  sigemptyset(&sa.sa_mask);
  sigaction(SIGTERM, &sa, &old[0]);
  sigaction(SIGINT, &sa, &old[1]);
}

/* Rank 0: the report of cli into the staging directory of prefix (NULL: tables on stdout only),
 * then moved into place. */
static int staged(const tgmm_cli *cli, const tgmm_config *cfg, int curves, const char *prefix) {
  tgmm_report_stage st;
  memset(&st, 0, sizeof st);
  if (prefix) TGMM_TRY(tgmm_report_stage_begin(&st, prefix));
  int rc;
  if (curves) {
    rc = tgmm_report_curves(cli->data, prefix ? st.prefix : NULL);
  } else {
    tgmm_cli c = *cli;
    c.out = prefix ? st.prefix : NULL;
    rc = tgmm_report_files(&c, cfg->report.error_bars == 1);
  }
  if (rc == TGMM_OK && tgmm_stop_signal) rc = TGMM_EFAIL;
  if (rc == TGMM_OK) rc = tgmm_report_stage_commit(&st, prefix);
  else tgmm_report_stage_abort(&st);
  if (rc == TGMM_OK && !curves && prefix) /* the console showed the verdict's table alone */
    printf("(every metric's table: %s.md)\n", prefix);
  if (rc == TGMM_OK || !tgmm_stop_signal) return rc;
  tgmm_error("report: stopped by a signal; nothing of this report is left");
  return rc;
}

int tgmm_cmd_report(const tgmm_cli *cli, const tgmm_config *cfg) {
  if (!cli->data) {
    tgmm_error0("tgmm report needs --data RESULTS.h5 (a file written by tgmm eval) or --data "
                "RUN_DIR (a training run: learning curves)");
    return TGMM_EUSER;
  }
  struct sigaction old[2];
  install_signals(old);
  int rc = TGMM_OK;
  struct stat st;
  if (stat(cli->data, &st) == 0 && S_ISDIR(st.st_mode) && cli->n_data == 1 && !cli->rows) {
    char def[4200]; /* learning curves: RUN_DIR/curves.* by default */
    snprintf(def, sizeof def, "%s/curves", cli->data);
    if (tgmm_mpi.rank == 0) rc = staged(cli, cfg, 1, cli->out ? cli->out : def);
  } else if (tgmm_mpi.rank == 0) {
    rc = staged(cli, cfg, 0, cli->out);
  }
  sigaction(SIGTERM, &old[0], NULL);
  sigaction(SIGINT, &old[1], NULL);
  return tgmm_agree(rc);
}
