/* eval.c — `tgmm eval`: the coordinator. Expands eval.grid into settings, cuts every setting's
 * eval.tasks_per_setting tasks into work units of eval.chunk tasks, hands the units out
 * dynamically (a shared counter on rank 0, MPI_Fetch_and_op: EM's cost varies per task), runs
 * every method of eval.methods on every task (TGMM inference from --checkpoint, EM, the oracle,
 * spectral, Lloyd), and writes one row per (setting, task, method) to the results file.
 *
 * Task i of every setting is drawn from the stream (seed, eval, i): the same base task across
 * settings that differ in N or sigma_p (common random numbers), never a training task. A unit is
 * computed the same way whichever rank takes it, so the results do not depend on the rank count. */
#include <limits.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "eval_impl.h"
#include "tgmm/commands.h"
#include "tgmm/common.h"
#include "tgmm/report.h"
#include "tgmm/rng.h"
#include "tgmm/train.h"

static const char *const METHOD_NAMES[] = {"tgmm", "em", "spectral", "oracle", "lloyd"};

static int parse_methods(evaluator *ev) {
  const tgmm_config *cfg = ev->cfg;
  ev->nm = cfg->eval.n_methods;
  for (int i = 0; i < ev->nm; i++) {
    ev->methods[i] = -1;
    for (int j = 0; j < EV_NMETHODS; j++)
      if (!strcmp(cfg->eval.methods[i], METHOD_NAMES[j])) ev->methods[i] = j;
    if (ev->methods[i] < 0) {
      tgmm_error0("eval.methods: unknown method '%s'", cfg->eval.methods[i]);
      return TGMM_EUSER;
    }
    if (ev->methods[i] == EV_TGMM) ev->has_tgmm = 1;
  }
  return TGMM_OK;
}

const char *tgmm_eval_method_name(int m) { return METHOD_NAMES[m]; }

/* Setting s: the base config with one value of every grid key (first key slowest). */
static int load_setting(evaluator *ev, int s) {
  const tgmm_config *cfg = ev->cfg;
  char ov[TGMM_MAX_GRID][160], *ovp[TGMM_MAX_GRID];
  int rest = s, len = 0;
  ev->label[s][0] = '\0';
  for (int g = cfg->eval.n_grid - 1; g >= 0; g--) {
    int n = cfg->eval.grid[g].n, v = rest % n;
    rest /= n;
    const char *key = cfg->eval.grid[g].key, *val = cfg->eval.grid[g].vals[v];
    int list = tgmm_config_key_is_list(key) == 1;
    snprintf(ov[g], sizeof ov[g], list ? "%s=[%s]" : "%s=%s", key, val);
    ovp[g] = ov[g];
    ev->value_idx[s][g] = v;
  }
  for (int g = 0; g < cfg->eval.n_grid; g++)
    len += snprintf(ev->label[s] + len, sizeof ev->label[s] - (size_t)len, "%s%s", g ? " " : "",
                    ov[g]);
  if (!cfg->eval.n_grid) snprintf(ev->label[s], sizeof ev->label[s], "(base config)");
  int rc = tgmm_config_load_string(&ev->scfg[s], "eval.grid", cfg->text, cfg->eval.n_grid, ovp);
  if (rc != TGMM_OK) {
    tgmm_error0("eval.grid: setting %d (%s) is not a valid config", s, ev->label[s]);
    return rc;
  }
  return tgmm_task_check_feasible(&ev->scfg[s]);
}

static int expand_settings(evaluator *ev) {
  const tgmm_config *cfg = ev->cfg;
  int64_t ns = 1;
  for (int g = 0; g < cfg->eval.n_grid; g++) ns *= cfg->eval.grid[g].n;
  if (ns > 100000) {
    tgmm_error0("eval.grid has %lld settings; at most 100000", (long long)ns);
    return TGMM_EUSER;
  }
  ev->ns = (int)ns;
  ev->scfg = tgmm_calloc((size_t)ns, sizeof(tgmm_config));
  ev->label = tgmm_calloc((size_t)ns, sizeof *ev->label);
  ev->value_idx = tgmm_calloc((size_t)ns, sizeof *ev->value_idx);
  ev->mclass = tgmm_calloc((size_t)ns, sizeof *ev->mclass);
  if (!ev->scfg || !ev->label || !ev->value_idx || !ev->mclass) return TGMM_ENOMEM;
  for (int s = 0; s < ev->ns; s++) TGMM_TRY(load_setting(ev, s));
  return TGMM_OK;
}

/* Read-out of the model for class c of setting s (-1 if the model has none). */
static int model_class(const evaluator *ev, const tgmm_config *sc, int c) {
  const tgmm_config *tc = &ev->tcfg;
  if (sc->family == FAMILY_PHASE_TRANSITION) {
    for (int j = 0; j < tc->n_pt_a; j++)
      if (tc->family == FAMILY_PHASE_TRANSITION && tc->pt_a[j] == sc->pt_a[c]) return j;
    return -1;
  }
  if (tc->family == FAMILY_PHASE_TRANSITION) return -1;
  for (int j = 0; j < tc->nK; j++)
    if (tc->K[j] == sc->K[c]) return j;
  return -1;
}

/* Every setting must fit the trained model: same d, every K (or a) has a read-out, N within the
 * position table. Checked before anything runs. */
static int check_model_fits(evaluator *ev) {
  const tgmm_model_dims *dm = &ev->model.dim;
  for (int s = 0; s < ev->ns; s++) {
    const tgmm_config *sc = &ev->scfg[s];
    if (sc->d != dm->d) {
      tgmm_error0("eval: setting '%s' has d = %d, the model in %s was trained at d = %d",
                  ev->label[s], sc->d, ev->ckpt, dm->d);
      return TGMM_EUSER;
    }
    if (dm->n_positions > 0 && sc->N > dm->n_positions) {
      tgmm_error0("eval: setting '%s' has N = %d, more than the model's %d positions (%s)",
                  ev->label[s], sc->N, dm->n_positions, ev->ckpt);
      return TGMM_EUSER;
    }
    for (int c = 0; c < tgmm_config_nclass(sc); c++)
      if ((ev->mclass[s][c] = model_class(ev, sc, c)) < 0) {
        tgmm_error0("eval: setting '%s': the model in %s has no read-out for K = %d%s",
                    ev->label[s], ev->ckpt, tgmm_config_class_K(sc, c),
                    sc->family == FAMILY_PHASE_TRANSITION ? " / this pt.a" : "");
        return TGMM_EUSER;
      }
  }
  return TGMM_OK;
}

/* The model and its training config from --checkpoint (a checkpoint, an exported model, or a
 * run directory: its newest checkpoint). */
static int load_model(evaluator *ev) {
  int64_t step;
  TGMM_TRY(tgmm_checkpoint_load_model(ev->ckpt, &ev->tcfg, &ev->model, &step));
  ev->model_ok = 1;
  char what[64] = "an exported model";
  if (step > 0) snprintf(what, sizeof what, "step %lld", (long long)step);
  tgmm_info("eval: model from %s (%s, %zu parameters)", ev->ckpt, what, ev->model.nparams);
  return TGMM_OK;
}

static int validate(evaluator *ev, const tgmm_cli *cli) {
  if (!cli->out) {
    tgmm_error0("tgmm eval needs --out RESULTS.h5");
    return TGMM_EUSER;
  }
  TGMM_TRY(parse_methods(ev));
  if (ev->has_tgmm && !cli->checkpoint) {
    tgmm_error0("eval.methods includes tgmm: give --checkpoint CKPT.h5 (or drop tgmm from "
                "eval.methods)");
    return TGMM_EUSER;
  }
  TGMM_TRY(expand_settings(ev));
  if (ev->has_tgmm) {
    TGMM_TRY(tgmm_checkpoint_resolve(cli->checkpoint, ev->ckpt_path, sizeof ev->ckpt_path));
    ev->ckpt = ev->ckpt_path;
    TGMM_TRY(load_model(ev));
    TGMM_TRY(check_model_fits(ev));
  }
  return TGMM_OK;
}

/* Hand out units dynamically: a counter on rank 0, incremented with MPI_Fetch_and_op. */
static int run_units(evaluator *ev) {
  int64_t *counter = NULL, one = 1, u = 0;
  MPI_Win win;
  MPI_Aint size = tgmm_mpi.rank == 0 ? (MPI_Aint)sizeof(int64_t) : 0;
  MPI_Win_allocate(size, sizeof(int64_t), MPI_INFO_NULL, tgmm_mpi.comm, &counter, &win);
  if (tgmm_mpi.rank == 0) {
    MPI_Win_lock(MPI_LOCK_EXCLUSIVE, 0, 0, win);
    *counter = 0;
    MPI_Win_unlock(0, win);
  }
  MPI_Barrier(tgmm_mpi.comm);
  double t0 = tgmm_now(), last = t0;
  int rc = TGMM_OK;
  for (;;) {
    MPI_Win_lock(MPI_LOCK_SHARED, 0, 0, win);
    MPI_Fetch_and_op(&one, &u, MPI_INT64_T, 0, 0, MPI_SUM, win);
    MPI_Win_unlock(0, win);
    if (u >= ev->nunits) break;
    if (rc == TGMM_OK) rc = tgmm_eval_unit(ev, u);
    tgmm_progress("eval", t0, &last, (double)(u + 1) / (double)ev->nunits);
  }
  MPI_Win_free(&win);
  return rc;
}

static void evaluator_free(evaluator *ev) {
  for (int s = 0; ev->scfg && s < ev->ns; s++) tgmm_config_free(&ev->scfg[s]);
  free(ev->scfg), free(ev->label), free(ev->value_idx), free(ev->mclass), free(ev->rows);
  if (ev->model_ok) tgmm_model_free(&ev->model);
  if (ev->has_tgmm) tgmm_config_free(&ev->tcfg);
}

int tgmm_cmd_eval(const tgmm_cli *cli, const tgmm_config *cfg) {
  evaluator ev;
  memset(&ev, 0, sizeof ev);
  ev.cfg = cfg;
  int rc = tgmm_agree(validate(&ev, cli));
  if (rc == TGMM_OK) {
    ev.tps = cfg->eval.tasks_per_setting;
    ev.chunk = cfg->eval.chunk;
    ev.units_per_setting = (ev.tps + ev.chunk - 1) / ev.chunk;
    ev.nunits = (int64_t)ev.ns * ev.units_per_setting;
    ev.nrows = (int64_t)ev.ns * ev.tps * ev.nm;
    if (ev.nrows * EV_NCOL > INT_MAX) { /* one MPI_Reduce of the rows */
      tgmm_error0("eval: %lld rows are too many for one results file; split eval.grid",
                  (long long)ev.nrows);
      rc = TGMM_EUSER;
    } else {
      ev.rows = tgmm_calloc((size_t)ev.nrows * EV_NCOL, sizeof(double));
      rc = tgmm_agree(ev.rows ? TGMM_OK : TGMM_ENOMEM);
    }
  }
  if (rc == TGMM_OK) {
    if (ev.model_ok) tgmm_model_set_threads(&ev.model, 1);
    tgmm_info("eval: %d setting(s) x %d tasks x %d method(s) = %lld rows, %lld units of %d tasks "
              "over %d rank(s)", ev.ns, ev.tps, ev.nm, (long long)ev.nrows, (long long)ev.nunits,
              ev.chunk, tgmm_mpi.size);
    double t0 = tgmm_now();
    rc = tgmm_agree(run_units(&ev));
    if (rc == TGMM_OK) rc = tgmm_eval_write(&ev, cli->out);
    if (rc == TGMM_OK) {
      tgmm_info("eval: wrote %lld rows to %s in %.1f s", (long long)ev.nrows, cli->out,
                tgmm_now() - t0);
      if (tgmm_mpi.rank == 0) { /* the summary, read back from the file as `tgmm report` does */
        tgmm_report r;
        static const int metrics[] = {0, 1, 2, 3};
        if (tgmm_report_load(cli->out, &r) == TGMM_OK) tgmm_report_markdown(&r, metrics, 4, stdout);
        tgmm_report_free(&r);
      }
    }
  }
  evaluator_free(&ev);
  return rc;
}
