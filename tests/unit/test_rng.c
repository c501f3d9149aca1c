/* test_rng.c — Philox streams: known answer, moments, Kolmogorov–Smirnov, independence, int and
 * categorical frequencies. Tolerances are ~5 standard errors, so a broken sampler fails. */
#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <cmocka.h>

#include "tgmm/rng.h"

#define NDRAW 1000000

/* Random123's known-answer vectors (kat_vectors): philox4x32-10 at counter 0 / key 0 and
 * counter all-ones / key all-ones. */
static void test_known_answer(void **state) {
  (void)state;
  tgmm_rng r;
  tgmm_rng_init(&r, 0, 0, 0, 0);
  const uint32_t want0[4] = {0x6627e8d5u, 0xe169c58du, 0xbc57ac4cu, 0x9b00dbd8u};
  for (int i = 0; i < 4; i++) assert_int_equal(tgmm_rng_u32(&r), want0[i]);
  tgmm_rng_init(&r, 0xffffffffu, 0xffffffffu, UINT64_MAX, 0xffffffffu);
  r.ctr[0] = 0xffffffffu;
  const uint32_t want1[4] = {0x408f276du, 0x41c83b0eu, 0xa20bc7c6u, 0x6d5451fdu};
  for (int i = 0; i < 4; i++) assert_int_equal(tgmm_rng_u32(&r), want1[i]);
}

static void moments(const double *x, int n, double *mean, double *var, double *skew, double *kurt) {
  double m = 0;
  for (int i = 0; i < n; i++) m += x[i];
  m /= n;
  double m2 = 0, m3 = 0, m4 = 0;
  for (int i = 0; i < n; i++) {
    double t = x[i] - m;
    m2 += t * t;
    m3 += t * t * t;
    m4 += t * t * t * t;
  }
  m2 /= n;
  m3 /= n;
  m4 /= n;
  *mean = m;
  *var = m2;
  *skew = m3 / pow(m2, 1.5);
  *kurt = m4 / (m2 * m2) - 3.0;
}

static void test_uniform_moments(void **state) {
  (void)state;
  double *x = malloc(sizeof(double) * NDRAW);
  assert_non_null(x);
  tgmm_rng r;
  tgmm_rng_init(&r, 42, 1, 7, 0);
  for (int i = 0; i < NDRAW; i++) {
    x[i] = tgmm_rng_uniform(&r);
    assert_true(x[i] >= 0.0 && x[i] < 1.0);
  }
  double m, v, s, k;
  moments(x, NDRAW, &m, &v, &s, &k);
  assert_true(fabs(m - 0.5) < 1.5e-3);         /* se 2.9e-4 */
  assert_true(fabs(v - 1.0 / 12.0) < 4e-4);    /* se 7.5e-5 */
  assert_true(fabs(s) < 0.01);                 /* uniform: skew 0 */
  assert_true(fabs(k + 1.2) < 0.01);           /* uniform: excess kurtosis -1.2 */
  double lo = 1, hi = 0;
  tgmm_rng_init(&r, 42, 1, 8, 0);
  for (int i = 0; i < 1000; i++) {
    double u = tgmm_rng_uniform_range(&r, -5, 5);
    lo = u < lo ? u : lo;
    hi = u > hi ? u : hi;
  }
  assert_true(lo >= -5 && lo < -4.9 && hi < 5 && hi > 4.9);
  free(x);
}

static void test_normal_moments(void **state) {
  (void)state;
  double *x = malloc(sizeof(double) * NDRAW);
  assert_non_null(x);
  tgmm_rng r;
  tgmm_rng_init(&r, 42, 2, 123, 5);
  for (int i = 0; i < NDRAW; i++) x[i] = tgmm_rng_normal(&r);
  double m, v, s, k;
  moments(x, NDRAW, &m, &v, &s, &k);
  assert_true(fabs(m) < 5e-3);        /* se 1e-3 */
  assert_true(fabs(v - 1.0) < 7e-3);  /* se 1.4e-3 */
  assert_true(fabs(s) < 1.25e-2);     /* se 2.4e-3 */
  assert_true(fabs(k) < 2.5e-2);      /* se 4.9e-3 */
  free(x);
}

static int cmp_double(const void *a, const void *b) {
  double x = *(const double *)a, y = *(const double *)b;
  return (x > y) - (x < y);
}

static double normal_cdf(double x) { return 0.5 * erfc(-x / sqrt(2.0)); }

/* Kolmogorov–Smirnov statistic of the normal sampler against Phi; 0.1% critical value
 * 1.9495 / sqrt(n). */
static void test_normal_ks(void **state) {
  (void)state;
  double *x = malloc(sizeof(double) * NDRAW);
  assert_non_null(x);
  tgmm_rng r;
  tgmm_rng_init(&r, 7, 3, 99, 0);
  for (int i = 0; i < NDRAW; i++) x[i] = tgmm_rng_normal(&r);
  qsort(x, NDRAW, sizeof *x, cmp_double);
  double D = 0;
  for (int i = 0; i < NDRAW; i++) {
    double F = normal_cdf(x[i]);
    double a = (double)(i + 1) / NDRAW - F, b = F - (double)i / NDRAW;
    D = fmax(D, fmax(a, b));
  }
  double crit = 1.9495 / sqrt((double)NDRAW);
  print_message("KS D = %.6f (0.1%% critical %.6f)\n", D, crit);
  assert_true(D < crit);
  /* the statistic can fail: a shifted sample is rejected */
  double Dshift = 0;
  for (int i = 0; i < NDRAW; i++) Dshift = fmax(Dshift, fabs((double)(i + 1) / NDRAW - normal_cdf(x[i] + 0.01)));
  assert_true(Dshift > crit);
  free(x);
}

static void first_words(uint32_t seed, uint32_t kind, uint64_t id, uint32_t sub, uint32_t *w) {
  tgmm_rng r;
  tgmm_rng_init(&r, seed, kind, id, sub);
  for (int i = 0; i < 8; i++) w[i] = tgmm_rng_u32(&r);
}

static int words_equal(const uint32_t *a, const uint32_t *b) {
  for (int i = 0; i < 8; i++)
    if (a[i] != b[i]) return 0;
  return 1;
}

static void test_independence(void **state) {
  (void)state;
  uint32_t base[8], again[8], other[8];
  first_words(42, TGMM_STREAM_TRAIN, 5, 0, base);
  first_words(42, TGMM_STREAM_TRAIN, 5, 0, again);
  assert_true(words_equal(base, again));
  first_words(42, TGMM_STREAM_EVAL, 5, 0, other);
  assert_false(words_equal(base, other));
  first_words(42, TGMM_STREAM_TRAIN, 6, 0, other);
  assert_false(words_equal(base, other));
  first_words(42, TGMM_STREAM_TRAIN, 5 + (1ull << 32), 0, other); /* high id word counts */
  assert_false(words_equal(base, other));
  first_words(43, TGMM_STREAM_TRAIN, 5, 0, other);
  assert_false(words_equal(base, other));
  first_words(42, TGMM_STREAM_TRAIN, 5, 1, other);
  assert_false(words_equal(base, other));
  /* neighbouring ids are uncorrelated */
  double sxy = 0, sx = 0, sy = 0, sxx = 0, syy = 0;
  const int n = 200000;
  for (int i = 0; i < n; i++) {
    tgmm_rng a, b;
    tgmm_rng_init(&a, 42, TGMM_STREAM_TRAIN, (uint64_t)i, 0);
    tgmm_rng_init(&b, 42, TGMM_STREAM_TRAIN, (uint64_t)i + 1, 0);
    double x = tgmm_rng_normal(&a), y = tgmm_rng_normal(&b);
    sx += x, sy += y, sxy += x * y, sxx += x * x, syy += y * y;
  }
  double cov = sxy / n - sx / n * sy / n;
  double corr = cov / sqrt((sxx / n - sx * sx / n / n) * (syy / n - sy * sy / n / n));
  assert_true(fabs(corr) < 5.0 / sqrt((double)n));
}

/* Chi-square statistic of observed counts against expected probabilities. */
static double chi2(const long *count, const double *p, int k, long n) {
  double c = 0;
  for (int i = 0; i < k; i++) {
    double e = p[i] * (double)n;
    c += (count[i] - e) * (count[i] - e) / e;
  }
  return c;
}

static void test_int(void **state) {
  (void)state;
  tgmm_rng r;
  tgmm_rng_init(&r, 1, 2, 3, 4);
  long count[7] = {0};
  const long n = 700000;
  for (long i = 0; i < n; i++) {
    int64_t v = tgmm_rng_int(&r, 3, 9);
    assert_true(v >= 3 && v <= 9);
    count[v - 3]++;
  }
  double p[7];
  for (int i = 0; i < 7; i++) p[i] = 1.0 / 7.0;
  assert_true(chi2(count, p, 7, n) < 22.46); /* 6 df, 0.1% */
  assert_int_equal(tgmm_rng_int(&r, -5, -5), -5);
  for (int i = 0; i < 1000; i++) {
    int64_t v = tgmm_rng_int(&r, -3, 3);
    assert_true(v >= -3 && v <= 3);
    int64_t big = tgmm_rng_int(&r, 0, (int64_t)1 << 62);
    assert_true(big >= 0 && big <= ((int64_t)1 << 62));
  }
  /* a range just above 2^63: rejection still returns only values in range */
  int64_t lo = INT64_MIN / 2 - 10, hi = INT64_MAX / 2 + 10;
  for (int i = 0; i < 1000; i++) {
    int64_t v = tgmm_rng_int(&r, lo, hi);
    assert_true(v >= lo && v <= hi);
  }
}

static void test_categorical(void **state) {
  (void)state;
  const double p[5] = {0.1, 0.2, 0.3, 0.35, 0.05};
  long count[5] = {0};
  tgmm_rng r;
  tgmm_rng_init(&r, 9, 9, 9, 9);
  for (long i = 0; i < NDRAW; i++) {
    int k = tgmm_rng_categorical(&r, p, 5);
    assert_true(k >= 0 && k < 5);
    count[k]++;
  }
  assert_true(chi2(count, p, 5, NDRAW) < 18.47); /* 4 df, 0.1% */
  const double one[1] = {1.0};
  assert_int_equal(tgmm_rng_categorical(&r, one, 1), 0);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_known_answer), cmocka_unit_test(test_uniform_moments),
      cmocka_unit_test(test_normal_moments), cmocka_unit_test(test_normal_ks),
      cmocka_unit_test(test_independence), cmocka_unit_test(test_int),
      cmocka_unit_test(test_categorical),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
