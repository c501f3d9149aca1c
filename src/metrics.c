/* metrics.c — Hungarian assignment (shortest augmenting paths with potentials, O(n^3)) and the
 * evaluation metrics of ../shared/PAPER.md. */
#include "tgmm/metrics.h"

#include <math.h>
#include <stdlib.h>

#include "tgmm/common.h"

/* Work arrays of the Hungarian method, 1-based (index 0 is the virtual start). */
typedef struct {
  double *u, *v, *minv; /* [n+1] row potentials, column potentials, slack */
  int *p, *way;         /* [n+1] row matched to column j, predecessor column */
  char *used;           /* [n+1] */
} hung_work;

static void hung_free(hung_work *w) {
  free(w->u);
  free(w->v);
  free(w->minv);
  free(w->p);
  free(w->way);
  free(w->used);
}

static int hung_alloc(hung_work *w, int n) {
  size_t m = (size_t)n + 1;
  w->u = tgmm_calloc(m, sizeof(double));
  w->v = tgmm_calloc(m, sizeof(double));
  w->minv = tgmm_calloc(m, sizeof(double));
  w->p = tgmm_calloc(m, sizeof(int));
  w->way = tgmm_calloc(m, sizeof(int));
  w->used = tgmm_calloc(m, 1);
  if (w->u && w->v && w->minv && w->p && w->way && w->used) return TGMM_OK;
  hung_free(w);
  return TGMM_ENOMEM;
}

/* Add row i: Dijkstra-like search for the shortest augmenting path, then augment. */
static void hung_add_row(hung_work *w, const double *cost /* [n, n] */, int n, int i) {
  w->p[0] = i;
  int j0 = 0;
  for (int j = 0; j <= n; j++) {
    w->minv[j] = INFINITY;
    w->used[j] = 0;
  }
  do {
    w->used[j0] = 1;
    int i0 = w->p[j0], j1 = 0;
    double delta = INFINITY;
    for (int j = 1; j <= n; j++) {
      if (w->used[j]) continue;
      double cur = cost[(size_t)(i0 - 1) * (size_t)n + (size_t)(j - 1)] - w->u[i0] - w->v[j];
      if (cur < w->minv[j]) {
        w->minv[j] = cur;
        w->way[j] = j0;
      }
      if (j1 == 0 || w->minv[j] < delta) { /* j1 == 0: progress even with infinite costs */
        delta = w->minv[j];
        j1 = j;
      }
    }
    for (int j = 0; j <= n; j++) {
      if (w->used[j]) {
        w->u[w->p[j]] += delta;
        w->v[j] -= delta;
      } else {
        w->minv[j] -= delta;
      }
    }
    j0 = j1;
  } while (w->p[j0] != 0);
  do {
    int j1 = w->way[j0];
    w->p[j0] = w->p[j1];
    j0 = j1;
  } while (j0 != 0);
}

double tgmm_hungarian(const double *cost /* [n, n] row-major */, int n, int *assign /* [n] */) {
  if (n <= 0) return 0.0;
  hung_work w;
  if (hung_alloc(&w, n) != TGMM_OK) return NAN;
  for (int i = 1; i <= n; i++) hung_add_row(&w, cost, n, i);
  for (int j = 1; j <= n; j++) assign[w.p[j] - 1] = j - 1;
  double total = 0.0;
  for (int i = 0; i < n; i++) total += cost[(size_t)i * (size_t)n + (size_t)assign[i]];
  hung_free(&w);
  return total;
}

void tgmm_align(const double *est_means /* [K, d] */, const double *true_means /* [K, d] */, int K,
                int d, int *perm /* [K] */) {
  double *cost = tgmm_malloc(sizeof(double) * (size_t)K * (size_t)K);
  if (!cost) {
    for (int k = 0; k < K; k++) perm[k] = k;
    return;
  }
  /* row = true component k, column = estimated component j */
  for (int k = 0; k < K; k++) {
    for (int j = 0; j < K; j++) {
      double s = 0;
      for (int c = 0; c < d; c++) {
        double diff = est_means[j * d + c] - true_means[k * d + c];
        s += diff * diff;
      }
      cost[k * K + j] = s;
    }
  }
  tgmm_hungarian(cost, K, perm);
  free(cost);
}

double tgmm_l2_means(const double *est_means /* [K, d] */, const double *true_means /* [K, d] */,
                     const int *perm /* [K] */, int K, int d) {
  double s = 0;
  for (int k = 0; k < K; k++) {
    for (int c = 0; c < d; c++) {
      double diff = est_means[perm[k] * d + c] - true_means[k * d + c];
      s += diff * diff;
    }
  }
  return s / ((double)K * (double)d);
}

double tgmm_l2_weights(const double *est_w /* [K] */, const double *true_w /* [K] */,
                       const int *perm /* [K] */, int K) {
  double s = 0;
  for (int k = 0; k < K; k++) {
    double diff = est_w[perm[k]] - true_w[k];
    s += diff * diff;
  }
  return s / (double)K;
}

/* log(w_k) + log N(x; mu_k, diag(s_k^2)) for every k into lp [K]. */
static void log_joint(const double *x /* [d] */, int d, const double *w /* [K] */,
                      const double *means /* [K, d] */, const double *scales /* [K,d] or NULL */,
                      int K, double *lp /* [K] */) {
  const double half_log_2pi = 0.91893853320467274178032973640562;
  for (int k = 0; k < K; k++) {
    double q = 0, logdet = 0;
    for (int c = 0; c < d; c++) {
      double s = scales ? scales[k * d + c] : 1.0;
      double t = (x[c] - means[k * d + c]) / s;
      q += t * t;
      logdet += log(s);
    }
    double lw = w[k] > 0 ? log(w[k]) : -INFINITY;
    lp[k] = lw - d * half_log_2pi - logdet - 0.5 * q;
  }
}

static double logsumexp(const double *a /* [K] */, int K) {
  double m = -INFINITY;
  for (int k = 0; k < K; k++)
    if (a[k] > m) m = a[k];
  if (!isfinite(m)) return m;
  double s = 0;
  for (int k = 0; k < K; k++) s += exp(a[k] - m);
  return m + log(s);
}

double tgmm_loglik(const double *x /* [N, d] */, int64_t N, int d, const double *w /* [K] */,
                   const double *means /* [K, d] */, const double *scales /* [K, d] or NULL */, int K) {
  if (N <= 0) return 0.0;
  double *lp = tgmm_malloc(sizeof(double) * (size_t)K);
  if (!lp) return NAN;
  double total = 0;
  for (int64_t n = 0; n < N; n++) {
    log_joint(x + n * d, d, w, means, scales, K, lp);
    total += logsumexp(lp, K);
  }
  free(lp);
  return total / (double)N;
}

void tgmm_assign_labels(const double *x /* [N, d] */, int64_t N, int d, const double *w /* [K] */,
                        const double *means /* [K, d] */, const double *scales /* [K,d] or NULL */,
                        int K, int32_t *labels /* [N] */) {
  double *lp = tgmm_malloc(sizeof(double) * (size_t)K);
  for (int64_t n = 0; n < N; n++) {
    int best = 0;
    if (lp) {
      log_joint(x + n * d, d, w, means, scales, K, lp);
      for (int k = 1; k < K; k++)
        if (lp[k] > lp[best]) best = k;
    }
    labels[n] = best;
  }
  free(lp);
}

double tgmm_accuracy(const int32_t *labels /* [N] */, const int32_t *z /* [N] */, int64_t N,
                     const int *perm /* [K] */) {
  if (N <= 0) return 1.0;
  int64_t hit = 0;
  for (int64_t n = 0; n < N; n++) hit += labels[n] == perm[z[n]];
  return (double)hit / (double)N;
}

double tgmm_misclustering(const int32_t *labels /* [N] */, const int32_t *z /* [N] */, int64_t N,
                          int K) {
  if (N <= 0 || K <= 0) return 0.0;
  double *cost = tgmm_calloc((size_t)K * (size_t)K, sizeof(double));
  int *assign = tgmm_malloc(sizeof(int) * (size_t)K);
  if (!cost || !assign) {
    free(cost);
    free(assign);
    return NAN;
  }
  /* negative confusion counts: row = true label, column = predicted label */
  for (int64_t n = 0; n < N; n++)
    if (z[n] >= 0 && z[n] < K && labels[n] >= 0 && labels[n] < K) cost[z[n] * K + labels[n]] -= 1.0;
  double agree = -tgmm_hungarian(cost, K, assign);
  free(cost);
  free(assign);
  return 1.0 - agree / (double)N;
}
