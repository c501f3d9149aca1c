/* commands.h — the subcommands main.c dispatches to. Each gets the parsed command line and the
 * loaded, validated config, returns 0 or a TGMM_E* code that has already been agreed on by
 * every rank (tgmm_agree) and reported. */
#ifndef TGMM_COMMANDS_H
#define TGMM_COMMANDS_H

#include "tgmm/cli.h"
#include "tgmm/config.h"

/* Each lives with its part (src/<part>/): */
int tgmm_cmd_gen(const tgmm_cli *cli, const tgmm_config *cfg);      /* tasks/gen.c */
int tgmm_cmd_train(const tgmm_cli *cli, const tgmm_config *cfg);    /* train/train.c */
int tgmm_cmd_em(const tgmm_cli *cli, const tgmm_config *cfg);       /* baselines/baseline_cmd.c */
int tgmm_cmd_lloyd(const tgmm_cli *cli, const tgmm_config *cfg);    /* baselines/baseline_cmd.c */
int tgmm_cmd_spectral(const tgmm_cli *cli, const tgmm_config *cfg); /* baselines/baseline_cmd.c */
int tgmm_cmd_eval(const tgmm_cli *cli, const tgmm_config *cfg);     /* eval/eval.c */
int tgmm_cmd_check(const tgmm_cli *cli, const tgmm_config *cfg);    /* eval/check_cmd.c */
int tgmm_cmd_export(const tgmm_cli *cli, const tgmm_config *cfg);   /* checkpoint/export_cmd.c */
int tgmm_cmd_report(const tgmm_cli *cli, const tgmm_config *cfg);   /* report/report_cmd.c */

#endif
