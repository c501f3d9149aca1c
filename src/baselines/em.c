/* em.c — EM for Gaussian mixtures on plain arrays, collective over a communicator (see em.h). */
#include "tgmm/em.h"

#include <cblas.h>
#include <float.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "tgmm/common.h"
#include "tgmm/linalg.h"
#include "tgmm/rng.h"

#define EM_BLOCK 2048 /* rows per block: the [B, K] log-probabilities stay in cache */
static const double LOG_2PI = 1.8378770664093454836;

/* ---------------- workspace ---------------- */

typedef struct {
  const double *x;
  int64_t n;
  int d, K;
  tgmm_covariance score; /* covariance model used to compute log-probabilities */
  tgmm_covariance stat;  /* layout of the statistics gathered (the model being fitted) */
  int hard;              /* 1: responsibilities = one-hot argmax (start from means) */
  double *xsq;           /* [n] ||x||^2 */
  double *xz;            /* [n, 2d] rows [x | x^2] (diag statistics or scoring only) */
  double *A, *c, *q;     /* E-step coefficients: A [K,d] (diag: [K,2d]), c [K], q [K] */
  double *P, *muP;       /* full: precision Cholesky [K,d,d], mu P [K,d] */
  double *lp, *lps, *yb, *rowbuf; /* block buffers [K,B], [B,K], [B,d], [2,B] */
  double *ref;           /* full: centre of the second-moment statistics [K,d] */
  double *stats;         /* packed statistics */
  size_t nstats;
} em_ws;

static size_t stats_len(tgmm_covariance t, int K, int d) {
  size_t n = 1 + (size_t)K + (size_t)K * d; /* loglik, Nk, Sx */
  if (t == TGMM_COV_IDENTITY || t == TGMM_COV_SPHERICAL) n += (size_t)K;
  if (t == TGMM_COV_DIAG) n += (size_t)K * d;
  if (t == TGMM_COV_FULL) n += (size_t)K * d * d;
  return n;
}

static void ws_free(em_ws *w) {
  free(w->xsq), free(w->xz), free(w->A), free(w->c), free(w->q);
  free(w->P), free(w->muP), free(w->lp), free(w->lps), free(w->yb), free(w->rowbuf), free(w->ref), free(w->stats);
  memset(w, 0, sizeof *w);
}

static int ws_init(em_ws *w, const double *x, int64_t n, int d, int K, tgmm_covariance score,
                   tgmm_covariance stat) {
  memset(w, 0, sizeof *w);
  w->x = x, w->n = n, w->d = d, w->K = K, w->score = score, w->stat = stat;
  size_t Kd = (size_t)K * d, nn = (size_t)(n > 0 ? n : 1);
  int need_xx = score == TGMM_COV_DIAG || stat == TGMM_COV_DIAG;
  w->xsq = tgmm_malloc(sizeof(double) * nn);
  if (need_xx) w->xz = tgmm_malloc(sizeof(double) * nn * 2 * d);
  w->A = tgmm_calloc(2 * Kd, sizeof(double)); /* diag: [K, 2d] = [mu/s | -1/(2s)] */
  w->c = tgmm_calloc((size_t)K, sizeof(double));
  w->q = tgmm_calloc((size_t)K, sizeof(double));
  if (score == TGMM_COV_FULL) {
    w->P = tgmm_calloc(Kd * d, sizeof(double));
    w->muP = tgmm_calloc(Kd, sizeof(double));
  }
  w->lp = tgmm_malloc(sizeof(double) * EM_BLOCK * (size_t)K);
  w->lps = tgmm_malloc(sizeof(double) * EM_BLOCK * (size_t)K);
  w->rowbuf = tgmm_malloc(sizeof(double) * 2 * EM_BLOCK);
  w->yb = tgmm_malloc(sizeof(double) * EM_BLOCK * (size_t)d);
  w->ref = tgmm_calloc(Kd, sizeof(double));
  w->nstats = stats_len(stat, K, d);
  w->stats = tgmm_calloc(w->nstats, sizeof(double));
  if (!w->xsq || (need_xx && !w->xz) || !w->A || !w->c || !w->q || !w->lp || !w->lps || !w->yb || !w->rowbuf ||
      !w->ref || !w->stats || (score == TGMM_COV_FULL && (!w->P || !w->muP))) {
    ws_free(w);
    return TGMM_ENOMEM;
  }
  for (int64_t i = 0; i < n; i++) {
    const double *xi = x + (size_t)i * d;
    double s = 0;
    for (int j = 0; j < d; j++) {
      s += xi[j] * xi[j];
      if (need_xx) {
        w->xz[(size_t)i * 2 * d + j] = xi[j];
        w->xz[(size_t)i * 2 * d + d + j] = xi[j] * xi[j];
      }
    }
    w->xsq[i] = s;
  }
  return TGMM_OK;
}

/* E-step coefficients from the parameters: log p_k(x) = c_k + q_k ||x||^2 + A_k.x (identity,
 * spherical), c_k + A_k.[x | x^2] (diag, A [K, 2d]), or c_k - ||x P_k - mu_k P_k||^2 / 2 (full). */
static int ws_prepare(em_ws *w, const tgmm_gmm *g) {
  int K = w->K, d = w->d;
  for (int k = 0; k < K; k++) {
    const double *mu = g->means + (size_t)k * d;
    double lw = log(g->weights[k]), mm = 0;
    if (w->score == TGMM_COV_IDENTITY || w->score == TGMM_COV_SPHERICAL) {
      double s = w->score == TGMM_COV_SPHERICAL ? g->cov[k] : 1.0;
      if (!(s > 0)) return TGMM_ENUM;
      for (int j = 0; j < d; j++) {
        w->A[(size_t)k * d + j] = mu[j] / s;
        mm += mu[j] * mu[j];
      }
      w->q[k] = -0.5 / s;
      w->c[k] = lw - 0.5 * d * (LOG_2PI + log(s)) - 0.5 * mm / s;
    } else if (w->score == TGMM_COV_DIAG) {
      double c = lw - 0.5 * d * LOG_2PI;
      for (int j = 0; j < d; j++) {
        double s = g->cov[(size_t)k * d + j];
        if (!(s > 0)) return TGMM_ENUM;
        w->A[(size_t)k * 2 * d + j] = mu[j] / s;
        w->A[(size_t)k * 2 * d + d + j] = -0.5 / s;
        c -= 0.5 * (log(s) + mu[j] * mu[j] / s);
      }
      w->q[k] = 0;
      w->c[k] = c;
    } else { /* full */
      double *P = w->P + (size_t)k * d * d;
      int rc = tgmm_precision_cholesky(g->cov + (size_t)k * d * d, d, P);
      if (rc != TGMM_OK) return rc;
      double c = lw - 0.5 * d * LOG_2PI;
      for (int j = 0; j < d; j++) c += log(P[(size_t)j * d + j]);
      w->c[k] = c;
      for (int j = 0; j < d; j++) { /* (mu P)_j = sum_i mu_i P[i][j] */
        double s = 0;
        for (int i = 0; i <= j; i++) s += mu[i] * P[(size_t)i * d + j];
        w->muP[(size_t)k * d + j] = s;
      }
    }
    if (!isfinite(w->c[k]) && g->weights[k] > 0) return TGMM_ENUM;
  }
  return TGMM_OK;
}

/* log-probabilities of rows i0..i0+B-1 into lp, stored transposed: lp[k * B + b] (component-major,
 * so the log-sum-exp below runs over contiguous rows of B). With `defer` (not full), the affine
 * part c_k + q_k ||x||^2 is left for block_resp to add in its max pass (one sweep fewer). */
static void block_logprob(em_ws *w, int64_t i0, int B, int defer) {
  int K = w->K, d = w->d;
  const double *xb = w->x + (size_t)i0 * d;
  double *lp = w->lp;
  if (w->score == TGMM_COV_FULL) {
    for (int k = 0; k < K; k++) {
      cblas_dgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, B, d, d, 1.0, xb, d,
                  w->P + (size_t)k * d * d, d, 0.0, w->yb, d);
      const double *mp = w->muP + (size_t)k * d;
      for (int b = 0; b < B; b++) {
        const double *y = w->yb + (size_t)b * d;
        double s = 0;
        for (int j = 0; j < d; j++) s += (y[j] - mp[j]) * (y[j] - mp[j]);
        lp[(size_t)k * B + b] = w->c[k] - 0.5 * s;
      }
    }
    return;
  }
  /* [B, K] products (OpenBLAS packs this orientation faster), then transposed with the affine part */
  double *t = w->lps;
  if (w->score == TGMM_COV_DIAG) /* one product over [x | x^2] */
    cblas_dgemm(CblasRowMajor, CblasNoTrans, CblasTrans, B, K, 2 * d, 1.0,
                w->xz + (size_t)i0 * 2 * d, 2 * d, w->A, 2 * d, 0.0, t, K);
  else
    cblas_dgemm(CblasRowMajor, CblasNoTrans, CblasTrans, B, K, d, 1.0, xb, d, w->A, d, 0.0, t, K);
  const double *xsq = w->xsq + i0;
  for (int k = 0; k < K; k++) {
    double *l = lp + (size_t)k * B, c = w->c[k], q = w->q[k];
    if (defer)
      for (int b = 0; b < B; b++) l[b] = t[(size_t)b * K + k];
    else
      for (int b = 0; b < B; b++) l[b] = t[(size_t)b * K + k] + c + q * xsq[b];
  }
}

/* e^x for -708 <= x <= 0, branch-free so loops calling it vectorise: x = n ln2 + r,
 * |r| <= ln2/2, degree-12 Taylor polynomial (relative error < 2e-16 before rounding), 2^n from
 * the exponent bits. (The caller clamps at -708: e^-708 ~ 3e-308 is as good as 0 here.) */
static inline double exp_neg(double x) {
  const double log2e = 1.4426950408889634074, ln2hi = 6.93147180369123816490e-01,
               ln2lo = 1.90821492927058770002e-10, shift = 6755399441055744.0; /* 1.5 * 2^52 */
  double t = x * log2e + shift;
  double nf = t - shift;
  double r = (x - nf * ln2hi) - nf * ln2lo;
  double p = 1.0 / 479001600.0;
  p = p * r + 1.0 / 39916800.0;
  p = p * r + 1.0 / 3628800.0;
  p = p * r + 1.0 / 362880.0;
  p = p * r + 1.0 / 40320.0;
  p = p * r + 1.0 / 5040.0;
  p = p * r + 1.0 / 720.0;
  p = p * r + 1.0 / 120.0;
  p = p * r + 1.0 / 24.0;
  p = p * r + 1.0 / 6.0;
  p = p * r + 0.5;
  p = p * r + 1.0;
  p = p * r + 1.0;
  uint64_t tb, sb; /* n sits in the low mantissa bits of t: 2^n from integer arithmetic */
  memcpy(&tb, &t, sizeof tb);
  memcpy(&sb, &shift, sizeof sb);
  uint64_t bits = (tb - sb + 1023) << 52;
  double sc;
  memcpy(&sc, &bits, sizeof sc);
  return p * sc;
}

/* Normalise the columns of lp [K, B] into responsibilities (in place); adds the column sums to
 * Nk (if not NULL); returns the sum of the log-normalisers. */
__attribute__((target_clones("arch=x86-64-v3", "default"))) static double
block_resp(em_ws *w, int64_t i0, int B, int deferred, double *Nk /* [K] or NULL */) {
  int K = w->K;
  double *lp = w->lp, *mx = w->rowbuf, *sum = w->rowbuf + EM_BLOCK, ll = 0;
  if (w->hard) {
    for (int b = 0; b < B; b++) {
      int best = 0;
      for (int k = 1; k < K; k++)
        if (lp[(size_t)k * B + b] > lp[(size_t)best * B + b]) best = k;
      for (int k = 0; k < K; k++) lp[(size_t)k * B + b] = k == best ? 1.0 : 0.0;
      if (Nk) Nk[best] += 1.0;
    }
    return 0;
  }
  const double *xsq = w->xsq + i0;
  for (int b = 0; b < B; b++) mx[b] = -INFINITY, sum[b] = 0;
  for (int k = 0; k < K; k++) { /* pass 1: affine part, column maxima */
    double *l = lp + (size_t)k * B, c = w->c[k], q = w->q[k];
    if (deferred)
      for (int b = 0; b < B; b++) l[b] += c + q * xsq[b];
    for (int b = 0; b < B; b++) mx[b] = l[b] > mx[b] ? l[b] : mx[b];
  }
  for (int k = 0; k < K; k++) { /* pass 2: exponentials and their column sums */
    double *l = lp + (size_t)k * B;
    for (int b = 0; b < B; b++) l[b] = l[b] - mx[b] > -708.0 ? l[b] - mx[b] : -708.0;
    for (int b = 0; b < B; b++) {
      l[b] = exp_neg(l[b]);
      sum[b] += l[b];
    }
  }
  for (int b = 0; b < B; b++) {
    ll += mx[b] + log(sum[b]);
    sum[b] = 1.0 / sum[b];
  }
  for (int k = 0; k < K; k++) { /* pass 3: normalise, Nk */
    double *l = lp + (size_t)k * B, nk = 0;
    for (int b = 0; b < B; b++) {
      l[b] *= sum[b];
      nk += l[b];
    }
    if (Nk) Nk[k] += nk;
  }
  return ll;
}

/* Accumulate the statistics of one block from its responsibilities r [K, B]. */
static void block_stats(em_ws *w, int64_t i0, int B) {
  int K = w->K, d = w->d;
  const double *xb = w->x + (size_t)i0 * d, *r = w->lp;
  double *Nk = w->stats + 1, *Sx = Nk + K, *S2 = Sx + (size_t)K * d;
  if (w->stat == TGMM_COV_DIAG) { /* [K, 2d] rows [sum r x | sum r x^2] in one product */
    cblas_dgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, K, 2 * d, B, 1.0, r, B,
                w->xz + (size_t)i0 * 2 * d, 2 * d, 1.0, Sx, 2 * d);
    return;
  }
  cblas_dgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, K, d, B, 1.0, r, B, xb, d, 1.0, Sx, d);
  if (w->stat == TGMM_COV_IDENTITY || w->stat == TGMM_COV_SPHERICAL) {
    cblas_dgemv(CblasRowMajor, CblasNoTrans, K, B, 1.0, r, B, w->xsq + i0, 1, 1.0, S2, 1);
  } else { /* full: sum_n r_nk (x_n - ref_k)(x_n - ref_k)^T, lower triangle */
    for (int k = 0; k < K; k++) {
      const double *a = w->ref + (size_t)k * d;
      for (int b = 0; b < B; b++) {
        double s = sqrt(r[(size_t)k * B + b]);
        for (int j = 0; j < d; j++) w->yb[(size_t)b * d + j] = s * (xb[(size_t)b * d + j] - a[j]);
      }
      cblas_dsyrk(CblasRowMajor, CblasLower, CblasTrans, d, B, 1.0, w->yb, d, 1.0,
                  S2 + (size_t)k * d * d, d);
    }
  }
}

/* One pass: E-step (and statistics unless ll_only) over all local rows, then one Allreduce. */
static void em_pass(em_ws *w, int ll_only, MPI_Comm comm) {
  memset(w->stats, 0, sizeof(double) * w->nstats);
  for (int64_t i0 = 0; i0 < w->n; i0 += EM_BLOCK) {
    int B = (int)(w->n - i0 < EM_BLOCK ? w->n - i0 : EM_BLOCK);
    int defer = !w->hard && w->score != TGMM_COV_FULL;
    block_logprob(w, i0, B, defer);
    w->stats[0] += block_resp(w, i0, B, defer, ll_only ? NULL : w->stats + 1);
    if (!ll_only) block_stats(w, i0, B);
  }
  MPI_Allreduce(MPI_IN_PLACE, w->stats, ll_only ? 1 : (int)w->nstats, MPI_DOUBLE, MPI_SUM, comm);
}

/* M-step (scikit-learn's estimators) from the reduced statistics into g. */
static int em_mstep(const em_ws *w, const tgmm_em_opts *o, tgmm_gmm *g) {
  int K = w->K, d = w->d;
  const double *Nk = w->stats + 1, *Sx = Nk + K, *S2 = Sx + (size_t)K * d;
  int sxs = w->stat == TGMM_COV_DIAG ? 2 * d : d; /* diag: Sx rows interleaved with sum r x^2 */
  double tot = 0;
  for (int k = 0; k < K; k++) tot += Nk[k] + 10 * DBL_EPSILON;
  for (int k = 0; k < K; k++) {
    double nk = Nk[k] + 10 * DBL_EPSILON;
    double *mu = g->means + (size_t)k * d;
    g->weights[k] = nk / tot;
    for (int j = 0; j < d; j++) mu[j] = Sx[(size_t)k * sxs + j] / nk;
    if (g->type == TGMM_COV_SPHERICAL) {
      double v = S2[k] / nk;
      for (int j = 0; j < d; j++) v -= mu[j] * mu[j];
      g->cov[k] = v / d + o->reg_covar;
    } else if (g->type == TGMM_COV_DIAG) {
      for (int j = 0; j < d; j++) {
        double ax2 = Sx[(size_t)k * sxs + d + j] / nk;
        g->cov[(size_t)k * d + j] = ax2 - 2 * mu[j] * mu[j] + mu[j] * mu[j] + o->reg_covar;
      }
    } else if (g->type == TGMM_COV_FULL) {
      const double *S = S2 + (size_t)k * d * d, *a = w->ref + (size_t)k * d;
      double *C = g->cov + (size_t)k * d * d;
      for (int i = 0; i < d; i++)
        for (int j = 0; j <= i; j++) {
          double v = S[(size_t)i * d + j] / nk - (mu[i] - a[i]) * (mu[j] - a[j]);
          if (i == j) v += o->reg_covar;
          C[(size_t)i * d + j] = C[(size_t)j * d + i] = v;
        }
    }
  }
  for (size_t i = 0; i < (size_t)K * d; i++)
    if (!isfinite(g->means[i])) return TGMM_ENUM;
  return TGMM_OK;
}

static int64_t global_n(int64_t n, MPI_Comm comm) {
  int64_t N = n;
  MPI_Allreduce(MPI_IN_PLACE, &N, 1, MPI_INT64_T, MPI_SUM, comm);
  return N;
}

int tgmm_em_fit(const double *x, int64_t n, MPI_Comm comm, const tgmm_em_opts *o, tgmm_gmm *g,
                tgmm_em_result *res) {
  double t;
  return tgmm_em_fit_timed(x, n, comm, o, g, res, &t);
}

int tgmm_em_fit_timed(const double *x, int64_t n, MPI_Comm comm, const tgmm_em_opts *o,
                      tgmm_gmm *g, tgmm_em_result *res, double *fastest_iter_s) {
  memset(res, 0, sizeof *res);
  res->loglik = NAN;
  int64_t N = global_n(n, comm);
  em_ws w;
  TGMM_TRY(ws_init(&w, x, n, g->d, g->K, g->type, g->type));
  int rc = TGMM_OK;
  double prev = -INFINITY;
  *fastest_iter_s = INFINITY;
  for (int it = 1; it <= o->max_iter; it++) {
    double t_it = tgmm_now();
    rc = ws_prepare(&w, g);
    if (rc != TGMM_OK) break;
    if (g->type == TGMM_COV_FULL) memcpy(w.ref, g->means, sizeof(double) * (size_t)g->K * g->d);
    em_pass(&w, 0, comm);
    double ll = w.stats[0] / (double)N;
    if (!isfinite(ll)) {
      rc = TGMM_ENUM;
      break;
    }
    rc = em_mstep(&w, o, g);
    if (rc != TGMM_OK) break;
    res->iterations = it;
    t_it = tgmm_now() - t_it;
    if (t_it < *fastest_iter_s) *fastest_iter_s = t_it;
    if (fabs(ll - prev) < o->tol) {
      res->converged = 1;
      break;
    }
    prev = ll;
  }
  if (rc == TGMM_OK) rc = ws_prepare(&w, g);
  if (rc == TGMM_OK) {
    em_pass(&w, 1, comm);
    res->loglik = w.stats[0] / (double)N;
    if (!isfinite(res->loglik)) rc = TGMM_ENUM;
  }
  ws_free(&w);
  return rc;
}

double tgmm_gmm_loglik(const double *x, int64_t n, MPI_Comm comm, const tgmm_gmm *g) {
  int64_t N = global_n(n, comm);
  em_ws w;
  if (ws_init(&w, x, n, g->d, g->K, g->type, TGMM_COV_IDENTITY) != TGMM_OK) return NAN;
  double ll = NAN;
  int rc = ws_prepare(&w, g);
  int bad = rc != TGMM_OK;
  MPI_Allreduce(MPI_IN_PLACE, &bad, 1, MPI_INT, MPI_MAX, comm);
  if (!bad) {
    em_pass(&w, 1, comm);
    ll = w.stats[0] / (double)N;
  }
  ws_free(&w);
  return ll;
}

int tgmm_gmm_posterior(const double *x, int64_t n, const tgmm_gmm *g, int32_t *labels,
                       double *resp, int resp_stride) {
  em_ws w;
  TGMM_TRY(ws_init(&w, x, n, g->d, g->K, g->type, TGMM_COV_IDENTITY));
  int rc = ws_prepare(&w, g);
  for (int64_t i0 = 0; rc == TGMM_OK && i0 < n; i0 += EM_BLOCK) {
    int B = (int)(n - i0 < EM_BLOCK ? n - i0 : EM_BLOCK);
    block_logprob(&w, i0, B, 0);
    for (int b = 0; b < B; b++) {
      const double *l = w.lp + b; /* log w_k + log N(x | k) up to a constant of the row */
      int best = 0;
      for (int k = 1; k < g->K; k++)
        if (l[(size_t)k * B] > l[(size_t)best * B]) best = k;
      if (labels) labels[i0 + b] = best;
      if (!resp) continue;
      double *r = resp + (size_t)(i0 + b) * resp_stride, sum = 0;
      for (int k = 0; k < g->K; k++) sum += r[k] = exp(l[(size_t)k * B] - l[(size_t)best * B]);
      for (int k = 0; k < g->K; k++) r[k] /= sum;
      for (int k = g->K; k < resp_stride; k++) r[k] = 0;
    }
  }
  ws_free(&w);
  return rc;
}

int tgmm_gmm_labels(const double *x, int64_t n, const tgmm_gmm *g, int32_t *labels) {
  return tgmm_gmm_posterior(x, n, g, labels, NULL, 0);
}

void tgmm_init_random(tgmm_gmm *g, uint32_t seed, int64_t task_id, int restart) {
  tgmm_rng r;
  tgmm_rng_init(&r, seed, TGMM_STREAM_EM, (uint64_t)task_id, (uint32_t)restart);
  for (size_t i = 0; i < (size_t)g->K * g->d; i++) g->means[i] = tgmm_rng_normal(&r);
  for (int k = 0; k < g->K; k++) g->weights[k] = 1.0 / g->K;
  if (g->cov) tgmm_gmm_unit_cov(g);
}

int tgmm_init_from_means(const double *x, int64_t n, MPI_Comm comm, const tgmm_em_opts *o,
                         const double *means, tgmm_gmm *g) {
  int K = g->K, d = g->d;
  tgmm_gmm nearest;
  TGMM_TRY(tgmm_gmm_alloc(&nearest, K, d, TGMM_COV_IDENTITY));
  memcpy(nearest.means, means, sizeof(double) * (size_t)K * d);
  for (int k = 0; k < K; k++) nearest.weights[k] = 1.0 / K;
  em_ws w;
  int rc = ws_init(&w, x, n, d, K, TGMM_COV_IDENTITY, g->type);
  if (rc == TGMM_OK) {
    w.hard = 1;
    rc = ws_prepare(&w, &nearest);
    memcpy(w.ref, means, sizeof(double) * (size_t)K * d);
    if (rc == TGMM_OK) {
      em_pass(&w, 0, comm);
      rc = em_mstep(&w, o, g);
      /* an empty cluster keeps its mean and a unit covariance, with a tiny weight */
      const double *Nk = w.stats + 1;
      for (int k = 0; k < K && rc == TGMM_OK; k++) {
        if (Nk[k] > 0) continue;
        memcpy(g->means + (size_t)k * d, means + (size_t)k * d, sizeof(double) * d);
        if (g->type == TGMM_COV_SPHERICAL) g->cov[k] = 1.0;
        if (g->type == TGMM_COV_DIAG)
          for (int j = 0; j < d; j++) g->cov[(size_t)k * d + j] = 1.0;
        if (g->type == TGMM_COV_FULL)
          for (int i = 0; i < d * d; i++) g->cov[(size_t)k * d * d + i] = (i % (d + 1) == 0);
      }
    }
    ws_free(&w);
  }
  tgmm_gmm_free(&nearest);
  return rc;
}
