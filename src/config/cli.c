/* cli.c — the command-line grammar shared by every subcommand (see include/tgmm/cli.h). */
#include "tgmm/cli.h"

#include <stdlib.h>
#include <string.h>

#include "tgmm/common.h"

static int take_value(int argc, char **argv, int *i, const char *opt, const char **dst) {
  const char *arg = argv[*i];
  size_t n = strlen(opt);
  if (arg[n] == '=') { /* --out=FILE */
    *dst = arg + n + 1;
    return TGMM_OK;
  }
  if (*i + 1 >= argc) {
    tgmm_error0("option %s needs a value (try 'tgmm %s --help')", opt, argv[1]);
    return TGMM_EUSER;
  }
  *dst = argv[++*i];
  return TGMM_OK;
}

static int is_opt(const char *arg, const char *opt) {
  size_t n = strlen(opt);
  return strncmp(arg, opt, n) == 0 && (arg[n] == '\0' || arg[n] == '=');
}

/* Any option given twice is an error (the last one silently winning hides a typo), except
 * --data for report, which reads several results files. */
static int once(const char *prev, const char *opt, const char *command) {
  if (!prev || (strcmp(opt, "--data") == 0 && command && strcmp(command, "report") == 0))
    return TGMM_OK;
  tgmm_error0("option %s is given twice (first as '%s')", opt, prev);
  return TGMM_EUSER;
}

int tgmm_cli_parse(int argc, char **argv, tgmm_cli *cli) {
  memset(cli, 0, sizeof *cli);
  cli->command = argc > 1 ? argv[1] : NULL;
  cli->verbosity = 1;
  cli->overrides = calloc((size_t)(argc > 0 ? argc : 1), sizeof(char *));
  cli->datas = calloc((size_t)(argc > 0 ? argc : 1), sizeof(char *));
  if (!cli->overrides || !cli->datas) return TGMM_ENOMEM;
  for (int i = 2; i < argc; i++) {
    const char *a = argv[i];
    int rc = TGMM_OK;
    if (strcmp(a, "--help") == 0 || strcmp(a, "-h") == 0) {
      cli->help = 1;
    } else if (strcmp(a, "--quiet") == 0 || strcmp(a, "-q") == 0) {
      cli->verbosity = 0;
    } else if (strcmp(a, "--verbose") == 0 || strcmp(a, "-v") == 0) {
      cli->verbosity = 2;
    } else if (is_opt(a, "--out")) {
      rc = once(cli->out, "--out", cli->command);
      if (rc == TGMM_OK) rc = take_value(argc, argv, &i, "--out", &cli->out);
    } else if (is_opt(a, "--data")) {
      const char *v = NULL;
      rc = once(cli->data, "--data", cli->command);
      if (rc == TGMM_OK) rc = take_value(argc, argv, &i, "--data", &v);
      if (rc == TGMM_OK && !cli->data) cli->data = v;
      if (rc == TGMM_OK) cli->datas[cli->n_data++] = v;
    } else if (is_opt(a, "--rows")) {
      rc = once(cli->rows, "--rows", cli->command);
      if (rc == TGMM_OK) rc = take_value(argc, argv, &i, "--rows", &cli->rows);
    } else if (is_opt(a, "--checkpoint")) {
      rc = once(cli->checkpoint, "--checkpoint", cli->command);
      if (rc == TGMM_OK) rc = take_value(argc, argv, &i, "--checkpoint", &cli->checkpoint);
    } else if (a[0] == '-' && a[1] == '-') {
      tgmm_error0("unknown option '%s' (try 'tgmm %s --help')", a, cli->command);
      rc = TGMM_EUSER;
    } else if (strchr(a, '=')) {
      cli->overrides[cli->n_overrides++] = argv[i];
    } else if (!cli->config_path) {
      cli->config_path = a;
    } else {
      tgmm_error0("unexpected argument '%s': the config file is already '%s' (overrides are "
                  "key=value)", a, cli->config_path);
      rc = TGMM_EUSER;
    }
    if (rc != TGMM_OK) return rc;
  }
  return TGMM_OK;
}

void tgmm_cli_free(tgmm_cli *cli) {
  free(cli->overrides), free((void *)cli->datas);
  cli->overrides = NULL, cli->datas = NULL;
}

/* Rank 0 alone opens the config file (a thousand ranks opening one small file at once is the
 * metadata storm parallel file systems punish); every rank parses the broadcast text under the
 * file's name, so every error still names file:line and every rank detects it. */
static int load_broadcast(const tgmm_cli *cli, tgmm_config *cfg) {
  char *text = NULL;
  int rc = TGMM_OK;
  if (cli->config_path && tgmm_mpi.rank == 0) rc = tgmm_config_read_file(cli->config_path, &text);
  MPI_Bcast(&rc, 1, MPI_INT, 0, tgmm_mpi.comm);
  if (rc == TGMM_OK && cli->config_path) rc = tgmm_bcast_text(&text, 0, tgmm_mpi.comm);
  if (rc != TGMM_OK) {
    free(text);
    tgmm_config_defaults(cfg);
    return rc;
  }
  int no_model = cli->command && strcmp(cli->command, "gen") == 0; /* gen ignores model.* */
  rc = no_model ? tgmm_config_load_string_no_model(cfg, cli->config_path, text, cli->n_overrides,
                                                   cli->overrides)
                : tgmm_config_load_string(cfg, cli->config_path, text, cli->n_overrides,
                                          cli->overrides);
  free(text);
  return rc;
}

int tgmm_cli_load_config(const tgmm_cli *cli, tgmm_config *cfg, int print) {
  int rc = load_broadcast(cli, cfg);
  if (rc != TGMM_OK || !print) return rc;
  tgmm_info("# tgmm %s (%s), command '%s', %d rank(s), config %s%s", TGMM_VERSION,
            tgmm_git_commit(), cli->command, tgmm_mpi.size,
            cli->config_path ? cli->config_path : "(built-in defaults)",
            cli->n_overrides ? " with overrides" : "");
  tgmm_info("# resolved config:\n%s", cfg->text);
  return TGMM_OK;
}
