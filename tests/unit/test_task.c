/* test_task.c — the task families: weights, cosine filter, ranges, ragged N, sample moments,
 * mean shift, phase transition, determinism, impossible requests; mean_scale (1 draws the means
 * from the documented stream, the K weight uniforms then K*d uniforms in [-5, 5], as before the
 * key existed; another scale scales those means and nothing else) and the separation delta
 * (tgmm_task_min_distance on known points); Lee et al.'s family (weights_prior dirichlet,
 * component_scale, max_cosine 1, N_min) and the defaults of those keys = the paper's tasks. */
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

/* The fields task.c reads, set directly (independent of the config module). */
static tgmm_config make_cfg(tgmm_family family, int d, int N) {
  tgmm_config cfg;
  memset(&cfg, 0, sizeof cfg);
  cfg.seed = 42;
  cfg.d = d;
  cfg.N = N;
  cfg.family = family;
  cfg.nK = 4;
  for (int i = 0; i < 4; i++) cfg.K[i] = i + 2;
  return cfg;
}

static double softplus(double x) { return log1p(exp(x)); }

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

static void test_weights_and_means(void **state) {
  (void)state;
  int dims[3] = {1, 2, 8};
  for (int di = 0; di < 3; di++) {
    tgmm_config cfg = make_cfg(TGMM_FAMILY_ISOTROPIC, dims[di], 16);
    for (int cls = 0; cls < (dims[di] == 1 ? 1 : 4); cls++) {
      int K = cfg.K[cls];
      double wmin = 0.2 / (0.2 + 0.8 * (K - 1)), wmax = 0.8 / (0.8 + 0.2 * (K - 1));
      for (int id = 0; id < 400; id++) {
        tgmm_task t;
        assert_int_equal(tgmm_task_params(&cfg, TGMM_STREAM_GEN, id, cls, &t), TGMM_OK);
        assert_int_equal(t.K, K);
        assert_int_equal(t.d, dims[di]);
        double sum = 0;
        for (int k = 0; k < K; k++) {
          sum += t.weights[k];
          assert_true(t.weights[k] >= wmin && t.weights[k] <= wmax);
          if (k > 0) assert_true(t.weights[k] >= t.weights[k - 1]);
        }
        assert_true(fabs(sum - 1.0) < 1e-12);
        assert_true(max_cosine(t.means, K, t.d) < 0.8);
        for (int i = 0; i < K * t.d; i++) {
          assert_true(t.means[i] >= -5.0 && t.means[i] <= 5.0);
          assert_true(t.scales[i] == 1.0);
        }
        tgmm_task_free(&t);
      }
    }
  }
}

static void test_anisotropic_scales(void **state) {
  (void)state;
  tgmm_config cfg = make_cfg(TGMM_FAMILY_ANISOTROPIC, 8, 16);
  double lo = 2 * softplus(-1), hi = 2 * softplus(1), smin = 1e9, smax = -1e9;
  for (int id = 0; id < 500; id++) {
    tgmm_task t;
    assert_int_equal(tgmm_task_params(&cfg, TGMM_STREAM_TRAIN, id, 3, &t), TGMM_OK);
    for (int i = 0; i < t.K * t.d; i++) {
      assert_true(t.scales[i] > lo && t.scales[i] < hi);
      smin = fmin(smin, t.scales[i]);
      smax = fmax(smax, t.scales[i]);
    }
    assert_true(max_cosine(t.means, t.K, t.d) < 0.8);
    tgmm_task_free(&t);
  }
  assert_true(smin < lo + 0.01 && smax > hi - 0.01); /* the whole range is used */
}

static void test_ragged_N(void **state) {
  (void)state;
  int Ns[2] = {128, 7};
  for (int i = 0; i < 2; i++) {
    tgmm_config cfg = make_cfg(TGMM_FAMILY_ISOTROPIC, 2, Ns[i]);
    int lo = (Ns[i] + 1) / 2, hits[129] = {0};
    for (int id = 0; id < 20000; id++) {
      int n = tgmm_task_draw_N(&cfg, TGMM_STREAM_TRAIN, id, 1);
      assert_true(n >= lo && n <= Ns[i]);
      hits[n]++;
    }
    for (int n = lo; n <= Ns[i]; n++) assert_true(hits[n] > 0);
    assert_int_equal(tgmm_task_draw_N(&cfg, TGMM_STREAM_TRAIN, 3, 0), Ns[i]);
  }
}

/* Large-N sample: mean of x ~ sum pi_k mu_k, component frequencies ~ pi, and the standardised
 * residuals (x - mu_z) / s_z are N(0, 1). */
static void check_large_sample(tgmm_family family) {
  const int N = 200000;
  tgmm_config cfg = make_cfg(family, 3, N);
  tgmm_task t;
  assert_int_equal(tgmm_task_sample(&cfg, TGMM_STREAM_EVAL, 11, 1, N, &t), TGMM_OK);
  assert_int_equal(t.N, N);
  double mean[3] = {0}, want[3] = {0}, freq[3] = {0}, r1 = 0, r2 = 0;
  for (int n = 0; n < N; n++) {
    int k = t.z[n];
    assert_true(k >= 0 && k < t.K);
    freq[k] += 1.0 / N;
    for (int c = 0; c < 3; c++) {
      mean[c] += t.x[n * 3 + c] / N;
      double e = (t.x[n * 3 + c] - t.means[k * 3 + c]) / t.scales[k * 3 + c];
      r1 += e;
      r2 += e * e;
    }
  }
  for (int k = 0; k < t.K; k++) {
    assert_true(fabs(freq[k] - t.weights[k]) < 0.006); /* se ~0.0011 */
    for (int c = 0; c < 3; c++) want[c] += t.weights[k] * t.means[k * 3 + c];
  }
  for (int c = 0; c < 3; c++) assert_true(fabs(mean[c] - want[c]) < 0.06); /* se <= 0.012 */
  assert_true(fabs(r1 / (3.0 * N)) < 0.006);
  assert_true(fabs(r2 / (3.0 * N) - 1.0) < 0.01);
  tgmm_task_free(&t);
}

static void test_large_sample(void **state) {
  (void)state;
  check_large_sample(TGMM_FAMILY_ISOTROPIC);
  check_large_sample(TGMM_FAMILY_ANISOTROPIC);
}

/* mean_shift shares weights and base means with isotropic; the means differ by N(0, sigma_p^2)
 * (unless the cosine filter rejected a different number of draws, which is rare here). */
static void test_mean_shift(void **state) {
  (void)state;
  const double sigma = 0.5;
  tgmm_config iso = make_cfg(TGMM_FAMILY_ISOTROPIC, 8, 16), ms = make_cfg(TGMM_FAMILY_MEAN_SHIFT, 8, 16);
  ms.sigma_p = sigma;
  int matched = 0, tasks = 400;
  double s1 = 0, s2 = 0;
  long cnt = 0;
  for (int id = 0; id < tasks; id++) {
    tgmm_task a, b;
    assert_int_equal(tgmm_task_params(&iso, TGMM_STREAM_EVAL, id, 1, &a), TGMM_OK);
    assert_int_equal(tgmm_task_params(&ms, TGMM_STREAM_EVAL, id, 1, &b), TGMM_OK);
    assert_true(max_cosine(b.means, b.K, b.d) < 0.8);
    for (int k = 0; k < a.K; k++) assert_true(a.weights[k] == b.weights[k]);
    double worst = 0;
    for (int i = 0; i < a.K * a.d; i++) worst = fmax(worst, fabs(b.means[i] - a.means[i]));
    if (worst < 6 * sigma) {
      matched++;
      for (int i = 0; i < a.K * a.d; i++) {
        double e = b.means[i] - a.means[i];
        s1 += e, s2 += e * e, cnt++;
      }
    }
    tgmm_task_free(&a);
    tgmm_task_free(&b);
  }
  double m = s1 / cnt, sd = sqrt(s2 / cnt - m * m);
  print_message("mean_shift: %d/%d matched, noise mean %.4f sd %.4f\n", matched, tasks, m, sd);
  assert_true(matched > 0.9 * tasks);
  assert_true(fabs(m) < 0.03);
  assert_true(fabs(sd - sigma) < 0.03 * sigma);
  /* sigma_p = 0 reproduces isotropic exactly */
  ms.sigma_p = 0;
  tgmm_task a, b;
  assert_int_equal(tgmm_task_params(&iso, TGMM_STREAM_EVAL, 5, 2, &a), TGMM_OK);
  assert_int_equal(tgmm_task_params(&ms, TGMM_STREAM_EVAL, 5, 2, &b), TGMM_OK);
  assert_memory_equal(a.means, b.means, sizeof(double) * a.K * a.d);
  tgmm_task_free(&a);
  tgmm_task_free(&b);
}

static void test_phase_transition(void **state) {
  (void)state;
  tgmm_config cfg = make_cfg(TGMM_FAMILY_PHASE_TRANSITION, 0, 32);
  cfg.pt_n = 100;
  cfg.pt_b = 0.1;
  cfg.d = (int)floor(cfg.pt_b * cfg.pt_n * log(cfg.pt_n)); /* as the config module derives it */
  cfg.n_pt_a = 2;
  cfg.pt_a[0] = 1.1;
  cfg.pt_a[1] = 4.0;
  assert_int_equal(tgmm_task_check_feasible(&cfg), TGMM_OK);
  for (int cls = 0; cls < 2; cls++) {
    double delta = sqrt((1 + sqrt(cfg.pt_a[cls])) * log(100.0)), v = 0;
    long cnt = 0;
    for (int id = 0; id < 200; id++) {
      tgmm_task t;
      assert_int_equal(tgmm_task_sample(&cfg, TGMM_STREAM_TRAIN, id, cls, 32, &t), TGMM_OK);
      assert_int_equal(t.K, 2);
      assert_int_equal(t.d, 46);
      assert_true(t.weights[0] == 0.5 && t.weights[1] == 0.5);
      double sep = 0;
      for (int c = 0; c < t.d; c++) {
        double diff = t.means[t.d + c] - t.means[c], mid = 0.5 * (t.means[t.d + c] + t.means[c]);
        sep += diff * diff;
        v += mid * mid, cnt++;
        assert_true(t.scales[c] == 1.0 && t.scales[t.d + c] == 1.0);
      }
      assert_true(fabs(sqrt(sep) - delta) < 1e-9 * delta);
      tgmm_task_free(&t);
    }
    double ratio = v / cnt / (delta * delta); /* offset ~ N(0, delta^2 I) */
    assert_true(fabs(ratio - 1.0) < 0.05);
  }
}

static void test_determinism(void **state) {
  (void)state;
  tgmm_config cfg = make_cfg(TGMM_FAMILY_ANISOTROPIC, 5, 100);
  tgmm_task a, b, p, c;
  assert_int_equal(tgmm_task_sample(&cfg, TGMM_STREAM_TRAIN, 77, 2, 100, &a), TGMM_OK);
  assert_int_equal(tgmm_task_sample(&cfg, TGMM_STREAM_TRAIN, 77, 2, 100, &b), TGMM_OK);
  assert_memory_equal(a.weights, b.weights, sizeof(double) * a.K);
  assert_memory_equal(a.means, b.means, sizeof(double) * a.K * a.d);
  assert_memory_equal(a.scales, b.scales, sizeof(double) * a.K * a.d);
  assert_memory_equal(a.x, b.x, sizeof(double) * 100 * a.d);
  assert_memory_equal(a.z, b.z, sizeof(int32_t) * 100);
  /* a slice by tgmm_task_samples equals the rows of the full sample */
  assert_int_equal(tgmm_task_params(&cfg, TGMM_STREAM_TRAIN, 77, 2, &p), TGMM_OK);
  assert_null(p.x);
  assert_int_equal(p.N, 0);
  double x[37 * 5];
  int32_t z[37];
  tgmm_task_samples(&cfg, TGMM_STREAM_TRAIN, &p, 40, 77, x, z);
  assert_memory_equal(x, a.x + 40 * 5, sizeof x);
  assert_memory_equal(z, a.z + 40, sizeof z);
  /* the first rows do not depend on N */
  assert_int_equal(tgmm_task_sample(&cfg, TGMM_STREAM_TRAIN, 77, 2, 30, &c), TGMM_OK);
  assert_memory_equal(c.x, a.x, sizeof(double) * 30 * 5);
  tgmm_task_free(&c);
  /* other ids and other streams differ */
  assert_int_equal(tgmm_task_sample(&cfg, TGMM_STREAM_TRAIN, 78, 2, 100, &c), TGMM_OK);
  assert_memory_not_equal(a.means, c.means, sizeof(double) * a.K * a.d);
  tgmm_task_free(&c);
  assert_int_equal(tgmm_task_sample(&cfg, TGMM_STREAM_EVAL, 77, 2, 100, &c), TGMM_OK);
  assert_memory_not_equal(a.means, c.means, sizeof(double) * a.K * a.d);
  tgmm_task_free(&c);
  tgmm_task_free(&a);
  tgmm_task_free(&b);
  tgmm_task_free(&p);
}

static void test_impossible(void **state) {
  (void)state;
  tgmm_config cfg = make_cfg(TGMM_FAMILY_ISOTROPIC, 1, 16);
  cfg.nK = 1;
  cfg.K[0] = 5;
  assert_int_equal(tgmm_task_check_feasible(&cfg), TGMM_EUSER);
  cfg.K[0] = 2; /* two means of opposite sign: possible in d = 1 */
  assert_int_equal(tgmm_task_check_feasible(&cfg), TGMM_OK);
  cfg.K[0] = 1;
  assert_int_equal(tgmm_task_check_feasible(&cfg), TGMM_OK);
  /* the sampler itself stops after its attempt limit instead of looping or returning less */
  cfg.K[0] = 3;
  tgmm_task t;
  assert_int_equal(tgmm_task_sample(&cfg, TGMM_STREAM_GEN, 0, 0, 16, &t), TGMM_EUSER);
  assert_null(t.weights);
  /* d = 2: at most 9 directions 36.9 degrees apart; 9 is possible but practically never drawn */
  cfg.d = 2;
  cfg.K[0] = 10;
  assert_int_equal(tgmm_task_check_feasible(&cfg), TGMM_EUSER);
  cfg.K[0] = 9;
  assert_int_equal(tgmm_task_check_feasible(&cfg), TGMM_EUSER);
  cfg = make_cfg(TGMM_FAMILY_MEAN_SHIFT, 8, 16);
  cfg.sigma_p = 10;
  assert_int_equal(tgmm_task_check_feasible(&cfg), TGMM_OK);
  cfg = make_cfg(TGMM_FAMILY_ISOTROPIC, 2, 16);
  assert_int_equal(tgmm_task_check_feasible(&cfg), TGMM_OK); /* K = 2..5 in d = 2 */
}

/* mean_scale tests: d = 6, N = 50, K = 2..5 (classes 0..2 used), the box scaled by s. */
static tgmm_config scale_cfg(tgmm_family family, double s) {
  tgmm_config cfg = make_cfg(family, 6, 50);
  cfg.mean_scale = s;
  return cfg;
}

/* mean_scale = 1: when the first attempt passes the cosine filter, the means are exactly the
 * uniforms that follow the K weight uniforms on sub-stream 0 (the layout of task.c). */
static void test_default_is_the_stream(void **state) {
  (void)state;
  tgmm_config cfg = scale_cfg(TGMM_FAMILY_ISOTROPIC, 1.0);
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
  tgmm_config a = scale_cfg(TGMM_FAMILY_ISOTROPIC, 1.0), b = scale_cfg(TGMM_FAMILY_ISOTROPIC, 0.0);
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
  tgmm_config a = scale_cfg(fam, 1.0), b = scale_cfg(fam, s);
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

/* Lee et al.'s benchmark family: d = 2, K = 4, Dirichlet(1) weights (sorted: the order
 * statistics' means 1/16, 7/48, 13/48, 25/48), means U[-4, 4]^2 without filter, sd 0.3,
 * N ~ U{100..500}. */
static void test_lee_family(void **state) {
  (void)state;
  tgmm_config c = make_cfg(TGMM_FAMILY_ISOTROPIC, 2, 500);
  c.nK = 1, c.K[0] = 4, c.weights_prior = TGMM_WEIGHTS_DIRICHLET, c.dirichlet_alpha = 1;
  c.mean_scale = 0.8, c.component_scale = 0.3, c.max_cosine = 1, c.N_min = 100;
  double wsum[4] = {0}, r2 = 0;
  int T = 2000, close = 0, nlo = 500, nhi = 0;
  long ns = 0;
  for (int id = 0; id < T; id++) {
    int N = tgmm_task_draw_N(&c, TGMM_STREAM_TRAIN, id, 1);
    nlo = N < nlo ? N : nlo, nhi = N > nhi ? N : nhi;
    tgmm_task t;
    assert_int_equal(tgmm_task_sample(&c, TGMM_STREAM_TRAIN, id, 0, N, &t), TGMM_OK);
    double sum = 0;
    for (int k = 0; k < 4; k++) {
      sum += t.weights[k], wsum[k] += t.weights[k];
      if (k) assert_true(t.weights[k] >= t.weights[k - 1]);
    }
    assert_true(fabs(sum - 1) < 1e-12);
    for (int i = 0; i < 8; i++) assert_true(fabs(t.means[i]) <= 4.0 && t.scales[i] == 0.3);
    close += max_cosine(t.means, 4, 2) >= 0.8;
    for (int n = 0; n < N; n++)
      for (int j = 0; j < 2; j++) {
        double e = t.x[n * 2 + j] - t.means[t.z[n] * 2 + j];
        r2 += e * e, ns++;
      }
    tgmm_task_free(&t);
  }
  static const double order[4] = {1.0 / 16, 7.0 / 48, 13.0 / 48, 25.0 / 48};
  for (int k = 0; k < 4; k++) assert_true(fabs(wsum[k] / T - order[k]) < 0.01);
  assert_true(close > T / 2); /* no cosine filter: most draws of 4 means in d = 2 have a close pair */
  assert_true(nlo < 110 && nlo >= 100 && nhi > 490 && nhi <= 500);
  assert_true(fabs(sqrt(r2 / (double)ns) - 0.3) < 0.005);
  /* the keys at their defaults (as the loader sets them) give the zeroed config's tasks */
  tgmm_config a = make_cfg(TGMM_FAMILY_ANISOTROPIC, 8, 64), b = a;
  b.weights_prior = TGMM_WEIGHTS_UNIFORM, b.dirichlet_alpha = 1, b.component_scale = 1;
  b.max_cosine = 0.8, b.N_min = 0;
  for (int id = 0; id < 50; id++) {
    assert_int_equal(tgmm_task_draw_N(&a, TGMM_STREAM_TRAIN, id, 1), tgmm_task_draw_N(&b, TGMM_STREAM_TRAIN, id, 1));
    tgmm_task x, y;
    assert_int_equal(tgmm_task_sample(&a, TGMM_STREAM_TRAIN, id, id % 4, 64, &x), TGMM_OK);
    assert_int_equal(tgmm_task_sample(&b, TGMM_STREAM_TRAIN, id, id % 4, 64, &y), TGMM_OK);
    assert_memory_equal(x.weights, y.weights, sizeof(double) * (size_t)x.K);
    assert_memory_equal(x.scales, y.scales, sizeof(double) * (size_t)(x.K * 8));
    assert_memory_equal(x.x, y.x, sizeof(double) * 64 * 8);
    tgmm_task_free(&x), tgmm_task_free(&y);
  }
}

static void test_scaled(void **state) {
  (void)state;
  check_scaled(TGMM_FAMILY_ISOTROPIC, 0.25);
  check_scaled(TGMM_FAMILY_ISOTROPIC, 3.0);
  check_scaled(TGMM_FAMILY_ANISOTROPIC, 0.5);
  tgmm_config c = scale_cfg(TGMM_FAMILY_ISOTROPIC, 0.01); /* feasibility is scale-free */
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
      cmocka_unit_test(test_weights_and_means), cmocka_unit_test(test_anisotropic_scales),
      cmocka_unit_test(test_ragged_N),          cmocka_unit_test(test_large_sample),
      cmocka_unit_test(test_mean_shift),        cmocka_unit_test(test_phase_transition),
      cmocka_unit_test(test_determinism),       cmocka_unit_test(test_impossible),
      cmocka_unit_test(test_default_is_the_stream), cmocka_unit_test(test_zero_is_default),
      cmocka_unit_test(test_scaled),            cmocka_unit_test(test_min_distance),
      cmocka_unit_test(test_lee_family),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
