/* train.c — `tgmm train`: the training loop (see include/tgmm/train.h for the data flow).
 * Each step: this rank's share of the step's tasks -> forward -> backward -> one MPI_Allreduce
 * over the contiguous gradient buffer (plus the loss terms) -> clip -> AdamW -> log line. */
#define _GNU_SOURCE
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <signal.h>
#include <sys/stat.h>
#include <unistd.h>

#include "tgmm/blas_core.h"
#include "tgmm/commands.h"
#include "tgmm/common.h"
#include "tgmm/dataset.h"
#include "tgmm/optim.h"
#include "tgmm/out.h"
#include "train_impl.h"

/* ---------- setup ---------- */

static int open_data(trainer *tr, const char *path) {
  const tgmm_config *cfg = tr->cfg;
  int aniso = cfg->family == TGMM_FAMILY_ANISOTROPIC || cfg->model.predict_scales;
  TGMM_TRY(tgmm_dataset_open(&tr->ds, path, tgmm_mpi.comm, tgmm_config_single_K(cfg)));
  tr->has_ds = 1;
  int64_t need = cfg->train.steps * tr->B;
  if (tr->ds.d != cfg->d) {
    tgmm_error0("%s: tasks have d = %d but the config has d = %d", path, tr->ds.d, cfg->d);
    return TGMM_EUSER;
  }
  if (tr->ds.T < need) {
    tgmm_error0("%s: %lld tasks, but train.steps = %lld x %lld tasks per step need %lld", path,
                (long long)tr->ds.T, (long long)cfg->train.steps, (long long)tr->B,
                (long long)need);
    return TGMM_EUSER;
  }
  if (!tr->ds.has_weights || !tr->ds.has_means ||
      (aniso && !tr->ds.has_scales)) {
    tgmm_error0("%s: training needs the true /weights and /means%s", path,
                aniso ? " and /scales (anisotropic or model.predict_scales)" : "");
    return TGMM_EUSER;
  }
  if (cfg->model.head != TGMM_HEAD_MIXTURE && !tr->ds.has_z) {
    tgmm_error0("%s: model.head = %s trains on the true labels /z, which the file lacks", path,
                cfg->model.head == TGMM_HEAD_LABELS ? "labels" : "both");
    return TGMM_EUSER;
  }
  for (int64_t t = 0; t < need; t++) {
    int n = (int)(tr->ds.offsets[t + 1] - tr->ds.offsets[t]);
    if (tgmm_class_of(cfg, tr->ds.K[t], t) < 0 || n < 1 ||
        (cfg->model.backbone == TGMM_BACKBONE_TRANSFORMER && cfg->model.positions == TGMM_POS_LEARNED &&
         n > cfg->model.n_positions)) {
      tgmm_error0("%s: task %lld (K = %d, N = %d) does not fit the model (K list, "
                  "model.n_positions)", path, (long long)t, tr->ds.K[t], n);
      return TGMM_EUSER;
    }
  }
  tr->src.ds = &tr->ds;
  return TGMM_OK;
}

/* Rank 0: RUN_DIR/config.yaml, the resolved config of the run (as Hydra users expect; a
 * resumed run has the same config, train.steps and the other keys resuming ignores aside). */
static int write_config_yaml(const tgmm_config *cfg) {
  int rc = TGMM_OK;
  if (tgmm_mpi.rank == 0) {
    char path[TGMM_MAX_STR + 32];
    snprintf(path, sizeof path, "%s/config.yaml", cfg->train.run_dir);
    tgmm_out o;
    FILE *f = tgmm_out_text(&o, path);
    rc = f ? TGMM_OK : TGMM_EUSER;
    if (f) {
      fprintf(f, "# resolved config of this run (tgmm %s, %s)\n%s", TGMM_VERSION, tgmm_git_commit(),
              cfg->text);
      rc = tgmm_out_commit(&o);
    }
  }
  return tgmm_agree(rc);
}

/* Rank 0: train.log (appended to: a resumed run continues it) and the metrics series. */
static int open_logs(trainer *tr) {
  const tgmm_config *cfg = tr->cfg;
  int rc = TGMM_OK;
  tgmm_runlog_init(&tr->rl, cfg);
  if (tgmm_mpi.rank == 0) {
    char path[TGMM_MAX_STR + 32];
    snprintf(path, sizeof path, "%s/train.log", cfg->train.run_dir);
    tr->log = fopen(path, "a");
    if (!tr->log) {
      tgmm_error("cannot open %s: %s", path, strerror(errno));
      rc = TGMM_EUSER;
    }
    if (rc == TGMM_OK && tr->start > 0) rc = tgmm_runlog_load(&tr->rl, tr->start);
    if (rc == TGMM_OK && tr->start == 0 && cfg->train.resume != TGMM_RESUME_AUTO)
      rc = tgmm_runlog_write(&tr->rl, cfg, tgmm_mpi.size); /* a fresh series */
    tr->tty = isatty(STDERR_FILENO);
  }
  rc = tgmm_agree(rc);
  if (rc == TGMM_OK && tr->log)
    fprintf(tr->log, "# %s run: %d ranks x %d threads, %s mode, %s loss, from step %lld\n",
            tr->start > 0 ? "resumed" : "new", tgmm_mpi.size, tr->threads,
            cfg->train.deterministic ? "bitwise" : "normal",
            cfg->train.loss == TGMM_LOSS_NLL                ? "nll (the samples' likelihood)"
            : cfg->train.matching == TGMM_MATCH_HUNGARIAN ? "hungarian (set-matched)"
                                                          : "canonical-order",
            (long long)tr->start);
  return rc;
}

static int setup(trainer *tr, const tgmm_cli *cli) {
  const tgmm_config *cfg = tr->cfg;
  tr->B = (int64_t)cfg->train.batch_size * tgmm_config_nclass(cfg);
  tgmm_share(tr->B, tgmm_mpi.rank, tgmm_mpi.size, &tr->t0, &tr->t1);
  tr->src.cfg = cfg;
  tr->src.B = tr->B;
  tgmm_model_dims dim;
  TGMM_TRY(tgmm_model_dims_from_config(cfg, &dim));
  (void)cli; /* --data arrives as train.data (cli.c), so config.yaml and checkpoints record it */
  if (cfg->train.data[0]) TGMM_TRY(open_data(tr, cfg->train.data));
  else TGMM_TRY(tgmm_task_check_feasible(cfg));
  TGMM_TRY(tgmm_model_create(&tr->model, &dim));
  tgmm_model_init(&tr->model, (uint32_t)cfg->seed);
  if (cfg->train.deterministic) TGMM_TRY(tgmm_blas_core_agree());
  tr->threads = tgmm_train_threads(cfg);
  TGMM_TRY(cfg->train.deterministic ? tgmm_model_set_threads_fixed(&tr->model, tr->threads)
                                     : tgmm_model_set_threads(&tr->model, tr->threads));
  tgmm_batch_buf_init(&tr->bb, cfg->d, dim.Kmax);
  TGMM_TRY(tgmm_train_step_setup(tr));
  TGMM_TRY(tgmm_heldout_init(tr));
  tgmm_info("train: %zu parameters, %lld tasks per step (%lld on rank 0), %d thread%s per rank, "
            "%d rank%s%s", tr->model.nparams, (long long)tr->B,
            (long long)(cfg->train.deterministic ? (tr->c1 - tr->c0) * cfg->train.chunk
                                                 : tr->t1 - tr->t0),
            tr->threads, tr->threads > 1 ? "s" : "", tgmm_mpi.size, tgmm_mpi.size > 1 ? "s" : "",
            cfg->train.deterministic ? ", bitwise mode" : "");
  return TGMM_OK;
}

static void teardown(trainer *tr) {
  if (tr->log) fclose(tr->log);
  if (tr->has_ds) tgmm_dataset_close(&tr->ds);
  tgmm_batch_buf_free(&tr->bb);
  tgmm_heldout_free(&tr->ho);
  tgmm_train_step_free(tr);
  tgmm_runlog_free(&tr->rl);
  tgmm_model_free(&tr->model);
}

/* train.init_from: a fresh run starts from another run's (or an exported model's) parameters,
 * with a fresh optimizer; the tensors' names and shapes must match this model. A run directory
 * stands for its newest checkpoint. */
static int init_from(trainer *tr) {
  char path[4200];
  TGMM_TRY(tgmm_checkpoint_resolve(tr->cfg->train.init_from, path, sizeof path));
  int64_t step = 0;
  int rc = tgmm_checkpoint_read(path, &tr->model, 0, &step);
  if (rc != TGMM_OK)
    tgmm_error0("train.init_from = %s: cannot start from this file (it must hold every tensor "
                "of this model with the same shape: same d, K, model.* keys)", path);
  TGMM_TRY(tgmm_agree(rc));
  tgmm_info("train: parameters from %s (train.init_from), fresh optimizer", path);
  return TGMM_OK;
}

/* The newest good checkpoint from step `latest` down: a damaged one (unreadable, truncated,
 * inconsistent) is named and skipped, and set aside once an older good one is found, so a
 * requeued job continues; one of another run is never skipped. */
static int resume_newest_good(trainer *tr, int64_t latest) {
  const char *dir = tr->cfg->train.run_dir;
  int64_t step = latest, bad[256];
  int nbad = 0;
  while (step >= 0) {
    char path[TGMM_MAX_STR + 64];
    tgmm_checkpoint_path(dir, step, path, sizeof path);
    int other = 0, rc = tgmm_checkpoint_verify(path, tr->cfg, &tr->model, step, &other);
    if (rc == TGMM_OK) break;
    if (other || rc == TGMM_ENOMEM || nbad == 256) return rc;
    tgmm_warn0("train: the checkpoint %s is damaged (above); trying the one before it", path);
    bad[nbad++] = step;
    TGMM_TRY(tgmm_checkpoint_newest_below(dir, step, &step));
  }
  if (step < 0) {
    tgmm_error0("train: no usable checkpoint in %s (%d damaged, left in place); repair or remove "
                "them, or start afresh with train.resume=restart", dir, nbad);
    return TGMM_EUSER;
  }
  for (int i = 0; i < nbad; i++) {
    char path[TGMM_MAX_STR + 64];
    tgmm_checkpoint_path(dir, bad[i], path, sizeof path);
    TGMM_TRY(tgmm_checkpoint_set_aside(path));
  }
  return tgmm_train_resume(tr, step);
}

/* A fresh run's train.init_from, before the run directory is created (an init_from that does not
 * fit leaves nothing behind); done when the directory holds no checkpoint or the run starts
 * afresh. */
static int early_init_from(trainer *tr, int *done) {
  *done = 0;
  if (!tr->cfg->train.init_from[0]) return TGMM_OK;
  int64_t latest = -1;
  TGMM_TRY(tgmm_checkpoint_latest(tr->cfg->train.run_dir, &latest));
  if (latest >= 0 && tr->cfg->train.resume == TGMM_RESUME_AUTO) return TGMM_OK;
  TGMM_TRY(init_from(tr));
  *done = 1;
  return TGMM_OK;
}

/* Newest checkpoint -> resume (train.resume: auto); train.resume: never refuses a directory that
 * holds a run; restart moves it aside first; a fresh start from train.init_from when set. */
static int maybe_resume(trainer *tr, int init_done) {
  const tgmm_config *cfg = tr->cfg;
  if (cfg->train.resume != TGMM_RESUME_AUTO && tgmm_train_dir_holds_run(cfg)) {
    if (cfg->train.resume == TGMM_RESUME_NEVER) {
      tgmm_error0("train.resume = never, but train.run_dir '%s' holds a run (checkpoints or "
                  "metrics.h5): use another train.run_dir, train.resume=auto to continue it, or "
                  "train.resume=restart to move it aside (to %s/previous-N)", cfg->train.run_dir,
                  cfg->train.run_dir);
      return TGMM_EUSER;
    }
    TGMM_TRY(tgmm_train_dir_move_aside(cfg));
  }
  int64_t latest = -1;
  TGMM_TRY(tgmm_checkpoint_latest(cfg->train.run_dir, &latest));
  if (latest < 0 || cfg->train.resume != TGMM_RESUME_AUTO) {
    if (cfg->train.init_from[0] && !init_done) TGMM_TRY(init_from(tr));
    return TGMM_OK;
  }
  return resume_newest_good(tr, latest);
}

/* ---------- logging and progress ---------- */

static void fmt_time(double s, char *out, size_t n) {
  long t = (long)(s + 0.5);
  if (t >= 3600) snprintf(out, n, "%ldh%02ldm", t / 3600, t / 60 % 60);
  else if (t >= 60) snprintf(out, n, "%ldm%02lds", t / 60, t % 60);
  else snprintf(out, n, "%lds", t);
}

/* Rank 0: a live bar on a terminal (redrawn at most 5 times a second), else a line every 5 s. */
static void progress(trainer *tr, int64_t s, const step_stats *st, double elapsed,
                     double *t_print) {
  const tgmm_config *cfg = tr->cfg;
  double now = tgmm_now();
  int last = s + 1 == cfg->train.steps;
  if (tgmm_mpi.rank != 0 || (!last && s != tr->start && now - *t_print < (tr->tty ? 0.2 : 5.0)))
    return;
  *t_print = now;
  double done = (double)(s + 1 - tr->start), left = (double)(cfg->train.steps - s - 1);
  char el[32], eta[32];
  fmt_time(elapsed, el, sizeof el);
  fmt_time(elapsed / done * left, eta, sizeof eta);
  double rate = elapsed > 0 ? done * (double)tr->B / elapsed : 0.0;
  if (tr->tty) {
    char bar[31];
    int fill = (int)(30.0 * (double)(s + 1) / (double)cfg->train.steps);
    for (int i = 0; i < 30; i++) bar[i] = i < fill ? '#' : '-';
    bar[30] = 0;
    fprintf(stderr, "\r[%s] %lld/%lld loss %.5f  %.1f tasks/s  %s elapsed  ETA %s\033[K%s", bar,
            (long long)(s + 1), (long long)cfg->train.steps, st->loss, rate, el, eta,
            last ? "\n" : "");
    fflush(stderr);
  } else {
    char parts[128] = "";
    int n = 0, lab = cfg->model.head != TGMM_HEAD_MIXTURE; /* the label part: loss - mixture parts */
    if (cfg->model.head != TGMM_HEAD_LABELS && cfg->train.loss == TGMM_LOSS_NLL)
      n = snprintf(parts, sizeof parts, "nll %.4f", st->parts[0]);
    else if (cfg->model.head != TGMM_HEAD_LABELS)
      n = snprintf(parts, sizeof parts, "weights %.4f, means %.4f, scales %.4f", st->parts[0],
                   st->parts[1], st->parts[2]);
    if (lab)
      snprintf(parts + n, sizeof parts - (size_t)n, "%slabels %.4f", n ? ", " : "",
               st->loss - st->parts[0] - st->parts[1] - st->parts[2]);
    tgmm_info("step %lld/%lld  loss %.5f (%s)  %.1f tasks/s  elapsed %s  ETA %s",
              (long long)(s + 1), (long long)cfg->train.steps, st->loss, parts, rate, el, eta);
  }
}

/* Terminate a live progress bar before another message. */
static void end_bar(const trainer *tr) {
  if (tgmm_mpi.rank == 0 && tr->tty) fputc('\n', stderr);
}

static int log_step(trainer *tr, int64_t s, const step_stats *st) {
  double tps = st->seconds > 0 ? (double)tr->B / st->seconds : 0.0;
  if (tr->log) {
    fprintf(tr->log,
            "step %lld loss %.9g ce %.9g means %.9g scales %.9g lr %.6g gnorm %.6g seconds %.6f "
            "allreduce_seconds %.6f tasks_per_s %.2f gflop %.3f\n",
            (long long)(s + 1), st->loss, st->parts[0], st->parts[1], st->parts[2], st->lr,
            st->gnorm, st->seconds, st->comm_seconds, tps, st->flops * 1e-9);
    fflush(tr->log);
  }
  if (tgmm_mpi.rank != 0) return TGMM_OK;
  double row[RL_NCOL] = {[RL_LOSS] = st->loss, [RL_CE] = st->parts[0],
                         [RL_MEANS] = st->parts[1], [RL_SCALES] = st->parts[2], [RL_LR] = st->lr,
                         [RL_GNORM] = st->gnorm, [RL_TASKS_PER_S] = tps,
                         [RL_SECONDS] = st->seconds, [RL_COMM_SECONDS] = st->comm_seconds};
  return tgmm_runlog_add(&tr->rl, s + 1, row);
}

/* Rank 0: the held-out results of `step` (out [nclass, RL_EVAL_NCOL]) to train.log, stderr and
 * the metrics series. */
static int report_eval(trainer *tr, int64_t step, const double *out) {
  const tgmm_config *cfg = tr->cfg;
  int nc = tgmm_config_nclass(cfg);
  end_bar(tr);
  for (int c = 0; c < nc; c++) {
    const double *o = out + c * RL_EVAL_NCOL;
    char line[256];
    snprintf(line, sizeof line,
             "eval step %lld K %d l2_means %.6g l2_weights %.6g accuracy %.4f misclustering %.4f",
             (long long)step, tgmm_config_class_K(cfg, c), o[RL_EVAL_L2_MEANS],
             o[RL_EVAL_L2_WEIGHTS], o[RL_EVAL_ACCURACY], o[RL_EVAL_MISCLUSTERING]);
    if (tr->log) fprintf(tr->log, "%s\n", line);
    tgmm_info("%s", line);
  }
  if (tr->log) fflush(tr->log);
  /* The series is rewritten (atomically) at every held-out evaluation, not only at checkpoints,
   * so `tgmm report --data RUN_DIR` draws live curves; a resume drops rows past its checkpoint. */
  TGMM_TRY(tgmm_runlog_add_eval(&tr->rl, step, out));
  return tgmm_runlog_write(&tr->rl, cfg, tgmm_mpi.size);
}

/* Held-out evaluation after `step` steps: train.log, stderr and the metrics series. */
static int evaluate(trainer *tr, int64_t step) {
  double out[TGMM_MAX_LIST * RL_EVAL_NCOL];
  TGMM_TRY(tgmm_heldout_eval(tr, out));
  return tgmm_agree(tgmm_mpi.rank == 0 ? report_eval(tr, step, out) : TGMM_OK);
}

/* The baselines' held-out levels, once per run (train.eval_baselines): log and metrics series. */
static int reference_levels(trainer *tr) {
  const tgmm_config *cfg = tr->cfg;
  if (!cfg->train.eval_baselines || cfg->train.eval_every <= 0) return TGMM_OK;
  int nc = tgmm_config_nclass(cfg);
  double out[RL_NREF * TGMM_MAX_LIST * RL_EVAL_NCOL];
  TGMM_TRY(tgmm_heldout_baselines(tr, out));
  if (tgmm_mpi.rank != 0) return TGMM_OK;
  for (int r = 0; r < RL_NREF; r++)
    for (int c = 0; c < nc; c++) {
      const double *o = out + ((size_t)r * nc + c) * RL_EVAL_NCOL;
      char line[256];
      snprintf(line, sizeof line,
               "eval reference %s K %d l2_means %.6g l2_weights %.6g accuracy %.4f "
               "misclustering %.4f", tgmm_runlog_ref_names[r], tgmm_config_class_K(cfg, c),
               o[RL_EVAL_L2_MEANS], o[RL_EVAL_L2_WEIGHTS], o[RL_EVAL_ACCURACY],
               o[RL_EVAL_MISCLUSTERING]);
      if (tr->log) fprintf(tr->log, "%s\n", line);
      tgmm_info("%s", line);
    }
  return tgmm_runlog_set_ref(&tr->rl, out);
}

/* The metrics series (rank 0), then the checkpoint of `step` steps. */
static int checkpoint(trainer *tr, int64_t step, double loss) {
  int rc = tgmm_mpi.rank == 0 ? tgmm_runlog_write(&tr->rl, tr->cfg, tgmm_mpi.size) : TGMM_OK;
  TGMM_TRY(tgmm_agree(rc));
  char path[TGMM_MAX_STR + 64];
  tgmm_checkpoint_path(tr->cfg->train.run_dir, step, path, sizeof path);
  TGMM_TRY(tgmm_checkpoint_write(path, &tr->model, tr->cfg, step, tr->cfg->train.save_grads, loss));
  TGMM_TRY(tgmm_agree(tgmm_checkpoint_prune(tr->cfg->train.run_dir, tr->cfg->train.keep_checkpoints)));
  end_bar(tr);
  tgmm_info("train: checkpoint %s", path);
  if (tr->log) fprintf(tr->log, "# checkpoint %s\n", path), fflush(tr->log);
  return TGMM_OK;
}

/* ---------- the loop ---------- */

static int stop_for_signal(trainer *tr, int64_t step, double loss) {
  TGMM_TRY(checkpoint(tr, step, loss));
  const char *name = tgmm_stop_signal == SIGTERM ? "SIGTERM" : "SIGUSR1";
  tgmm_info("train: stopped by a signal (%s on rank 0) after step %lld; exiting with code %d "
            "(checkpointed: requeue me)", tgmm_stop_signal ? name : "on another rank",
            (long long)step, TGMM_REQUEUE);
  if (tr->log) fprintf(tr->log, "# stopped by a signal after step %lld\n", (long long)step);
  return TGMM_REQUEUE;
}

static int run(trainer *tr) {
  const tgmm_config *cfg = tr->cfg;
  double t_start = tgmm_now(), t_print = 0.0, loss = NAN;
  int64_t every = cfg->train.checkpoint_every, ev = cfg->train.eval_every, steps = cfg->train.steps;
  if (tr->start >= steps) {
    tgmm_info("train: nothing to do: the newest checkpoint has step %lld >= train.steps = %lld",
              (long long)tr->start, (long long)steps);
    return TGMM_OK;
  }
  for (int64_t s = tr->start; s < steps; s++) {
    step_stats st;
    int rc = tgmm_train_step(tr, s, &st);
    if (rc == TGMM_ENUM && tgmm_mpi.rank == 0) tgmm_runlog_write(&tr->rl, cfg, tgmm_mpi.size);
    TGMM_TRY(rc);
    loss = st.loss;
    TGMM_TRY(tgmm_agree(log_step(tr, s, &st)));
    progress(tr, s, &st, tgmm_now() - t_start, &t_print);
    if (ev > 0 && (s + 1) % ev == 0) TGMM_TRY(evaluate(tr, s + 1));
    if (st.stop && s + 1 < steps) return stop_for_signal(tr, s + 1, loss);
    if (every > 0 && (s + 1) % every == 0 && s + 1 < steps) TGMM_TRY(checkpoint(tr, s + 1, loss));
  }
  TGMM_TRY(checkpoint(tr, steps, loss));
  double el = tgmm_now() - t_start;
  tgmm_info("train: %lld steps in %.2f s (%.1f tasks/s)", (long long)(steps - tr->start), el,
            el > 0 ? (double)((steps - tr->start) * tr->B) / el : 0.0);
  return TGMM_OK;
}

static void on_stop_signal(int sig) { tgmm_stop_signal = sig; }

/* SIGUSR1 (Slurm's --signal, forwarded by mpirun) and SIGTERM: finish the step, agree on it,
 * checkpoint, exit TGMM_REQUEUE. */
static void install_signals(struct sigaction old[2]) {
  struct sigaction sa;
  memset(&sa, 0, sizeof sa);
  sa.sa_handler = on_stop_signal;
  sa.sa_flags = SA_RESTART;
  sigemptyset(&sa.sa_mask);
  sigaction(SIGUSR1, &sa, &old[0]);
  sigaction(SIGTERM, &sa, &old[1]);
}

static void restore_signals(const struct sigaction old[2]) {
  sigaction(SIGUSR1, &old[0], NULL);
  sigaction(SIGTERM, &old[1], NULL);
}

int tgmm_cmd_train(const tgmm_cli *cli, const tgmm_config *cfg) {
  trainer tr;
  memset(&tr, 0, sizeof tr);
  tr.cfg = cfg;
  struct sigaction old[2];
  install_signals(old);
  int lock = -1, init_done = 0; /* an existing run directory is locked first: a second run
                                   stops at once */
  int rc = tgmm_train_dir_exists(cfg) ? tgmm_train_dir_lock(cfg, &lock) : TGMM_OK;
  if (rc == TGMM_OK) rc = tgmm_agree(setup(&tr, cli));
  if (rc == TGMM_OK) rc = tgmm_agree(early_init_from(&tr, &init_done));
  if (rc == TGMM_OK) rc = tgmm_train_dir_make(cfg);
  if (rc == TGMM_OK) rc = tgmm_train_dir_lock(cfg, &lock);
  if (rc == TGMM_OK) rc = maybe_resume(&tr, init_done);
  if (rc == TGMM_OK) rc = write_config_yaml(cfg);
  if (rc == TGMM_OK) rc = open_logs(&tr);
  if (rc == TGMM_OK) rc = reference_levels(&tr);
  if (rc == TGMM_OK) rc = tgmm_agree(run(&tr));
  teardown(&tr);
  tgmm_train_dir_unlock(&lock);
  restore_signals(old);
  return rc;
}
