/* cli.h — the command-line grammar shared by every subcommand:
 *   tgmm <command> [config.yaml ...] [key=value ...] [--out FILE] [--data FILE] [--checkpoint FILE]
 *        [--rows FILE] [--quiet | --verbose] [--help]        (check also: --sweep, --cost)
 * Options may stand anywhere after the command; every other argument without '=' is a config
 * file (several: each applied on top of the ones before it); every key=value argument overrides
 * a config key. */
#ifndef TGMM_CLI_H
#define TGMM_CLI_H

#include "tgmm/config.h"

typedef struct {
  const char *command;
  const char *config_path; /* the first config file; NULL = built-in defaults only */
  int n_configs;           /* config files given (each on top of the ones before it) */
  const char *configs[TGMM_MAX_CONFIGS];
  int sweep, cost;         /* check --sweep (list the runs), --cost (size and cost of training) */
  const char *out, *data, *checkpoint; /* data: the first --data */
  const char *rows;  /* --rows FILE.csv (report) */
  int n_data;        /* --data given n_data times (only report takes more than one) */
  const char **datas; /* [n_data], pointers into argv */
  int help;
  int verbosity; /* --quiet 0, default 1, --verbose 2 */
  int n_overrides;
  char **overrides; /* [n_overrides], pointers into argv */
} tgmm_cli;

/* Parse argv (argv[1] is the command). Prints a usage error and returns TGMM_EUSER on unknown
 * options or a second config file. */
int tgmm_cli_parse(int argc, char **argv, tgmm_cli *cli);
void tgmm_cli_free(tgmm_cli *cli);

/* Load the config named by the CLI (defaults + file + overrides); on success, with `print`, rank 0
 * prints the resolved config. Collective: rank 0 reads the file and broadcasts its text. */
int tgmm_cli_load_config(const tgmm_cli *cli, tgmm_config *cfg, int print);

/* The same with `n_extra` overrides applied before the command line's own (a sweep's run). */
int tgmm_cli_load_config_with(const tgmm_cli *cli, int n_extra, char *const extra[/* n_extra */],
                              tgmm_config *cfg);

#endif
