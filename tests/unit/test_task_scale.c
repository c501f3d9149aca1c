/* test_task_scale.c — mean_scale and the separation delta of src/task.c: mean_scale = 1 draws
 * the means from the documented stream (the K weight uniforms, then K*d uniforms in [-5, 5]) as
 * before the key existed; another mean_scale scales those means and nothing else (weights, the
 * anisotropic scales and the samples' noise stay); tgmm_task_min_distance on known points. */
#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "tgmm/common.h"
#include "tgmm/rng.h"
#include "tgmm/task.h"

static tgmm_config make_cfg(tgmm_family family, double mean_scale) {
  tgmm_config cfg;
  memset(&cfg, 0, sizeof cfg);
  cfg.seed = 42;
  cfg.d = 6;
  cfg.N = 50;
  cfg.family = family;
  cfg.mean_scale = mean_scale;
  cfg.nK = 3;
  for (int i = 0; i < 3; i++) cfg.K[i] = i + 2;
  return cfg;
}

static double max_cosine(const double *m, int K, int d) {
  double worst = -1;
  for (int i = 0; i < K; i++)
    for (int j = i + 1; j < K; j++) {
      double dot = 0, a = 0, b = 0;
      for (int c = 0; c < d; c++) {
        dot += m[i * d + c] * m[j * d + c];
        a += m[i * d + c] * m[i * d + c];
        b += m[j * d + c] * m[j * d + c];
      }
      worst = fmax(worst, dot / sqrt(a * b));
    }
  return worst;
}

/* mean_scale = 1: when the first attempt passes the cosine filter, the means are exactly the
 * uniforms that follow the K weight uniforms on sub-stream 0 (the layout of task.c). */
static void test_default_is_the_stream(void **state) {
  (void)state;
  tgmm_config cfg = make_cfg(FAMILY_ISOTROPIC, 1.0);
  int checked = 0;
  for (int id = 0; id < 200; id++) {
    int cls = id % 3, K = cfg.K[cls], d = cfg.d;
    tgmm_rng r;
    tgmm_rng_init(&r, 42, TGMM_STREAM_EVAL, (uint64_t)id, 0);
    for (int k = 0; k < K; k++) (void)tgmm_rng_uniform(&r);
    double m[4 * 6];
    for (int i = 0; i < K * d; i++) m[i] = tgmm_rng_uniform_range(&r, -5.0, 5.0);
    if (max_cosine(m, K, d) >= 0.8) continue;
    tgmm_task t;
    assert_int_equal(tgmm_task_params(&cfg, TGMM_STREAM_EVAL, id, cls, &t), TGMM_OK);
    assert_memory_equal(t.means, m, sizeof(double) * (size_t)(K * d));
    tgmm_task_free(&t);
    checked++;
  }
  assert_true(checked > 50);
}

/* A zeroed mean_scale (a config filled without the loader) is the default box. */
static void test_zero_is_default(void **state) {
  (void)state;
  tgmm_config a = make_cfg(FAMILY_ISOTROPIC, 1.0), b = make_cfg(FAMILY_ISOTROPIC, 0.0);
  tgmm_task x, y;
  assert_int_equal(tgmm_task_sample(&a, TGMM_STREAM_GEN, 5, 2, 50, &x), TGMM_OK);
  assert_int_equal(tgmm_task_sample(&b, TGMM_STREAM_GEN, 5, 2, 50, &y), TGMM_OK);
  assert_memory_equal(x.means, y.means, sizeof(double) * (size_t)(x.K * x.d));
  assert_memory_equal(x.x, y.x, sizeof(double) * 50 * (size_t)x.d);
  tgmm_task_free(&x), tgmm_task_free(&y);
}

/* Other scales: means scaled (up to rounding), weights and anisotropic scales identical,
 * samples = means + the same noise. */
static void check_scaled(tgmm_family fam, double s) {
  tgmm_config a = make_cfg(fam, 1.0), b = make_cfg(fam, s);
  for (int id = 0; id < 100; id++) {
    int cls = id % 3;
    tgmm_task x, y;
    assert_int_equal(tgmm_task_sample(&a, TGMM_STREAM_TRAIN, id, cls, 50, &x), TGMM_OK);
    assert_int_equal(tgmm_task_sample(&b, TGMM_STREAM_TRAIN, id, cls, 50, &y), TGMM_OK);
    int K = x.K, d = x.d;
    assert_memory_equal(x.weights, y.weights, sizeof(double) * (size_t)K);
    assert_memory_equal(x.scales, y.scales, sizeof(double) * (size_t)(K * d));
    assert_memory_equal(x.z, y.z, sizeof(int32_t) * 50);
    double worst = 0;
    for (int i = 0; i < K * d; i++) {
      worst = fmax(worst, fabs(y.means[i] - s * x.means[i]));
      assert_true(fabs(y.means[i]) <= 5.0 * s);
    }
    assert_true(worst <= 1e-12 * s);
    for (int n = 0; n < 50; n++)
      for (int c = 0; c < d; c++) { /* x = mean + scale * noise with the same noise */
        int k = x.z[n];
        double ex = (x.x[n * d + c] - x.means[k * d + c]), ey = (y.x[n * d + c] - y.means[k * d + c]);
        assert_true(fabs(ex - ey) < 1e-9);
      }
    tgmm_task_free(&x), tgmm_task_free(&y);
  }
}

static void test_scaled(void **state) {
  (void)state;
  check_scaled(FAMILY_ISOTROPIC, 0.25);
  check_scaled(FAMILY_ISOTROPIC, 3.0);
  check_scaled(FAMILY_ANISOTROPIC, 0.5);
  tgmm_config c = make_cfg(FAMILY_ISOTROPIC, 0.01); /* feasibility is scale-free */
  assert_int_equal(tgmm_task_check_feasible(&c), TGMM_OK);
}

static void test_min_distance(void **state) {
  (void)state;
  const double m[] = {0, 0, 3, 4, 0, 1.5, 10, 10}; /* [4, 2] */
  assert_true(fabs(tgmm_task_min_distance(m, 4, 2) - 1.5) < 1e-15);
  assert_true(fabs(tgmm_task_min_distance(m, 2, 2) - 5.0) < 1e-15);
  assert_true(isnan(tgmm_task_min_distance(m, 1, 2)));
  assert_true(isnan(tgmm_task_min_distance(NULL, 3, 2)));
  const double same[] = {1, 2, 1, 2};
  assert_true(tgmm_task_min_distance(same, 2, 2) == 0.0);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_default_is_the_stream), cmocka_unit_test(test_zero_is_default),
      cmocka_unit_test(test_scaled), cmocka_unit_test(test_min_distance)};
  return cmocka_run_group_tests(tests, NULL, NULL);
}
