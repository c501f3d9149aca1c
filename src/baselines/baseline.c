/* baseline.c — one baseline fit on one task (include/tgmm/baseline.h): starts (random,
 * k-means++, truth) with restarts, EM / Lloyd / spectral, and the truth metrics. Shared by the
 * `tgmm em|lloyd|spectral` commands (baseline_cmd.c) and `tgmm eval`. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "tgmm/baseline.h"
#include "tgmm/common.h"
#include "tgmm/em.h"
#include "tgmm/metrics.h"
#include "tgmm/spectral.h"

const char *const tgmm_status_name[3] = {"ok", "not_applicable", "failed"};

tgmm_covariance tgmm_method_covariance(tgmm_method m, const tgmm_config *cfg) {
  if (m == TGMM_METHOD_SPECTRAL) return TGMM_COV_SPHERICAL;
  if (m == TGMM_METHOD_LLOYD) return TGMM_COV_IDENTITY;
  return cfg->em.covariance;
}

static int metrics4(const tgmm_local_task *lt, const tgmm_gmm *g, MPI_Comm comm, double met[5]);

/* Covariance of a start from its scales (standard deviations; NULL: 1). */
static void start_cov(const double *sd, tgmm_gmm *g) {
  int K = g->K, d = g->d;
  for (int k = 0; k < K; k++)
    for (int j = 0; j < d; j++) {
      double s = sd ? sd[(size_t)k * d + j] : 1.0, v = s * s;
      if (g->type == TGMM_COV_SPHERICAL) g->cov[k] = (j ? g->cov[k] : 0) + v / d;
      if (g->type == TGMM_COV_DIAG) g->cov[(size_t)k * d + j] = v;
      if (g->type == TGMM_COV_FULL) g->cov[((size_t)k * d + j) * d + j] = v;
    }
}

/* A given start (the oracle's: the truth; tgmm_em's: the model's estimate). */
typedef struct {
  const double *w, *m, *sd; /* [K], [K, d], [K, d] or NULL (scales 1) */
  int more;                 /* tgmm_em: further starts from em.init (em.restarts - 1) */
} fit_start;

/* EM with restarts; the best final log-likelihood is kept in *best. With a start: that start,
 * then st->more starts of em.init (random or k-means++: its restarts 0, 1, ..., the same starts
 * as EM's own), the best kept. */
static int run_em(const tgmm_config *cfg, const fit_start *st, const tgmm_local_task *lt,
                  MPI_Comm comm, tgmm_gmm *best, tgmm_em_result *bres, int *status) {
  tgmm_init first = st ? TGMM_INIT_TRUTH : cfg->em.init;
  int more = st && cfg->em.init != TGMM_INIT_TRUTH ? st->more : 0;
  tgmm_em_opts o = {cfg->em.covariance, cfg->em.max_iter, cfg->em.tol, cfg->em.reg_covar};
  tgmm_gmm g;
  TGMM_TRY(tgmm_gmm_alloc(&g, lt->K, lt->d, o.covariance));
  int restarts = first == TGMM_INIT_TRUTH ? 1 + more : cfg->em.restarts, rc = TGMM_OK;
  double *m0 = tgmm_malloc(sizeof(double) * (size_t)lt->K * lt->d);
  if (!m0) rc = TGMM_ENOMEM;
  *status = TGMM_STATUS_FAILED;
  bres->loglik = -INFINITY;
  fit_start truth = {lt->tw, lt->tm, lt->ts, 0};
  if (!st) st = &truth; /* em.init = truth */
  for (int i = 0; i < restarts && rc == TGMM_OK; i++) {
    tgmm_init init = i == 0 ? first : cfg->em.init;
    int r = first == TGMM_INIT_TRUTH ? i - 1 : i; /* em.init's own restart index */
    if (init == TGMM_INIT_RANDOM) {
      tgmm_init_random(&g, (uint32_t)cfg->seed, lt->id, r);
    } else if (init == TGMM_INIT_KMEANSPP) {
      rc = tgmm_kmeanspp(lt->x, lt->n, lt->row0, lt->d, lt->K, comm, (uint32_t)cfg->seed, lt->id,
                         r, m0);
      if (rc == TGMM_OK) rc = tgmm_init_from_means(lt->x, lt->n, comm, &o, m0, &g);
      if (rc == TGMM_ENUM) { /* degenerate start: this restart fails */
        rc = TGMM_OK;
        continue;
      }
    } else {
      memcpy(g.weights, st->w, sizeof(double) * lt->K);
      memcpy(g.means, st->m, sizeof(double) * (size_t)lt->K * lt->d);
      if (g.cov) {
        tgmm_gmm_unit_cov(&g);
        start_cov(st->sd, &g);
      }
    }
    if (rc != TGMM_OK) break;
    tgmm_em_result res;
    int frc = tgmm_em_fit(lt->x, lt->n, comm, &o, &g, &res);
    if (frc == TGMM_ENUM) continue;
    if (frc != TGMM_OK) {
      rc = frc;
      break;
    }
    if (*status == TGMM_STATUS_FAILED || res.loglik > bres->loglik) {
      *status = TGMM_STATUS_OK;
      *bres = res;
      tgmm_gmm_copy(best, &g);
    }
  }
  free(m0);
  tgmm_gmm_free(&g);
  return rc;
}

static int run_lloyd(const tgmm_config *cfg, const tgmm_local_task *lt, MPI_Comm comm, tgmm_gmm *g,
                     tgmm_em_result *res, int *status) {
  if (cfg->lloyd.init == TGMM_INIT_RANDOM)
    tgmm_init_random(g, (uint32_t)cfg->seed, lt->id, 0);
  else if (cfg->lloyd.init == TGMM_INIT_KMEANSPP)
    TGMM_TRY(tgmm_kmeanspp(lt->x, lt->n, lt->row0, lt->d, lt->K, comm, (uint32_t)cfg->seed,
                           lt->id, 0, g->means));
  else
    memcpy(g->means, lt->tm, sizeof(double) * (size_t)lt->K * lt->d);
  tgmm_lloyd_result lr;
  TGMM_TRY(tgmm_lloyd_fit(lt->x, lt->n, lt->d, lt->K, comm, cfg->lloyd.max_iter, g->means,
                          g->weights, &lr));
  res->iterations = lr.iterations;
  /* log-likelihood of the identity-covariance mixture (weights = cluster shares) */
  int empty = 0;
  for (int k = 0; k < g->K; k++) empty |= !(g->weights[k] > 0);
  res->loglik = empty ? -INFINITY : tgmm_gmm_loglik(lt->x, lt->n, comm, g);
  *status = TGMM_STATUS_OK;
  return TGMM_OK;
}

static int run_spectral(const tgmm_config *cfg, const tgmm_local_task *lt, MPI_Comm comm, int nranks,
                        tgmm_gmm *g, tgmm_em_result *res, int *status) {
  tgmm_spectral_opts o = {cfg->spectral.restarts, cfg->spectral.iters, TGMM_EIGH_LAPACK};
  if (cfg->spectral.eigensolver == TGMM_EIG_SCALAPACK ||
      (cfg->spectral.eigensolver == TGMM_EIG_AUTO && nranks > 1 && lt->d >= cfg->spectral.scalapack_min_d))
    o.solver = TGMM_EIGH_SCALAPACK;
  double *starts = tgmm_malloc(sizeof(double) * (size_t)lt->K * o.restarts * lt->K);
  if (!starts) return TGMM_ENOMEM;
  tgmm_spectral_starts((uint32_t)cfg->seed, lt->id, lt->K, o.restarts, starts);
  tgmm_spectral_status st;
  double s2 = 1;
  int rc = tgmm_spectral_fit(lt->x, lt->n, lt->d, lt->K, comm, &o, starts, g->weights, g->means,
                             &s2, &st);
  free(starts);
  TGMM_TRY(rc);
  int r = 0;
  MPI_Comm_rank(comm, &r);
  if (st == TGMM_SPECTRAL_ILLCOND && r == 0 && tgmm_task_line())
    fprintf(stderr, "tgmm: task %lld (N = %lld, K = %d, d = %d): spectral: ill-conditioned (the "
            "whitening's K-th eigenvalue is below the sampling-noise floor, or a mean far outside "
            "the data): status failed\n", (long long)lt->id, (long long)lt->n, lt->K, lt->d);
  *status = st == TGMM_SPECTRAL_OK ? TGMM_STATUS_OK : st == TGMM_SPECTRAL_NA ? TGMM_STATUS_NA : TGMM_STATUS_FAILED;
  if (*status == TGMM_STATUS_OK) { /* the fitted model: common variance sigma^2 */
    for (int k = 0; k < g->K; k++) g->cov[k] = s2 > 0 ? s2 : 1;
    res->loglik = tgmm_gmm_loglik(lt->x, lt->n, comm, g);
  }
  return TGMM_OK;
}

/* The one place a fit is scored (eval, the baseline commands, training's held-out evaluation):
 * met[4] = l2_means, l2_weights, accuracy, misclustering (NaN when the truth is absent): the
 * pure functions of metrics.h, with the confusion matrix of true vs predicted labels summed over
 * comm (a task split by samples). */
int tgmm_fit_metrics(const tgmm_local_task *lt, const tgmm_gmm *g, MPI_Comm comm, tgmm_fit_row *row) {
  double met[5];
  int rc = metrics4(lt, g, comm, met);
  row->l2_means = met[0], row->l2_weights = met[1], row->accuracy = met[2], row->misclustering = met[3];
  row->l2_scales = met[4];
  return rc;
}

static int metrics4(const tgmm_local_task *lt, const tgmm_gmm *g, MPI_Comm comm, double met[5]) {
  int K = lt->K;
  met[0] = met[1] = met[2] = met[3] = met[4] = NAN;
  if (!lt->tm) return TGMM_OK; /* no truth: every truth metric unavailable */
  int *perm = tgmm_malloc(sizeof(int) * (size_t)K);
  int32_t *lab = tgmm_malloc(sizeof(int32_t) * (size_t)(lt->n > 0 ? lt->n : 1));
  double *conf = tgmm_calloc((size_t)K * K, sizeof(double));
  int rc = perm && lab && conf ? TGMM_OK : TGMM_ENOMEM;
  if (rc == TGMM_OK)
    tgmm_score_means(g->weights, g->means, lt->tw, lt->tm, K, lt->d, perm, &met[0], &met[1]);
  if (rc == TGMM_OK && lt->ts && g->type != TGMM_COV_IDENTITY) { /* scales aligned like the means */
    double *sd = tgmm_malloc(sizeof(double) * (size_t)K * (size_t)lt->d);
    if (sd) {
      tgmm_gmm_scales(g, sd);
      met[4] = tgmm_l2_means(sd, lt->ts, perm, K, lt->d);
      free(sd);
    } else {
      rc = TGMM_ENOMEM;
    }
  }
  if (rc == TGMM_OK && lt->z) {
    rc = tgmm_gmm_labels(lt->x, lt->n, g, lab);
    if (rc == TGMM_OK) tgmm_confusion_add(lt->z, lab, lt->n, K, conf);
    MPI_Allreduce(MPI_IN_PLACE, conf, K * K, MPI_DOUBLE, MPI_SUM, comm);
    if (rc == TGMM_OK) rc = tgmm_score_labels(conf, K, perm, &met[2], &met[3]);
  }
  free(perm), free(lab), free(conf);
  return rc;
}

static const char *const METHOD_NAMES[] = {"em", "lloyd", "spectral", "oracle"};

static int fit(tgmm_method m, const fit_start *st, const tgmm_config *cfg,
               const tgmm_local_task *lt, MPI_Comm comm, tgmm_gmm *g, tgmm_fit_row *row) {
  int nranks;
  MPI_Comm_size(comm, &nranks);
  tgmm_em_result res = {0, 0, NAN};
  int status = TGMM_STATUS_FAILED, rc = TGMM_OK;
  if (m == TGMM_METHOD_ORACLE && !st && (!lt->tm || !lt->tw)) {
    tgmm_error("the oracle (EM from the truth) needs the true weights and means");
    return TGMM_EUSER;
  }
  /* Degenerate tasks are not fitted: status failed, the reason in a log line naming the task. */
  long long n = lt->n, N = n;
  if (nranks > 1) MPI_Allreduce(&n, &N, 1, MPI_LONG_LONG, MPI_SUM, comm);
  const char *why = N == 0 ? "it has no samples"
                    : lt->K > TGMM_BASELINE_MAX_K ? "K is beyond the limit of 64"
                    : N < lt->K ? "it has fewer samples than components"
                                : NULL;
  if (why) {
    int r = 0;
    MPI_Comm_rank(comm, &r);
    if (r == 0 && tgmm_task_line())
      fprintf(stderr, "tgmm: task %lld (N = %lld, K = %d): %s: status failed (%s)\n",
              (long long)lt->id, N, lt->K, why, st ? "EM from a given start" : METHOD_NAMES[m]);
    row->status = TGMM_STATUS_FAILED;
    row->iterations = 0;
    row->loglik = row->l2_means = row->l2_weights = row->accuracy = row->misclustering = NAN;
    return TGMM_OK;
  }
  if (m == TGMM_METHOD_EM || m == TGMM_METHOD_ORACLE)
    rc = run_em(cfg, m == TGMM_METHOD_ORACLE && !st ? &(fit_start){lt->tw, lt->tm, lt->ts, 0} : st,
                lt, comm, g, &res, &status);
  if (m == TGMM_METHOD_LLOYD) rc = run_lloyd(cfg, lt, comm, g, &res, &status);
  if (m == TGMM_METHOD_SPECTRAL) rc = run_spectral(cfg, lt, comm, nranks, g, &res, &status);
  row->status = (tgmm_status)status;
  row->iterations = res.iterations;
  row->loglik = status == TGMM_STATUS_OK ? res.loglik : NAN;
  row->l2_means = row->l2_weights = row->accuracy = row->misclustering = row->l2_scales = NAN;
  if (rc == TGMM_OK && status == TGMM_STATUS_OK) rc = tgmm_fit_metrics(lt, g, comm, row);
  return rc;
}

int tgmm_baseline_fit(tgmm_method m, const tgmm_config *cfg, const tgmm_local_task *lt,
                      MPI_Comm comm, tgmm_gmm *g, tgmm_fit_row *row) {
  return fit(m, NULL, cfg, lt, comm, g, row);
}

int tgmm_baseline_fit_from(const tgmm_config *cfg, const tgmm_local_task *lt, MPI_Comm comm,
                           const double *w, const double *m, const double *sd, tgmm_gmm *g,
                           tgmm_fit_row *row) {
  fit_start st = {w, m, sd, cfg->em.restarts - 1};
  return fit(TGMM_METHOD_ORACLE, &st, cfg, lt, comm, g, row);
}

tgmm_local_task tgmm_local_of(const tgmm_task *t) {
  tgmm_local_task lt = {t->id, 0, t->N, t->K, t->d, t->x, t->z, t->weights, t->means, t->scales};
  return lt;
}
