/* baseline_tool.c — drives the EM / Lloyd / spectral cores on raw float64 files, for the
 * reference tests (tests/reference/test_em_*.py, test_spectral*.py). Runs under mpirun too:
 * every rank reads the whole file and keeps its contiguous share of the rows.
 *   baseline_tool em COV N d K max_iter tol reg_covar X.bin INIT.bin OUT.bin
 *       COV = identity|spherical|diag|full; INIT = weights [K], means [K,d], cov (by type)
 *       OUT = weights, means, cov, iterations, converged, loglik
 *   baseline_tool lloyd N d K max_iter X.bin MEANS.bin OUT.bin
 *       OUT = means [K,d], weights [K], iterations, converged, inertia
 *   baseline_tool spectral N d K restarts iters lapack|scalapack X.bin STARTS.bin OUT.bin
 *       STARTS = [K, restarts, K]; OUT = status, weights [K], means [K,d], sigma2
 *   baseline_tool kmeanspp N d K seed task X.bin OUT.bin      OUT = means [K,d]
 *   baseline_tool eigh n lapack|scalapack A.bin OUT.bin         OUT = w [n], V [n,n]
 * Only rank 0 writes OUT. */
#include <mpi.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "tgmm/em.h"
#include "tgmm/linalg.h"
#include "tgmm/spectral.h"

static double *read_all(const char *path, size_t n) {
  double *b = malloc(sizeof(double) * (n ? n : 1));
  FILE *f = fopen(path, "rb");
  if (!f || !b || fread(b, sizeof(double), n, f) != n) {
    fprintf(stderr, "baseline_tool: cannot read %zu doubles from %s\n", n, path);
    exit(1);
  }
  fclose(f);
  return b;
}

static FILE *out_file(const char *path) {
  int rank;
  MPI_Comm_rank(MPI_COMM_WORLD, &rank);
  if (rank != 0) return NULL;
  FILE *f = fopen(path, "wb");
  if (!f) {
    fprintf(stderr, "baseline_tool: cannot write %s\n", path);
    exit(1);
  }
  return f;
}

static void put(FILE *f, const double *v, size_t n) {
  if (f && n && fwrite(v, sizeof(double), n, f) != n) exit(1);
}
static void put1(FILE *f, double v) { put(f, &v, 1); }

/* This rank's share [r0, r1) of N rows. */
static void share(int64_t N, int64_t *r0, int64_t *r1) {
  int rank, size;
  MPI_Comm_rank(MPI_COMM_WORLD, &rank);
  MPI_Comm_size(MPI_COMM_WORLD, &size);
  *r0 = N * rank / size;
  *r1 = N * (rank + 1) / size;
}

static tgmm_covariance parse_cov(const char *s) {
  if (!strcmp(s, "spherical")) return TGMM_COV_SPHERICAL;
  if (!strcmp(s, "diag")) return TGMM_COV_DIAG;
  if (!strcmp(s, "full")) return TGMM_COV_FULL;
  return TGMM_COV_IDENTITY;
}

static size_t cov_size(tgmm_covariance t, int K, int d) {
  return t == TGMM_COV_SPHERICAL ? (size_t)K : t == TGMM_COV_DIAG ? (size_t)K * d : t == TGMM_COV_FULL ? (size_t)K * d * d : 0;
}

int main(int argc, char **argv) {
  MPI_Init(&argc, &argv);
  int rc = 0;
  if (argc >= 12 && !strcmp(argv[1], "em")) {
    tgmm_covariance t = parse_cov(argv[2]);
    int64_t N = atoll(argv[3]);
    int d = atoi(argv[4]), K = atoi(argv[5]);
    tgmm_em_opts o = {t, atoi(argv[6]), atof(argv[7]), atof(argv[8])};
    double *x = read_all(argv[9], (size_t)N * d);
    size_t cs = cov_size(t, K, d);
    double *init = read_all(argv[10], (size_t)K + (size_t)K * d + cs);
    tgmm_gmm g;
    tgmm_gmm_alloc(&g, K, d, t);
    memcpy(g.weights, init, sizeof(double) * K);
    memcpy(g.means, init + K, sizeof(double) * K * d);
    if (cs) memcpy(g.cov, init + K + K * d, sizeof(double) * cs);
    int64_t r0, r1;
    share(N, &r0, &r1);
    tgmm_em_result res;
    rc = tgmm_em_fit(x + (size_t)r0 * d, r1 - r0, MPI_COMM_WORLD, &o, &g, &res);
    FILE *f = out_file(argv[11]);
    put(f, g.weights, K), put(f, g.means, (size_t)K * d), put(f, g.cov, cs);
    put1(f, res.iterations), put1(f, res.converged), put1(f, res.loglik);
    if (f) fclose(f);
    tgmm_gmm_free(&g);
    free(x), free(init);
  } else if (argc >= 9 && !strcmp(argv[1], "lloyd")) {
    int64_t N = atoll(argv[2]);
    int d = atoi(argv[3]), K = atoi(argv[4]), it = atoi(argv[5]);
    double *x = read_all(argv[6], (size_t)N * d), *m = read_all(argv[7], (size_t)K * d);
    double *w = calloc(K, sizeof(double));
    int64_t r0, r1;
    share(N, &r0, &r1);
    tgmm_lloyd_result res;
    rc = tgmm_lloyd_fit(x + (size_t)r0 * d, r1 - r0, d, K, MPI_COMM_WORLD, it, m, w, &res);
    FILE *f = out_file(argv[8]);
    put(f, m, (size_t)K * d), put(f, w, K);
    put1(f, res.iterations), put1(f, res.converged), put1(f, res.inertia);
    if (f) fclose(f);
    free(x), free(m), free(w);
  } else if (argc >= 11 && !strcmp(argv[1], "spectral")) {
    int64_t N = atoll(argv[2]);
    int d = atoi(argv[3]), K = atoi(argv[4]);
    tgmm_spectral_opts o = {atoi(argv[5]), atoi(argv[6]),
                            strcmp(argv[7], "scalapack") ? TGMM_EIGH_LAPACK : TGMM_EIGH_SCALAPACK};
    double *x = read_all(argv[8], (size_t)N * d);
    double *st = read_all(argv[9], (size_t)K * o.restarts * K);
    double *w = calloc(K, sizeof(double)), *m = calloc((size_t)K * d, sizeof(double)), s2 = 0;
    int64_t r0, r1;
    share(N, &r0, &r1);
    tgmm_spectral_status status;
    rc = tgmm_spectral_fit(x + (size_t)r0 * d, r1 - r0, d, K, MPI_COMM_WORLD, &o, st, w, m, &s2, &status);
    FILE *f = out_file(argv[10]);
    put1(f, status), put(f, w, K), put(f, m, (size_t)K * d), put1(f, s2);
    if (f) fclose(f);
    free(x), free(st), free(w), free(m);
  } else if (argc >= 9 && !strcmp(argv[1], "kmeanspp")) {
    int64_t N = atoll(argv[2]);
    int d = atoi(argv[3]), K = atoi(argv[4]);
    double *x = read_all(argv[7], (size_t)N * d), *m = calloc((size_t)K * d, sizeof(double));
    int64_t r0, r1;
    share(N, &r0, &r1);
    rc = tgmm_kmeanspp(x + (size_t)r0 * d, r1 - r0, r0, d, K, MPI_COMM_WORLD,
                       (uint32_t)atol(argv[5]), atoll(argv[6]), 0, m);
    FILE *f = out_file(argv[8]);
    put(f, m, (size_t)K * d);
    if (f) fclose(f);
    free(x), free(m);
  } else if (argc >= 6 && !strcmp(argv[1], "eigh")) {
    int n = atoi(argv[2]);
    double *a = read_all(argv[4], (size_t)n * n), *w = calloc(n, sizeof(double));
    rc = tgmm_eigh(a, n, w, strcmp(argv[3], "scalapack") ? TGMM_EIGH_LAPACK : TGMM_EIGH_SCALAPACK,
                   MPI_COMM_WORLD);
    FILE *f = out_file(argv[5]);
    put(f, w, n), put(f, a, (size_t)n * n);
    if (f) fclose(f);
    free(a), free(w);
  } else {
    fprintf(stderr, "usage: see the header of tests/tools/baseline_tool.c\n");
    rc = 2;
  }
  MPI_Finalize();
  return rc;
}
