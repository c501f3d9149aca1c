/* train_eval.c — the held-out evaluation of `tgmm train` (train.eval_every > 0): a fixed set of
 * train.eval_tasks tasks per class from the stream TGMM_STREAM_HELDOUT (so none is a training
 * task), exactly N samples each; held-out task t has class t / eval_tasks. Each rank predicts
 * its contiguous share; the TGMM metrics (after Hungarian alignment of the means) are summed
 * over ranks and averaged per class. With train.eval_baselines the baselines are fitted once on
 * the same tasks (their reference levels). */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "tgmm/baseline.h"
#include "tgmm/common.h"
#include "tgmm/metrics.h"
#include "tgmm/rng.h"
#include "train_impl.h"

void tgmm_heldout_free(heldout *ho) {
  for (int i = 0; i < ho->n && ho->tasks; i++) tgmm_task_free(&ho->tasks[i]);
  free(ho->tasks), free(ho->w), free(ho->mu), free(ho->sd), free(ho->labels);
  tgmm_batch_buf_free(&ho->bb);
  memset(ho, 0, sizeof *ho);
}

int tgmm_heldout_init(trainer *tr) {
  const tgmm_config *cfg = tr->cfg;
  heldout *ho = &tr->ho;
  int Q = tgmm_config_Kmax(cfg), d = cfg->d;
  tgmm_batch_buf_init(&ho->bb, d, Q);
  if (cfg->train.eval_every <= 0) return TGMM_OK;
  int64_t E = (int64_t)cfg->train.eval_tasks * tgmm_config_nclass(cfg), e0, e1;
  tgmm_share(E, tgmm_mpi.rank, tgmm_mpi.size, &e0, &e1);
  int n = (int)(e1 - e0);
  ho->tasks = tgmm_calloc((size_t)(n > 0 ? n : 1), sizeof(tgmm_task));
  ho->w = tgmm_malloc(sizeof(double) * (size_t)(n > 0 ? n : 1) * (size_t)Q);
  ho->mu = tgmm_malloc(sizeof(double) * (size_t)(n > 0 ? n : 1) * (size_t)Q * (size_t)d);
  ho->sd = tgmm_malloc(sizeof(double) * (size_t)(n > 0 ? n : 1) * (size_t)Q * (size_t)d);
  if (!ho->tasks || !ho->w || !ho->mu || !ho->sd) return TGMM_ENOMEM;
  for (int i = 0; i < n; i++) {
    int64_t id = e0 + i;
    int cls = (int)(id / cfg->train.eval_tasks);
    int N = tgmm_task_draw_N(cfg, TGMM_STREAM_HELDOUT, id, 0);
    TGMM_TRY(tgmm_task_sample(cfg, TGMM_STREAM_HELDOUT, id, cls, N, &ho->tasks[i]));
    ho->n = i + 1;
    TGMM_TRY(tgmm_batch_buf_add(&ho->bb, &ho->tasks[i], cls));
  }
  ho->labels = tgmm_malloc(sizeof(int32_t) * (size_t)(n > 0 ? ho->bb.off[n] : 1));
  return ho->labels ? TGMM_OK : TGMM_ENOMEM;
}

/* acc[RL_EVAL_*] += the row's l2 means, l2 weights, accuracy, misclustering. */
static void add_row(double acc[RL_EVAL_NCOL], const tgmm_fit_row *r) {
  acc[RL_EVAL_L2_MEANS] += r->l2_means, acc[RL_EVAL_L2_WEIGHTS] += r->l2_weights;
  acc[RL_EVAL_ACCURACY] += r->accuracy, acc[RL_EVAL_MISCLUSTERING] += r->misclustering;
}

/* Metrics of held-out task i from the predictions, scored like every fit (tgmm_fit_metrics),
 * added to acc (the mixture read-out's plug-in labels for accuracy and misclustering); with a
 * label head accuracy and misclustering come from its labels (accuracy = 1 - misclustering), and
 * the l2 errors are NaN without a mixture read-out. */
static int task_metrics(heldout *ho, const tgmm_model *m, int i, double acc[RL_EVAL_NCOL]) {
  const tgmm_task *t = &ho->tasks[i];
  int Q = m->dim.Kmax, d = m->dim.d, aniso = m->dim.aniso;
  tgmm_fit_row r = {TGMM_STATUS_OK, 0, NAN, NAN, NAN, NAN, NAN, NAN};
  int rc = TGMM_OK;
  if (tgmm_model_has_mixture(m)) {
    const double *w = ho->w + (size_t)i * Q, *mu = ho->mu + (size_t)i * Q * d;
    tgmm_gmm g;
    TGMM_TRY(tgmm_gmm_alloc(&g, t->K, d, aniso ? TGMM_COV_DIAG : TGMM_COV_IDENTITY));
    memcpy(g.weights, w, sizeof(double) * (size_t)t->K);
    memcpy(g.means, mu, sizeof(double) * (size_t)t->K * d);
    if (aniso)
      for (size_t a = 0; a < (size_t)t->K * d; a++) {
        double v = ho->sd[(size_t)i * Q * d + a];
        g.cov[a] = v * v;
      }
    tgmm_local_task lt = tgmm_local_of(t);
    rc = tgmm_fit_metrics(&lt, &g, MPI_COMM_SELF, &r);
    tgmm_gmm_free(&g);
  }
  if (tgmm_model_has_labels(m)) {
    r.misclustering = tgmm_misclustering(ho->labels + ho->bb.off[i], t->z, t->N, t->K);
    r.accuracy = 1.0 - r.misclustering;
  }
  add_row(acc, &r);
  return rc;
}

int tgmm_heldout_eval(trainer *tr, double *out) {
  const tgmm_config *cfg = tr->cfg;
  heldout *ho = &tr->ho;
  int nc = tgmm_config_nclass(cfg), aniso = tr->model.dim.aniso;
  double *sum = tgmm_calloc((size_t)nc * (RL_EVAL_NCOL + 1), sizeof(double));
  if (!sum) return TGMM_ENOMEM;
  int rc = TGMM_OK;
  if (ho->n > 0 && tgmm_model_has_mixture(&tr->model))
    rc = tgmm_model_predict(&tr->model, &ho->bb.b, ho->w, ho->mu, aniso ? ho->sd : NULL);
  if (ho->n > 0 && rc == TGMM_OK && tgmm_model_has_labels(&tr->model))
    rc = tgmm_model_predict_labels(&tr->model, &ho->bb.b, ho->labels);
  for (int i = 0; i < ho->n && rc == TGMM_OK; i++) {
    double *row = sum + (size_t)ho->bb.cls[i] * (RL_EVAL_NCOL + 1);
    rc = task_metrics(ho, &tr->model, i, row);
    row[RL_EVAL_NCOL] += 1.0;
  }
  rc = tgmm_agree(rc);
  if (rc == TGMM_OK && tgmm_mpi.size > 1)
    MPI_Allreduce(MPI_IN_PLACE, sum, nc * (RL_EVAL_NCOL + 1), MPI_DOUBLE, MPI_SUM, tgmm_mpi.comm);
  for (int c = 0; c < nc && rc == TGMM_OK; c++) {
    const double *row = sum + (size_t)c * (RL_EVAL_NCOL + 1);
    for (int j = 0; j < RL_EVAL_NCOL; j++)
      out[c * RL_EVAL_NCOL + j] = row[RL_EVAL_NCOL] > 0 ? row[j] / row[RL_EVAL_NCOL] : 0.0;
  }
  free(sum);
  return rc;
}

/* Fit baseline m (with config c) on held-out task i: acc[RL_EVAL_*] += its metrics,
 * acc[RL_EVAL_NCOL] += 1 when the fit succeeded (a method that does not apply, e.g. spectral with
 * K > d, adds nothing). */
static int ref_fit(const tgmm_config *c, tgmm_method m, const tgmm_task *t,
                   double acc[RL_EVAL_NCOL + 1]) {
  tgmm_gmm g;
  TGMM_TRY(tgmm_gmm_alloc(&g, t->K, t->d, tgmm_method_covariance(m, c)));
  tgmm_local_task lt = tgmm_local_of(t);
  tgmm_fit_row r = {TGMM_STATUS_FAILED, 0, NAN, NAN, NAN, NAN, NAN, NAN};
  int rc = tgmm_baseline_fit(m, c, &lt, MPI_COMM_SELF, &g, &r);
  tgmm_gmm_free(&g);
  if (rc == TGMM_OK && r.status == TGMM_STATUS_OK) {
    add_row(acc, &r);
    acc[RL_EVAL_NCOL] += 1;
  }
  return rc;
}

int tgmm_heldout_baselines(trainer *tr, double *out) {
  const tgmm_config *cfg = tr->cfg;
  heldout *ho = &tr->ho;
  int nc = tgmm_config_nclass(cfg), W = RL_EVAL_NCOL + 1;
  tgmm_config strong = *cfg; /* a strong EM: k-means++ start, 10 restarts */
  strong.em.init = TGMM_INIT_KMEANSPP;
  strong.em.restarts = 10;
  const tgmm_config *cf[RL_NREF] = {cfg, &strong, cfg, cfg};
  const tgmm_method me[RL_NREF] = {TGMM_METHOD_EM, TGMM_METHOD_EM, TGMM_METHOD_SPECTRAL,
                                   TGMM_METHOD_ORACLE};
  double *sum = tgmm_calloc((size_t)RL_NREF * nc * W, sizeof(double));
  int rc = sum ? TGMM_OK : TGMM_ENOMEM;
  for (int r = 0; r < RL_NREF && rc == TGMM_OK; r++)
    for (int i = 0; i < ho->n && rc == TGMM_OK; i++)
      rc = ref_fit(cf[r], me[r], &ho->tasks[i], sum + ((size_t)r * nc + ho->bb.cls[i]) * W);
  rc = tgmm_agree(rc);
  if (rc == TGMM_OK && tgmm_mpi.size > 1)
    MPI_Allreduce(MPI_IN_PLACE, sum, RL_NREF * nc * W, MPI_DOUBLE, MPI_SUM, tgmm_mpi.comm);
  for (int k = 0; k < RL_NREF * nc && rc == TGMM_OK; k++)
    for (int j = 0; j < RL_EVAL_NCOL; j++)
      out[k * RL_EVAL_NCOL + j] = sum[k * W + RL_EVAL_NCOL] > 0 ? sum[k * W + j] / sum[k * W + RL_EVAL_NCOL] : NAN;
  free(sum);
  return rc;
}
