/* test_em.c — EM / Lloyd / k-means++ on small synthetic mixtures: monotone log-likelihood for
 * every covariance type, agreement with the metrics module's log-likelihood, hard-assignment
 * start, labels, a singular covariance reported as TGMM_ENUM, k-means++ reproducibility; EM from
 * given parameters (tgmm_em's path) started at the truth is the oracle, bit for bit. */
#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>
#include <mpi.h>

#include "tgmm/baseline.h"
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
  for (int t = TGMM_COV_IDENTITY; t <= TGMM_COV_FULL; t++) {
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

static double naive_loglik(const double *x, int N, int d, const double *w, const double *mu,
                           const double *s, int K) {
  double total = 0;
  for (int n = 0; n < N; n++) {
    double p = 0;
    for (int k = 0; k < K; k++) {
      double dens = w[k];
      for (int c = 0; c < d; c++) {
        double sd = s ? s[k * d + c] : 1.0, t = (x[n * d + c] - mu[k * d + c]) / sd;
        dens *= exp(-0.5 * t * t) / (sqrt(2 * M_PI) * sd);
      }
      p += dens;
    }
    total += log(p);
  }
  return total / N;
}

/* The one log-likelihood (tgmm_gmm_loglik) against a naive sum, identity and diagonal
 * covariances, and stable far from every component (plain exp underflows there). */
static void test_loglik_naive(void **state) {
  (void)state;
  enum { NN = 200, d = 3, KK = 4 };
  tgmm_rng r;
  tgmm_rng_init(&r, 5, TGMM_STREAM_EM, 0, 0);
  double x[NN * d], s[KK * d];
  tgmm_gmm g;
  assert_int_equal(tgmm_gmm_alloc(&g, KK, d, TGMM_COV_DIAG), 0);
  const double w[KK] = {0.1, 0.2, 0.3, 0.4};
  memcpy(g.weights, w, sizeof w);
  for (int i = 0; i < KK * d; i++) {
    g.means[i] = tgmm_rng_uniform_range(&r, -3, 3);
    s[i] = tgmm_rng_uniform_range(&r, 0.5, 2.0);
    g.cov[i] = s[i] * s[i];
  }
  for (int i = 0; i < NN * d; i++) x[i] = tgmm_rng_uniform_range(&r, -4, 4);
  double got = tgmm_gmm_loglik(x, NN, MPI_COMM_SELF, &g), want = naive_loglik(x, NN, d, w, g.means, s, KK);
  assert_true(fabs(got - want) < 1e-10 * fabs(want));
  tgmm_gmm gi;
  assert_int_equal(tgmm_gmm_alloc(&gi, KK, d, TGMM_COV_IDENTITY), 0);
  memcpy(gi.weights, w, sizeof w);
  memcpy(gi.means, g.means, sizeof(double) * KK * d);
  got = tgmm_gmm_loglik(x, NN, MPI_COMM_SELF, &gi), want = naive_loglik(x, NN, d, w, g.means, NULL, KK);
  assert_true(fabs(got - want) < 1e-10 * fabs(want));
  tgmm_gmm_free(&gi);
  tgmm_gmm_free(&g);
  double far[d] = {1000, -1000, 500};
  double want_far = -0.5 * d * log(2 * M_PI) - 0.5 * (1e6 + 1e6 + 2.5e5);
  for (int k = 1; k <= 2; k++) {
    assert_int_equal(tgmm_gmm_alloc(&gi, k, d, TGMM_COV_IDENTITY), 0);
    for (int j = 0; j < k; j++) gi.weights[j] = 1.0 / k;
    memset(gi.means, 0, sizeof(double) * (size_t)k * d);
    got = tgmm_gmm_loglik(far, 1, MPI_COMM_SELF, &gi);
    assert_true(fabs(got - want_far) < 1e-9 * fabs(want_far));
    tgmm_gmm_free(&gi);
  }
}

static void test_kmeanspp_start_and_labels(void **state) {
  (void)state;
  double *x = malloc(sizeof(double) * N * D), m0[K * D], m1[K * D];
  int32_t *z = malloc(sizeof(int32_t) * N), *lab = malloc(sizeof(int32_t) * N);
  make_data(x, z);
  assert_int_equal(tgmm_kmeanspp(x, N, 0, D, K, MPI_COMM_SELF, 3, 9, 0, m0), 0);
  assert_int_equal(tgmm_kmeanspp(x, N, 0, D, K, MPI_COMM_SELF, 3, 9, 0, m1), 0);
  assert_memory_equal(m0, m1, sizeof m0);
  tgmm_em_opts o = {TGMM_COV_FULL, 100, 1e-7, 1e-6};
  tgmm_gmm g;
  assert_int_equal(tgmm_gmm_alloc(&g, K, D, TGMM_COV_FULL), 0);
  assert_int_equal(tgmm_init_from_means(x, N, MPI_COMM_SELF, &o, m0, &g), 0);
  tgmm_em_result res;
  assert_int_equal(tgmm_em_fit(x, N, MPI_COMM_SELF, &o, &g, &res), 0);
  assert_true(res.converged);
  int perm[K];
  tgmm_align(g.means, &TRUE_M[0][0], K, D, perm);
  assert_true(tgmm_l2_means(g.means, &TRUE_M[0][0], perm, K, D) < 0.01);
  assert_int_equal(tgmm_gmm_labels(x, N, &g, lab), 0);
  assert_true(tgmm_accuracy(lab, z, N, perm, K) > 0.99);
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
  assert_int_equal(tgmm_gmm_alloc(&g, 1, 5, TGMM_COV_FULL), 0);
  g.weights[0] = 1;
  tgmm_em_opts o = {TGMM_COV_FULL, 5, 0.0, 0.0};
  tgmm_em_result res;
  assert_int_equal(tgmm_em_fit(x, 3, MPI_COMM_SELF, &o, &g, &res), TGMM_ENUM);
  tgmm_gmm_free(&g);
}

/* tgmm_baseline_fit_from at the true weights, means and scales == the oracle (EM from the
 * truth), bit for bit: same fit, same row, for every covariance type. */
static void test_fit_from_truth_is_oracle(void **state) {
  (void)state;
  double *x = malloc(sizeof(double) * N * D), ts[K * D];
  int32_t *z = malloc(sizeof(int32_t) * N);
  make_data(x, z);
  for (int k = 0; k < K; k++)
    for (int j = 0; j < D; j++) ts[k * D + j] = TRUE_S[k] * (j + 1) * 0.5;
  tgmm_local_task lt = {7, 0, N, K, D, x, z, TRUE_W, &TRUE_M[0][0], ts};
  for (int t = TGMM_COV_IDENTITY; t <= TGMM_COV_FULL; t++) {
    tgmm_config cfg;
    tgmm_config_defaults(&cfg);
    cfg.em.covariance = (tgmm_covariance)t;
    tgmm_gmm a, b;
    assert_int_equal(tgmm_gmm_alloc(&a, K, D, cfg.em.covariance), 0);
    assert_int_equal(tgmm_gmm_alloc(&b, K, D, cfg.em.covariance), 0);
    tgmm_fit_row ra, rb;
    memset(&ra, 0, sizeof ra), memset(&rb, 0, sizeof rb);
    assert_int_equal(tgmm_baseline_fit(TGMM_METHOD_ORACLE, &cfg, &lt, MPI_COMM_SELF, &a, &ra), 0);
    assert_int_equal(tgmm_baseline_fit_from(&cfg, &lt, MPI_COMM_SELF, TRUE_W, &TRUE_M[0][0], ts, &b,
                                            &rb), 0);
    assert_int_equal(ra.status, TGMM_STATUS_OK);
    assert_true(ra.iterations > 0);
    assert_memory_equal(&ra, &rb, sizeof ra);
    assert_memory_equal(a.weights, b.weights, sizeof(double) * K);
    assert_memory_equal(a.means, b.means, sizeof(double) * K * D);
    size_t nc = t == TGMM_COV_IDENTITY ? 0 : t == TGMM_COV_SPHERICAL ? K : t == TGMM_COV_DIAG ? K * D : K * D * D;
    if (nc) assert_memory_equal(a.cov, b.cov, sizeof(double) * nc);
    tgmm_gmm_free(&a), tgmm_gmm_free(&b);
  }
  free(x), free(z);
}

int main(int argc, char **argv) {
  MPI_Init(&argc, &argv);
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_monotone_loglik),
      cmocka_unit_test(test_loglik_naive),
      cmocka_unit_test(test_kmeanspp_start_and_labels),
      cmocka_unit_test(test_singular_full_covariance),
      cmocka_unit_test(test_fit_from_truth_is_oracle),
  };
  int rc = cmocka_run_group_tests(tests, NULL, NULL);
  MPI_Finalize();
  return rc;
}
