/* eval_unit.c — one work unit of `tgmm eval`: draw (or read, with --data) its tasks, run every
 * method on each, and append the unit's rows (one contiguous block of global rows) to this
 * rank's rows. TGMM predicts the whole unit in one batch (one forward pass). */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "eval_impl.h"
#include "tgmm/baseline.h"
#include "tgmm/common.h"
#include "tgmm/em.h"
#include "tgmm/metrics.h"
#include "tgmm/rng.h"
#include "tgmm/task.h"
#include "tgmm/batch.h"

int tgmm_eval_unit_setting(const evaluator *ev, int64_t u) {
  int lo = 0, hi = ev->ns - 1; /* the last s with unit0[s] <= u */
  while (lo < hi) {
    int mid = (lo + hi + 1) / 2;
    if (ev->unit0[mid] <= u) lo = mid;
    else hi = mid - 1;
  }
  return lo;
}

static int grow(void **p, int64_t n, size_t elem) {
  void *q = realloc(*p, (size_t)n * elem + 1);
  if (!q) {
    tgmm_error("out of memory holding %lld result rows", (long long)n);
    return TGMM_ENOMEM;
  }
  *p = q;
  return TGMM_OK;
}

/* Room for `rows` more rows and one more block (global rows row0..row0+rows-1); returns the
 * local index of the block's first row in *base. */
static int open_block(evaluator *ev, int64_t row0, int64_t rows, int64_t *base) {
  if (ev->nloc + rows > ev->cap_loc) {
    int64_t cap = ev->cap_loc * 2 > ev->nloc + rows ? ev->cap_loc * 2 : ev->nloc + rows + 64;
    size_t K = (size_t)ev->pred_K, kd = (size_t)ev->pred_K * (size_t)ev->pred_d;
    TGMM_TRY(grow((void **)&ev->rows, cap, sizeof(ev_row)));
    if (ev->save_pred) {
      TGMM_TRY(grow((void **)&ev->pw, cap, sizeof(double) * K));
      TGMM_TRY(grow((void **)&ev->pm, cap, sizeof(double) * kd));
      if (ev->pred_scales) TGMM_TRY(grow((void **)&ev->psd, cap, sizeof(double) * kd));
      if (ev->pred_N) TGMM_TRY(grow((void **)&ev->plab, cap, sizeof(int32_t) * (size_t)ev->pred_N));
    }
    ev->cap_loc = cap;
  }
  if (ev->nblk == ev->cap_blk) {
    int cap = ev->cap_blk ? 2 * ev->cap_blk : 64;
    TGMM_TRY(grow((void **)&ev->blk_row0, cap, sizeof(hsize_t)));
    TGMM_TRY(grow((void **)&ev->blk_nrows, cap, sizeof(hsize_t)));
    ev->cap_blk = cap;
  }
  ev->blk_row0[ev->nblk] = (hsize_t)row0;
  ev->blk_nrows[ev->nblk] = (hsize_t)rows;
  ev->nblk++;
  *base = ev->nloc;
  size_t kd = (size_t)ev->pred_K * (size_t)ev->pred_d;
  for (int64_t r = ev->nloc; r < ev->nloc + rows; r++) {
    ev_row *row = &ev->rows[r];
    for (int c = 0; c < EV_NF; c++) row->f[c] = NAN;
    row->K = row->N = row->iterations = 0;
    row->delta = NAN;
    row->status = TGMM_STATUS_FAILED;
    if (ev->save_pred) {
      memset(ev->pw + (size_t)r * (size_t)ev->pred_K, 0, sizeof(double) * (size_t)ev->pred_K);
      memset(ev->pm + (size_t)r * kd, 0, sizeof(double) * kd);
      if (ev->pred_scales) memset(ev->psd + (size_t)r * kd, 0, sizeof(double) * kd);
      for (int n = 0; n < ev->pred_N; n++) ev->plab[(size_t)r * (size_t)ev->pred_N + (size_t)n] = -1;
    }
  }
  ev->nloc += rows;
  return TGMM_OK;
}

/* Standard deviation of component k, coordinate j of a fitted mixture. */
static double sd_of(const tgmm_gmm *g, int k, int j) {
  size_t d = (size_t)g->d;
  switch (g->type) {
  case TGMM_COV_SPHERICAL: return sqrt(g->cov[k]);
  case TGMM_COV_DIAG: return sqrt(g->cov[(size_t)k * d + (size_t)j]);
  case TGMM_COV_FULL: return sqrt(g->cov[((size_t)k * d + (size_t)j) * d + (size_t)j]);
  default: return 1.0;
  }
}

/* Local row r (a row of the current unit): numbers, and the fitted mixture in the method's own
 * component order (g == NULL or a row not ok: NaN in the first K components). */
static void store_row(evaluator *ev, int64_t r, const tgmm_fit_row *fr, double sec,
                      const tgmm_task *t, const tgmm_gmm *g) {
  ev_row *row = &ev->rows[r];
  row->status = fr->status;
  row->iterations = fr->iterations;
  row->f[C_LOGLIK] = fr->loglik;
  row->f[C_L2M] = fr->l2_means;
  row->f[C_L2W] = fr->l2_weights;
  row->f[C_ACC] = fr->accuracy;
  row->f[C_MIS] = fr->misclustering;
  row->f[C_SEC] = sec;
  row->f[C_L2S] = fr->l2_scales;
  row->K = t->K;
  row->N = t->N;
  if (!ev->save_pred) return;
  int Q = ev->pred_K, D = ev->pred_d, ok = g && fr->status == TGMM_STATUS_OK;
  double *w = ev->pw + (size_t)r * Q, *m = ev->pm + (size_t)r * Q * D;
  double *sd = ev->pred_scales ? ev->psd + (size_t)r * Q * D : NULL;
  for (int k = 0; k < t->K && k < Q; k++) {
    w[k] = ok ? g->weights[k] : NAN;
    for (int j = 0; j < t->d && j < D; j++) {
      m[(size_t)k * D + j] = ok ? g->means[(size_t)k * t->d + j] : NAN;
      if (sd) sd[(size_t)k * D + j] = ok ? sd_of(g, k, j) : NAN;
    }
  }
}

/* The task as the methods see it: truth the source lacks (a dataset file without /weights,
 * /means, /scales or /z) is NULL, so its metrics come out NaN. */
static tgmm_local_task local_of(const evaluator *ev, const tgmm_task *t) {
  int file = ev->slot_task != NULL;
  tgmm_local_task lt = tgmm_local_of(t);
  if (file) {
    if (!ev->ds.has_z) lt.z = NULL;
    if (!ev->ds.has_weights) lt.tw = NULL;
    if (!ev->ds.has_means) lt.tm = NULL;
    if (!ev->ds.has_scales) lt.ts = NULL;
  }
  return lt;
}

/* The unit's tasks as one batch of the model (read-out of each task's class in setting s). */
static int unit_batch(const evaluator *ev, int s, const tgmm_task *tasks, int nt, tgmm_batch_buf *bb) {
  tgmm_batch_buf_init(bb, ev->model.dim.d, ev->model.dim.Kmax);
  for (int k = 0; k < nt; k++)
    TGMM_TRY(tgmm_batch_buf_add(bb, &tasks[k], ev->mclass[s][tasks[k].cls]));
  return TGMM_OK;
}

/* The label head's labels for the unit's tasks: misclustering and accuracy (1 - misclustering)
 * from them, no parameter metrics (NaN); eval.save_predictions keeps the labels. Row of task k:
 * base + k*nm + j. */
static int label_rows(evaluator *ev, int s, int64_t base, int j, tgmm_task *tasks, int nt) {
  tgmm_batch_buf bb;
  int rc = unit_batch(ev, s, tasks, nt, &bb);
  int32_t *lab = rc == TGMM_OK ? tgmm_malloc(sizeof(int32_t) * (size_t)(bb.off[nt] + 1)) : NULL;
  if (rc == TGMM_OK && !lab) rc = TGMM_ENOMEM;
  double t0 = tgmm_now();
  if (rc == TGMM_OK) rc = tgmm_model_predict_labels(&ev->model, &bb.b, lab);
  double sec = (tgmm_now() - t0) / nt;
  for (int k = 0; k < nt && rc == TGMM_OK; k++) {
    const tgmm_task *t = &tasks[k];
    const int32_t *lk = lab + bb.off[k];
    tgmm_local_task lt = local_of(ev, t);
    tgmm_fit_row r = {TGMM_STATUS_OK, 0, NAN, NAN, NAN, NAN, NAN, NAN};
    if (lt.z) r.misclustering = tgmm_misclustering(lk, lt.z, t->N, t->K);
    r.accuracy = 1.0 - r.misclustering;
    int64_t row = base + (int64_t)k * ev->nm + j;
    store_row(ev, row, &r, sec, t, NULL);
    for (int n = 0; ev->save_pred && n < t->N && n < ev->pred_N; n++)
      ev->plab[(size_t)row * (size_t)ev->pred_N + (size_t)n] = lk[n];
  }
  free(lab);
  tgmm_batch_buf_free(&bb);
  return rc;
}

/* The model's mixture read-out for the unit's nt tasks, computed once per unit and shared by the
 * columns that use it (tgmm, tgmm_plugin, tgmm_em): w [nt, Kmax], mu and sd [nt, Kmax, d]. */
typedef struct {
  double *w, *mu, *sd;
  double sec; /* forward seconds per task */
  int done;
} unit_forward;

static int forward(evaluator *ev, int s, tgmm_task *tasks, int nt, unit_forward *f) {
  if (f->done) return TGMM_OK;
  const tgmm_model_dims *dm = &ev->model.dim;
  size_t Q = (size_t)dm->Kmax, d = (size_t)dm->d;
  tgmm_batch_buf bb;
  f->w = tgmm_malloc(sizeof(double) * (size_t)nt * Q);
  f->mu = tgmm_malloc(sizeof(double) * (size_t)nt * Q * d);
  f->sd = tgmm_malloc(sizeof(double) * (size_t)nt * Q * d);
  int rc = unit_batch(ev, s, tasks, nt, &bb);
  if (rc == TGMM_OK && !(f->w && f->mu && f->sd)) rc = TGMM_ENOMEM;
  double t0 = tgmm_now();
  if (rc == TGMM_OK) rc = tgmm_model_predict(&ev->model, &bb.b, f->w, f->mu, dm->aniso ? f->sd : NULL);
  f->sec = (tgmm_now() - t0) / nt;
  f->done = rc == TGMM_OK;
  tgmm_batch_buf_free(&bb);
  return rc;
}

/* Task k's prediction as a mixture (identity covariance, or the predicted standard deviations
 * when the model is anisotropic). */
static int predicted_gmm(const evaluator *ev, const unit_forward *f, int k, const tgmm_task *t,
                         tgmm_gmm *g) {
  const tgmm_model_dims *dm = &ev->model.dim;
  size_t Q = (size_t)dm->Kmax, d = (size_t)dm->d;
  TGMM_TRY(tgmm_gmm_alloc(g, t->K, (int)d, dm->aniso ? TGMM_COV_DIAG : TGMM_COV_IDENTITY));
  memcpy(g->weights, f->w + (size_t)k * Q, sizeof(double) * (size_t)t->K);
  memcpy(g->means, f->mu + (size_t)k * Q * d, sizeof(double) * (size_t)t->K * d);
  for (size_t a = 0; dm->aniso && a < (size_t)t->K * d; a++) {
    double v = f->sd[(size_t)k * Q * d + a];
    g->cov[a] = v * v;
  }
  return TGMM_OK;
}

/* The setting's config with column j's method keys (its variant's, eval.iterations' max_iter):
 * a shallow copy, only numbers change. */
static tgmm_config column_config(const evaluator *ev, int s, int j) {
  tgmm_config c = ev->scfg[s];
  if (ev->variant[j]) {
    const ev_keys *k = &ev->mkeys[(size_t)s * ev->nm + j];
    c.em = k->em, c.lloyd = k->lloyd, c.spectral = k->spectral;
  }
  if (ev->miter[j] > 0) c.em.max_iter = c.lloyd.max_iter = ev->miter[j];
  return c;
}

/* tgmm (and tgmm_plugin): the prediction scored as it is; tgmm_em: EM started at it (one start,
 * the column's em.* keys), its seconds the forward's share plus the EM run. Row of task k:
 * base + k*nm + j. */
static int tgmm_rows(evaluator *ev, int s, int64_t base, int j, tgmm_task *tasks, int nt,
                     unit_forward *f) {
  TGMM_TRY(forward(ev, s, tasks, nt, f));
  const tgmm_model_dims *dm = &ev->model.dim;
  tgmm_config cc = column_config(ev, s, j);
  int rc = TGMM_OK, em = ev->methods[j] == EV_TGMM_EM;
  for (int k = 0; k < nt && rc == TGMM_OK; k++) {
    const tgmm_task *t = &tasks[k];
    tgmm_gmm g, fit;
    TGMM_TRY(predicted_gmm(ev, f, k, t, &g));
    tgmm_local_task lt = local_of(ev, t);
    tgmm_fit_row r = {TGMM_STATUS_OK, 0, NAN, NAN, NAN, NAN, NAN, NAN};
    double t0 = tgmm_now();
    if (em) {
      rc = tgmm_gmm_alloc(&fit, t->K, t->d, cc.em.covariance);
      if (rc == TGMM_OK) {
        const double *sd = dm->aniso ? f->sd + (size_t)k * dm->Kmax * dm->d : NULL;
        rc = tgmm_baseline_fit_from(&cc, &lt, MPI_COMM_SELF, g.weights, g.means, sd, &fit, &r);
        if (rc == TGMM_OK) store_row(ev, base + (int64_t)k * ev->nm + j, &r,
                                     f->sec + tgmm_now() - t0, t, &fit);
        tgmm_gmm_free(&fit);
      }
    } else {
      r.loglik = tgmm_gmm_loglik(t->x, t->N, MPI_COMM_SELF, &g);
      rc = tgmm_fit_metrics(&lt, &g, MPI_COMM_SELF, &r);
      if (rc == TGMM_OK) store_row(ev, base + (int64_t)k * ev->nm + j, &r, f->sec, t, &g);
    }
    tgmm_gmm_free(&g);
  }
  return rc;
}

/* truth: the true parameters scored as they are (identity covariance, or diag(scales^2) when a
 * scale differs from 1): the log-likelihood under the truth, the Bayes classifier's labels. */
static int truth_row(evaluator *ev, int64_t r, const tgmm_task *t) {
  tgmm_local_task lt = local_of(ev, t);
  tgmm_fit_row fr = {TGMM_STATUS_NA, 0, NAN, NAN, NAN, NAN, NAN, NAN};
  if (!lt.tw || !lt.tm) {
    store_row(ev, r, &fr, NAN, t, NULL);
    return TGMM_OK;
  }
  int unit = 1;
  size_t kd = (size_t)t->K * (size_t)t->d;
  for (size_t a = 0; lt.ts && a < kd; a++) unit &= lt.ts[a] == 1.0;
  tgmm_gmm g;
  TGMM_TRY(tgmm_gmm_alloc(&g, t->K, t->d, unit ? TGMM_COV_IDENTITY : TGMM_COV_DIAG));
  double t0 = tgmm_now();
  memcpy(g.weights, lt.tw, sizeof(double) * (size_t)t->K);
  memcpy(g.means, lt.tm, sizeof(double) * kd);
  for (size_t a = 0; !unit && a < kd; a++) g.cov[a] = lt.ts[a] * lt.ts[a];
  fr.status = TGMM_STATUS_OK;
  fr.loglik = tgmm_gmm_loglik(t->x, t->N, MPI_COMM_SELF, &g);
  int rc = tgmm_fit_metrics(&lt, &g, MPI_COMM_SELF, &fr);
  if (rc == TGMM_OK) store_row(ev, r, &fr, tgmm_now() - t0, t, &g);
  tgmm_gmm_free(&g);
  return rc;
}

/* A baseline's row with column j's config (its variant's keys, eval.iterations' max_iter). */
static int baseline_row(evaluator *ev, int s, int64_t r, tgmm_method m, int j, const tgmm_task *t) {
  tgmm_config cut = column_config(ev, s, j);
  const tgmm_config *sc = &cut;
  tgmm_gmm g;
  TGMM_TRY(tgmm_gmm_alloc(&g, t->K, t->d, tgmm_method_covariance(m, sc)));
  tgmm_local_task lt = local_of(ev, t);
  tgmm_fit_row fr = {TGMM_STATUS_FAILED, 0, NAN, NAN, NAN, NAN, NAN, NAN};
  double t0 = tgmm_now();
  int rc = tgmm_baseline_fit(m, sc, &lt, MPI_COMM_SELF, &g, &fr);
  if (rc == TGMM_OK) store_row(ev, r, &fr, tgmm_now() - t0, t, &g);
  tgmm_gmm_free(&g);
  return rc;
}

/* Task i of grid setting s: drawn from the stream (seed, eval, i). */
static int draw_task(const evaluator *ev, int s, int64_t i, tgmm_task *t) {
  const tgmm_config *sc = &ev->scfg[s];
  int N = tgmm_task_draw_N(sc, TGMM_STREAM_EVAL, i, sc->ragged);
  return tgmm_task_sample(sc, TGMM_STREAM_EVAL, i, (int)(i % tgmm_config_nclass(sc)), N, t);
}

int tgmm_eval_unit(evaluator *ev, int64_t u) {
  int s = tgmm_eval_unit_setting(ev, u);
  int64_t i0 = (u - ev->unit0[s]) * ev->chunk;
  int64_t i1 = i0 + ev->chunk < ev->ntask[s] ? i0 + ev->chunk : ev->ntask[s];
  int nt = (int)(i1 - i0);
  int64_t q0 = ev->slot0[s] + i0, base;
  TGMM_TRY(open_block(ev, q0 * ev->nm, (int64_t)nt * ev->nm, &base));
  tgmm_task *tasks = tgmm_calloc((size_t)nt, sizeof(tgmm_task));
  if (!tasks) return TGMM_ENOMEM;
  int rc = TGMM_OK, made = 0;
  for (int k = 0; k < nt && rc == TGMM_OK; k++) {
    rc = ev->slot_task ? tgmm_eval_data_task(ev, q0 + k, &tasks[k])
                       : draw_task(ev, s, i0 + k, &tasks[k]);
    if (rc == TGMM_OK) made++;
  }
  static const tgmm_method map[EV_NMETHODS] = {TGMM_METHOD_EM, TGMM_METHOD_EM, TGMM_METHOD_SPECTRAL,
                                               TGMM_METHOD_ORACLE, TGMM_METHOD_LLOYD};
  unit_forward f = {0};
  for (int j = 0; j < ev->nm && rc == TGMM_OK; j++) {
    int m = ev->methods[j];
    if (m == EV_TGMM && tgmm_model_has_labels(&ev->model)) {
      rc = label_rows(ev, s, base, j, tasks, nt);
    } else if (m == EV_TGMM || m == EV_TGMM_PLUGIN || m == EV_TGMM_EM) {
      rc = tgmm_rows(ev, s, base, j, tasks, nt, &f);
    } else if (m == EV_TRUTH) {
      for (int k = 0; k < nt && rc == TGMM_OK; k++)
        rc = truth_row(ev, base + (int64_t)k * ev->nm + j, &tasks[k]);
    } else {
      for (int k = 0; k < nt && rc == TGMM_OK; k++)
        rc = baseline_row(ev, s, base + (int64_t)k * ev->nm + j, map[m], j, &tasks[k]);
    }
  }
  free(f.w), free(f.mu), free(f.sd);
  for (int k = 0; k < nt && rc == TGMM_OK; k++) { /* /delta: every row of task k */
    tgmm_local_task lt = local_of(ev, &tasks[k]);
    double delta = tgmm_task_min_distance(lt.tm, tasks[k].K, tasks[k].d);
    for (int j = 0; j < ev->nm; j++) ev->rows[base + (int64_t)k * ev->nm + j].delta = delta;
  }
  for (int k = 0; k < made; k++) tgmm_task_free(&tasks[k]);
  free(tasks);
  return rc;
}
