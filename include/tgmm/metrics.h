/* metrics.h — Hungarian assignment and the evaluation metrics of ../shared/PAPER.md.
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

/* Mean log-likelihood (1/N) sum_n log sum_k w_k N(x_n; mu_k, diag(s_k^2)); scales NULL means
 * identity covariance. Log-sum-exp, stable for far-away samples. */
double tgmm_loglik(const double *x /* [N, d] */, int64_t N, int d, const double *w /* [K] */,
                   const double *means /* [K, d] */, const double *scales /* [K, d] or NULL */, int K);

/* Label of each sample: argmax_k of the responsibility under (w, means, scales). */
void tgmm_assign_labels(const double *x /* [N, d] */, int64_t N, int d, const double *w /* [K] */,
                        const double *means /* [K, d] */, const double *scales /* [K,d] or NULL */,
                        int K, int32_t *labels /* [N] */);

/* Share of samples with perm[true z] == predicted label (alignment from the means). */
double tgmm_accuracy(const int32_t *labels /* [N] */, const int32_t *z /* [N] */, int64_t N,
                     const int *perm /* [K] */);

/* Misclustering rate (He et al.): 1 - max over label permutations of the share of agreement,
 * computed exactly with the Hungarian algorithm on the K x K confusion matrix. */
double tgmm_misclustering(const int32_t *labels /* [N] */, const int32_t *z /* [N] */, int64_t N,
                          int K);

#endif
