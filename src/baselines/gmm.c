/* gmm.c — the parameters of a Gaussian mixture (tgmm_gmm, include/tgmm/gmm.h): allocation,
 * copy, unit covariances, per-component standard deviations. Local. */
#include "tgmm/gmm.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "tgmm/common.h"

static size_t cov_len(tgmm_covariance t, int K, int d) {
  switch (t) {
  case TGMM_COV_SPHERICAL: return (size_t)K;
  case TGMM_COV_DIAG: return (size_t)K * (size_t)d;
  case TGMM_COV_FULL: return (size_t)K * (size_t)d * (size_t)d;
  default: return 0;
  }
}

int tgmm_gmm_alloc(tgmm_gmm *g, int K, int d, tgmm_covariance type) {
  memset(g, 0, sizeof *g);
  g->K = K, g->d = d, g->type = type;
  g->weights = tgmm_calloc((size_t)K, sizeof(double));
  g->means = tgmm_calloc((size_t)K * (size_t)d, sizeof(double));
  size_t c = cov_len(type, K, d);
  if (c) g->cov = tgmm_calloc(c, sizeof(double));
  if (!g->weights || !g->means || (c && !g->cov)) {
    tgmm_gmm_free(g);
    return TGMM_ENOMEM;
  }
  tgmm_gmm_unit_cov(g);
  return TGMM_OK;
}

void tgmm_gmm_free(tgmm_gmm *g) {
  free(g->weights), free(g->means), free(g->cov);
  g->weights = g->means = g->cov = NULL;
}

void tgmm_gmm_copy(tgmm_gmm *dst, const tgmm_gmm *src) {
  memcpy(dst->weights, src->weights, sizeof(double) * (size_t)src->K);
  memcpy(dst->means, src->means, sizeof(double) * (size_t)src->K * (size_t)src->d);
  size_t c = cov_len(src->type, src->K, src->d);
  if (c) memcpy(dst->cov, src->cov, sizeof(double) * c);
}

void tgmm_gmm_unit_cov(tgmm_gmm *g) {
  size_t c = cov_len(g->type, g->K, g->d);
  if (g->type == TGMM_COV_FULL) {
    memset(g->cov, 0, sizeof(double) * c);
    for (int k = 0; k < g->K; k++)
      for (int j = 0; j < g->d; j++) g->cov[((size_t)k * g->d + j) * g->d + j] = 1.0;
  } else {
    for (size_t i = 0; i < c; i++) g->cov[i] = 1.0;
  }
}

void tgmm_gmm_scales(const tgmm_gmm *g, double *scales) {
  int K = g->K, d = g->d;
  for (int k = 0; k < K; k++)
    for (int j = 0; j < d; j++) {
      double v = 1.0;
      if (g->type == TGMM_COV_SPHERICAL) v = g->cov[k];
      else if (g->type == TGMM_COV_DIAG) v = g->cov[(size_t)k * d + j];
      else if (g->type == TGMM_COV_FULL) v = g->cov[((size_t)k * d + j) * d + j];
      scales[(size_t)k * d + j] = sqrt(v);
    }
}
