/* nn_pool.c — attentive pooling read-out and the GMM loss head (see include/tgmm/nn.h). */
#include <cblas.h>
#include <math.h>
#include <string.h>

#include "tgmm/nn.h"

static void softmax_rows_full(float *A, int R, int N) {
  for (int r = 0; r < R; r++) {
    float *a = A + (size_t)r * N;
    float mx = a[0];
    for (int n = 1; n < N; n++) mx = a[n] > mx ? a[n] : mx;
    float s = 0.0f;
    for (int n = 0; n < N; n++) {
      a[n] = expf(a[n] - mx);
      s += a[n];
    }
    float inv = 1.0f / s;
    for (int n = 0; n < N; n++) a[n] *= inv;
  }
}

void nn_pool_fwd(float *O, float *A, float *k, float *v, const float *h, const float *q,
                 const float *Wk, const float *Wv, int N, int C, int Q, int W) {
  if (N <= 0) {
    memset(O, 0, sizeof(float) * (size_t)Q * (size_t)W);
    return;
  }
  cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, N, W, C, 1.0f, h, C, Wk, C, 0.0f, k, W);
  cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, N, W, C, 1.0f, h, C, Wv, C, 0.0f, v, W);
  cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, Q, N, W, 1.0f, q, W, k, W, 0.0f, A, N);
  softmax_rows_full(A, Q, N);
  cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, Q, W, N, 1.0f, A, N, v, W, 0.0f, O, W);
}

void nn_pool_bwd(float *dh, float *dq, float *dWk, float *dWv, float *scratch, const float *dO,
                 const float *h, const float *q, const float *Wk, const float *Wv, const float *k,
                 const float *v, const float *A, int N, int C, int Q, int W) {
  if (N <= 0) return;
  float *dA = scratch, *dk = dA + (size_t)Q * N, *dv = dk + (size_t)N * W;
  cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, Q, N, W, 1.0f, dO, W, v, W, 0.0f, dA, N);
  cblas_sgemm(CblasRowMajor, CblasTrans, CblasNoTrans, N, W, Q, 1.0f, A, N, dO, W, 0.0f, dv, W);
  for (int r = 0; r < Q; r++) { /* softmax backward, in place */
    const float *a = A + (size_t)r * N;
    float *g = dA + (size_t)r * N;
    float dot = 0.0f;
    for (int n = 0; n < N; n++) dot += a[n] * g[n];
    for (int n = 0; n < N; n++) g[n] = a[n] * (g[n] - dot);
  }
  cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, Q, W, N, 1.0f, dA, N, k, W, 1.0f, dq, W);
  cblas_sgemm(CblasRowMajor, CblasTrans, CblasNoTrans, N, W, Q, 1.0f, dA, N, q, W, 0.0f, dk, W);
  cblas_sgemm(CblasRowMajor, CblasTrans, CblasNoTrans, W, C, N, 1.0f, dk, W, h, C, 1.0f, dWk, C);
  cblas_sgemm(CblasRowMajor, CblasTrans, CblasNoTrans, W, C, N, 1.0f, dv, W, h, C, 1.0f, dWv, C);
  cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, N, C, W, 1.0f, dk, W, Wk, C, 0.0f, dh, C);
  cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, N, C, W, 1.0f, dv, W, Wv, C, 1.0f, dh, C);
}

static double softplus(double x) { return x > 20.0 ? x : log1p(exp(x)); }
static double sigmoid(double x) { return 1.0 / (1.0 + exp(-x)); }

/* Column means of the first K columns of O[Q,W] (the weight logits). */
static void logits_of(const float *O, int Q, int W, int K, double *l) {
  for (int k = 0; k < K; k++) {
    double s = 0.0;
    for (int r = 0; r < Q; r++) s += O[(size_t)r * W + k];
    l[k] = s / Q;
  }
}

/* Cross-entropy with soft targets over k < K; dl[k] = dCE/dl_k. */
static double cross_entropy(const double *l, const float *pi, int K, double *dl) {
  double mx = l[0], s = 0.0, psum = 0.0, pl = 0.0;
  for (int k = 1; k < K; k++) mx = l[k] > mx ? l[k] : mx;
  for (int k = 0; k < K; k++) s += exp(l[k] - mx);
  double lse = mx + log(s);
  for (int k = 0; k < K; k++) {
    psum += pi[k];
    pl += pi[k] * l[k];
  }
  for (int k = 0; k < K; k++) dl[k] = exp(l[k] - lse) * psum - pi[k];
  return lse * psum - pl;
}

/* (1/K) sum_k mean_j (f(O[k, col+j]) - t[k,j])^2 with f = identity or softplus;
 * writes g * d/dO into dO (if non-NULL). */
static double mse_term(float *dO, const float *O, int W, int col, int d, int K, const float *t,
                       int soft, float g) {
  double s = 0.0, c = 1.0 / ((double)K * d);
  for (int k = 0; k < K; k++)
    for (int j = 0; j < d; j++) {
      double o = O[(size_t)k * W + col + j], y = soft ? softplus(o) : o;
      double e = y - t[(size_t)k * d + j];
      s += e * e;
      if (dO) dO[(size_t)k * W + col + j] = (float)(g * 2.0 * e * c * (soft ? sigmoid(o) : 1.0));
    }
  return s * c;
}

double nn_gmm_loss(float *dO, const float *O, int Q, int d, int K, const float *pi,
                   const float *mu, const float *sd, float g, double parts[3]) {
  int W = Q + d + (sd ? d : 0);
  double l[64] = {0}, dl[64] = {0};
  if (dO) memset(dO, 0, sizeof(float) * (size_t)Q * (size_t)W);
  logits_of(O, Q, W, K, l);
  double ce = cross_entropy(l, pi, K, dl);
  if (dO)
    for (int r = 0; r < Q; r++)
      for (int k = 0; k < K; k++) dO[(size_t)r * W + k] = (float)(g * dl[k] / Q);
  double lm = mse_term(dO, O, W, Q, d, K, mu, 0, g);
  double ls = sd ? mse_term(dO, O, W, Q + d, d, K, sd, 1, g) : 0.0;
  if (parts) {
    parts[0] = ce;
    parts[1] = lm;
    parts[2] = ls;
  }
  return ce + lm + ls;
}

void nn_gmm_predict(const float *O, int Q, int d, int K, int aniso, double *weights,
                    double *means, double *scales) {
  int W = Q + d + (aniso ? d : 0);
  double l[64] = {0}, mx, s = 0.0;
  logits_of(O, Q, W, K, l);
  mx = l[0];
  for (int k = 1; k < K; k++) mx = l[k] > mx ? l[k] : mx;
  for (int k = 0; k < K; k++) s += (weights[k] = exp(l[k] - mx));
  for (int k = 0; k < K; k++) weights[k] /= s;
  for (int k = 0; k < K; k++)
    for (int j = 0; j < d; j++) {
      means[(size_t)k * d + j] = O[(size_t)k * W + Q + j];
      if (aniso && scales) scales[(size_t)k * d + j] = softplus(O[(size_t)k * W + Q + d + j]);
    }
}

/* Per component k < K: log weight, sum_j log s_kj and 1 / s_kj, from the head's own decoding
 * (nn_gmm_predict; s = 1 without scale columns). inv's K d doubles first receive the means,
 * which are not needed here; sd: K d doubles of scratch. */
static void nll_params(const float *O, int Q, int d, int K, int aniso, double *logw,
                       double *logs, double *inv, double *sd) {
  double w[64];
  nn_gmm_predict(O, Q, d, K, aniso, w, inv, aniso ? sd : NULL);
  for (int k = 0; k < K; k++) {
    logw[k] = log(w[k]);
    logs[k] = 0.0;
    for (int j = 0; j < d; j++) {
      double s = aniso ? sd[(size_t)k * d + j] : 1.0;
      inv[(size_t)k * d + j] = 1.0 / s;
      logs[k] += log(s);
    }
  }
}

double nn_gmm_nll(float *dO, const float *O, int Q, int d, int K, int aniso, const float *x,
                  int N, float g, double *work) {
  int W = Q + d + (aniso ? d : 0);
  size_t kd = (size_t)K * (size_t)d;
  double logw[64], logs[64], rbar[64] = {0}, lp[64];
  double *inv = work, *smu = inv + kd, *ssq = smu + kd;
  nll_params(O, Q, d, K, aniso, logw, logs, inv, smu);
  memset(smu, 0, sizeof(double) * 2 * kd);
  const double half_log_2pi = 0.91893853320467274178;
  double nll = 0.0;
  for (int n = 0; n < N; n++) {
    const float *xn = x + (size_t)n * d;
    double mx = -INFINITY, s = 0.0;
    for (int k = 0; k < K; k++) {
      double q = 0.0;
      for (int j = 0; j < d; j++) {
        double z = (xn[j] - O[(size_t)k * W + Q + j]) * inv[(size_t)k * d + j];
        q += z * z;
      }
      lp[k] = logw[k] - logs[k] - d * half_log_2pi - 0.5 * q;
      mx = lp[k] > mx ? lp[k] : mx;
    }
    for (int k = 0; k < K; k++) s += exp(lp[k] - mx);
    double lse = mx + log(s);
    nll -= lse;
    if (!dO) continue;
    for (int k = 0; k < K; k++) {
      double r = exp(lp[k] - lse);
      rbar[k] += r;
      for (int j = 0; j < d; j++) {
        double e = xn[j] - O[(size_t)k * W + Q + j];
        smu[(size_t)k * d + j] += r * e;
        ssq[(size_t)k * d + j] += r * e * e;
      }
    }
  }
  if (!dO) return nll / N;
  memset(dO, 0, sizeof(float) * (size_t)Q * (size_t)W);
  for (int k = 0; k < K; k++) {
    double dl = exp(logw[k]) - rbar[k] / N; /* d nll / d logit_k */
    for (int r = 0; r < Q; r++) dO[(size_t)r * W + k] = (float)(g * dl / Q);
    for (int j = 0; j < d; j++) {
      size_t kj = (size_t)k * d + j;
      double iv = inv[kj];
      dO[(size_t)k * W + Q + j] = (float)(-g * smu[kj] * iv * iv / N);
      if (aniso) {
        double ds = -(ssq[kj] * iv * iv * iv - rbar[k] * iv) / N;
        dO[(size_t)k * W + Q + d + j] = (float)(g * ds * sigmoid(O[(size_t)k * W + Q + d + j]));
      }
    }
  }
  return nll / N;
}
