/* nn.c — dense layers: linear, layernorm, GELU, residual (see include/tgmm/nn.h).
 * Attention: nn_attn.c; pooling read-out and loss: nn_pool.c; thread pool: nn_par.c.
 * Every layer splits its work into row (or column) blocks, one per pool thread, each running
 * single-threaded kernels; results do not depend on the split except for the order of the
 * per-block sums of layernorm's parameter gradients. */
#include "tgmm/nn.h"

#include <cblas.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "nn_math.h"

/* Fixed block sizes of a fixed pool (nn_par_create_fixed): rows of a linear map, columns of a
 * weight gradient, rows of layernorm's backward partial sums. */
#define FIX_ROWS 128
#define FIX_COLS 32
#define FIX_LN_ROWS 256

/* Block b of nb over n items: [lo, hi). */
static void block_range(size_t n, int b, int nb, size_t *lo, size_t *hi) {
  *lo = n * (size_t)b / (size_t)nb;
  *hi = n * (size_t)(b + 1) / (size_t)nb;
}

/* ---------------- linear ---------------- */

typedef struct {
  float *out, *din, *dW, *db;
  const float *in, *W, *b, *dout, *res;
  int M, K, N, nb, nbc; /* row blocks; column blocks of dW (backward) */
} lin_job;

/* rows [r0, r1) of out = res + b (either may be NULL; out may alias res). */
TGMM_CLONES static void lin_init_rows(float *out, const float *res, const float *b, size_t r0,
                                      size_t r1, int N) {
  for (size_t i = r0; i < r1; i++) {
    float *o = out + i * (size_t)N;
    const float *r = res ? res + i * (size_t)N : NULL;
    if (r && b)
      for (int c = 0; c < N; c++) o[c] = r[c] + b[c];
    else if (b)
      for (int c = 0; c < N; c++) o[c] = b[c];
    else if (r != o)
      for (int c = 0; c < N; c++) o[c] = r[c];
  }
}

static void lin_fwd_block(void *arg, int blk, int tid) {
  (void)tid;
  const lin_job *j = arg;
  size_t r0, r1;
  block_range((size_t)j->M, blk, j->nb, &r0, &r1);
  if (r1 == r0) return;
  int acc = j->b || j->res;
  if (acc) lin_init_rows(j->out, j->res, j->b, r0, r1, j->N);
  cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, (int)(r1 - r0), j->N, j->K, 1.0f,
              j->in + r0 * (size_t)j->K, j->K, j->W, j->K, acc ? 1.0f : 0.0f,
              j->out + r0 * (size_t)j->N, j->N);
}

void nn_linear_fwd_add(nn_par *pool, float *out, const float *in, const float *W, const float *b,
                       const float *res, int M, int K, int N) {
  if (M <= 0) return;
  lin_job j = {.out = out, .in = in, .W = W, .b = b, .res = res, .M = M, .K = K, .N = N};
  j.nb = nn_par_blocks(pool, (size_t)M, FIX_ROWS);
  nn_par_run(pool, lin_fwd_block, &j, j.nb);
}

void nn_linear_fwd(nn_par *pool, float *out, const float *in, const float *W, const float *b,
                   int M, int K, int N) {
  nn_linear_fwd_add(pool, out, in, W, b, NULL, M, K, N);
}

/* Items 0..nb-1: din rows; items nb..nb+nbc-1: dW rows (= output features) and db entries. */
static void lin_bwd_block(void *arg, int item, int tid) {
  (void)tid;
  const lin_job *j = arg;
  size_t lo, hi;
  if (item < j->nb) {
    if (!j->din) return;
    block_range((size_t)j->M, item, j->nb, &lo, &hi);
    if (hi > lo)
      cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, (int)(hi - lo), j->K, j->N, 1.0f,
                  j->dout + lo * (size_t)j->N, j->N, j->W, j->K, 0.0f, j->din + lo * (size_t)j->K,
                  j->K);
    return;
  }
  block_range((size_t)j->N, item - j->nb, j->nbc, &lo, &hi);
  if (hi == lo) return;
  cblas_sgemm(CblasRowMajor, CblasTrans, CblasNoTrans, (int)(hi - lo), j->K, j->M, 1.0f,
              j->dout + lo, j->N, j->in, j->K, 1.0f, j->dW + lo * (size_t)j->K, j->K);
  if (!j->db) return;
  for (int i = 0; i < j->M; i++) {
    const float *row = j->dout + (size_t)i * j->N;
    for (size_t c = lo; c < hi; c++) j->db[c] += row[c];
  }
}

void nn_linear_bwd(nn_par *pool, float *din, float *dW, float *db, const float *dout,
                   const float *in, const float *W, int M, int K, int N) {
  if (M <= 0) return;
  lin_job j = {.din = din, .dW = dW, .db = db, .dout = dout, .in = in, .W = W, .M = M, .K = K,
               .N = N};
  j.nb = nn_par_blocks(pool, (size_t)M, FIX_ROWS);
  j.nbc = nn_par_blocks(pool, (size_t)N, FIX_COLS);
  nn_par_run(pool, lin_bwd_block, &j, j.nb + j.nbc);
}

/* ---------------- layernorm ---------------- */

typedef struct {
  float *out, *mean, *rstd, *din, *dw, *db, *part; /* part: [nb, 2C] per-block dw, db */
  const float *in, *w, *b, *dout;
  const float *cmean, *crstd;
  int M, C, nb;
  int narrow; /* 8-float vectors (nn_narrow) */
} ln_job;

/* Layernorm's row sums in W lanes (a fixed order, the same on every target of a width) when C
 * is a multiple of W: P_ln_stats gives a row's mean and variance; P_ln_bwd_sums the backward's
 * two row sums (and adds the row's terms to dw, db). */
#define LN_FUNCS(P, V, W)                                                                    \
  NN_AI void P##_ln_stats(const float *x, int C, float *mean, float *var) {                  \
    V sm = {0}, sv = {0};                                                                    \
    for (int c = 0; c < C; c += W) sm += P##_load(x + c);                                    \
    float m = P##_sum(sm) / (float)C;                                                        \
    for (int c = 0; c < C; c += W) {                                                         \
      V d = P##_load(x + c) - m;                                                             \
      sv += d * d;                                                                           \
    }                                                                                        \
    *mean = m;                                                                               \
    *var = P##_sum(sv) / (float)C;                                                           \
  }                                                                                          \
  NN_AI void P##_ln_bwd_sums(const float *x, const float *dy, const float *w, float m, float s, \
                             float *dw, float *db, int C, float *sum_g, float *sum_gx) {     \
    V sg = {0}, sgx = {0};                                                                   \
    for (int c = 0; c < C; c += W) {                                                         \
      V xh = (P##_load(x + c) - m) * s, d = P##_load(dy + c);                                \
      V g = d * P##_load(w + c);                                                             \
      sg += g;                                                                               \
      sgx += g * xh;                                                                         \
      P##_store(dw + c, P##_load(dw + c) + d * xh);                                          \
      P##_store(db + c, P##_load(db + c) + d);                                               \
    }                                                                                        \
    *sum_g = P##_sum(sg);                                                                    \
    *sum_gx = P##_sum(sgx);                                                                  \
  }
LN_FUNCS(nn_v16, nn_v16, 16)
LN_FUNCS(nn_v8, nn_v8, 8)

/* 16 lanes (8 where nn_narrow) when C is a multiple of 16, else scalar. */
TGMM_CLONES static void ln_fwd_rows(const ln_job *j, size_t r0, size_t r1) {
  int C = j->C;
  for (size_t i = r0; i < r1; i++) {
    const float *x = j->in + i * C;
    float *y = j->out + i * C;
    float m = 0.0f, v = 0.0f;
    if (C % 16 == 0 && j->narrow) {
      nn_v8_ln_stats(x, C, &m, &v);
    } else if (C % 16 == 0) {
      nn_v16_ln_stats(x, C, &m, &v);
    } else {
      for (int c = 0; c < C; c++) m += x[c];
      m /= (float)C;
      for (int c = 0; c < C; c++) v += (x[c] - m) * (x[c] - m);
      v /= (float)C;
    }
    float s = 1.0f / sqrtf(v + 1e-5f);
    for (int c = 0; c < C; c++) y[c] = (x[c] - m) * s * j->w[c] + j->b[c];
    j->mean[i] = m;
    j->rstd[i] = s;
  }
}

static void ln_fwd_block(void *arg, int blk, int tid) {
  (void)tid;
  const ln_job *j = arg;
  size_t r0, r1;
  block_range((size_t)j->M, blk, j->nb, &r0, &r1);
  ln_fwd_rows(j, r0, r1);
}

void nn_layernorm_fwd(nn_par *pool, float *out, float *mean, float *rstd, const float *in,
                      const float *w, const float *b, int M, int C) {
  ln_job j = {.out = out, .mean = mean, .rstd = rstd, .in = in, .w = w, .b = b, .M = M, .C = C,
              .narrow = nn_narrow()};
  j.nb = nn_par_threads(pool);
  nn_par_run(pool, ln_fwd_block, &j, j.nb);
}

TGMM_CLONES static void ln_bwd_rows(const ln_job *j, size_t r0, size_t r1, float *dw, float *db) {
  int C = j->C;
  for (size_t i = r0; i < r1; i++) {
    const float *x = j->in + i * C, *dy = j->dout + i * C;
    float *dx = j->din + i * C;
    float m = j->cmean[i], s = j->crstd[i], sum_g = 0.0f, sum_gx = 0.0f;
    if (C % 16 == 0 && j->narrow) {
      nn_v8_ln_bwd_sums(x, dy, j->w, m, s, dw, db, C, &sum_g, &sum_gx);
    } else if (C % 16 == 0) {
      nn_v16_ln_bwd_sums(x, dy, j->w, m, s, dw, db, C, &sum_g, &sum_gx);
    } else {
      for (int c = 0; c < C; c++) {
        float xh = (x[c] - m) * s, g = dy[c] * j->w[c];
        sum_g += g;
        sum_gx += g * xh;
        dw[c] += dy[c] * xh;
        db[c] += dy[c];
      }
    }
    sum_g /= (float)C;
    sum_gx /= (float)C;
    for (int c = 0; c < C; c++) {
      float xh = (x[c] - m) * s;
      dx[c] += s * (dy[c] * j->w[c] - sum_g - xh * sum_gx);
    }
  }
}

static void ln_bwd_block(void *arg, int blk, int tid) {
  (void)tid;
  const ln_job *j = arg;
  size_t r0, r1;
  block_range((size_t)j->M, blk, j->nb, &r0, &r1);
  float *part = j->part + (size_t)blk * 2 * j->C;
  ln_bwd_rows(j, r0, r1, part, part + j->C);
}

void nn_layernorm_bwd(nn_par *pool, float *din, float *dw, float *db, const float *dout,
                      const float *in, const float *w, const float *mean, const float *rstd, int M,
                      int C) {
  ln_job j = {.din = din, .dw = dw, .db = db, .dout = dout, .in = in, .w = w, .cmean = mean,
              .crstd = rstd, .M = M, .C = C, .narrow = nn_narrow()};
  j.nb = nn_par_blocks(pool, (size_t)M, FIX_LN_ROWS);
  if (j.nb <= 1) {
    ln_bwd_rows(&j, 0, (size_t)M, dw, db);
    return;
  }
  j.part = calloc((size_t)j.nb * 2 * (size_t)C, sizeof(float));
  if (!j.part) { /* no memory for the partial sums: serial */
    ln_bwd_rows(&j, 0, (size_t)M, dw, db);
    return;
  }
  nn_par_run(pool, ln_bwd_block, &j, j.nb);
  for (int b = 0; b < j.nb; b++) /* fixed order */
    for (int c = 0; c < C; c++) {
      dw[c] += j.part[(size_t)b * 2 * C + c];
      db[c] += j.part[(size_t)b * 2 * C + C + c];
    }
  free(j.part);
}

/* ---------------- GELU and residual ---------------- */

#define VL 16                      /* floats of a vector (nn_v16) */

typedef struct {
  float *out;
  const float *in, *dout;
  size_t n;
  int nb, op; /* 0 gelu fwd, 1 gelu bwd, 2 add */
  int narrow;  /* 8-float vectors (nn_narrow) */
} ew_job;


/* GELU forward / backward on whole vectors of either width (P = nn_v16 or nn_v8, W lanes),
 * the tail of fewer than W entries scalar: the same function as nn_fast_tanh's scalar loop,
 * vectorised by hand (GCC keeps the scalar loop's clamp as branches). */
#define GELU_FUNCS(P, V, W)                                                                  \
  TGMM_CLONES static void P##_gelu_fwd(float *out, const float *in, size_t n) {               \
    size_t i = 0;                                                                            \
    for (; i + W <= n; i += W) {                                                             \
      V x = P##_load(in + i);                                                                \
      P##_store(out + i, P##_gelu(x));                                                       \
    }                                                                                        \
    for (; i < n; i++) out[i] = gelu1(in[i]);                                                \
  }                                                                                          \
  TGMM_CLONES static void P##_gelu_bwd(float *din, const float *dout, const float *in, size_t n) { \
    size_t i = 0;                                                                            \
    for (; i + W <= n; i += W) {                                                             \
      V x = P##_load(in + i);                                                                \
      V t = P##_tanh(NN_GELU_K * (x + 0.044715f * x * x * x));                               \
      V du = NN_GELU_K * (1.0f + 3.0f * 0.044715f * x * x);                                  \
      P##_store(din + i, P##_load(dout + i) * (0.5f * (1.0f + t) + 0.5f * x * (1.0f - t * t) * du)); \
    }                                                                                        \
    for (; i < n; i++) din[i] = dout[i] * gelu1_grad(in[i]);                                 \
  }

static float gelu1(float x) {
  return 0.5f * x * (1.0f + nn_fast_tanh(NN_GELU_K * (x + 0.044715f * x * x * x)));
}
static float gelu1_grad(float x) {
  float t = nn_fast_tanh(NN_GELU_K * (x + 0.044715f * x * x * x));
  float du = NN_GELU_K * (1.0f + 3.0f * 0.044715f * x * x);
  return 0.5f * (1.0f + t) + 0.5f * x * (1.0f - t * t) * du;
}
GELU_FUNCS(nn_v16, nn_v16, 16)
GELU_FUNCS(nn_v8, nn_v8, 8)

static void gelu_fwd_range(float *out, const float *in, size_t n, int narrow) {
  (narrow ? nn_v8_gelu_fwd : nn_v16_gelu_fwd)(out, in, n);
}
static void gelu_bwd_range(float *din, const float *dout, const float *in, size_t n, int narrow) {
  (narrow ? nn_v8_gelu_bwd : nn_v16_gelu_bwd)(din, dout, in, n);
}

static void ew_block(void *arg, int blk, int tid) {
  (void)tid;
  const ew_job *j = arg;
  size_t lo, hi;
  block_range(j->n / VL, blk, j->nb, &lo, &hi); /* whole vectors: the same bits for any split */
  lo *= VL;
  hi = blk == j->nb - 1 ? j->n : hi * VL;
  if (j->op == 0)
    gelu_fwd_range(j->out + lo, j->in + lo, hi - lo, j->narrow);
  else if (j->op == 1)
    gelu_bwd_range(j->out + lo, j->dout + lo, j->in + lo, hi - lo, j->narrow);
  else
    for (size_t i = lo; i < hi; i++) j->out[i] += j->in[i];
}

static void ew_run(nn_par *pool, ew_job *j) {
  j->narrow = nn_narrow();
  j->nb = nn_par_threads(pool);
  if (j->n < 65536) j->nb = 1; /* not worth waking the pool */
  if (j->nb == 1)
    ew_block(j, 0, 0);
  else
    nn_par_run(pool, ew_block, j, j->nb);
}

void nn_gelu_fwd(nn_par *pool, float *out, const float *in, size_t n) {
  ew_job j = {.out = out, .in = in, .n = n, .op = 0};
  ew_run(pool, &j);
}

void nn_gelu_bwd(nn_par *pool, float *din, const float *dout, const float *in, size_t n) {
  ew_job j = {.out = din, .dout = dout, .in = in, .n = n, .op = 1};
  ew_run(pool, &j);
}

void nn_add_inplace(nn_par *pool, float *out, const float *a, size_t n) {
  ew_job j = {.out = out, .in = a, .n = n, .op = 2};
  ew_run(pool, &j);
}
