/* metrics.c — Hungarian assignment (shortest augmenting paths with potentials, O(n^3)) and the
 * evaluation metrics (include/tgmm/metrics.h). Pure: no MPI, no files. */
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

void tgmm_score_means(const double *est_w, const double *est_means, const double *true_w,
                      const double *true_means, int K, int d, int *perm, double *l2_means,
                      double *l2_weights) {
  tgmm_align(est_means, true_means, K, d, perm);
  *l2_means = tgmm_l2_means(est_means, true_means, perm, K, d);
  *l2_weights = true_w ? tgmm_l2_weights(est_w, true_w, perm, K) : NAN;
}

void tgmm_confusion_add(const int32_t *z, const int32_t *labels, int64_t n, int K, double *conf) {
  for (int64_t i = 0; i < n; i++)
    if (z[i] >= 0 && z[i] < K && labels[i] >= 0 && labels[i] < K) conf[(size_t)z[i] * K + labels[i]] += 1;
}

int tgmm_score_labels(const double *conf, int K, const int *perm, double *accuracy,
                      double *misclustering) {
  double N = 0, hit = 0;
  for (int a = 0; a < K * K; a++) N += conf[a];
  *accuracy = *misclustering = NAN;
  if (N <= 0 || K <= 0) return TGMM_OK;
  if (perm)
    for (int k = 0; k < K; k++) hit += conf[(size_t)k * K + perm[k]];
  double *cost = tgmm_malloc(sizeof(double) * (size_t)K * (size_t)K);
  int *assign = tgmm_malloc(sizeof(int) * (size_t)K);
  if (!cost || !assign) {
    free(cost), free(assign);
    return TGMM_ENOMEM;
  }
  for (int a = 0; a < K * K; a++) cost[a] = -conf[a];
  double agree = -tgmm_hungarian(cost, K, assign);
  free(cost), free(assign);
  if (perm) *accuracy = hit / N;
  *misclustering = 1.0 - agree / N;
  return TGMM_OK;
}

/* The label-array forms: one confusion matrix, then the scores above. */
static double from_labels(const int32_t *labels, const int32_t *z, int64_t N, int K,
                          const int *perm, int want_accuracy) {
  double *conf = tgmm_calloc((size_t)K * (size_t)K + 1, sizeof(double));
  if (!conf) return NAN;
  tgmm_confusion_add(z, labels, N, K, conf);
  double acc, mis;
  int rc = tgmm_score_labels(conf, K, perm, &acc, &mis);
  free(conf);
  if (rc != TGMM_OK) return NAN;
  return want_accuracy ? acc : mis;
}

double tgmm_accuracy(const int32_t *labels /* [N] */, const int32_t *z /* [N] */, int64_t N,
                     const int *perm /* [K] */, int K) {
  if (N <= 0) return 1.0;
  return from_labels(labels, z, N, K, perm, 1);
}

double tgmm_misclustering(const int32_t *labels /* [N] */, const int32_t *z /* [N] */, int64_t N,
                          int K) {
  if (N <= 0 || K <= 0) return 0.0;
  return from_labels(labels, z, N, K, NULL, 0);
}
