/* nn_ssm.h — the layers of the Mamba2 backbone as forward/backward pairs on plain float arrays
 * (src/nn/nn_ssm.c): RMSNorm, gated RMSNorm, SiLU, softplus with a bias, the causal depthwise
 * convolution and the selective scan.
 *
 * Conventions as in nn.h: row-major, tokens of several tasks PACKED (task i owns rows
 * off[i] .. off[i+1]-1); parameter gradients ACCUMULATE (+=); input gradients are OVERWRITTEN
 * except nn_rmsnorm_bwd's, which ACCUMULATES (it feeds the residual stream). Some arrays are
 * column blocks of a wider array: their row stride (ld*) is passed beside them. Results do not
 * depend on the pool's thread count except, in a non-fixed pool, for the order of the per-block
 * sums of the norms' weight gradients (as nn_layernorm_bwd). */
#ifndef TGMM_NN_SSM_H
#define TGMM_NN_SSM_H

#include <stddef.h>

#include "tgmm/nn.h"

/* RMSNorm, weight only, eps 1e-5: out[M,C] = in[M,C] * rstd * w[C], rstd[M] = 1/sqrt(mean(in^2)
 * + eps) (saved). */
void nn_rmsnorm_fwd(nn_par *pool, float *out, float *rstd, const float *in, const float *w, int M,
                    int C);
/* din[M,C] += dL/din; dw[C] +=. */
void nn_rmsnorm_bwd(nn_par *pool, float *din, float *dw, const float *dout, const float *in,
                    const float *w, const float *rstd, int M, int C);

/* Gated RMSNorm over the whole width I: u = y * silu(z), out[M,I] = u * rstd * w[I], rstd[M]
 * (saved) = 1/sqrt(mean(u^2) + 1e-5). y[M,I]; z: the first I columns of rows of stride ldz. */
void nn_gated_rmsnorm_fwd(nn_par *pool, float *out, float *rstd, const float *y, const float *z,
                          int ldz, const float *w, int M, int I);
/* dy[M,I] = (overwritten); dz: the first I columns of rows of stride lddz (overwritten);
 * dw[I] +=. */
void nn_gated_rmsnorm_bwd(nn_par *pool, float *dy, float *dz, int lddz, float *dw,
                          const float *dout, const float *y, const float *z, int ldz,
                          const float *w, const float *rstd, int M, int I);

/* SiLU: out[n] = in[n] * sigmoid(in[n]). */
void nn_silu_fwd(nn_par *pool, float *out, const float *in, size_t n);
/* din[n] = dout[n] * silu'(in[n]); din may alias dout. */
void nn_silu_bwd(nn_par *pool, float *din, const float *dout, const float *in, size_t n);

/* out[M,H] = softplus(in[m,h] + bias[h]) (PyTorch's: linear above 20); in: rows of stride ld. */
void nn_softplus_bias_fwd(float *out, const float *in, int ld, const float *bias, int M, int H);
/* din: rows of stride lddin, H columns (overwritten) = dout[M,H] * sigmoid(in + bias);
 * dbias[H] += the column sums. */
void nn_softplus_bias_bwd(float *din, int lddin, float *dbias, const float *dout,
                          const float *in, int ld, const float *bias, int M, int H);

/* Causal depthwise convolution per task (PyTorch Conv1d(groups = channels, padding k-1), the
 * first T outputs): out[t,c] = b[c] + sum_j w[c,j] in[t-k+1+j, c], with rows before the task's
 * first token taken as 0. in: rows of stride ldin, Cc columns; out[T,Cc]; w[Cc,k]; b[Cc]. */
void nn_conv_fwd(nn_par *pool, float *out, const float *in, int ldin, const float *w,
                 const float *b, const int *off /* [ntask+1] */, int ntask, int Cc, int k);
/* din: rows of stride lddin, Cc columns (overwritten); dw[Cc,k] +=; db[Cc] +=. */
void nn_conv_bwd(nn_par *pool, float *din, int lddin, float *dw, float *db, const float *dout,
                 const float *in, int ldin, const float *w, const int *off, int ntask, int Cc,
                 int k);

/* The selective scan of H heads of width P, state N, G groups (head h uses group h / (H/G)).
 * xbc[T, H*P + 2*G*N] holds x (head h: columns h*P ..), B (group g: H*P + g*N ..) and C
 * (H*P + G*N + g*N ..); dt[T,H] (> 0); A = -exp(A_log[H]). Per task, from a zero state:
 *   S_t = exp(dt_t A_h) S_{t-1} + dt_t x_t B_t^T  (P x N),   y_t = S_t C_t + D[h] x_t,
 * y[T, H*P]. (task, group) pairs are spread over the pool. */
void nn_scan_fwd(nn_par *pool, float *y, const float *xbc, const float *dt, const float *A_log,
                 const float *D, const int *off, int ntask, int H, int P, int N, int G);
/* Floats of scratch nn_scan_bwd needs: per thread the states of the longest task (nmax tokens),
 * and per (task, head) two partial sums. */
size_t nn_scan_scratch(const nn_par *pool, int nmax, int ntask, int H, int P, int N);
/* dxbc[T, H*P + 2GN] and ddt[T,H] = (overwritten); dA_log[H] +=, dD[H] +=. */
void nn_scan_bwd(nn_par *pool, float *dxbc, float *ddt, float *dA_log, float *dD, float *scratch,
                 const float *dy, const float *xbc, const float *dt, const float *A_log,
                 const float *D, const int *off, int ntask, int nmax, int H, int P, int N, int G);

#endif
