/* nn.c — dense layers: linear, layernorm, GELU, residual (see include/tgmm/nn.h).
 * Attention: nn_attn.c; pooling read-out and loss: nn_pool.c. */
#include "tgmm/nn.h"

#include <cblas.h>
#include <math.h>
#include <string.h>

void nn_linear_fwd(float *out, const float *in, const float *W, const float *b, int M, int K,
                   int N) {
  if (M <= 0) return;
  if (b) {
    for (int i = 0; i < M; i++) memcpy(out + (size_t)i * N, b, sizeof(float) * (size_t)N);
  }
  cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, M, N, K, 1.0f, in, K, W, K, b ? 1.0f : 0.0f,
              out, N);
}

static void colsum_acc(float *db, const float *dout, int M, int N) {
  for (int i = 0; i < M; i++) {
    const float *row = dout + (size_t)i * N;
    for (int j = 0; j < N; j++) db[j] += row[j];
  }
}

void nn_linear_bwd(float *din, float *dW, float *db, const float *dout, const float *in,
                   const float *W, int M, int K, int N) {
  if (M <= 0) return;
  if (din)
    cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, M, K, N, 1.0f, dout, N, W, K, 0.0f, din,
                K);
  cblas_sgemm(CblasRowMajor, CblasTrans, CblasNoTrans, N, K, M, 1.0f, dout, N, in, K, 1.0f, dW, K);
  if (db) colsum_acc(db, dout, M, N);
}

void nn_layernorm_fwd(float *out, float *mean, float *rstd, const float *in, const float *w,
                      const float *b, int M, int C) {
  for (int i = 0; i < M; i++) {
    const float *x = in + (size_t)i * C;
    float *y = out + (size_t)i * C;
    float m = 0.0f;
    for (int j = 0; j < C; j++) m += x[j];
    m /= (float)C;
    float v = 0.0f;
    for (int j = 0; j < C; j++) {
      float t = x[j] - m;
      v += t * t;
    }
    v /= (float)C;
    float s = 1.0f / sqrtf(v + 1e-5f);
    for (int j = 0; j < C; j++) y[j] = (x[j] - m) * s * w[j] + b[j];
    mean[i] = m;
    rstd[i] = s;
  }
}

void nn_layernorm_bwd(float *din, float *dw, float *db, const float *dout, const float *in,
                      const float *w, const float *mean, const float *rstd, int M, int C) {
  for (int i = 0; i < M; i++) {
    const float *x = in + (size_t)i * C, *dy = dout + (size_t)i * C;
    float *dx = din + (size_t)i * C;
    float m = mean[i], s = rstd[i];
    float sum_g = 0.0f, sum_gx = 0.0f; /* g = dy * w; xh = normalised x */
    for (int j = 0; j < C; j++) {
      float xh = (x[j] - m) * s, g = dy[j] * w[j];
      sum_g += g;
      sum_gx += g * xh;
      dw[j] += dy[j] * xh;
      db[j] += dy[j];
    }
    sum_g /= (float)C;
    sum_gx /= (float)C;
    for (int j = 0; j < C; j++) {
      float xh = (x[j] - m) * s;
      dx[j] += s * (dy[j] * w[j] - sum_g - xh * sum_gx);
    }
  }
}

#define GELU_K 0.7978845608028654f /* sqrt(2/pi) */

void nn_gelu_fwd(float *out, const float *in, size_t n) {
  for (size_t i = 0; i < n; i++) {
    float x = in[i];
    out[i] = 0.5f * x * (1.0f + tanhf(GELU_K * (x + 0.044715f * x * x * x)));
  }
}

void nn_gelu_bwd(float *din, const float *dout, const float *in, size_t n) {
  for (size_t i = 0; i < n; i++) {
    float x = in[i];
    float u = GELU_K * (x + 0.044715f * x * x * x);
    float t = tanhf(u);
    float du = GELU_K * (1.0f + 3.0f * 0.044715f * x * x);
    float g = 0.5f * (1.0f + t) + 0.5f * x * (1.0f - t * t) * du;
    din[i] = dout[i] * g;
  }
}

void nn_add_inplace(float *out, const float *a, size_t n) {
  for (size_t i = 0; i < n; i++) out[i] += a[i];
}
