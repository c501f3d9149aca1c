/* test_nn.c — every layer's backward pass against central finite differences of its forward
 * pass (float32 layers, objective sum(out * R) accumulated in double, step 1e-2, tolerance
 * 1e-2 of the largest gradient entry: a missing term or a wrong factor fails), plus causal
 * masking, packing independence and the loss's known values. */
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

#define FD_EPS 1e-2f
#define FD_TOL 1e-2

static float *randv(size_t n, double std, uint64_t id) {
  float *p = malloc(sizeof(float) * (n ? n : 1));
  assert_non_null(p);
  tgmm_rng r;
  tgmm_rng_init(&r, 7, 99, id, 0);
  for (size_t i = 0; i < n; i++) p[i] = (float)(std * tgmm_rng_normal(&r));
  return p;
}

static double dot(const float *a, const float *b, size_t n) {
  double s = 0;
  for (size_t i = 0; i < n; i++) s += (double)a[i] * b[i];
  return s;
}

/* A layer under test: evaluates sum(out * R) at the current inputs. */
typedef double (*objective)(void *ctx);

/* Compare analytic gradient g[n] of `x` against central differences of f. */
static void check_grad(const char *what, objective f, void *ctx, float *x, const float *g,
                       size_t n) {
  double gmax = 0, emax = 0;
  double *num = malloc(sizeof(double) * n);
  assert_non_null(num);
  for (size_t i = 0; i < n; i++) {
    float x0 = x[i];
    x[i] = x0 + FD_EPS;
    double fp = f(ctx);
    x[i] = x0 - FD_EPS;
    double fm = f(ctx);
    x[i] = x0;
    num[i] = (fp - fm) / (2.0 * ((double)(x0 + FD_EPS) - (double)x0));
    if (fabs(num[i]) > gmax) gmax = fabs(num[i]);
  }
  for (size_t i = 0; i < n; i++) {
    double e = fabs(num[i] - g[i]);
    if (e > emax) emax = e;
  }
  print_message("%-28s n=%5zu max|grad|=%.3e max err=%.3e\n", what, n, gmax, emax);
  assert_true(gmax > 1e-6); /* the check must be able to fail */
  assert_true(emax <= FD_TOL * gmax);
  free(num);
}

/* ---------------- linear ---------------- */
typedef struct {
  int M, K, N;
  float *in, *W, *b, *out, *R;
} lin_ctx;

static double lin_obj(void *p) {
  lin_ctx *c = p;
  nn_linear_fwd(NULL, c->out, c->in, c->W, c->b, c->M, c->K, c->N);
  return dot(c->out, c->R, (size_t)c->M * c->N);
}

static void test_linear(void **state) {
  (void)state;
  lin_ctx c = {.M = 7, .K = 5, .N = 6};
  c.in = randv(35, 1, 1), c.W = randv(30, 1, 2), c.b = randv(6, 1, 3), c.R = randv(42, 1, 4);
  c.out = malloc(sizeof(float) * 42);
  float *din = calloc(35, 4), *dW = calloc(30, 4), *db = calloc(6, 4);
  lin_obj(&c);
  nn_linear_bwd(NULL, din, dW, db, c.R, c.in, c.W, c.M, c.K, c.N);
  check_grad("linear din", lin_obj, &c, c.in, din, 35);
  check_grad("linear dW", lin_obj, &c, c.W, dW, 30);
  check_grad("linear db", lin_obj, &c, c.b, db, 6);
  free(c.in), free(c.W), free(c.b), free(c.R), free(c.out), free(din), free(dW), free(db);
}

/* ---------------- layernorm ---------------- */
typedef struct {
  int M, C;
  float *in, *w, *b, *out, *mean, *rstd, *R;
} ln_ctx;

static double ln_obj(void *p) {
  ln_ctx *c = p;
  nn_layernorm_fwd(NULL, c->out, c->mean, c->rstd, c->in, c->w, c->b, c->M, c->C);
  return dot(c->out, c->R, (size_t)c->M * c->C);
}

static void layernorm_case(int M, int C) {
  ln_ctx c = {.M = M, .C = C};
  size_t n = (size_t)M * C;
  c.in = randv(n, 2, 5), c.w = randv(C, 1, 6), c.b = randv(C, 1, 7), c.R = randv(n, 1, 8);
  c.out = malloc(4 * n), c.mean = malloc(4 * M), c.rstd = malloc(4 * M);
  float *din = calloc(n, 4), *dw = calloc(C, 4), *db = calloc(C, 4);
  ln_obj(&c);
  nn_layernorm_bwd(NULL, din, dw, db, c.R, c.in, c.w, c.mean, c.rstd, c.M, c.C);
  check_grad("layernorm din", ln_obj, &c, c.in, din, n);
  check_grad("layernorm dw", ln_obj, &c, c.w, dw, C);
  check_grad("layernorm db", ln_obj, &c, c.b, db, C);
  free(c.in), free(c.w), free(c.b), free(c.R), free(c.out), free(c.mean), free(c.rstd);
  free(din), free(dw), free(db);
}

static void test_layernorm(void **state) {
  (void)state;
  layernorm_case(5, 12); /* C not a multiple of 16: the scalar row sums */
  layernorm_case(3, 32); /* the 16-lane row sums */
}

/* ---------------- GELU (and the MLP: linear -> gelu -> linear) ---------------- */
typedef struct {
  int M, C;
  float *in, *W1, *b1, *W2, *b2, *h, *g, *out, *R;
} mlp_ctx;

static double mlp_obj(void *p) {
  mlp_ctx *c = p;
  nn_linear_fwd(NULL, c->h, c->in, c->W1, c->b1, c->M, c->C, 4 * c->C);
  nn_gelu_fwd(NULL, c->g, c->h, (size_t)c->M * 4 * c->C);
  nn_linear_fwd(NULL, c->out, c->g, c->W2, c->b2, c->M, 4 * c->C, c->C);
  return dot(c->out, c->R, (size_t)c->M * c->C);
}

static void test_mlp_gelu(void **state) {
  (void)state;
  mlp_ctx c = {.M = 4, .C = 3};
  size_t n = 12, h = 48;
  c.in = randv(n, 1.5, 9), c.W1 = randv(36, 1, 10), c.b1 = randv(12, 1, 11);
  c.W2 = randv(36, 1, 12), c.b2 = randv(3, 1, 13), c.R = randv(n, 1, 14);
  c.h = malloc(4 * h), c.g = malloc(4 * h), c.out = malloc(4 * n);
  float *dg = malloc(4 * h), *din = malloc(4 * n), *dW1 = calloc(36, 4), *db1 = calloc(12, 4),
        *dW2 = calloc(36, 4), *db2 = calloc(3, 4);
  mlp_obj(&c);
  nn_linear_bwd(NULL, dg, dW2, db2, c.R, c.g, c.W2, c.M, 12, 3);
  nn_gelu_bwd(NULL, dg, dg, c.h, h);
  nn_linear_bwd(NULL, din, dW1, db1, dg, c.in, c.W1, c.M, 3, 12);
  check_grad("mlp din (gelu)", mlp_obj, &c, c.in, din, n);
  check_grad("mlp dW1", mlp_obj, &c, c.W1, dW1, 36);
  check_grad("mlp db1", mlp_obj, &c, c.b1, db1, 12);
  check_grad("mlp dW2", mlp_obj, &c, c.W2, dW2, 36);
  /* GELU tanh at known points */
  float x[3] = {-1.0f, 0.0f, 2.0f}, y[3];
  nn_gelu_fwd(NULL, y, x, 3);
  assert_true(fabs(y[0] - -0.158808) < 1e-5 && y[1] == 0.0f && fabs(y[2] - 1.954598) < 1e-5);
  free(c.in), free(c.W1), free(c.b1), free(c.W2), free(c.b2), free(c.R), free(c.h), free(c.g);
  free(c.out), free(dg), free(din), free(dW1), free(db1), free(dW2), free(db2);
}

/* ---------------- attention over packed ragged tasks ---------------- */
typedef struct {
  int ntask, C, H, causal;
  nn_par *pool;
  const int *off;
  float *qkv, *out, *att, *R;
} att_ctx;

static double att_obj(void *p) {
  att_ctx *c = p;
  nn_attention_fwd(c->pool, c->out, c->att, c->qkv, c->off, c->ntask, c->C, c->H, c->causal);
  return dot(c->out, c->R, (size_t)c->off[c->ntask] * c->C);
}

static void attention_case_c(int causal, int nthreads, int C, int H) {
  /* ragged: 4 tasks of 5, 1, 40, 3 tokens (40 > the causal row block) */
  static const int off[5] = {0, 5, 6, 46, 49};
  int T = 49;
  att_ctx c = {.ntask = 4, .C = C, .H = H, .causal = causal, .off = off};
  c.pool = nn_par_create(nthreads);
  c.qkv = randv((size_t)T * 3 * C, 1, 20), c.R = randv((size_t)T * C, 1, 21);
  c.out = malloc(sizeof(float) * T * C);
  c.att = malloc(sizeof(float) * nn_attention_size(off, 4, H));
  float *dqkv = malloc(sizeof(float) * T * 3 * C);
  att_obj(&c);
  nn_attention_bwd(c.pool, dqkv, c.R, c.qkv, c.att, off, 4, C, H, causal);
  check_grad(causal ? "attention causal dqkv" : "attention bidir dqkv", att_obj, &c, c.qkv, dqkv,
             (size_t)T * 3 * C);

  /* packing independence: task 2 alone gives the same outputs */
  float *ref = malloc(sizeof(float) * T * C);
  memcpy(ref, c.out, sizeof(float) * T * C);
  int off1[2] = {0, 40};
  float *o1 = malloc(sizeof(float) * 40 * C), *a1 = malloc(sizeof(float) * H * 1600);
  nn_attention_fwd(NULL, o1, a1, c.qkv + 6 * 3 * C, off1, 1, C, H, causal);
  for (int i = 0; i < 40 * C; i++) assert_true(fabs(o1[i] - ref[6 * C + i]) < 1e-5);
  /* causality: changing token 30 of task 2 changes no output of tokens 6..35 of the batch
   * (tokens 0..29 of the task) when causal, and changes token 6's output otherwise */
  for (int j = 0; j < 3 * C; j++) c.qkv[(6 + 30) * 3 * C + j] += 1.0f;
  att_obj(&c);
  double diff_before = 0;
  for (int i = 6 * C; i < 36 * C; i++) diff_before = fmax(diff_before, fabs(c.out[i] - ref[i]));
  if (causal)
    assert_true(diff_before == 0.0);
  else
    assert_true(diff_before > 1e-4);
  free(ref), free(o1), free(a1);
  free(c.qkv), free(c.R), free(c.out), free(c.att), free(dqkv);
  nn_par_free(c.pool);
}

static void attention_case(int causal, int nthreads) { attention_case_c(causal, nthreads, 8, 2); }

static void test_attention_causal(void **state) {
  (void)state;
  attention_case(1, 1);
}
static void test_attention_bidirectional(void **state) {
  (void)state;
  attention_case(0, 1);
}
static void test_attention_threads(void **state) {
  (void)state;
  attention_case(1, 3);
  attention_case(0, 2);
}
/* heads 16 and 20 wide: whole and partial 16-float vectors of the kernels */
static void test_attention_wide_heads(void **state) {
  (void)state;
  attention_case_c(1, 1, 32, 2);
  attention_case_c(0, 1, 40, 2);
}

/* ---------------- pooling read-out ---------------- */
typedef struct {
  int N, C, Q, W;
  float *h, *q, *Wk, *Wv, *O, *A, *k, *v, *R;
} pool_ctx;

static double pool_obj(void *p) {
  pool_ctx *c = p;
  nn_pool_fwd(c->O, c->A, c->k, c->v, c->h, c->q, c->Wk, c->Wv, c->N, c->C, c->Q, c->W);
  return dot(c->O, c->R, (size_t)c->Q * c->W);
}

static void test_pool(void **state) {
  (void)state;
  pool_ctx c = {.N = 9, .C = 6, .Q = 3, .W = 5};
  c.h = randv(54, 1, 30), c.q = randv(15, 1, 31), c.Wk = randv(30, 0.5, 32);
  c.Wv = randv(30, 1, 33), c.R = randv(15, 1, 34);
  c.O = malloc(4 * 15), c.A = malloc(4 * 27), c.k = malloc(4 * 45), c.v = malloc(4 * 45);
  float *dh = malloc(4 * 54), *dq = calloc(15, 4), *dWk = calloc(30, 4), *dWv = calloc(30, 4),
        *scr = malloc(4 * (27 + 90));
  pool_obj(&c);
  nn_pool_bwd(dh, dq, dWk, dWv, scr, c.R, c.h, c.q, c.Wk, c.Wv, c.k, c.v, c.A, c.N, c.C, c.Q, c.W);
  check_grad("pool dh", pool_obj, &c, c.h, dh, 54);
  check_grad("pool dq", pool_obj, &c, c.q, dq, 15);
  check_grad("pool dWk", pool_obj, &c, c.Wk, dWk, 30);
  check_grad("pool dWv", pool_obj, &c, c.Wv, dWv, 30);
  free(c.h), free(c.q), free(c.Wk), free(c.Wv), free(c.R), free(c.O), free(c.A), free(c.k);
  free(c.v), free(dh), free(dq), free(dWk), free(dWv), free(scr);
}

/* ---------------- loss ---------------- */
typedef struct {
  int Q, d, K;
  float *O, *pi, *mu, *sd;
} loss_ctx;

static double loss_obj(void *p) {
  loss_ctx *c = p;
  return nn_gmm_loss(NULL, c->O, c->Q, c->d, c->K, c->pi, c->mu, c->sd, 0.0f, NULL);
}

static void loss_case(int aniso) {
  int Q = 4, d = 3, K = 3, W = Q + d * (aniso ? 2 : 1);
  float pi[3] = {0.2f, 0.3f, 0.5f};
  loss_ctx c = {.Q = Q, .d = d, .K = K, .pi = pi};
  c.O = randv((size_t)Q * W, 1, 40), c.mu = randv(9, 1, 41);
  c.sd = aniso ? randv(9, 0.3, 42) : NULL;
  if (aniso)
    for (int i = 0; i < 9; i++) c.sd[i] = 1.0f + c.sd[i];
  float *dO = malloc(sizeof(float) * Q * W);
  nn_gmm_loss(dO, c.O, Q, d, K, pi, c.mu, c.sd, 1.0f, NULL);
  check_grad(aniso ? "loss aniso dO" : "loss iso dO", loss_obj, &c, c.O, dO, (size_t)Q * W);
  /* masked logit columns (k >= K) get no gradient and do not change the loss */
  for (int r = 0; r < Q; r++) assert_true(dO[r * W + 3] == 0.0f);
  /* known value: logits = log pi, exact means (and scales) -> loss = entropy(pi) */
  for (int r = 0; r < Q; r++)
    for (int k = 0; k < Q; k++) c.O[r * W + k] = k < K ? logf(pi[k]) : 1e30f;
  for (int k = 0; k < Q; k++)
    for (int j = 0; j < d; j++) {
      c.O[k * W + Q + j] = k < K ? c.mu[k * d + j] : 1e30f;
      if (aniso) c.O[k * W + Q + d + j] = k < K ? logf(expm1f(c.sd[k * d + j])) : 1e30f;
    }
  double parts[3], H = -(0.2 * log(0.2) + 0.3 * log(0.3) + 0.5 * log(0.5));
  double L = nn_gmm_loss(dO, c.O, Q, d, K, pi, c.mu, c.sd, 1.0f, parts);
  assert_true(fabs(L - H) < 1e-5 && fabs(parts[0] - H) < 1e-5);
  assert_true(fabs(parts[1]) < 1e-10 && fabs(parts[2]) < 1e-9);
  /* means term: one coordinate off by 3 -> 9 / (K d) */
  c.O[1 * W + Q + 2] += 3.0f;
  nn_gmm_loss(NULL, c.O, Q, d, K, pi, c.mu, c.sd, 1.0f, parts);
  assert_true(fabs(parts[1] - 9.0 / (K * d)) < 1e-4);
  free(c.O), free(c.mu), free(c.sd), free(dO);
}

static void test_loss(void **state) {
  (void)state;
  loss_case(0);
  loss_case(1);
}

/* train.loss = nll: the mean negative log-likelihood of N samples under the head's mixture. */
typedef struct {
  int Q, d, K, aniso, N;
  float *O, *x;
  double *work;
} nll_ctx;

static double nll_obj(void *p) {
  nll_ctx *c = p;
  return nn_gmm_nll(NULL, c->O, c->Q, c->d, c->K, c->aniso, c->x, c->N, 0.0f, c->work);
}

/* The same density written directly: weights by softmax of the column means, a product of
 * normal densities per component, the log of their weighted sum (no log-sum-exp). */
static double nll_direct(const nll_ctx *c) {
  int W = c->Q + c->d * (c->aniso ? 2 : 1);
  double l[8], w[8], z = 0.0, nll = 0.0;
  for (int k = 0; k < c->K; k++) {
    l[k] = 0.0;
    for (int r = 0; r < c->Q; r++) l[k] += c->O[r * W + k] / c->Q;
    z += exp(l[k]);
  }
  for (int k = 0; k < c->K; k++) w[k] = exp(l[k]) / z;
  for (int n = 0; n < c->N; n++) {
    double p = 0.0;
    for (int k = 0; k < c->K; k++) {
      double dens = 1.0;
      for (int j = 0; j < c->d; j++) {
        double sd = c->aniso ? log1p(exp(c->O[k * W + c->Q + c->d + j])) : 1.0;
        double e = (c->x[n * c->d + j] - c->O[k * W + c->Q + j]) / sd;
        dens *= exp(-0.5 * e * e) / (sd * sqrt(2.0 * M_PI));
      }
      p += w[k] * dens;
    }
    nll -= log(p);
  }
  return nll / c->N;
}

static void nll_case(int aniso) {
  int Q = 4, d = 3, K = 3, N = 7, W = Q + d * (aniso ? 2 : 1);
  nll_ctx c = {.Q = Q, .d = d, .K = K, .aniso = aniso, .N = N};
  c.O = randv((size_t)Q * W, 0.7, 60), c.x = randv((size_t)N * d, 1.5, 61);
  c.work = malloc(sizeof(double) * 3 * K * d);
  float *dO = malloc(sizeof(float) * Q * W);
  double L = nn_gmm_nll(dO, c.O, Q, d, K, aniso, c.x, N, 1.0f, c.work);
  double D = nll_direct(&c);
  print_message("nll %s: %.9f direct %.9f\n", aniso ? "aniso" : "iso", L, D);
  assert_true(fabs(L - D) < 1e-9 * (1.0 + fabs(D)));
  assert_true(fabs(nll_obj(&c) - L) == 0.0); /* the value does not depend on dO */
  check_grad(aniso ? "nll aniso dO" : "nll iso dO", nll_obj, &c, c.O, dO, (size_t)Q * W);
  for (int r = 0; r < Q; r++) assert_true(dO[r * W + 3] == 0.0f); /* masked logit column */
  for (int j = Q; j < W; j++) assert_true(dO[3 * W + j] == 0.0f);  /* masked component row */
  /* the order of the components does not matter: swap components 0 and 2 */
  for (int j = 0; j < W; j++) {
    int a = j < Q ? j : -1;
    if (a < 0) {
      float t = c.O[0 * W + j];
      c.O[0 * W + j] = c.O[2 * W + j], c.O[2 * W + j] = t;
    } else if (a == 0) {
      for (int r = 0; r < Q; r++) {
        float t = c.O[r * W + 0];
        c.O[r * W + 0] = c.O[r * W + 2], c.O[r * W + 2] = t;
      }
    }
  }
  assert_true(fabs(nll_obj(&c) - L) < 1e-12 * (1.0 + fabs(L)));
  free(c.O), free(c.x), free(c.work), free(dO);
}

static void test_nll_loss(void **state) {
  (void)state;
  nll_case(0);
  nll_case(1);
}

static void assert_close(const float *a, const float *b, size_t n) {
  for (size_t i = 0; i < n; i++) assert_true(fabsf(a[i] - b[i]) <= 1e-5f * (1.0f + fabsf(a[i])));
}

/* The thread pool's row/column splits give the serial results up to rounding (OpenBLAS's bits
 * depend on a call's M; layernorm's per-block parameter-gradient sums are added in order). */
static void test_threaded_layers(void **state) {
  (void)state;
  nn_par *pool = nn_par_create(3);
  assert_int_equal(nn_par_threads(pool), 3);
  int M = 301, K = 17, N = 29;
  float *in = randv((size_t)M * K, 1, 50), *W = randv((size_t)N * K, 1, 51), *b = randv(N, 1, 52);
  float *dout = randv((size_t)M * N, 1, 53);
  float *o1 = malloc(4 * M * N), *o2 = malloc(4 * M * N);
  float *di1 = malloc(4 * M * K), *di2 = malloc(4 * M * K);
  float *dW1 = calloc(N * K, 4), *dW2 = calloc(N * K, 4), *db1 = calloc(N, 4), *db2 = calloc(N, 4);
  nn_linear_fwd(NULL, o1, in, W, b, M, K, N);
  nn_linear_fwd(pool, o2, in, W, b, M, K, N);
  assert_close(o1, o2, (size_t)(M * N));
  nn_linear_bwd(NULL, di1, dW1, db1, dout, in, W, M, K, N);
  nn_linear_bwd(pool, di2, dW2, db2, dout, in, W, M, K, N);
  assert_close(di1, di2, (size_t)(M * K));
  assert_close(dW1, dW2, (size_t)(N * K));
  assert_close(db1, db2, (size_t)(N));
  float *m1 = malloc(4 * M), *r1 = malloc(4 * M), *m2 = malloc(4 * M), *r2 = malloc(4 * M);
  nn_layernorm_fwd(NULL, o1, m1, r1, dout, b, b, M, N);
  nn_layernorm_fwd(pool, o2, m2, r2, dout, b, b, M, N);
  assert_close(o1, o2, (size_t)(M * N));
  memset(di1, 0, 4 * M * N > 4 * M * K ? 4 * M * K : 4 * M * N);
  float *x1 = calloc((size_t)M * N, 4), *x2 = calloc((size_t)M * N, 4);
  float *w1 = calloc(N, 4), *w2 = calloc(N, 4), *c1 = calloc(N, 4), *c2 = calloc(N, 4);
  nn_layernorm_bwd(NULL, x1, w1, c1, o1, dout, b, m1, r1, M, N);
  nn_layernorm_bwd(pool, x2, w2, c2, o1, dout, b, m1, r1, M, N);
  assert_close(x1, x2, (size_t)(M * N));
  for (int c = 0; c < N; c++) assert_true(fabsf(w1[c] - w2[c]) <= 1e-4f * (1 + fabsf(w1[c])));
  size_t n = 200000;
  float *g = randv(n, 2, 54), *g1 = malloc(4 * n), *g2 = malloc(4 * n);
  nn_gelu_fwd(NULL, g1, g, n);
  nn_gelu_fwd(pool, g2, g, n);
  assert_close(g1, g2, (size_t)(n));
  for (size_t i = 0; i < n; i += 997) { /* against the exact tanh formula */
    double x = g[i], e = 0.5 * x * (1 + tanh(0.7978845608028654 * (x + 0.044715 * x * x * x)));
    assert_true(fabs(g1[i] - e) < 1e-6 * (1 + fabs(e)));
  }
  nn_gelu_bwd(NULL, g1, g, g, n);
  nn_gelu_bwd(pool, g2, g, g, n);
  assert_close(g1, g2, (size_t)(n));
  free(in), free(W), free(b), free(dout), free(o1), free(o2), free(di1), free(di2), free(dW1);
  free(dW2), free(db1), free(db2), free(m1), free(r1), free(m2), free(r2), free(x1), free(x2);
  free(w1), free(w2), free(c1), free(c2), free(g), free(g1), free(g2);
  nn_par_free(pool);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_linear),          cmocka_unit_test(test_layernorm),
      cmocka_unit_test(test_mlp_gelu),        cmocka_unit_test(test_attention_causal),
      cmocka_unit_test(test_attention_bidirectional), cmocka_unit_test(test_attention_threads),
      cmocka_unit_test(test_attention_wide_heads),
      cmocka_unit_test(test_pool), cmocka_unit_test(test_threaded_layers),            cmocka_unit_test(test_loss), cmocka_unit_test(test_nll_loss),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
