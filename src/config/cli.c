/* cli.c — the command-line grammar shared by every subcommand (see include/tgmm/cli.h). */
#include "tgmm/cli.h"

#include <stdio.h>
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
    } else if ((strcmp(a, "--sweep") == 0 || strcmp(a, "--cost") == 0) && cli->command &&
               strcmp(cli->command, "check") == 0) {
      if (a[2] == 's') cli->sweep = 1;
      else cli->cost = 1;
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
    } else if (cli->n_configs < TGMM_MAX_CONFIGS) {
      if (!cli->config_path) cli->config_path = a;
      cli->configs[cli->n_configs++] = a;
    } else {
      tgmm_error0("unexpected argument '%s': at most %d config files (overrides are key=value)", a,
                  TGMM_MAX_CONFIGS);
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
/* tgmm train --data FILE: the override train.data='<FILE, absolute>' (YAML single-quoted), so the
 * data source is part of the run's config (config.yaml, every checkpoint, the resume check, the
 * run's identity). Rank 0 resolves the path and broadcasts it; NULL when not training on a file. */
static char *train_data_override(const tgmm_cli *cli, int *rc) {
  if (!cli->data || !cli->command || strcmp(cli->command, "train")) return NULL;
  char *abs = NULL;
  if (tgmm_mpi.rank == 0) {
    abs = realpath(cli->data, NULL);
    if (!abs) abs = strdup(cli->data); /* missing: opening it reports the error */
    if (!abs) *rc = TGMM_ENOMEM;
  }
  MPI_Bcast(rc, 1, MPI_INT, 0, tgmm_mpi.comm);
  if (*rc == TGMM_OK) *rc = tgmm_bcast_text(&abs, 0, tgmm_mpi.comm);
  char *ov = *rc == TGMM_OK ? malloc(2 * strlen(abs) + 16) : NULL;
  if (*rc == TGMM_OK && !ov) *rc = TGMM_ENOMEM;
  if (ov) {
    char *o = ov + sprintf(ov, "train.data='");
    for (const char *c = abs; *c; c++) {
      if (*c == '\'') *o++ = '\'';
      *o++ = *c;
    }
    strcpy(o, "'");
  }
  free(abs);
  return ov;
}

static int load_broadcast(const tgmm_cli *cli, int n_extra, char *const extra[],
                          tgmm_config *cfg) {
  char *text[TGMM_MAX_CONFIGS] = {NULL};
  int rc = TGMM_OK;
  char *data_ov = train_data_override(cli, &rc);
  for (int f = 0; f < cli->n_configs && rc == TGMM_OK; f++) {
    if (tgmm_mpi.rank == 0) rc = tgmm_config_read_file(cli->configs[f], &text[f]);
    MPI_Bcast(&rc, 1, MPI_INT, 0, tgmm_mpi.comm);
    if (rc == TGMM_OK) rc = tgmm_bcast_text(&text[f], 0, tgmm_mpi.comm);
  }
  int n_ov = n_extra + cli->n_overrides + (data_ov != NULL);
  char **ov = rc == TGMM_OK ? calloc((size_t)n_ov + 1, sizeof *ov) : NULL;
  if (rc == TGMM_OK && !ov) rc = TGMM_ENOMEM;
  if (rc == TGMM_OK) {
    for (int i = 0; i < n_extra; i++) ov[i] = extra[i];
    if (data_ov) ov[n_extra++] = data_ov; /* before the command line's own overrides */
    for (int i = 0; i < cli->n_overrides; i++) ov[n_extra + i] = cli->overrides[i];
    int no_model = cli->command && strcmp(cli->command, "gen") == 0; /* gen ignores model.* */
    rc = tgmm_config_load_strings(cfg, cli->n_configs, cli->configs, (const char *const *)text,
                                  n_ov, ov, no_model);
  } else {
    tgmm_config_defaults(cfg);
  }
  free(ov);
  free(data_ov);
  for (int f = 0; f < cli->n_configs; f++) free(text[f]);
  return rc;
}

int tgmm_cli_load_config_with(const tgmm_cli *cli, int n_extra, char *const extra[],
                              tgmm_config *cfg) {
  return load_broadcast(cli, n_extra, extra, cfg);
}

int tgmm_cli_load_config(const tgmm_cli *cli, tgmm_config *cfg, int print) {
  int rc = load_broadcast(cli, 0, NULL, cfg);
  if (rc != TGMM_OK || !print) return rc;
  char where[TGMM_MAX_STR + 64]; /* where the resolved config is stored */
  if (cli->command && !strcmp(cli->command, "train"))
    snprintf(where, sizeof where, "%s/config.yaml", cfg->train.run_dir);
  else if (cli->out)
    snprintf(where, sizeof where, "the `config` attribute of %s", cli->out);
  else
    snprintf(where, sizeof where, "tgmm check prints it");
  tgmm_info("# tgmm %s (%s), command '%s', %d rank(s), config %s%s%s; resolved config: %s%s",
            TGMM_VERSION, tgmm_git_commit(), cli->command, tgmm_mpi.size,
            cli->config_path ? cli->config_path : "(built-in defaults)",
            cli->n_configs > 1 ? " and overlays" : "", cli->n_overrides ? " with overrides" : "",
            where, tgmm_mpi.verbosity >= 2 ? "" : " (--verbose prints it)");
  tgmm_detail("# resolved config:\n%s", cfg->text); /* --verbose */
  return TGMM_OK;
}
