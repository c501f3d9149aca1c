/* linalg.h — dense symmetric eigensolvers (LAPACK dsyevd, ScaLAPACK pdsyevd on a BLACS grid) and
 * small Cholesky helpers used by EM and the spectral method.
 *
 * Matrices are row-major unless a comment says otherwise. Eigenvectors come back with a
 * deterministic sign (the entry of largest magnitude is positive), so the LAPACK and ScaLAPACK
 * paths return the same vectors, not just the same subspaces. */
#ifndef TGMM_LINALG_H
#define TGMM_LINALG_H

#include <mpi.h>

/* Which solver tgmm_eigh uses. */
typedef enum { TGMM_EIGH_LAPACK = 0, TGMM_EIGH_SCALAPACK = 1 } tgmm_eigh_solver;

/* Symmetric eigendecomposition A = V diag(w) V^T, eigenvalues ascending.
 * a [n, n]: the symmetric matrix on input (identical on every rank of comm when solver is
 * ScaLAPACK); on output V, row-major, column j = eigenvector j (replicated on every rank).
 * w [n]: eigenvalues ascending.
 * LAPACK: local, comm unused. ScaLAPACK: collective over comm — pdsyevd on a near-square BLACS
 * grid over all ranks of comm, block-cyclic, then the eigenvectors are gathered back to all ranks.
 * Returns TGMM_OK or TGMM_EFAIL (solver reported info != 0, message printed). */
int tgmm_eigh(double *a /* [n, n] */, int n, double *w /* [n] */, tgmm_eigh_solver solver,
              MPI_Comm comm);

/* Lower Cholesky factor in place: a [n, n] row-major SPD -> L (upper triangle zeroed).
 * Returns TGMM_OK or TGMM_ENUM if the matrix is not positive definite. */
int tgmm_cholesky(double *a /* [n, n] */, int n);

/* sklearn's "precision Cholesky": from a covariance S [n, n] computes the upper-triangular P
 * with S^-1 = P P^T (P = L^-T, L = chol(S)), row-major into p [n, n]. TGMM_ENUM if S is not SPD. */
int tgmm_precision_cholesky(const double *s /* [n, n] */, int n, double *p /* [n, n] */);

#endif
