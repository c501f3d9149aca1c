/* em_bench.c — times EM per iteration (tests/bench/em_vs_sklearn.sh) and the floor: the same
 * BLAS calls alone (the E-step and M-step dgemm/dgemv on the same row blocks).
 *   em_bench COV N d K iters X.bin INIT.bin      (every rank reads the whole file, keeps its share)
 * INIT = weights [K], means [K,d], cov (spherical [K] / diag [K,d]). Prints one line on rank 0:
 *   per_iter_s=<..> floor_s=<..> iters=<..> loglik=<..> ranks=<..>
 * per_iter = the fastest single iteration over 3 runs of `iters` iterations (set-up excluded; the
 * minimum because the development machine is shared); floor = fastest of 5 passes. */
#include <cblas.h>
#include <mpi.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "tgmm/common.h"
#include "tgmm/em.h"

#define BLK 2048

static double *read_all(const char *path, size_t off, size_t n) {
  double *b = malloc(sizeof(double) * (n ? n : 1));
  FILE *f = fopen(path, "rb");
  if (!f || !b || fseek(f, (long)(off * sizeof(double)), SEEK_SET) || fread(b, sizeof(double), n, f) != n) {
    fprintf(stderr, "em_bench: cannot read %s\n", path);
    exit(1);
  }
  fclose(f);
  return b;
}

static double fit(const double *x, int64_t n, const tgmm_em_opts *o, const double *init, int K,
                  int d, double *ll) {
  tgmm_gmm g;
  tgmm_gmm_alloc(&g, K, d, o->covariance);
  memcpy(g.weights, init, sizeof(double) * K);
  memcpy(g.means, init + K, sizeof(double) * K * d);
  memcpy(g.cov, init + K + K * d, sizeof(double) * (o->covariance == TGMM_COV_DIAG ? K * d : K));
  tgmm_em_result r;
  MPI_Barrier(MPI_COMM_WORLD);
  double t;
  tgmm_em_fit_timed(x, n, MPI_COMM_WORLD, o, &g, &r, &t);
  MPI_Allreduce(MPI_IN_PLACE, &t, 1, MPI_DOUBLE, MPI_MAX, MPI_COMM_WORLD);
  *ll = r.loglik;
  tgmm_gmm_free(&g);
  return t;
}

/* The iteration's BLAS calls alone. */
static double floor_time(const double *x, int64_t n, int d, int K, int diag) {
  double *xz = malloc(sizeof(double) * (size_t)n * 2 * d), *r = malloc(sizeof(double) * BLK * K);
  double *A = malloc(sizeof(double) * 2 * K * d), *S = calloc((size_t)3 * K * d, sizeof(double));
  double *xsq = malloc(sizeof(double) * (size_t)n);
  for (size_t i = 0; i < (size_t)n; i++)
    for (int j = 0; j < d; j++) xz[i * 2 * d + j] = x[i * d + j], xz[i * 2 * d + d + j] = x[i * d + j] * x[i * d + j];
  for (int64_t i = 0; i < n; i++) xsq[i] = 1.0;
  for (int i = 0; i < 2 * K * d; i++) A[i] = 0.01 * i;
  double best = 1e30;
  for (int rep = 0; rep < 5; rep++) {
    double t = tgmm_now();
    for (int64_t i0 = 0; i0 < n; i0 += BLK) {
      int B = (int)(n - i0 < BLK ? n - i0 : BLK);
      const double *xb = x + (size_t)i0 * d, *zb = xz + (size_t)i0 * 2 * d;
      /* the calls of em.c: diag works on rows [x | x^2] (one product each way) */
      if (diag) {
        cblas_dgemm(CblasRowMajor, CblasNoTrans, CblasTrans, B, K, 2 * d, 1.0, zb, 2 * d, A, 2 * d, 0.0, r, K);
        cblas_dgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, K, 2 * d, B, 1.0, r, B, zb, 2 * d, 1.0, S, 2 * d);
      } else {
        cblas_dgemm(CblasRowMajor, CblasNoTrans, CblasTrans, B, K, d, 1.0, xb, d, A, d, 0.0, r, K);
        cblas_dgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, K, d, B, 1.0, r, B, xb, d, 1.0, S, d);
        cblas_dgemv(CblasRowMajor, CblasNoTrans, K, B, 1.0, r, B, xsq + i0, 1, 1.0, S + K * d, 1);
      }
    }
    t = tgmm_now() - t;
    MPI_Allreduce(MPI_IN_PLACE, &t, 1, MPI_DOUBLE, MPI_MAX, MPI_COMM_WORLD);
    if (t < best) best = t;
  }
  free(xz), free(r), free(A), free(S), free(xsq);
  return best;
}

int main(int argc, char **argv) {
  MPI_Init(&argc, &argv);
  if (argc < 8) {
    fprintf(stderr, "usage: em_bench spherical|diag N d K iters X.bin INIT.bin\n");
    MPI_Finalize();
    return 2;
  }
  int rank, size;
  MPI_Comm_rank(MPI_COMM_WORLD, &rank);
  MPI_Comm_size(MPI_COMM_WORLD, &size);
  int diag = !strcmp(argv[1], "diag");
  int64_t N = atoll(argv[2]);
  int d = atoi(argv[3]), K = atoi(argv[4]), it = atoi(argv[5]);
  int64_t r0 = N * rank / size, r1 = N * (rank + 1) / size;
  double *x = read_all(argv[6], (size_t)r0 * d, (size_t)(r1 - r0) * d);
  double *init = read_all(argv[7], 0, (size_t)K + (size_t)K * d + (diag ? (size_t)K * d : (size_t)K));
  tgmm_em_opts o = {diag ? TGMM_COV_DIAG : TGMM_COV_SPHERICAL, it, 0.0, 1e-6};
  double ll;
  fit(x, r1 - r0, &o, init, K, d, &ll); /* warm-up (page faults, BLAS buffers) */
  double best = 1e30;
  for (int rep = 0; rep < 3; rep++) {
    double a = fit(x, r1 - r0, &o, init, K, d, &ll);
    best = a < best ? a : best;
  }
  double fl = floor_time(x, r1 - r0, d, K, diag);
  if (rank == 0)
    printf("per_iter_s=%.5f floor_s=%.5f iters=%d loglik=%.10f ranks=%d\n", best, fl, it, ll, size);
  free(x), free(init);
  MPI_Finalize();
  return 0;
}
