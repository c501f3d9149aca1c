/* test_linalg.c — LAPACK vs ScaLAPACK (1x1 grid on MPI_COMM_SELF) eigensolvers, Cholesky and the
 * precision Cholesky factor. */
#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>
#include <mpi.h>

#include "tgmm/linalg.h"
#include "tgmm/rng.h"

static void random_sym(double *a, int n, uint32_t seed) {
  tgmm_rng r;
  tgmm_rng_init(&r, seed, 99, 0, 0);
  for (int i = 0; i < n; i++)
    for (int j = 0; j <= i; j++) a[i * n + j] = a[j * n + i] = tgmm_rng_normal(&r);
}

static void check_decomp(const double *a0, const double *v, const double *w, int n) {
  for (int i = 0; i < n; i++)
    for (int j = 0; j < n; j++) {
      double s = 0;
      for (int k = 0; k < n; k++) s += v[i * n + k] * w[k] * v[j * n + k];
      assert_true(fabs(s - a0[i * n + j]) < 1e-10);
    }
  for (int k = 1; k < n; k++) assert_true(w[k] >= w[k - 1]);
}

static void test_eigh_paths_agree(void **state) {
  (void)state;
  int sizes[] = {1, 2, 7, 40, 97};
  for (int s = 0; s < 5; s++) {
    int n = sizes[s];
    double *a0 = malloc(sizeof(double) * n * n), *a = malloc(sizeof(double) * n * n),
           *b = malloc(sizeof(double) * n * n), *wa = malloc(sizeof(double) * n),
           *wb = malloc(sizeof(double) * n);
    random_sym(a0, n, 7 + s);
    memcpy(a, a0, sizeof(double) * n * n);
    memcpy(b, a0, sizeof(double) * n * n);
    assert_int_equal(tgmm_eigh(a, n, wa, TGMM_EIGH_LAPACK, MPI_COMM_SELF), 0);
    assert_int_equal(tgmm_eigh(b, n, wb, TGMM_EIGH_SCALAPACK, MPI_COMM_SELF), 0);
    check_decomp(a0, a, wa, n);
    check_decomp(a0, b, wb, n);
    for (int i = 0; i < n; i++) assert_true(fabs(wa[i] - wb[i]) < 1e-10 * (1 + fabs(wa[i])));
    for (int i = 0; i < n * n; i++) assert_true(fabs(a[i] - b[i]) < 1e-8);
    free(a0), free(a), free(b), free(wa), free(wb);
  }
}

static void test_precision_cholesky(void **state) {
  (void)state;
  int n = 6;
  double m[36], s[36], p[36];
  random_sym(m, n, 3);
  for (int i = 0; i < n; i++) /* s = m m^T + I: SPD */
    for (int j = 0; j < n; j++) {
      double t = i == j;
      for (int k = 0; k < n; k++) t += m[i * n + k] * m[j * n + k];
      s[i * n + j] = t;
    }
  assert_int_equal(tgmm_precision_cholesky(s, n, p), 0);
  for (int i = 0; i < n; i++) /* P upper triangular, (P P^T) S = I */
    for (int j = 0; j < i; j++) assert_true(p[i * n + j] == 0);
  for (int i = 0; i < n; i++)
    for (int j = 0; j < n; j++) {
      double t = 0;
      for (int k = 0; k < n; k++) {
        double ppt = 0;
        for (int l = 0; l < n; l++) ppt += p[i * n + l] * p[k * n + l];
        t += ppt * s[k * n + j];
      }
      assert_true(fabs(t - (i == j)) < 1e-10);
    }
  double bad[4] = {1, 2, 2, 1};
  assert_int_not_equal(tgmm_precision_cholesky(bad, 2, p), 0);
}

int main(int argc, char **argv) {
  MPI_Init(&argc, &argv);
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_eigh_paths_agree),
      cmocka_unit_test(test_precision_cholesky),
  };
  int rc = cmocka_run_group_tests(tests, NULL, NULL);
  MPI_Finalize();
  return rc;
}
