/* gmm.h — the parameters of a Gaussian mixture (src/baselines/gmm.c): what EM, its
 * starts and the other baselines fit (baseline.c), that eval and training's held-out evaluation
 * score. Its log-likelihood and labels need EM's E-step: em.h. Local. */
#ifndef TGMM_GMM_H
#define TGMM_GMM_H

#include "tgmm/config.h"

/* Parameters of a K-component mixture in dimension d. Covariance storage by type:
 * identity: cov NULL; spherical: cov [K] variances; diag: cov [K, d] variances;
 * full: cov [K, d, d] covariance matrices (row-major). */
typedef struct {
  int K, d;
  tgmm_covariance type;
  double *weights; /* [K] */
  double *means;   /* [K, d] */
  double *cov;     /* see above */
} tgmm_gmm;

int tgmm_gmm_alloc(tgmm_gmm *g, int K, int d, tgmm_covariance type);
void tgmm_gmm_free(tgmm_gmm *g);
void tgmm_gmm_copy(tgmm_gmm *dst, const tgmm_gmm *src); /* same K, d, type */
/* Per-component standard deviations: sqrt of the diagonal of each covariance (1 for identity). */
void tgmm_gmm_scales(const tgmm_gmm *g, double *scales /* [K, d] */);
/* Unit covariances (identity matrices / variances 1). */
void tgmm_gmm_unit_cov(tgmm_gmm *g);

#endif
