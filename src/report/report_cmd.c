/* report_cmd.c — `tgmm report`: a run directory -> learning curves (report_curves.c); one or
 * several results files of `tgmm eval` -> tables and plots (report_merge.c). Rank 0 does the
 * work; the other ranks only agree on the exit code. */
#include <sys/stat.h>

#include "tgmm/commands.h"
#include "tgmm/common.h"
#include "tgmm/report.h"

int tgmm_cmd_report(const tgmm_cli *cli, const tgmm_config *cfg) {
  if (!cli->data) {
    tgmm_error0("tgmm report needs --data RESULTS.h5 (a file written by tgmm eval) or --data "
                "RUN_DIR (a training run: learning curves)");
    return TGMM_EUSER;
  }
  int rc = TGMM_OK;
  struct stat st;
  if (stat(cli->data, &st) == 0 && S_ISDIR(st.st_mode) && cli->n_data == 1 && !cli->rows)
    return /* a run directory: learning curves */ tgmm_agree(tgmm_mpi.rank == 0 ? tgmm_report_curves(cli->data, cli->out) : TGMM_OK);
  if (tgmm_mpi.rank == 0) {
    rc = tgmm_report_files(cli, cfg->report.error_bars == 1);
    if (rc == TGMM_OK && cli->out)
      tgmm_info("report: wrote %s.md, %s.csv, %s.tex and %s.<metric>.png (.gp, .dat)", cli->out,
                cli->out, cli->out, cli->out);
  }
  return tgmm_agree(rc);
}
