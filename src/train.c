/* train.c — `tgmm train`: the training loop (see include/tgmm/train.h for the data flow).
 * Each step: this rank's share of the step's tasks -> forward -> backward -> one MPI_Allreduce
 * over the contiguous gradient buffer (plus the loss terms) -> clip -> AdamW -> log line. */
#define _GNU_SOURCE
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "tgmm/commands.h"
#include "tgmm/common.h"
#include "tgmm/optim.h"
#include "tgmm/train.h"

typedef struct {
  const tgmm_config *cfg;
  tgmm_model model;
  tgmm_task_source src;
  tgmm_dataset ds;
  int has_ds;
  tgmm_batch_buf bb;
  FILE *log; /* RUN_DIR/train.log (rank 0) */
  int64_t B, t0, t1;
} trainer;

/* ---------- setup ---------- */

static int mkdir_p(const char *dir) {
  char buf[TGMM_MAX_STR + 8];
  snprintf(buf, sizeof buf, "%s", dir);
  for (char *p = buf + 1; *p; p++) {
    if (*p != '/') continue;
    *p = 0;
    if (mkdir(buf, 0777) != 0 && errno != EEXIST) return -1;
    *p = '/';
  }
  return (mkdir(buf, 0777) != 0 && errno != EEXIST) ? -1 : 0;
}

static int make_run_dir(trainer *tr) {
  int rc = TGMM_OK;
  const char *dir = tr->cfg->train.run_dir;
  if (tgmm_mpi.rank == 0) {
    if (mkdir_p(dir) != 0) {
      tgmm_error("cannot create train.run_dir '%s': %s", dir, strerror(errno));
      rc = TGMM_EUSER;
    } else {
      char path[TGMM_MAX_STR + 32];
      snprintf(path, sizeof path, "%s/train.log", dir);
      tr->log = fopen(path, "a");
      if (!tr->log) {
        tgmm_error("cannot open %s: %s", path, strerror(errno));
        rc = TGMM_EUSER;
      }
    }
  }
  return tgmm_agree(rc);
}

static int open_data(trainer *tr, const char *path) {
  const tgmm_config *cfg = tr->cfg;
  TGMM_TRY(tgmm_dataset_open(&tr->ds, path, tgmm_mpi.comm, tgmm_config_Kmax(cfg)));
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
      (cfg->family == FAMILY_ANISOTROPIC && !tr->ds.has_scales)) {
    tgmm_error0("%s: training needs the true /weights and /means%s", path,
                cfg->family == FAMILY_ANISOTROPIC ? " and /scales (anisotropic)" : "");
    return TGMM_EUSER;
  }
  for (int64_t t = 0; t < need; t++) {
    int n = (int)(tr->ds.offsets[t + 1] - tr->ds.offsets[t]);
    if (tgmm_class_of(cfg, tr->ds.K[t], t) < 0 || n < 1 ||
        (cfg->model.positions == POS_LEARNED && n > cfg->model.n_positions)) {
      tgmm_error0("%s: task %lld (K = %d, N = %d) does not fit the model (K list, "
                  "model.n_positions)", path, (long long)t, tr->ds.K[t], n);
      return TGMM_EUSER;
    }
  }
  tr->src.ds = &tr->ds;
  return TGMM_OK;
}

static int setup(trainer *tr, const tgmm_cli *cli) {
  const tgmm_config *cfg = tr->cfg;
  tr->B = (int64_t)cfg->train.batch_size * tgmm_config_nclass(cfg);
  tgmm_share(tr->B, tgmm_mpi.rank, tgmm_mpi.size, &tr->t0, &tr->t1);
  tr->src.cfg = cfg;
  tr->src.B = tr->B;
  tgmm_model_dims dim;
  TGMM_TRY(tgmm_model_dims_from_config(cfg, &dim));
  if (cli->data) TGMM_TRY(open_data(tr, cli->data));
  else TGMM_TRY(tgmm_task_check_feasible(cfg));
  TGMM_TRY(tgmm_model_create(&tr->model, &dim));
  tgmm_model_init(&tr->model, (uint32_t)cfg->seed);
  int threads = tgmm_train_threads(cfg);
  TGMM_TRY(tgmm_model_set_threads(&tr->model, threads));
  tgmm_batch_buf_init(&tr->bb, cfg->d, dim.Kmax);
  tgmm_info("train: %zu parameters, %lld tasks per step (%lld on rank 0), %d thread%s per rank, "
            "%d rank%s", tr->model.nparams, (long long)tr->B, (long long)(tr->t1 - tr->t0),
            threads, threads > 1 ? "s" : "", tgmm_mpi.size, tgmm_mpi.size > 1 ? "s" : "");
  return TGMM_OK;
}

static void teardown(trainer *tr) {
  if (tr->log) fclose(tr->log);
  if (tr->has_ds) tgmm_dataset_close(&tr->ds);
  tgmm_batch_buf_free(&tr->bb);
  tgmm_model_free(&tr->model);
}

/* ---------- one step ---------- */

typedef struct {
  double loss, parts[3], gnorm, lr, seconds, flops; /* flops: model FLOPs of the step */
} step_stats;

/* Forward + backward of this rank's share; then sum gradients and loss terms over ranks. */
static int compute_grads(trainer *tr, int64_t s, step_stats *st) {
  tgmm_model *m = &tr->model;
  TGMM_TRY(tgmm_source_fill(&tr->src, s, tr->t0, tr->t1, &tr->bb));
  tgmm_model_zero_grad(m);
  double red[5] = {0, 0, 0, 0, 0};
  if (tr->bb.ntask > 0) {
    TGMM_TRY(tgmm_model_forward(m, &tr->bb.b, (double)tr->B, &red[0], &red[1]));
    tgmm_model_backward(m, &tr->bb.b, (double)tr->B);
    red[4] = tgmm_model_step_flops(m, tr->bb.off, tr->bb.ntask);
  }
  if (tgmm_mpi.size > 1) {
    MPI_Allreduce(MPI_IN_PLACE, m->grads, (int)m->nparams, MPI_FLOAT, MPI_SUM, tgmm_mpi.comm);
    MPI_Allreduce(MPI_IN_PLACE, red, 5, MPI_DOUBLE, MPI_SUM, tgmm_mpi.comm);
  }
  st->loss = red[0];
  memcpy(st->parts, red + 1, sizeof st->parts);
  st->flops = red[4];
  return TGMM_OK;
}

static int train_step(trainer *tr, int64_t s, step_stats *st) {
  memset(st, 0, sizeof *st);
  const tgmm_config *cfg = tr->cfg;
  tgmm_model *m = &tr->model;
  double t_start = tgmm_now();
  int rc = tgmm_agree(compute_grads(tr, s, st));
  if (rc != TGMM_OK) return rc;
  st->gnorm = tgmm_clip_grads(m->grads, m->nparams, cfg->train.clip);
  if (!isfinite(st->loss) || !isfinite(st->gnorm)) {
    tgmm_error0("step %lld: non-finite %s (loss %g, gradient norm %g)", (long long)s,
                isfinite(st->loss) ? "gradient" : "loss", st->loss, st->gnorm);
    return TGMM_ENUM;
  }
  st->lr = tgmm_lr_at(cfg, s);
  tgmm_adamw opt = {.lr = st->lr, .beta1 = cfg->train.beta1, .beta2 = cfg->train.beta2,
                    .eps = cfg->train.eps, .weight_decay = cfg->train.weight_decay};
  tgmm_adamw_step(&opt, s + 1, m->nparams, m->params, m->grads, m->m, m->v);
  st->seconds = tgmm_now() - t_start;
  return TGMM_OK;
}

static void log_step(trainer *tr, int64_t s, const step_stats *st, double elapsed, double *t_print) {
  const tgmm_config *cfg = tr->cfg;
  if (tr->log) {
    fprintf(tr->log,
            "step %lld loss %.9g ce %.9g means %.9g scales %.9g lr %.6g gnorm %.6g "
            "seconds %.6f tasks_per_s %.2f gflop %.3f\n",
            (long long)s, st->loss, st->parts[0], st->parts[1], st->parts[2], st->lr, st->gnorm,
            st->seconds, (double)tr->B / st->seconds, st->flops * 1e-9);
    fflush(tr->log);
  }
  double now = tgmm_now();
  int last = s + 1 == cfg->train.steps;
  if (s == 0 || last || now - *t_print >= 5.0) {
    *t_print = now;
    double eta = elapsed / (double)(s + 1) * (double)(cfg->train.steps - s - 1);
    tgmm_info("step %lld/%lld  loss %.5f (ce %.4f, means %.4f, scales %.4f)  %.1f tasks/s  "
              "elapsed %.0f s  ETA %.0f s",
              (long long)(s + 1), (long long)cfg->train.steps, st->loss, st->parts[0],
              st->parts[1], st->parts[2], (double)tr->B / st->seconds, elapsed, eta);
  }
}

static int checkpoint(trainer *tr, int64_t step, double loss) {
  char path[TGMM_MAX_STR + 64];
  tgmm_checkpoint_path(tr->cfg->train.run_dir, step, path, sizeof path);
  TGMM_TRY(tgmm_checkpoint_write(path, &tr->model, tr->cfg, step, tr->cfg->train.save_grads, loss));
  tgmm_info("train: checkpoint %s", path);
  return TGMM_OK;
}

static int run(trainer *tr) {
  const tgmm_config *cfg = tr->cfg;
  double t_start = tgmm_now(), t_print = 0.0, loss = NAN;
  int64_t every = cfg->train.checkpoint_every, s;
  for (s = 0; s < cfg->train.steps; s++) {
    step_stats st = {0};
    TGMM_TRY(train_step(tr, s, &st));
    loss = st.loss;
    log_step(tr, s, &st, tgmm_now() - t_start, &t_print);
    if (every > 0 && (s + 1) % every == 0 && s + 1 < cfg->train.steps)
      TGMM_TRY(checkpoint(tr, s + 1, loss));
  }
  TGMM_TRY(checkpoint(tr, cfg->train.steps, loss));
  double el = tgmm_now() - t_start;
  tgmm_info("train: %lld steps in %.2f s (%.1f tasks/s)", (long long)cfg->train.steps, el,
            el > 0 ? (double)(cfg->train.steps * tr->B) / el : 0.0);
  return TGMM_OK;
}

int tgmm_cmd_train(const tgmm_cli *cli, const tgmm_config *cfg) {
  trainer tr;
  memset(&tr, 0, sizeof tr);
  tr.cfg = cfg;
  int rc = tgmm_agree(setup(&tr, cli));
  if (rc == TGMM_OK) rc = make_run_dir(&tr);
  if (rc == TGMM_OK) rc = tgmm_agree(run(&tr));
  teardown(&tr);
  return rc;
}
