/* linalg.c — LAPACK / ScaLAPACK symmetric eigensolvers and Cholesky helpers (see linalg.h). */
#include "tgmm/linalg.h"

#include <lapacke.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "tgmm/common.h"

/* Debian ships no ScaLAPACK/BLACS C header: the prototypes used here. */
int Csys2blacs_handle(MPI_Comm comm);
void Cfree_blacs_system_handle(int handle);
void Cblacs_gridinit(int *ctxt, const char *order, int nprow, int npcol);
void Cblacs_gridinfo(int ctxt, int *nprow, int *npcol, int *myrow, int *mycol);
void Cblacs_gridexit(int ctxt);
int numroc_(const int *n, const int *nb, const int *iproc, const int *isrcproc, const int *nprocs);
void descinit_(int *desc, const int *m, const int *n, const int *mb, const int *nb,
               const int *irsrc, const int *icsrc, const int *ictxt, const int *lld, int *info);
void pdsyevd_(const char *jobz, const char *uplo, const int *n, double *a, const int *ia,
              const int *ja, const int *desca, double *w, double *z, const int *iz, const int *jz,
              const int *descz, double *work, const int *lwork, int *iwork, const int *liwork,
              int *info);

/* Make the largest-magnitude entry of every eigenvector (column) positive. */
static void fix_signs(double *v, int n) {
  for (int j = 0; j < n; j++) {
    int best = 0;
    for (int i = 1; i < n; i++)
      if (fabs(v[(size_t)i * n + j]) > fabs(v[(size_t)best * n + j]) * (1 + 1e-12)) best = i;
    if (v[(size_t)best * n + j] < 0)
      for (int i = 0; i < n; i++) v[(size_t)i * n + j] = -v[(size_t)i * n + j];
  }
}

static int eigh_lapack(double *a, int n, double *w) {
  int info = LAPACKE_dsyevd(LAPACK_ROW_MAJOR, 'V', 'L', n, a, n, w);
  if (info != 0) {
    tgmm_error("LAPACKE_dsyevd failed (info = %d, n = %d)", info, n);
    return TGMM_EFAIL;
  }
  return TGMM_OK;
}

/* Global index of local index l for block size nb over np processes, this process p (source 0). */
static int l2g(int l, int nb, int p, int np) { return (l / nb) * nb * np + p * nb + l % nb; }

static int eigh_scalapack(double *a, int n, double *w, MPI_Comm comm) {
  int size;
  MPI_Comm_size(comm, &size);
  int nprow = 1;
  for (int r = 1; r * r <= size; r++)
    if (size % r == 0) nprow = r;
  int npcol = size / nprow;
  int handle = Csys2blacs_handle(comm), ctxt = handle;
  Cblacs_gridinit(&ctxt, "Row", nprow, npcol);
  int pr, pc, myrow, mycol;
  Cblacs_gridinfo(ctxt, &pr, &pc, &myrow, &mycol);
  int nb = 32, zero = 0, one = 1, info = 0;
  if (nb * (nprow > npcol ? nprow : npcol) > n) {
    nb = (n + (nprow > npcol ? nprow : npcol) - 1) / (nprow > npcol ? nprow : npcol);
    if (nb < 1) nb = 1;
  }
  int locr = numroc_(&n, &nb, &myrow, &zero, &nprow);
  int locc = numroc_(&n, &nb, &mycol, &zero, &npcol);
  int lld = locr > 1 ? locr : 1;
  int desc[9];
  descinit_(desc, &n, &n, &nb, &nb, &zero, &zero, &ctxt, &lld, &info);
  int rc = TGMM_OK;
  size_t nloc = (size_t)lld * (size_t)(locc > 1 ? locc : 1);
  double *al = tgmm_calloc(nloc, sizeof(double)), *zl = tgmm_calloc(nloc, sizeof(double));
  double *full = tgmm_calloc((size_t)n * (size_t)n, sizeof(double));
  double *work = NULL;
  int *iwork = NULL;
  if (!al || !zl || !full) rc = TGMM_ENOMEM;
  if (rc == TGMM_OK && info != 0) {
    tgmm_error("descinit failed (info = %d)", info);
    rc = TGMM_EFAIL;
  }
  if (rc == TGMM_OK) {
    for (int lj = 0; lj < locc; lj++) { /* column-major local block */
      int gj = l2g(lj, nb, mycol, npcol);
      for (int li = 0; li < locr; li++)
        al[li + (size_t)lj * lld] = a[(size_t)l2g(li, nb, myrow, nprow) * n + gj];
    }
    double wq = 0;
    int iq = 0, mone = -1;
    pdsyevd_("V", "L", &n, al, &one, &one, desc, w, zl, &one, &one, desc, &wq, &mone, &iq, &mone,
             &info);
    /* the documented minimum (the query underestimates in some ScaLAPACK builds), doubled */
    int np0 = numroc_(&n, &nb, &myrow, &zero, &nprow), nq0 = numroc_(&n, &nb, &mycol, &zero, &npcol);
    int tri = 3 * n + (nb * (np0 + 1) > 3 * nb ? nb * (np0 + 1) : 3 * nb);
    int lmin = (1 + 6 * n + 2 * np0 * nq0 > tri ? 1 + 6 * n + 2 * np0 * nq0 : tri) + 2 * n;
    int lwork = 2 * ((int)wq > lmin ? (int)wq : lmin) + 64, liwork = 7 * n + 8 * npcol + 2;
    if (iq > liwork) liwork = iq;
    work = tgmm_malloc(sizeof(double) * (size_t)lwork);
    iwork = tgmm_malloc(sizeof(int) * (size_t)liwork);
    if (!work || !iwork) rc = TGMM_ENOMEM;
    if (rc == TGMM_OK) {
      pdsyevd_("V", "L", &n, al, &one, &one, desc, w, zl, &one, &one, desc, work, &lwork, iwork,
               &liwork, &info);
      if (info != 0) {
        tgmm_error("ScaLAPACK pdsyevd failed (info = %d, n = %d)", info, n);
        rc = TGMM_EFAIL;
      }
    }
  }
  /* every rank takes part in the gather, whatever happened locally */
  int bad = rc != TGMM_OK, anybad = 0;
  MPI_Allreduce(&bad, &anybad, 1, MPI_INT, MPI_MAX, comm);
  if (!anybad) {
    for (int lj = 0; lj < locc; lj++) {
      int gj = l2g(lj, nb, mycol, npcol);
      for (int li = 0; li < locr; li++)
        full[(size_t)l2g(li, nb, myrow, nprow) * n + gj] = zl[li + (size_t)lj * lld];
    }
    MPI_Allreduce(full, a, n * n, MPI_DOUBLE, MPI_SUM, comm);
  } else if (rc == TGMM_OK) {
    rc = TGMM_EFAIL;
  }
  free(al), free(zl), free(full), free(work), free(iwork);
  Cblacs_gridexit(ctxt);
  Cfree_blacs_system_handle(handle);
  return rc;
}

int tgmm_eigh(double *a, int n, double *w, tgmm_eigh_solver solver, MPI_Comm comm) {
  int rc = solver == TGMM_EIGH_SCALAPACK ? eigh_scalapack(a, n, w, comm) : eigh_lapack(a, n, w);
  if (rc == TGMM_OK) fix_signs(a, n);
  return rc;
}

int tgmm_cholesky(double *a, int n) {
  for (int j = 0; j < n; j++) {
    double s = a[(size_t)j * n + j];
    for (int k = 0; k < j; k++) s -= a[(size_t)j * n + k] * a[(size_t)j * n + k];
    if (!(s > 0)) return TGMM_ENUM;
    double l = sqrt(s);
    a[(size_t)j * n + j] = l;
    for (int i = j + 1; i < n; i++) {
      double t = a[(size_t)i * n + j];
      for (int k = 0; k < j; k++) t -= a[(size_t)i * n + k] * a[(size_t)j * n + k];
      a[(size_t)i * n + j] = t / l;
    }
    for (int i = 0; i < j; i++) a[(size_t)i * n + j] = 0;
  }
  return TGMM_OK;
}

int tgmm_precision_cholesky(const double *s, int n, double *p) {
  double *l = tgmm_malloc(sizeof(double) * (size_t)n * (size_t)n);
  if (!l) return TGMM_ENOMEM;
  memcpy(l, s, sizeof(double) * (size_t)n * (size_t)n);
  int rc = tgmm_cholesky(l, n);
  if (rc == TGMM_OK) {
    /* M = L^-1 (lower), column by column: L M = I; then P = M^T (upper). */
    memset(p, 0, sizeof(double) * (size_t)n * (size_t)n);
    for (int c = 0; c < n; c++)
      for (int i = c; i < n; i++) {
        double t = (i == c) ? 1.0 : 0.0;
        for (int k = c; k < i; k++) t -= l[(size_t)i * n + k] * p[(size_t)c * n + k];
        p[(size_t)c * n + i] = t / l[(size_t)i * n + i]; /* p[c][i] = M[i][c] */
      }
  }
  free(l);
  return rc;
}
