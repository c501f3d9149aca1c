/* metrics.h — Hungarian assignment and the evaluation metrics: alignment of estimated to true
 * components, l2 errors of means and weights, accuracy and misclustering from a confusion matrix.
 * Pure functions (no MPI, no files, no other module): callers that split a task over ranks sum
 * the confusion matrix themselves. One place scores a fit with them: tgmm_fit_metrics
 * (include/tgmm/baseline.h), used by `tgmm eval`, the baseline commands and training's held-out
 * evaluation. The log-likelihood of a fitted mixture lives with the mixture type
 * (tgmm_gmm_loglik, include/tgmm/em.h), which knows every covariance model.
 *
 * Alignment: estimated components are matched to the true ones by the Hungarian algorithm on
 * squared distances of means; perm[k] = the estimated component matched to true component k.
 * (The authors' code applies the inverse permutation; this module does not.) */
#ifndef TGMM_METRICS_H
#define TGMM_METRICS_H

#include <stdint.h>

/* Minimum-cost assignment, O(n^3): row i gets column assign[i]. Returns the total cost. */
double tgmm_hungarian(const double *cost /* [n, n] row-major */, int n, int *assign /* [n] */);

/* perm[k] = estimated component aligned to true component k (squared-distance Hungarian). */
void tgmm_align(const double *est_means /* [K, d] */, const double *true_means /* [K, d] */, int K,
                int d, int *perm /* [K] */);

/* Mean over k and coordinates of (est[perm[k]] - true[k])^2. */
double tgmm_l2_means(const double *est_means /* [K, d] */, const double *true_means /* [K, d] */,
                     const int *perm /* [K] */, int K, int d);
/* Mean over k of (west[perm[k]] - wtrue[k])^2. */
double tgmm_l2_weights(const double *est_w /* [K] */, const double *true_w /* [K] */,
                       const int *perm /* [K] */, int K);

/* Alignment and l2 errors of an estimate against the truth in one call: perm as tgmm_align,
 * *l2_weights NaN when true_w is NULL. */
void tgmm_score_means(const double *est_w /* [K] */, const double *est_means /* [K, d] */,
                      const double *true_w /* [K] or NULL */, const double *true_means /* [K, d] */,
                      int K, int d, int *perm /* [K] out */, double *l2_means, double *l2_weights);

/* conf[z, label] += 1 for every sample whose true component z and label are both in 0..K-1.
 * A task split over ranks: each rank adds its samples, the caller sums conf over the ranks. */
void tgmm_confusion_add(const int32_t *z /* [n] */, const int32_t *labels /* [n] */, int64_t n,
                        int K, double *conf /* [K, K] row = true component */);

/* Scores from a (summed) confusion matrix: accuracy = share of samples whose label is the
 * estimated component aligned to their true one (perm from the means; NULL: accuracy NaN);
 * misclustering (He et al.) = 1 - max over label permutations of the share of agreement, exact
 * by the Hungarian algorithm. Both NaN for an empty matrix. TGMM_ENOMEM on allocation failure. */
int tgmm_score_labels(const double *conf /* [K, K] */, int K, const int *perm /* [K] or NULL */,
                      double *accuracy, double *misclustering);

/* The same from label arrays (one task on one process). */
double tgmm_accuracy(const int32_t *labels /* [N] */, const int32_t *z /* [N] */, int64_t N,
                     const int *perm /* [K] */, int K);
double tgmm_misclustering(const int32_t *labels /* [N] */, const int32_t *z /* [N] */, int64_t N,
                          int K);

#endif
