/* test_spectral.c — the spectral method: K > d is not applicable, start vectors reproducible per
 * task, recovery of well-separated means and weights, LAPACK and ScaLAPACK (1x1 grid) agree. */
#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>
#include <mpi.h>

#include "tgmm/metrics.h"
#include "tgmm/rng.h"
#include "tgmm/spectral.h"

enum { N = 60000, D = 5, K = 3 };
static const double TRUE_M[K][D] = {{-4, 0, 2, 1, 0}, {0, 5, -2, 0, 1}, {5, -3, 0, 2, -1}};
static const double TRUE_W[K] = {0.25, 0.35, 0.4};

static void test_not_applicable(void **state) {
  (void)state;
  double x[20] = {0}, w[3], m[6], st[3 * 2 * 3] = {0};
  tgmm_spectral_opts o = {2, 3, TGMM_EIGH_LAPACK};
  tgmm_spectral_status s;
  assert_int_equal(tgmm_spectral_fit(x, 10, 2, 3, MPI_COMM_SELF, &o, st, w, m, NULL, &s), 0);
  assert_int_equal(s, TGMM_SPECTRAL_NA);
}

static void test_starts_reproducible(void **state) {
  (void)state;
  double a[2 * 4 * 2], b[2 * 4 * 2], c[2 * 4 * 2];
  tgmm_spectral_starts(1, 7, 2, 4, a);
  tgmm_spectral_starts(1, 7, 2, 4, b);
  tgmm_spectral_starts(1, 8, 2, 4, c);
  assert_memory_equal(a, b, sizeof a);
  assert_memory_not_equal(a, c, sizeof a);
}

static void test_recovery(void **state) {
  (void)state;
  double *x = malloc(sizeof(double) * N * D), st[K * 10 * K], w[2][K], m[2][K * D], s2;
  tgmm_rng r;
  tgmm_rng_init(&r, 2, 78, 0, 0);
  for (int i = 0; i < N; i++) {
    int k = tgmm_rng_categorical(&r, TRUE_W, K);
    for (int j = 0; j < D; j++) x[i * D + j] = TRUE_M[k][j] + tgmm_rng_normal(&r);
  }
  tgmm_spectral_starts(3, 0, K, 10, st);
  for (int p = 0; p < 2; p++) {
    tgmm_spectral_opts o = {10, 10, p ? TGMM_EIGH_SCALAPACK : TGMM_EIGH_LAPACK};
    tgmm_spectral_status s;
    assert_int_equal(tgmm_spectral_fit(x, N, D, K, MPI_COMM_SELF, &o, st, w[p], m[p], &s2, &s), 0);
    assert_int_equal(s, TGMM_SPECTRAL_OK);
  }
  for (int i = 0; i < K * D; i++) assert_true(fabs(m[0][i] - m[1][i]) < 1e-8);
  int perm[K];
  tgmm_align(m[0], &TRUE_M[0][0], K, D, perm);
  assert_true(tgmm_l2_means(m[0], &TRUE_M[0][0], perm, K, D) < 0.01);
  assert_true(tgmm_l2_weights(w[0], TRUE_W, perm, K) < 1e-3);
  assert_true(fabs(s2 - 1) < 0.05);
  free(x);
}

int main(int argc, char **argv) {
  MPI_Init(&argc, &argv);
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_not_applicable),
      cmocka_unit_test(test_starts_reproducible),
      cmocka_unit_test(test_recovery),
  };
  int rc = cmocka_run_group_tests(tests, NULL, NULL);
  MPI_Finalize();
  return rc;
}
