/* test_metrics.c — Hungarian against brute force, alignment of a 3-cycle, l2 errors,
 * log-likelihood against the direct formula, labels, accuracy, misclustering. */
#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "tgmm/metrics.h"
#include "tgmm/rng.h"

/* Minimum total cost over all permutations (Heap's algorithm would do; recursion is enough). */
static double brute(const double *cost, int n, int *perm, int depth, double acc, double best) {
  if (depth == n) return acc < best ? acc : best;
  for (int i = depth; i < n; i++) {
    int t = perm[depth];
    perm[depth] = perm[i];
    perm[i] = t;
    best = brute(cost, n, perm, depth + 1, acc + cost[depth * n + perm[depth]], best);
    perm[i] = perm[depth];
    perm[depth] = t;
  }
  return best;
}

static void check_assignment(const double *cost, int n, const int *assign, double total) {
  int seen[16] = {0};
  double s = 0;
  for (int i = 0; i < n; i++) {
    assert_true(assign[i] >= 0 && assign[i] < n);
    assert_int_equal(seen[assign[i]], 0);
    seen[assign[i]] = 1;
    s += cost[i * n + assign[i]];
  }
  assert_true(fabs(s - total) < 1e-9 * (1 + fabs(total)));
}

static void test_hungarian_brute_force(void **state) {
  (void)state;
  tgmm_rng r;
  tgmm_rng_init(&r, 1, TGMM_STREAM_EM, 0, 0);
  double cost[49];
  int assign[7], perm[7];
  for (int n = 1; n <= 7; n++) {
    for (int trial = 0; trial < 300; trial++) {
      int kind = trial % 3; /* real costs, small integers (ties), wide signed range */
      for (int i = 0; i < n * n; i++) {
        if (kind == 0) cost[i] = tgmm_rng_uniform(&r);
        if (kind == 1) cost[i] = (double)tgmm_rng_int(&r, 0, 3);
        if (kind == 2) cost[i] = tgmm_rng_uniform_range(&r, -1e3, 1e3);
      }
      for (int i = 0; i < n; i++) perm[i] = i;
      double want = brute(cost, n, perm, 0, 0.0, INFINITY);
      double got = tgmm_hungarian(cost, n, assign);
      assert_true(fabs(got - want) < 1e-9 * (1 + fabs(want)));
      check_assignment(cost, n, assign, got);
    }
  }
  assert_true(tgmm_hungarian(cost, 0, assign) == 0.0);
}

/* Estimated component perm_true[k] is true component k (+ small noise): the alignment must
 * return perm_true itself, not its inverse. */
static void check_cycle(const int *perm_true, int K, int d) {
  tgmm_rng r;
  tgmm_rng_init(&r, 3, TGMM_STREAM_EM, (uint64_t)K, 1);
  double truth[8 * 4], est[8 * 4];
  for (int i = 0; i < K * d; i++) truth[i] = tgmm_rng_uniform_range(&r, -5, 5);
  for (int k = 0; k < K; k++)
    for (int c = 0; c < d; c++) est[perm_true[k] * d + c] = truth[k * d + c] + 1e-3 * tgmm_rng_normal(&r);
  int perm[8];
  tgmm_align(est, truth, K, d, perm);
  for (int k = 0; k < K; k++) assert_int_equal(perm[k], perm_true[k]);
  assert_true(tgmm_l2_means(est, truth, perm, K, d) < 1e-5);
  int inv[8];
  for (int k = 0; k < K; k++) inv[perm_true[k]] = k;
  assert_true(tgmm_l2_means(est, truth, inv, K, d) > 0.1); /* the inverse is wrong for a cycle */
}

static void test_align_cycle(void **state) {
  (void)state;
  const int cycle3[3] = {1, 2, 0};
  check_cycle(cycle3, 3, 4);
  const int cycle5[5] = {3, 0, 4, 1, 2};
  check_cycle(cycle5, 5, 2);
  const int mixed[8] = {7, 2, 0, 1, 6, 5, 3, 4};
  check_cycle(mixed, 8, 3);
}

static void test_l2_errors(void **state) {
  (void)state;
  const double truth[4] = {0, 0, 10, 10}, est[4] = {11, 10, 1, 0}; /* K = 2, d = 2, swapped */
  int perm[2];
  tgmm_align(est, truth, 2, 2, perm);
  assert_int_equal(perm[0], 1);
  assert_int_equal(perm[1], 0);
  /* errors: (1,0) for true 0 and (1,0) for true 1 -> sum 2 over 4 entries */
  assert_true(fabs(tgmm_l2_means(est, truth, perm, 2, 2) - 0.5) < 1e-15);
  const double wt[2] = {0.3, 0.7}, we[2] = {0.6, 0.4};
  /* true 0 <-> est 1 (0.4 vs 0.3), true 1 <-> est 0 (0.6 vs 0.7) */
  assert_true(fabs(tgmm_l2_weights(we, wt, perm, 2) - 0.01) < 1e-15);
}

/* Direct formula: log of the plain sum of densities (fine at moderate values). */
/* Label of each sample: the nearest mean (what the argmax responsibility gives for equal weights
 * and unit covariances far apart). */
static void nearest_mean(const double *x, int N, int d, const double *mu, int K, int32_t *labels) {
  for (int n = 0; n < N; n++) {
    int best = 0;
    double bd = INFINITY;
    for (int k = 0; k < K; k++) {
      double s = 0;
      for (int c = 0; c < d; c++) s += (x[n * d + c] - mu[k * d + c]) * (x[n * d + c] - mu[k * d + c]);
      if (s < bd) bd = s, best = k;
    }
    labels[n] = best;
  }
}

static void test_labels_accuracy(void **state) {
  (void)state;
  enum { N = 300, d = 2, K = 3 };
  const double mu[K * d] = {-10, 0, 0, 10, 10, 0}, w[K] = {0.2, 0.3, 0.5};
  double x[N * d];
  int32_t z[N], labels[N];
  tgmm_rng r;
  tgmm_rng_init(&r, 8, TGMM_STREAM_EM, 0, 0);
  for (int n = 0; n < N; n++) {
    z[n] = n % K;
    for (int c = 0; c < d; c++) x[n * d + c] = mu[z[n] * d + c] + 0.5 * tgmm_rng_normal(&r);
  }
  (void)w;
  nearest_mean(x, N, d, mu, K, labels);
  for (int n = 0; n < N; n++) assert_int_equal(labels[n], z[n]);
  const int ident[K] = {0, 1, 2};
  assert_true(tgmm_accuracy(labels, z, N, ident, K) == 1.0);
  /* estimated components relabelled by a 3-cycle: est perm[k] is true k */
  const int perm[K] = {1, 2, 0};
  double est_mu[K * d];
  for (int k = 0; k < K; k++)
    for (int c = 0; c < d; c++) est_mu[perm[k] * d + c] = mu[k * d + c];
  int aligned[K];
  tgmm_align(est_mu, mu, K, d, aligned);
  nearest_mean(x, N, d, est_mu, K, labels);
  assert_true(tgmm_accuracy(labels, z, N, aligned, K) == 1.0);
  assert_true(tgmm_accuracy(labels, z, N, ident, K) == 0.0);
  assert_true(fabs(tgmm_misclustering(labels, z, N, K)) < 1e-15);
  /* the same from a confusion matrix summed in two halves (a task split over two ranks) */
  double conf[K * K] = {0}, acc, mis;
  tgmm_confusion_add(z, labels, N / 2, K, conf);
  tgmm_confusion_add(z + N / 2, labels + N / 2, N - N / 2, K, conf);
  assert_int_equal(tgmm_score_labels(conf, K, aligned, &acc, &mis), 0);
  assert_true(acc == 1.0 && fabs(mis) < 1e-15);
  double empty[K * K] = {0};
  assert_int_equal(tgmm_score_labels(empty, K, aligned, &acc, &mis), 0);
  assert_true(isnan(acc) && isnan(mis)); /* no samples: unavailable, not 0 */
}

/* Misclustering against the brute-force minimum over relabellings. */
static void test_misclustering(void **state) {
  (void)state;
  enum { N = 500, K = 5 };
  int32_t z[N], labels[N];
  tgmm_rng r;
  tgmm_rng_init(&r, 9, TGMM_STREAM_EM, 0, 0);
  const int relabel[K] = {2, 4, 1, 0, 3};
  for (int trial = 0; trial < 20; trial++) {
    for (int n = 0; n < N; n++) {
      z[n] = (int32_t)tgmm_rng_int(&r, 0, K - 1);
      labels[n] = relabel[z[n]];
      if (tgmm_rng_uniform(&r) < 0.05 * trial) labels[n] = (int32_t)tgmm_rng_int(&r, 0, K - 1);
    }
    double conf[K * K] = {0};
    for (int n = 0; n < N; n++) conf[z[n] * K + labels[n]] -= 1.0;
    int perm[K];
    for (int k = 0; k < K; k++) perm[k] = k;
    double want = 1.0 + brute(conf, K, perm, 0, 0.0, INFINITY) / N;
    double got = tgmm_misclustering(labels, z, N, K);
    assert_true(fabs(got - want) < 1e-12);
    if (trial == 0) assert_true(got == 0.0);
  }
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_hungarian_brute_force), cmocka_unit_test(test_align_cycle),
      cmocka_unit_test(test_l2_errors),
      cmocka_unit_test(test_labels_accuracy),       cmocka_unit_test(test_misclustering),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
