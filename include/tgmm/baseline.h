/* baseline.h — one baseline fit on one task, as `tgmm em|lloyd|spectral` and `tgmm eval` run it:
 * the start (random / k-means++ / truth, with restarts), the fit, and the metrics against the
 * truth. The task's rows may be split over the ranks of `comm` (distribute=samples) or held by
 * one rank (MPI_COMM_SELF). */
#ifndef TGMM_BASELINE_H
#define TGMM_BASELINE_H

#include <mpi.h>
#include <stdint.h>

#include "tgmm/config.h"
#include "tgmm/gmm.h"
#include "tgmm/task.h"

typedef enum { TGMM_METHOD_EM, TGMM_METHOD_LLOYD, TGMM_METHOD_SPECTRAL, TGMM_METHOD_ORACLE } tgmm_method;
/* The largest K a baseline fits (the config's limit on K); a task of a dataset file with a larger
 * K, with no samples or with fewer samples than K gets status failed, never ok. */
#define TGMM_BASELINE_MAX_K 64
typedef enum { TGMM_STATUS_OK, TGMM_STATUS_NA, TGMM_STATUS_FAILED } tgmm_status;
extern const char *const tgmm_status_name[3]; /* "ok", "not_applicable", "failed" */

/* One task's data as this rank sees it (borrowed pointers). */
typedef struct {
  int64_t id;   /* task id (keys the random starts) */
  int64_t row0; /* global index within the task of this rank's first row */
  int64_t n;    /* local rows */
  int K, d;
  const double *x;  /* [n, d] */
  const int32_t *z; /* [n] true components, or NULL */
  const double *tw, *tm, *ts; /* truth: weights [K], means [K, d], scales [K, d]; or NULL */
} tgmm_local_task;

/* A whole task held by one rank, truth included, as the methods see it. */
tgmm_local_task tgmm_local_of(const tgmm_task *t);

/* One result row. Metrics are NaN when the truth is absent or the fit did not succeed. */
typedef struct {
  tgmm_status status;
  int iterations;
  double loglik; /* mean log-likelihood of the fitted mixture */
  double l2_means, l2_weights, accuracy, misclustering;
  double l2_scales; /* mean over k, coordinates of the squared error of the aligned standard
                       deviations; NaN without true scales or for an identity-covariance fit */
} tgmm_fit_row;

/* Covariance model of a method's fitted mixture: em.covariance for EM and the oracle, spherical
 * (sigma^2) for spectral, identity for Lloyd. */
tgmm_covariance tgmm_method_covariance(tgmm_method m, const tgmm_config *cfg);

/* Fit; *g must be allocated by the caller with tgmm_method_covariance(m, cfg) and lt's K, d.
 * Collective over comm (nranks = its size). Fills row (status, iterations, loglik, metrics).
 * Returns TGMM_OK (also when the fit itself failed: row->status says so) or an error code. */
int tgmm_baseline_fit(tgmm_method m, const tgmm_config *cfg, const tgmm_local_task *lt,
                      MPI_Comm comm, tgmm_gmm *g, tgmm_fit_row *row);

/* EM from given parameters, one start, with cfg's em.* keys (covariance, max_iter, tol,
 * reg_covar), as the oracle runs it from the truth (the oracle is this call with the true
 * weights, means and scales, bit for bit): tgmm_em, EM from the model's estimate. *g allocated
 * with cfg->em.covariance; the start's covariances are diag(sd^2) (sd NULL: identity), reduced
 * to the type as the oracle's. Metrics against lt's truth as tgmm_baseline_fit. */
int tgmm_baseline_fit_from(const tgmm_config *cfg, const tgmm_local_task *lt, MPI_Comm comm,
                           const double *w /* [K] */, const double *m /* [K, d] */,
                           const double *sd /* [K, d] or NULL */, tgmm_gmm *g, tgmm_fit_row *row);

/* Truth metrics of a fitted mixture: Hungarian alignment of the means, l2 errors, accuracy and
 * misclustering from the confusion matrix (reduced over comm). */
int tgmm_fit_metrics(const tgmm_local_task *lt, const tgmm_gmm *g, MPI_Comm comm, tgmm_fit_row *row);

#endif
