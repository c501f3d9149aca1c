/* test_nn_infer.c — inference's kernels. nn_linear_infer (src/nn/nn_gemm.c) against a naive
 * double-precision reference on shapes that exercise every edge of its blocking (rows not a
 * multiple of 6 or of a tile, columns not a multiple of 16, an odd inner dimension, the model's
 * own shapes), with and without bias, residual (also aliasing the output) and GELU; its bits for
 * any M, row offset and thread count. nn_attention_infer (src/nn/nn_attn_infer.c) against
 * nn_attention_fwd on ragged tasks (lengths around the blocks of 6 rows, 8-row transposes and
 * 16 columns), heads of width 16, 12 and 32, causal and bidirectional; its bits for any thread
 * count. Each check is shown able to fail. */
#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "tgmm/nn.h"
#include "tgmm/rng.h"

static float *randv(size_t n, uint64_t id) {
  float *p = malloc(sizeof(float) * (n ? n : 1));
  assert_non_null(p);
  tgmm_rng r;
  tgmm_rng_init(&r, 11, 5, id, 0);
  for (size_t i = 0; i < n; i++) p[i] = (float)tgmm_rng_normal(&r);
  return p;
}

static double gelu_ref(double x) {
  return 0.5 * x * (1.0 + tanh(0.7978845608028654 * (x + 0.044715 * x * x * x)));
}

/* Largest |out - ref| / (1 + |ref|) of out[M,N] against the double-precision map. */
static double max_err(const float *out, const float *in, const float *W, const float *b,
                      const float *res, int M, int K, int N, int gelu) {
  double e = 0;
  for (int i = 0; i < M; i++)
    for (int n = 0; n < N; n++) {
      double s = b ? b[n] : 0.0;
      for (int k = 0; k < K; k++) s += (double)in[(size_t)i * K + k] * W[(size_t)n * K + k];
      if (res) s += res[(size_t)i * N + n];
      if (gelu) s = gelu_ref(s);
      double d = fabs(out[(size_t)i * N + n] - s) / (1.0 + fabs(s));
      if (d > e) e = d;
    }
  return e;
}

/* One shape with every combination of bias / residual / GELU; tolerance ~ K float roundings. */
static void check_shape(int M, int K, int N) {
  float *in = randv((size_t)M * K, 1), *W = randv((size_t)N * K, 2), *b = randv((size_t)N, 3);
  float *res = randv((size_t)M * N, 4), *out = malloc(sizeof(float) * (size_t)M * N);
  assert_non_null(out);
  double tol = 2e-6 * sqrt((double)K) * 8;
  for (int v = 0; v < 8; v++) {
    const float *bv = v & 1 ? b : NULL, *rv = v & 2 ? res : NULL;
    int gelu = (v & 4) != 0;
    memset(out, 0xff, sizeof(float) * (size_t)M * N); /* NaN: every entry must be written */
    nn_linear_infer(NULL, out, in, W, bv, rv, M, K, N, gelu);
    double e = max_err(out, in, W, bv, rv, M, K, N, gelu);
    print_message("M=%4d K=%3d N=%3d bias %d res %d gelu %d: max rel err %.2e\n", M, K, N,
                  bv != NULL, rv != NULL, gelu, e);
    assert_true(e <= tol);
  }
  /* res aliasing out */
  memcpy(out, res, sizeof(float) * (size_t)M * N);
  nn_linear_infer(NULL, out, in, W, b, out, M, K, N, 0);
  assert_true(max_err(out, in, W, b, res, M, K, N, 0) <= tol);
  /* the check can fail: one weight changed (by 4) */
  nn_linear_infer(NULL, out, in, W, b, res, M, K, N, 1);
  W[(size_t)(N - 1) * K + K / 2] += 4.0f;
  assert_true(max_err(out, in, W, b, res, M, K, N, 1) > 100 * tol);
  free(in), free(W), free(b), free(res), free(out);
}

static void test_shapes(void **state) {
  (void)state;
  check_shape(1, 1, 1);
  check_shape(5, 3, 7);
  check_shape(6, 16, 16);
  check_shape(7, 17, 33);
  check_shape(53, 64, 192); /* rows across tiles of 48 and blocks of 6 */
  check_shape(100, 64, 256);
  check_shape(97, 256, 64);
  check_shape(64, 136, 64); /* the laptop read-in */
}

/* Row i's bits do not depend on M, on where the call's rows start, or on the thread count. */
static void test_bits_independent(void **state) {
  (void)state;
  int M = 131, K = 64, N = 80;
  float *in = randv((size_t)M * K, 5), *W = randv((size_t)N * K, 6), *b = randv((size_t)N, 7);
  float *res = randv((size_t)M * N, 8);
  float *o1 = malloc(sizeof(float) * (size_t)M * N), *o2 = malloc(sizeof(float) * (size_t)M * N);
  assert_true(o1 && o2);
  nn_linear_infer(NULL, o1, in, W, b, res, M, K, N, 1);
  for (int r0 = 0; r0 < M; r0 += 13) { /* pieces of 13 rows (and a shorter last one) */
    int m = M - r0 < 13 ? M - r0 : 13;
    nn_linear_infer(NULL, o2 + (size_t)r0 * N, in + (size_t)r0 * K, W, b, res + (size_t)r0 * N, m,
                    K, N, 1);
  }
  assert_memory_equal(o1, o2, sizeof(float) * (size_t)M * N);
  nn_par *pool = nn_par_create(3);
  memset(o2, 0, sizeof(float) * (size_t)M * N);
  nn_linear_infer(pool, o2, in, W, b, res, M, K, N, 1);
  assert_memory_equal(o1, o2, sizeof(float) * (size_t)M * N);
  nn_par_free(pool);
  free(in), free(W), free(b), free(res), free(o1), free(o2);
}

/* Largest |a - b| / (1 + |b|). */
static double rel_diff(const float *a, const float *b, size_t n) {
  double e = 0;
  for (size_t i = 0; i < n; i++) {
    double d = fabs((double)a[i] - b[i]) / (1.0 + fabs((double)b[i]));
    if (d > e) e = d;
  }
  return e;
}

static void check_attention(int C, int H, int causal) {
  static const int lens[] = {1, 5, 6, 7, 8, 15, 16, 17, 33, 64, 70};
  int ntask = (int)(sizeof lens / sizeof lens[0]), off[12];
  off[0] = 0;
  for (int i = 0; i < ntask; i++) off[i + 1] = off[i] + lens[i];
  size_t T = (size_t)off[ntask];
  float *qkv = randv(T * 3 * C, 9), *ref = malloc(sizeof(float) * T * C);
  float *out = malloc(sizeof(float) * T * C), *out2 = malloc(sizeof(float) * T * C);
  float *att = malloc(sizeof(float) * nn_attention_size(off, ntask, H));
  assert_true(ref && out && out2 && att);
  for (size_t i = 0; i < T * 3 * C; i++) qkv[i] *= 2.0f; /* peaked softmaxes too */
  nn_attention_fwd(NULL, ref, att, qkv, off, ntask, C, H, causal);
  memset(out, 0xff, sizeof(float) * T * C);
  nn_attention_infer(NULL, out, qkv, off, ntask, C, H, causal);
  double e = rel_diff(out, ref, T * C);
  print_message("attention C=%d H=%d causal %d: max rel diff %.2e\n", C, H, causal, e);
  assert_true(e <= 1e-5);
  nn_par *pool = nn_par_create(3);
  nn_attention_infer(pool, out2, qkv, off, ntask, C, H, causal);
  nn_par_free(pool);
  assert_memory_equal(out, out2, sizeof(float) * T * C);
  qkv[(size_t)off[ntask - 1] * 3 * C + 2 * C] += 3.0f; /* a value of the last task: can fail */
  nn_attention_infer(NULL, out, qkv, off, ntask, C, H, causal);
  assert_true(rel_diff(out, ref, T * C) > 1e-3);
  free(qkv), free(ref), free(out), free(out2), free(att);
}

static void test_attention(void **state) {
  (void)state;
  for (int causal = 0; causal < 2; causal++) {
    check_attention(64, 4, causal); /* heads of 16: the laptop model's */
    check_attention(24, 2, causal); /* 12: not a multiple of 8 */
    check_attention(64, 2, causal); /* 32: two column blocks */
  }
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_shapes),
      cmocka_unit_test(test_bits_independent),
      cmocka_unit_test(test_attention),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
