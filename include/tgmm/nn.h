/* nn.h — the layers of the TGMM model as forward/backward function pairs on plain float arrays.
 *
 * Shapes are row-major and written beside every argument. Tokens of several tasks are PACKED:
 * task i owns rows off[i] .. off[i+1]-1 of every per-token array (no padding anywhere).
 * Backward conventions (chosen so that the model's backward pass needs no extra zeroing):
 *   - parameter gradients (dW, db, dw, dq, ...) are ACCUMULATED (+=);
 *   - nn_linear_bwd, nn_gelu_bwd, nn_attention_bwd and nn_pool_bwd OVERWRITE their input
 *     gradient (din / dqkv / dh rows of the task);
 *   - nn_layernorm_bwd ACCUMULATES into din (it feeds the residual stream).
 * Matrix products go to OpenBLAS (cblas_sgemm), but for inference's linear maps
 * (nn_linear_infer). */
#ifndef TGMM_NN_H
#define TGMM_NN_H

#include <stddef.h>

/* A persistent thread pool (src/nn/nn_par.c). NULL (or 1 thread) means serial everywhere.
 * Layers split their work over the pool's threads with single-threaded GEMMs inside;
 * the caller should run OpenBLAS with one thread while it uses a pool. */
typedef struct nn_par nn_par;
nn_par *nn_par_create(int nthreads); /* NULL when nthreads <= 1 (or on failure) */
/* A pool whose layers split their work into blocks of a FIXED size (rows, columns) instead of
 * one block per thread, so that every GEMM call, and hence every bit of the result, is the same
 * for any thread count (train.deterministic). Never NULL on success, even for 1 thread. */
nn_par *nn_par_create_fixed(int nthreads);
/* Number of blocks to cut n rows into: one per thread, or ceil(n / unit) for a fixed pool. */
int nn_par_blocks(const nn_par *p, size_t n, size_t unit);
void nn_par_free(nn_par *p);
int nn_par_threads(const nn_par *p);
/* fn(arg, item, thread) for item in 0..n-1; thread in 0..nn_par_threads(p)-1. */
void nn_par_run(nn_par *p, void (*fn)(void *arg, int item, int thread), void *arg, int n);

/* out[M,N] = in[M,K] W[N,K]^T + b[N] (b may be NULL). */
void nn_linear_fwd(nn_par *pool, float *out, const float *in, const float *W, const float *b, int M, int K, int N);
/* Inference's linear map (no backward follows): out[M,N] = act(in[M,K] W[N,K]^T + b[N] +
 * res[M,N]), act = GELU (nn_gelu_fwd's) when gelu != 0, else the identity; b, res may be NULL
 * (res may alias out, in may not). A register-blocked kernel with the bias, residual and GELU in
 * its epilogue (src/nn/nn_gemm.c), not OpenBLAS: nn_linear_fwd_add's sums in another order (float
 * rounding), the same bits for any M, row split and thread count. */
void nn_linear_infer(nn_par *pool, float *out, const float *in, const float *W, const float *b,
                     const float *res, int M, int K, int N, int gelu);
/* out[M,N] = in[M,K] W[N,K]^T + b[N] + res[M,N] (b, res may be NULL; res may alias out):
 * a linear map and the residual it feeds in one pass. */
void nn_linear_fwd_add(nn_par *pool, float *out, const float *in, const float *W, const float *b,
                       const float *res, int M, int K, int N);
/* din[M,K] = dout[M,N] W[N,K] (din may be NULL: not needed); dW[N,K] += dout^T in;
 * db[N] += column sums of dout (db may be NULL). */
void nn_linear_bwd(nn_par *pool, float *din, float *dW, float *db, const float *dout, const float *in,
                   const float *W, int M, int K, int N);

/* out[M,C] = (in - mean) * rstd * w[C] + b[C] per row; saves mean[M], rstd[M]. eps = 1e-5. */
void nn_layernorm_fwd(nn_par *pool, float *out, float *mean, float *rstd, const float *in, const float *w,
                      const float *b, int M, int C);
/* din[M,C] += ...; dw[C] += ...; db[C] += ... */
void nn_layernorm_bwd(nn_par *pool, float *din, float *dw, float *db, const float *dout, const float *in,
                      const float *w, const float *mean, const float *rstd, int M, int C);

/* GELU, tanh approximation (PyTorch approximate='tanh'): out[n] = gelu(in[n]). */
void nn_gelu_fwd(nn_par *pool, float *out, const float *in, size_t n);
/* din[n] = dout[n] * gelu'(in[n]); din may alias dout. */
void nn_gelu_bwd(nn_par *pool, float *din, const float *dout, const float *in, size_t n);

/* out[n] += a[n] (in-place residual). */
void nn_add_inplace(nn_par *pool, float *out, const float *a, size_t n);

/* Number of floats of the attention probabilities of a batch: sum_i H * N_i^2. */
size_t nn_attention_size(const int *off /* [ntask+1] */, int ntask, int H);
/* Multi-head self-attention per task and head. qkv[T,3C] holds q | k | v (head h: columns
 * h*hs .. h*hs+hs-1 of each third, hs = C/H); out[T,C]; att[sum_i H N_i^2] the softmax
 * probabilities (task i, head h: an N_i x N_i row-major block, masked entries 0; att may be
 * NULL in the forward: inference, the probabilities are not kept).
 * Scale 1/sqrt(hs). causal != 0: token n attends to tokens 0..n of its task only.
 * (task, head) pairs are spread over the pool's threads. */
void nn_attention_fwd(nn_par *pool, float *out, float *att, const float *qkv, const int *off, int ntask, int C,
                      int H, int causal);
/* nn_attention_fwd for inference (no probabilities kept, no backward follows): the same out[T,C]
 * from qkv[T,3C] in fewer passes (src/nn/nn_attn_infer.c: the softmax's division applied to the
 * outputs), so its sums differ by float rounding; the same bits for any thread count. */
void nn_attention_infer(nn_par *pool, float *out, const float *qkv, const int *off, int ntask,
                        int C, int H, int causal);
/* dqkv[T,3C] = gradient (overwritten); needs dout[T,C], qkv, att. */
void nn_attention_bwd(nn_par *pool, float *dqkv, const float *dout, const float *qkv, const float *att,
                      const int *off, int ntask, int C, int H, int causal);

/* Attentive pooling read-out of one task: k[N,W] = h[N,C] Wk[W,C]^T, v[N,W] = h Wv^T,
 * A[Q,N] = softmax over n of q[Q,W] k^T (no 1/sqrt scaling), O[Q,W] = A v. */
void nn_pool_fwd(float *O, float *A, float *k, float *v, const float *h, const float *q,
                 const float *Wk, const float *Wv, int N, int C, int Q, int W);
/* dh[N,C] = (overwritten); dq[Q,W] +=, dWk[W,C] +=, dWv[W,C] +=.
 * scratch: at least Q*N + 2*N*W floats. */
void nn_pool_bwd(float *dh, float *dq, float *dWk, float *dWv, float *scratch, const float *dO,
                 const float *h, const float *q, const float *Wk, const float *Wv, const float *k,
                 const float *v, const float *A, int N, int C, int Q, int W);

/* The GMM head and loss of one task from the pooled output O[Q,W] (Q = Kmax rows;
 * W = Kmax + d, or Kmax + 2d when sd != NULL: anisotropic):
 *   logits[k] = mean over the Q rows of O[:,k], k < K (components >= K masked);
 *   means[k,j] = O[k, Q+j]; scales[k,j] = softplus(O[k, Q+d+j]), k < K;
 *   loss = CE(logits, soft targets pi) + (1/K) sum_k mean_j (mean - mu)^2
 *          [+ (1/K) sum_k mean_j (scale - sd)^2].
 * Returns the loss; parts[0..2] (may be NULL) get CE, means term, scales term.
 * dO (may be NULL) [Q,W] is overwritten with g * dloss/dO. */
double nn_gmm_loss(float *dO, const float *O, int Q, int d, int K, const float *pi /* [K] */,
                   const float *mu /* [K,d] */, const float *sd /* [K,d] or NULL */, float g,
                   double parts[3]);
/* The mean negative log-likelihood per sample of one task's samples x[N,d] under the mixture
 * the head predicts from O[Q,W] (weights, means and, when aniso, scales as in nn_gmm_loss;
 * without scale columns every standard deviation is 1): -(1/N) sum_n log sum_{k<K} pi_k
 * prod_j N(x_nj; mean_kj, scale_kj^2) (train.loss = nll; Lee et al. 2019's objective). It does
 * not depend on the order of the components (no matching). dO (may be NULL) [Q,W] is overwritten
 * with g * d/dO. work: at least 3 K d doubles. K <= 64. */
double nn_gmm_nll(float *dO, const float *O, int Q, int d, int K, int aniso,
                  const float *x /* [N,d] */, int N, float g, double *work /* [3 K d] */);
/* Predicted weights[K] (softmax over k < K), means[K,d] and (aniso) scales[K,d] from O. */
void nn_gmm_predict(const float *O, int Q, int d, int K, int aniso, double *weights,
                    double *means, double *scales /* may be NULL */);

#endif
