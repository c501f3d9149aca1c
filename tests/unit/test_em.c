/* test_em.c — EM / Lloyd / k-means++ on small synthetic mixtures: monotone log-likelihood for
 * every covariance type, agreement with the metrics module's log-likelihood, hard-assignment
 * start, labels, a singular covariance reported as TGMM_ENUM, k-means++ reproducibility. */
#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>
#include <mpi.h>

#include "tgmm/common.h"
#include "tgmm/em.h"
#include "tgmm/metrics.h"
#include "tgmm/rng.h"

enum { N = 3000, D = 3, K = 3 };
static const double TRUE_M[K][D] = {{-6, 0, 1}, {0, 6, -1}, {6, -3, 0}};
static const double TRUE_W[K] = {0.2, 0.3, 0.5};
static const double TRUE_S[K] = {0.7, 1.0, 1.4};

static void make_data(double *x, int32_t *z) {
  tgmm_rng r;
  tgmm_rng_init(&r, 1, 77, 0, 0);
  for (int i = 0; i < N; i++) {
    int k = tgmm_rng_categorical(&r, TRUE_W, K);
    z[i] = k;
    for (int j = 0; j < D; j++) x[i * D + j] = TRUE_M[k][j] + TRUE_S[k] * (j + 1) * 0.5 * tgmm_rng_normal(&r);
  }
}

static void test_monotone_loglik(void **state) {
  (void)state;
  double *x = malloc(sizeof(double) * N * D);
  int32_t *z = malloc(sizeof(int32_t) * N);
  make_data(x, z);
  for (int t = COV_IDENTITY; t <= COV_FULL; t++) {
    double prev = -INFINITY;
    for (int it = 1; it <= 12; it++) {
      tgmm_gmm g;
      assert_int_equal(tgmm_gmm_alloc(&g, K, D, (tgmm_covariance)t), 0);
      tgmm_init_random(&g, 5, 0, 0);
      tgmm_em_opts o = {(tgmm_covariance)t, it, 0.0, 1e-6};
      tgmm_em_result res;
      assert_int_equal(tgmm_em_fit(x, N, MPI_COMM_SELF, &o, &g, &res), 0);
      assert_int_equal(res.iterations, it);
      assert_true(res.loglik >= prev - 1e-9);
      prev = res.loglik;
      double w = 0;
      for (int k = 0; k < K; k++) w += g.weights[k];
      assert_true(fabs(w - 1) < 1e-12);
      tgmm_gmm_free(&g);
    }
  }
  free(x), free(z);
}

static void test_loglik_matches_metrics(void **state) {
  (void)state;
  double *x = malloc(sizeof(double) * N * D), sc[K * D];
  int32_t *z = malloc(sizeof(int32_t) * N);
  make_data(x, z);
  tgmm_gmm g;
  assert_int_equal(tgmm_gmm_alloc(&g, K, D, COV_DIAG), 0);
  memcpy(g.means, TRUE_M, sizeof TRUE_M);
  memcpy(g.weights, TRUE_W, sizeof TRUE_W);
  for (int i = 0; i < K * D; i++) g.cov[i] = 0.5 + 0.1 * i;
  tgmm_gmm_scales(&g, sc);
  double a = tgmm_gmm_loglik(x, N, MPI_COMM_SELF, &g), b = tgmm_loglik(x, N, D, g.weights, g.means, sc, K);
  assert_true(fabs(a - b) < 1e-10 * fabs(b));
  tgmm_gmm_free(&g);
  assert_int_equal(tgmm_gmm_alloc(&g, K, D, COV_IDENTITY), 0);
  memcpy(g.means, TRUE_M, sizeof TRUE_M);
  memcpy(g.weights, TRUE_W, sizeof TRUE_W);
  a = tgmm_gmm_loglik(x, N, MPI_COMM_SELF, &g), b = tgmm_loglik(x, N, D, g.weights, g.means, NULL, K);
  assert_true(fabs(a - b) < 1e-10 * fabs(b));
  tgmm_gmm_free(&g);
  free(x), free(z);
}

static void test_kmeanspp_start_and_labels(void **state) {
  (void)state;
  double *x = malloc(sizeof(double) * N * D), m0[K * D], m1[K * D];
  int32_t *z = malloc(sizeof(int32_t) * N), *lab = malloc(sizeof(int32_t) * N);
  make_data(x, z);
  assert_int_equal(tgmm_kmeanspp(x, N, 0, D, K, MPI_COMM_SELF, 3, 9, 0, m0), 0);
  assert_int_equal(tgmm_kmeanspp(x, N, 0, D, K, MPI_COMM_SELF, 3, 9, 0, m1), 0);
  assert_memory_equal(m0, m1, sizeof m0);
  tgmm_em_opts o = {COV_FULL, 100, 1e-7, 1e-6};
  tgmm_gmm g;
  assert_int_equal(tgmm_gmm_alloc(&g, K, D, COV_FULL), 0);
  assert_int_equal(tgmm_init_from_means(x, N, MPI_COMM_SELF, &o, m0, &g), 0);
  tgmm_em_result res;
  assert_int_equal(tgmm_em_fit(x, N, MPI_COMM_SELF, &o, &g, &res), 0);
  assert_true(res.converged);
  int perm[K];
  tgmm_align(g.means, &TRUE_M[0][0], K, D, perm);
  assert_true(tgmm_l2_means(g.means, &TRUE_M[0][0], perm, K, D) < 0.01);
  assert_int_equal(tgmm_gmm_labels(x, N, &g, lab), 0);
  assert_true(tgmm_accuracy(lab, z, N, perm) > 0.99);
  /* Lloyd from the same start finds the same clusters */
  double w[K];
  tgmm_lloyd_result lr;
  assert_int_equal(tgmm_lloyd_fit(x, N, D, K, MPI_COMM_SELF, 100, m1, w, &lr), 0);
  assert_true(lr.converged);
  tgmm_align(m1, &TRUE_M[0][0], K, D, perm);
  assert_true(tgmm_l2_means(m1, &TRUE_M[0][0], perm, K, D) < 0.05);
  tgmm_gmm_free(&g);
  free(x), free(z), free(lab);
}

static void test_singular_full_covariance(void **state) {
  (void)state;
  double x[3 * 5];
  for (int i = 0; i < 15; i++) x[i] = (double)(i % 7) - 3;
  tgmm_gmm g;
  assert_int_equal(tgmm_gmm_alloc(&g, 1, 5, COV_FULL), 0);
  g.weights[0] = 1;
  tgmm_em_opts o = {COV_FULL, 5, 0.0, 0.0};
  tgmm_em_result res;
  assert_int_equal(tgmm_em_fit(x, 3, MPI_COMM_SELF, &o, &g, &res), TGMM_ENUM);
  tgmm_gmm_free(&g);
}

int main(int argc, char **argv) {
  MPI_Init(&argc, &argv);
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_monotone_loglik),
      cmocka_unit_test(test_loglik_matches_metrics),
      cmocka_unit_test(test_kmeanspp_start_and_labels),
      cmocka_unit_test(test_singular_full_covariance),
  };
  int rc = cmocka_run_group_tests(tests, NULL, NULL);
  MPI_Finalize();
  return rc;
}
