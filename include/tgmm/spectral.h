/* spectral.h — the spectral (method-of-moments) estimator of Hsu & Kakade (2013, Thm 1) with the
 * robust tensor power method (Anandkumar et al. 2014, Alg. 1) and deflation.
 *
 * Steps (all moments are means over every row of every rank of comm):
 *   sigma^2, v = smallest eigenpair of the covariance Cov(x)                   (eigh #1, d x d)
 *   M2 = E[x x^T] - sigma^2 I; V, S = its top-K eigenpairs                    (eigh #2, d x d)
 *   W = V S^-1/2 [d, K], B = V S^1/2 [d, K]
 *   M1 = E[x ((x - xbar)^T v)^2] [d]
 *   T = E[(W^T x)^(x)3] - sum_i (m (x) g_i (x) g_i + g_i (x) m (x) g_i + g_i (x) g_i (x) m),
 *       m = W^T M1, g_i = W^T e_i  (i.e. the three terms m_a G_bc + m_b G_ac + m_c G_ab, G = W^T W)
 *   for each component: `restarts` starts of `iters` power iterations theta <- T(I, theta, theta)
 *   / ||.||, keep the largest lambda = T(theta, theta, theta), run `iters` more iterations from
 *   it, then deflate T -= lambda theta^(x)3;
 *   mu_k = lambda_k B theta_k, pi_k proportional to lambda_k^-2 (normalised).
 * Two passes over the data, two Allreduces, two d x d eigenproblems (LAPACK dsyevd or ScaLAPACK
 * pdsyevd over all ranks of comm). Needs K <= d. */
#ifndef TGMM_SPECTRAL_H
#define TGMM_SPECTRAL_H

#include <mpi.h>
#include <stdint.h>

#include "tgmm/linalg.h"

/* ILLCOND: the whitening's K-th eigenvalue of M2 is below the sampling-noise floor, or an
 * estimated mean lies far outside the data (the estimate is noise, not a fit): a failure. */
typedef enum {
  TGMM_SPECTRAL_OK = 0,
  TGMM_SPECTRAL_NA = 1,
  TGMM_SPECTRAL_FAILED = 2,
  TGMM_SPECTRAL_ILLCOND = 3
} tgmm_spectral_status;

typedef struct {
  int restarts, iters;
  tgmm_eigh_solver solver;
} tgmm_spectral_opts;

/* Start vectors of the power method for task `task_id`: starts[(k * restarts + r) * K + j] ~
 * N(0, 1) from stream (seed, TGMM_STREAM_EM, task_id, sub 2000000) (normalised by the method). */
void tgmm_spectral_starts(uint32_t seed, int64_t task_id, int K, int restarts,
                          double *starts /* [K, restarts, K] */);

/* Fit on this rank's rows x [n, d] (collective over comm). Writes weights [K] and means [K, d]
 * and sets *status: OK, NA (K > d; nothing computed) or FAILED (non-positive eigenvalue of M2 or
 * lambda, non-finite values). sigma2 (may be NULL) receives the estimated noise variance.
 * Returns TGMM_OK, TGMM_ENOMEM or TGMM_EFAIL (eigensolver failure); same on every rank. */
int tgmm_spectral_fit(const double *x /* [n, d] */, int64_t n, int d, int K, MPI_Comm comm,
                      const tgmm_spectral_opts *o, const double *starts /* [K, restarts, K] */,
                      double *weights /* [K] */, double *means /* [K, d] */, double *sigma2,
                      tgmm_spectral_status *status);

#endif
