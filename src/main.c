/* main.c — dispatches `tgmm <command>`; every rank returns the same exit code. */
#include <stdio.h>
#include <string.h>

#include "tgmm/blas_core.h"
#include "tgmm/cli.h"
#include "tgmm/commands.h"
#include "tgmm/common.h"
#include "tgmm/config.h"
#include "tgmm/outpath.h"

enum { OPT_OUT = 1, OPT_DATA = 2, OPT_CKPT = 4, NO_RUN_CONFIG = 8, OPT_ROWS = 16, OPT_MANY_DATA = 32 };

typedef struct {
  const char *name;
  int (*run)(const tgmm_cli *, const tgmm_config *);
  const char *summary;
  const char *usage;
  int options; /* the file options the command takes (others are refused, not ignored), and
                  NO_RUN_CONFIG for a command that runs nothing the config describes */
} command;

static const command COMMANDS[] = {
    {"gen", tgmm_cmd_gen, "write GMM tasks to a dataset file (parallel HDF5)",
     "tgmm gen [CONFIG.yaml] [key=value ...] --out FILE.h5\n"
     "  Writes `tasks` tasks of the configured family (task t has K = K[t mod len(K)];\n"
     "  exactly N samples each, or N_i ~ U{N/2..N} with ragged=true). Each rank draws and\n"
     "  writes its own contiguous share; the file is identical for any number of ranks.\n"
     "  Keys used: seed d K N family sigma_p pt.a pt.b pt.n tasks ragged\n", OPT_OUT},
    {"train", tgmm_cmd_train, "train the shared transformer backbone (data parallel)",
     "tgmm train [CONFIG.yaml] [key=value ...] [--data FILE.h5]\n"
     "  Trains into train.run_dir (checkpoints ckpt_<step>.h5, train.log, metrics.h5) and\n"
     "  resumes from its newest checkpoint (train.resume: auto). Data parallel under mpirun:\n"
     "  the same tasks and training whatever the number of ranks (bitwise with\n"
     "  train.deterministic). --data FILE.h5 trains on a file's tasks in order.\n"
     "  Exit codes: 0 done; 2 bad input or a changed config on resume; 4 non-finite loss or\n"
     "  gradient; 75 stopped by SIGUSR1/SIGTERM after a checkpoint (requeue me).\n", OPT_DATA},
    {"eval", tgmm_cmd_eval, "the coordinator: TGMM vs EM, spectral, oracle over a grid",
     "tgmm eval [CONFIG.yaml] [key=value ...] [--checkpoint CKPT.h5] [--data TASKS.h5] --out RESULTS.h5\n"
     "  Expands eval.grid (e.g. {K: [2,3,4,5], N: [32,64,128]}) into settings; runs every\n"
     "  method of eval.methods (tgmm em spectral oracle lloyd) on eval.tasks_per_setting\n"
     "  tasks of each setting (stream 'eval': never a training task), units of eval.chunk\n"
     "  tasks handed out dynamically to all ranks; one row per (setting, task, method).\n"
     "  tgmm needs --checkpoint: a checkpoint file or a run directory (its newest one).\n"
     "  --data TASKS.h5: evaluate the tasks of a dataset file instead (one setting per K in\n"
     "  the file; eval.grid may then vary only em.*, lloyd.*, spectral.* keys).\n"
     "  eval.save_predictions=true also stores every row's fitted mixture.\n", OPT_CKPT | OPT_OUT | OPT_DATA},
    {"report", tgmm_cmd_report, "results of tgmm eval -> Markdown, CSV, LaTeX tables, PNG plots",
     "tgmm report --data RESULTS.h5 [--data MORE.h5 ...] [--out PREFIX] [--rows ROWS.csv]\n"
     "  Prints mean ± sd of l2 means, l2 weights, accuracy and misclustering per setting and\n"
     "  method (tasks not ok are counted, never dropped). With --out also writes PREFIX.md,\n"
     "  PREFIX.csv (every metric, long format), PREFIX.tex and PREFIX.<metric>.png with its\n"
     "  .gp and .dat (gnuplot; report.error_bars: sd | ci95). --data repeated: the files are\n"
     "  merged, the config keys in which the runs differ become columns, and the papers'\n"
     "  tables are written (rows: every key but K, columns: K, methods side by side).\n"
     "  --rows ROWS.csv: every row of every file, one line per (run, setting, task, method),\n"
     "  for pandas.read_csv. Every report starts with what produced it.\n"
     "tgmm report --data RUN_DIR [--out PREFIX]\n"
     "  Learning curves of a training run: PREFIX.loss.png (loss and its terms) and\n"
     "  PREFIX.heldout.png (held-out l2 of means per K, with EM's and spectral's levels when\n"
     "  the run had train.eval_baselines), their .gp and .dat; PREFIX defaults to RUN_DIR/curves.\n", OPT_DATA | OPT_OUT | OPT_ROWS | OPT_MANY_DATA | NO_RUN_CONFIG},
    {"check", tgmm_cmd_check, "validate a config as train and eval would; print it resolved",
     "tgmm check [CONFIG.yaml] [key=value ...]\n"
     "  Loads the config with its overrides (every key known, every value in range), checks the\n"
     "  model it trains, its task family, eval.methods and every eval.grid setting (each must\n"
     "  fit that model: same d, a read-out for every K or pt.a, N within the positions), then\n"
     "  prints the resolved config on stdout. Exit 0: valid; 2: the error names the key (and\n"
     "  file:line). Creates nothing; job scripts run it before submitting.\n", NO_RUN_CONFIG},
    {"export", tgmm_cmd_export, "a checkpoint's parameters alone (a model to ship or start from)",
     "tgmm export --checkpoint CKPT.h5|RUN_DIR --out MODEL.h5\n"
     "  Writes /params/<name> (the checkpoint's tensor names and shapes, float32) and the\n"
     "  resolved config as the root attribute `config`; no optimizer state. `tgmm eval\n"
     "  --checkpoint MODEL.h5` evaluates it; `train.init_from=MODEL.h5` starts a new run from\n"
     "  it (fresh optimizer). A run directory stands for its newest checkpoint.\n", OPT_CKPT | OPT_OUT | NO_RUN_CONFIG},
    {"em", tgmm_cmd_em, "EM baseline on a dataset file",
     "tgmm em --data FILE.h5 --out OUT.h5 [CONFIG.yaml] [key=value ...]\n"
     "  Keys: em.init em.restarts em.max_iter em.tol em.covariance em.reg_covar distribute\n", OPT_DATA | OPT_OUT},
    {"lloyd", tgmm_cmd_lloyd, "Lloyd (k-means) baseline on a dataset file",
     "tgmm lloyd --data FILE.h5 --out OUT.h5 [CONFIG.yaml] [key=value ...]\n"
     "  Keys: lloyd.init lloyd.max_iter distribute\n", OPT_DATA | OPT_OUT},
    {"spectral", tgmm_cmd_spectral, "spectral (method of moments) baseline on a dataset file",
     "tgmm spectral --data FILE.h5 --out OUT.h5 [CONFIG.yaml] [key=value ...]\n"
     "  Keys: spectral.restarts spectral.iters spectral.eigensolver spectral.scalapack_min_d\n"
     "        distribute\n", OPT_DATA | OPT_OUT},
};
#define N_COMMANDS ((int)(sizeof COMMANDS / sizeof COMMANDS[0]))

static void usage(FILE *f) {
  fprintf(f,
          "tgmm %s — transformers vs EM and spectral on Gaussian mixtures, at cluster scale\n\n"
          "usage: tgmm <command> [CONFIG.yaml] [key=value ...] [--out FILE] [--data FILE] "
          "[--quiet | --verbose] [--help]\n\ncommands:\n",
          TGMM_VERSION);
  for (int i = 0; i < N_COMMANDS; i++)
    fprintf(f, "  %-9s %s\n", COMMANDS[i].name, COMMANDS[i].summary);
  fprintf(f, "\nEvery command prints one line naming its config and where the resolved config is\n"
             "stored (--verbose: the resolved config itself and more detail; --quiet: only errors\n"
             "and results). Run under mpirun/srun for several ranks. 'tgmm <command> --help' for details;\n"
             "'tgmm --keys' lists every config key (also in README.md).\n");
}

static int run(int argc, char **argv) {
  if (argc < 2 || strcmp(argv[1], "--help") == 0 || strcmp(argv[1], "-h") == 0 ||
      strcmp(argv[1], "help") == 0) {
    if (tgmm_mpi.rank == 0) usage(argc < 2 ? stderr : stdout);
    return argc < 2 ? TGMM_EUSER : TGMM_OK;
  }
  if (strcmp(argv[1], "--keys") == 0) {
    if (tgmm_mpi.rank == 0) tgmm_config_print_reference(stdout);
    return TGMM_OK;
  }
  if (strcmp(argv[1], "--version") == 0) {
    if (tgmm_mpi.rank == 0)
      printf("tgmm %s (%s), OpenBLAS core %s\n", TGMM_VERSION, tgmm_git_commit(), tgmm_blas_core());
    return TGMM_OK;
  }
  const command *cmd = NULL;
  for (int i = 0; i < N_COMMANDS; i++)
    if (strcmp(argv[1], COMMANDS[i].name) == 0) cmd = &COMMANDS[i];
  if (!cmd) {
    tgmm_error0("unknown command '%s' (try 'tgmm --help')", argv[1]);
    return TGMM_EUSER;
  }
  tgmm_cli cli;
  int rc = tgmm_cli_parse(argc, argv, &cli);
  tgmm_mpi.verbosity = cli.verbosity;
  const struct { const char *name; int bit; const char *val; } given[] = {
      {"--out", OPT_OUT, cli.out}, {"--data", OPT_DATA, cli.data}, {"--checkpoint", OPT_CKPT, cli.checkpoint},
      {"--rows", OPT_ROWS, cli.rows}};
  if (rc == TGMM_OK && cli.n_data > 1 && !(cmd->options & OPT_MANY_DATA)) {
    tgmm_error0("tgmm %s takes --data once (only report merges several files)", cmd->name);
    rc = TGMM_EUSER;
  }
  for (int i = 0; rc == TGMM_OK && i < 4; i++)
    if (given[i].val && !(cmd->options & given[i].bit)) {
      tgmm_error0("tgmm %s does not take %s (try 'tgmm %s --help')", cmd->name, given[i].name, cmd->name);
      rc = TGMM_EUSER;
    }
  if (rc == TGMM_OK && cli.help) {
    if (tgmm_mpi.rank == 0) printf("usage: %s", cmd->usage);
  } else if (rc == TGMM_OK) {
    tgmm_config cfg;
    rc = tgmm_cli_load_config(&cli, &cfg, !(cmd->options & NO_RUN_CONFIG));
    /* every output path is checked (rank 0, stat()) before any work */
    if (rc == TGMM_OK)
      rc = tgmm_outpath_check_cli(cmd->name, cli.config_path, cli.out, cli.data, cli.checkpoint);
    if (rc == TGMM_OK) rc = cmd->run(&cli, &cfg);
    tgmm_config_free(&cfg);
  }
  tgmm_cli_free(&cli);
  return rc;
}

int main(int argc, char **argv) {
  tgmm_blas_core_fix(argv); /* may re-execute tgmm with OPENBLAS_CORETYPE set */
  tgmm_mpi_env_fix(); /* before MPI_Init reads the MCA environment */
  MPI_Init(&argc, &argv);
  tgmm_mpi.comm = MPI_COMM_WORLD;
  MPI_Comm_rank(tgmm_mpi.comm, &tgmm_mpi.rank);
  MPI_Comm_size(tgmm_mpi.comm, &tgmm_mpi.size);
  tgmm_blas_core_note();
  /* Every rank parses the same arguments and config, so user errors are detected by all
   * ranks alike; tgmm_agree makes sure the exit codes match anyway. */
  int rc = tgmm_agree(run(argc, argv));
  tgmm_task_lines_summary();
  MPI_Finalize();
  return rc;
}
