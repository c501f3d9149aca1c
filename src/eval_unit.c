/* eval_unit.c — one work unit of `tgmm eval`: draw its tasks, run every method on each, and fill
 * the result rows. TGMM predicts the whole unit in one batch (one forward pass). */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "eval_impl.h"
#include "tgmm/baseline.h"
#include "tgmm/common.h"
#include "tgmm/rng.h"
#include "tgmm/task.h"
#include "tgmm/train.h"

static void store_row(evaluator *ev, int s, int i, int j, const tgmm_fit_row *r, double sec,
                      const tgmm_task *t) {
  double *row = ev->rows + (((int64_t)s * ev->tps + i) * ev->nm + j) * EV_NCOL;
  row[C_STATUS] = r->status;
  row[C_ITER] = r->iterations;
  row[C_LOGLIK] = r->loglik;
  row[C_L2M] = r->l2_means;
  row[C_L2W] = r->l2_weights;
  row[C_ACC] = r->accuracy;
  row[C_MIS] = r->misclustering;
  row[C_SEC] = sec;
  row[C_K] = t->K;
  row[C_N] = t->N;
  row[C_DONE] = 1;
}

static tgmm_local_task local_of(const tgmm_task *t) {
  tgmm_local_task lt = {t->id, 0, t->N, t->K, t->d, t->x, t->z, t->weights, t->means, t->scales};
  return lt;
}

/* The model's prediction for task k of the unit as a mixture (identity covariance, or the
 * predicted standard deviations when the model is anisotropic). */
static int tgmm_rows(evaluator *ev, int s, int i0, int j, tgmm_task *tasks, int nt) {
  const tgmm_model_dims *dm = &ev->model.dim;
  int Q = dm->Kmax, d = dm->d;
  tgmm_batch_buf bb;
  tgmm_batch_buf_init(&bb, d, Q);
  double *w = tgmm_malloc(sizeof(double) * (size_t)nt * Q);
  double *mu = tgmm_malloc(sizeof(double) * (size_t)nt * Q * d);
  double *sd = tgmm_malloc(sizeof(double) * (size_t)nt * Q * d);
  int rc = w && mu && sd ? TGMM_OK : TGMM_ENOMEM;
  for (int k = 0; k < nt && rc == TGMM_OK; k++)
    rc = tgmm_batch_buf_add(&bb, &tasks[k], ev->mclass[s][tasks[k].cls]);
  double t0 = tgmm_now();
  if (rc == TGMM_OK) rc = tgmm_model_predict(&ev->model, &bb.b, w, mu, dm->aniso ? sd : NULL);
  double sec = (tgmm_now() - t0) / nt;
  for (int k = 0; k < nt && rc == TGMM_OK; k++) {
    const tgmm_task *t = &tasks[k];
    tgmm_gmm g;
    rc = tgmm_gmm_alloc(&g, t->K, d, dm->aniso ? COV_DIAG : COV_IDENTITY);
    if (rc != TGMM_OK) break;
    memcpy(g.weights, w + (size_t)k * Q, sizeof(double) * (size_t)t->K);
    memcpy(g.means, mu + (size_t)k * Q * d, sizeof(double) * (size_t)t->K * d);
    if (dm->aniso)
      for (size_t a = 0; a < (size_t)t->K * d; a++) {
        double v = sd[(size_t)k * Q * d + a];
        g.cov[a] = v * v;
      }
    tgmm_local_task lt = local_of(t);
    tgmm_fit_row r = {TGMM_STATUS_OK, 0, NAN, NAN, NAN, NAN, NAN};
    r.loglik = tgmm_gmm_loglik(t->x, t->N, MPI_COMM_SELF, &g);
    rc = tgmm_fit_metrics(&lt, &g, MPI_COMM_SELF, &r);
    if (rc == TGMM_OK) store_row(ev, s, i0 + k, j, &r, sec, t);
    tgmm_gmm_free(&g);
  }
  free(w), free(mu), free(sd);
  tgmm_batch_buf_free(&bb);
  return rc;
}

static int baseline_row(evaluator *ev, int s, int i, int j, tgmm_method m, const tgmm_task *t) {
  const tgmm_config *sc = &ev->scfg[s];
  tgmm_gmm g;
  TGMM_TRY(tgmm_gmm_alloc(&g, t->K, t->d, tgmm_method_covariance(m, sc)));
  tgmm_local_task lt = local_of(t);
  tgmm_fit_row r = {TGMM_STATUS_FAILED, 0, NAN, NAN, NAN, NAN, NAN};
  double t0 = tgmm_now();
  int rc = tgmm_baseline_fit(m, sc, &lt, MPI_COMM_SELF, &g, &r);
  if (rc == TGMM_OK) store_row(ev, s, i, j, &r, tgmm_now() - t0, t);
  tgmm_gmm_free(&g);
  return rc;
}

int tgmm_eval_unit(evaluator *ev, int64_t u) {
  int s = (int)(u / ev->units_per_setting);
  int i0 = (int)(u % ev->units_per_setting) * ev->chunk;
  int i1 = i0 + ev->chunk < ev->tps ? i0 + ev->chunk : ev->tps, nt = i1 - i0;
  const tgmm_config *sc = &ev->scfg[s];
  tgmm_task *tasks = tgmm_calloc((size_t)nt, sizeof(tgmm_task));
  if (!tasks) return TGMM_ENOMEM;
  int rc = TGMM_OK, made = 0;
  for (int k = 0; k < nt && rc == TGMM_OK; k++) {
    int64_t id = i0 + k;
    int N = tgmm_task_draw_N(sc, TGMM_STREAM_EVAL, id, sc->ragged);
    rc = tgmm_task_sample(sc, TGMM_STREAM_EVAL, id, (int)(id % tgmm_config_nclass(sc)), N, &tasks[k]);
    if (rc == TGMM_OK) made++;
  }
  static const tgmm_method map[EV_NMETHODS] = {TGMM_METHOD_EM, TGMM_METHOD_EM, TGMM_METHOD_SPECTRAL,
                                               TGMM_METHOD_ORACLE, TGMM_METHOD_LLOYD};
  for (int j = 0; j < ev->nm && rc == TGMM_OK; j++) {
    int m = ev->methods[j];
    if (m == EV_TGMM) {
      rc = tgmm_rows(ev, s, i0, j, tasks, nt);
    } else {
      for (int k = 0; k < nt && rc == TGMM_OK; k++)
        rc = baseline_row(ev, s, i0 + k, j, map[m], &tasks[k]);
    }
  }
  for (int k = 0; k < made; k++) tgmm_task_free(&tasks[k]);
  free(tasks);
  return rc;
}
