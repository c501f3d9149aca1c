/* em.h — EM for Gaussian mixtures (identity / spherical / diag / full covariance, the estimators
 * of scikit-learn's GaussianMixture), Lloyd's k-means, and their initialisations.
 *
 * Every fitting function works on this rank's rows x [n, d] and is collective over `comm`:
 * pass MPI_COMM_SELF for a task held by one rank, or a communicator whose ranks each hold a
 * share of one large task's rows (distribute=samples). Per iteration there is one
 * MPI_Allreduce of the packed sufficient statistics (double); all ranks end with the same
 * parameters. E- and M-steps are BLAS-3: distances as ||x||^2 - 2 x mu^T + ||mu||^2 (dgemm),
 * statistics as R^T [X | x^2] (dgemm), rows processed in cache-sized blocks.
 *
 * Stopping (as scikit-learn): iteration i runs an E-step at the current parameters, giving the
 * mean log-likelihood ll_i, then an M-step; it stops after iteration i when
 * |ll_i - ll_{i-1}| < tol, or after max_iter iterations. The reported log-likelihood is the mean
 * log-likelihood of the final parameters (one more E-step), under the fitted covariance. */
#ifndef TGMM_EM_H
#define TGMM_EM_H

#include <mpi.h>
#include <stdint.h>

#include "tgmm/config.h"
#include "tgmm/gmm.h"

typedef struct {
  tgmm_covariance covariance;
  int max_iter;
  double tol;
  double reg_covar;
} tgmm_em_opts;

typedef struct {
  int iterations; /* EM iterations run */
  int converged;  /* 1 if stopped by tol */
  double loglik;  /* mean log-likelihood of the returned parameters */
} tgmm_em_result;

/* EM from the parameters in *g (updated in place; g->type must equal o->covariance).
 * x: this rank's n rows. Collective over comm. Returns TGMM_OK, TGMM_ENUM (a covariance lost
 * positive definiteness or a non-finite value; same on every rank) or TGMM_ENOMEM. */
int tgmm_em_fit(const double *x /* [n, d] */, int64_t n, MPI_Comm comm, const tgmm_em_opts *o,
                tgmm_gmm *g, tgmm_em_result *res);

/* tgmm_em_fit that also reports the wall time of its fastest iteration (for benchmarks). */
int tgmm_em_fit_timed(const double *x /* [n, d] */, int64_t n, MPI_Comm comm,
                      const tgmm_em_opts *o, tgmm_gmm *g, tgmm_em_result *res,
                      double *fastest_iter_s);

/* Mean log-likelihood of all rows (over comm) under g. Collective. */
double tgmm_gmm_loglik(const double *x /* [n, d] */, int64_t n, MPI_Comm comm, const tgmm_gmm *g);

/* Label of each local row: argmax_k of the responsibility under g (any covariance type). */
int tgmm_gmm_labels(const double *x /* [n, d] */, int64_t n, const tgmm_gmm *g,
                    int32_t *labels /* [n] */);

/* The same labels (labels may be NULL) and each row's responsibilities under g (resp may be
 * NULL): resp[i * resp_stride + k] for k < K, 0 for K <= k < resp_stride. Local. */
int tgmm_gmm_posterior(const double *x /* [n, d] */, int64_t n, const tgmm_gmm *g,
                       int32_t *labels /* [n] */, double *resp /* [n, resp_stride] */,
                       int resp_stride);

/* ---- initialisations: identical whatever the rank count (random streams keyed by task) ---- */

/* The paper's start: means ~ N(0, I) from stream (seed, TGMM_STREAM_EM, task_id, sub = restart),
 * equal weights, unit covariances. */
void tgmm_init_random(tgmm_gmm *g, uint32_t seed, int64_t task_id, int restart);

/* k-means++ (greedy, 2 + floor(ln K) candidates per step, as scikit-learn) on a deterministic
 * subsample: all rows if N_total <= 16384, else 16384 rows at a random stride (every rank
 * gathers the same rows in global order). row0 = global index of this rank's first row.
 * Writes means [K, d]. Collective over comm. */
int tgmm_kmeanspp(const double *x /* [n, d] */, int64_t n, int64_t row0, int d, int K,
                  MPI_Comm comm, uint32_t seed, int64_t task_id, int restart,
                  double *means /* [K, d] */);

/* EM start from given means: every row is assigned to its nearest mean and the weights and
 * covariances are estimated from those hard assignments (scikit-learn's start from k-means
 * labels); means are re-estimated too. Collective. */
int tgmm_init_from_means(const double *x /* [n, d] */, int64_t n, MPI_Comm comm,
                         const tgmm_em_opts *o, const double *means /* [K, d] */, tgmm_gmm *g);

/* ---- Lloyd's algorithm (k-means) ---- */

typedef struct {
  int iterations; /* assignment steps run */
  int converged;  /* 1 if no assignment changed */
  double inertia; /* mean squared distance to the assigned centre at the end */
} tgmm_lloyd_result;

/* Lloyd from the centres in means [K, d] (updated); weights [K] = share of rows per cluster.
 * An iteration assigns every row to its nearest centre and moves each non-empty centre to its
 * cluster's mean; stops when no assignment changes or after max_iter iterations. Collective. */
int tgmm_lloyd_fit(const double *x /* [n, d] */, int64_t n, int d, int K, MPI_Comm comm,
                   int max_iter, double *means /* [K, d] */, double *weights /* [K] */,
                   tgmm_lloyd_result *res);

#endif
