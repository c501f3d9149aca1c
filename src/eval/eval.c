/* eval.c — `tgmm eval`: the coordinator. Expands eval.grid into settings (or, with --data, one
 * setting per grid point and K of the file: eval_data.c), cuts every setting's tasks into work
 * units of eval.chunk tasks, hands the units out dynamically (a shared counter on rank 0,
 * MPI_Fetch_and_op: EM's cost varies per task), runs every method of eval.methods on every task
 * (TGMM inference from --checkpoint, EM, the oracle, spectral, Lloyd), and has every rank write
 * the rows it computed, one row per (setting, task, method), into the results file.
 *
 * Task i of every setting is drawn from the stream (seed, eval, i): the same base task across
 * settings that differ in N or sigma_p (common random numbers), never a training task. A unit is
 * computed the same way whichever rank takes it, so the results do not depend on the rank count.
 * The `tgmm check` command, which validates the same settings without running them:
 * check_cmd.c. */
#include <stdlib.h>
#include <string.h>

#include "eval_impl.h"
#include "tgmm/checkpoint.h"
#include "tgmm/commands.h"
#include "tgmm/common.h"

/* Read-out of the model for class c of setting s (-1 if the model has none). */
static int model_class(const evaluator *ev, const tgmm_config *sc, int c) {
  const tgmm_config *tc = &ev->tcfg;
  if (sc->family == TGMM_FAMILY_PHASE_TRANSITION) {
    for (int j = 0; j < tc->n_pt_a; j++)
      if (tc->family == TGMM_FAMILY_PHASE_TRANSITION && tc->pt_a[j] == sc->pt_a[c]) return j;
    return -1;
  }
  if (tc->family == TGMM_FAMILY_PHASE_TRANSITION) return -1;
  for (int j = 0; j < tc->nK; j++)
    if (tc->K[j] == sc->K[c]) return j;
  return -1;
}

/* Every setting must fit the trained model: same d, every K (or a) has a read-out, N within the
 * position table. Checked before anything runs. */
int tgmm_eval_check_model_fits(evaluator *ev) {
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
                    sc->family == TGMM_FAMILY_PHASE_TRANSITION ? " / this pt.a" : "");
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
  ev->step = step;
  ev->model_ok = 1;
  char what[64] = "an exported model";
  if (step > 0) snprintf(what, sizeof what, "step %lld", (long long)step);
  tgmm_info("eval: model from %s (%s, %zu parameters)", ev->ckpt, what, ev->model.nparams);
  return TGMM_OK;
}

/* A model.head = both model adds the method tgmm_plugin (its mixture's plug-in labels) beside
 * tgmm (its own labels) unless listed; tgmm_plugin needs such a model. */
int tgmm_eval_plugin_method(evaluator *ev) {
  int listed = 0, both = ev->model.dim.head == TGMM_HEAD_BOTH;
  for (int j = 0; j < ev->nm; j++) listed |= ev->methods[j] == EV_TGMM_PLUGIN;
  if (listed && !both) {
    tgmm_error0("eval.methods: tgmm_plugin compares the two heads of a model.head = both model; "
                "the model in %s has model.head = %s", ev->ckpt,
                ev->model.dim.head == TGMM_HEAD_LABELS ? "labels" : "mixture");
    return TGMM_EUSER;
  }
  return both && !listed ? tgmm_eval_add_column(ev, EV_TGMM_PLUGIN, NULL, 0) : TGMM_OK;
}

/* eval.save_predictions: rows of pred_K components in pred_d dimensions (the largest K and d of
 * any setting), with scales when a setting is anisotropic or the model predicts scales. */
static void prediction_shape(evaluator *ev) {
  ev->save_pred = ev->cfg->eval.save_predictions;
  ev->pred_scales = ev->model_ok && ev->model.dim.aniso;
  for (int s = 0; s < ev->ns; s++) {
    const tgmm_config *sc = &ev->scfg[s];
    int K = tgmm_config_Kmax(sc);
    if (K > ev->pred_K) ev->pred_K = K;
    if (sc->d > ev->pred_d) ev->pred_d = sc->d;
    if (sc->family == TGMM_FAMILY_ANISOTROPIC) ev->pred_scales = 1;
    if (ev->model_ok && tgmm_model_has_labels(&ev->model) && sc->N > ev->pred_N)
      ev->pred_N = sc->N;
  }
}

static int validate(evaluator *ev, const tgmm_cli *cli) {
  if (!cli->out) {
    tgmm_error0("tgmm eval needs --out RESULTS.h5");
    return TGMM_EUSER;
  }
  TGMM_TRY(tgmm_eval_parse_methods(ev));
  ev->chunk = ev->cfg->eval.chunk;
  if (ev->has_tgmm && !cli->checkpoint) {
    tgmm_error0("eval.methods includes tgmm: give --checkpoint CKPT.h5 (or drop tgmm from "
                "eval.methods)");
    return TGMM_EUSER;
  }
  if (cli->data)
    TGMM_TRY(tgmm_eval_data_setup(ev, cli->data));
  else
    TGMM_TRY(tgmm_eval_grid_settings(ev));
  TGMM_TRY(tgmm_eval_variant_keys(ev));
  if (ev->has_tgmm) {
    TGMM_TRY(tgmm_checkpoint_resolve(cli->checkpoint, ev->ckpt_path, sizeof ev->ckpt_path));
    ev->ckpt = ev->ckpt_path;
    TGMM_TRY(load_model(ev));
    TGMM_TRY(tgmm_eval_check_model_fits(ev));
    TGMM_TRY(tgmm_eval_plugin_method(ev));
    for (int j = 0; j < ev->nm; j++)
      if (ev->methods[j] == EV_TGMM_EM && ev->model.dim.head == TGMM_HEAD_LABELS) {
        tgmm_error0("eval.methods: %s starts EM at the model's mixture, but the model in %s has "
                    "model.head = labels (no mixture read-out)", ev->colname[j], ev->ckpt);
        return TGMM_EUSER;
      }
  }
  prediction_shape(ev);
  return TGMM_OK;
}

/* Guided self-scheduling: fetch f hands out the units [start[f], start[f+1]), max(1, left / 2P)
 * of the `left` units not yet handed out: large fetches first, single units at the end to
 * balance EM's varying cost. A rank's units thus form few contiguous runs of rows (about
 * 2 ln(units / 2P) + 2 per rank), which keeps its write selection small, and the counter on
 * rank 0 is touched once per fetch, not once per unit. Same schedule on every rank. */
static int64_t *guided_schedule(int64_t nunits, int P, int64_t *nfetch) {
  int64_t F = 0, pos = 0, cap = 64;
  int64_t *start = tgmm_malloc(sizeof(int64_t) * (size_t)cap);
  while (start) {
    if (F + 2 > cap) {
      int64_t *t = realloc(start, sizeof(int64_t) * (size_t)(cap *= 2));
      if (!t) {
        free(start);
        return NULL;
      }
      start = t;
    }
    start[F] = pos;
    if (pos >= nunits) break;
    int64_t g = (nunits - pos) / (2 * (int64_t)P);
    pos += g > 1 ? g : 1;
    F++;
  }
  *nfetch = F;
  return start;
}

/* Hand out the fetches dynamically: a counter on rank 0, incremented with MPI_Fetch_and_op. */
static int run_units(evaluator *ev) {
  int64_t nfetch = 0, *start = guided_schedule(ev->nunits, tgmm_mpi.size, &nfetch);
  TGMM_TRY(tgmm_agree(start ? TGMM_OK : TGMM_ENOMEM));
  int64_t *counter = NULL, one = 1, f = 0, done = 0;
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
    MPI_Fetch_and_op(&one, &f, MPI_INT64_T, 0, 0, MPI_SUM, win);
    MPI_Win_unlock(0, win);
    if (f >= nfetch) break;
    for (int64_t u = start[f]; u < start[f + 1] && rc == TGMM_OK; u++) {
      rc = tgmm_eval_unit(ev, u);
      done = u + 1 > done ? u + 1 : done;
      tgmm_progress("eval", t0, &last, (double)done / (double)ev->nunits);
    }
  }
  MPI_Win_free(&win);
  free(start);
  return rc;
}

void tgmm_eval_free(evaluator *ev) {
  for (int s = 0; ev->scfg && s < ev->ns; s++) tgmm_config_free(&ev->scfg[s]);
  free(ev->scfg), free(ev->label), free(ev->value_idx), free(ev->mclass);
  free(ev->slot0), free(ev->ntask), free(ev->unit0), free(ev->slot_task);
  free(ev->rows), free(ev->pw), free(ev->pm), free(ev->psd), free(ev->plab);
  free(ev->blk_row0), free(ev->blk_nrows), free(ev->mkeys);
  if (ev->data_ok) tgmm_dataset_close(&ev->ds);
  if (ev->model_ok) tgmm_model_free(&ev->model);
  if (ev->has_tgmm) tgmm_config_free(&ev->tcfg);
}

int tgmm_cmd_eval(const tgmm_cli *cli, const tgmm_config *cfg) {
  evaluator ev;
  memset(&ev, 0, sizeof ev);
  ev.cfg = cfg;
  int rc = tgmm_agree(validate(&ev, cli));
  if (rc == TGMM_OK) {
    if (ev.model_ok) tgmm_model_set_threads(&ev.model, 1);
    tgmm_info("eval: %d setting(s), %lld task(s) x %d method(s) = %lld rows, %lld units of <= %d "
              "tasks over %d rank(s)%s", ev.ns, (long long)ev.nslots, ev.nm, (long long)ev.nrows,
              (long long)ev.nunits, ev.chunk, tgmm_mpi.size, ev.data ? " from --data" : "");
    for (int s = 0; s < ev.ns; s++)
      tgmm_detail("eval: setting %d: %s, %lld task(s)", s, ev.label[s], (long long)ev.ntask[s]);
    double t0 = tgmm_now();
    rc = tgmm_agree(run_units(&ev));
    if (rc == TGMM_OK) rc = tgmm_eval_write(&ev, cli->out);
    if (rc == TGMM_OK)
      tgmm_info("eval: wrote %lld rows to %s in %.1f s", (long long)ev.nrows, cli->out,
                tgmm_now() - t0);
  }
  tgmm_eval_free(&ev);
  return rc;
}

/* `tgmm check`: the config as train and eval would take it (its keys and values were checked
 * when it was loaded): the model it trains, its task family, eval's methods and every grid
 * setting, each fitting that model (same d, a read-out for every K or pt.a, N within the
 * positions). Rank 0 prints the resolved config on stdout. Creates nothing. */
