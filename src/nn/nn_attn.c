/* nn_attn.c — multi-head self-attention over packed ragged tasks (see include/tgmm/nn.h).
 *
 * Work is split into (task, head) pairs; each pair runs small single-threaded GEMMs on strided
 * views of qkv; the pairs are spread over the thread pool (nn_par.c). Causal attention is computed in row
 * blocks of RB rows so that the masked upper triangle is (mostly) skipped. */
#define _GNU_SOURCE
#include <cblas.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "tgmm/nn.h"

#define RB 32 /* causal row-block size */


typedef struct {
  float *out, *dqkv;
  const float *att, *qkv, *dout;
  float *att_w; /* forward: probabilities written here */
  const int *off;
  const size_t *att_off; /* [ntask] start of task i's H*N_i^2 block */
  int ntask, C, H, causal, nmax;
  int backward;
  float *scratch; /* backward: [threads, nmax, nmax] */
} attn_job;

size_t nn_attention_size(const int *off, int ntask, int H) {
  size_t s = 0;
  for (int i = 0; i < ntask; i++) {
    size_t n = (size_t)(off[i + 1] - off[i]);
    s += (size_t)H * n * n;
  }
  return s;
}

static void softmax_rows(float *P, int r0, int r1, int cend, int N, int causal) {
  for (int i = r0; i < r1; i++) {
    float *p = P + (size_t)i * N;
    int nv = causal ? i + 1 : N;
    float mx = p[0];
    for (int j = 1; j < nv; j++) mx = p[j] > mx ? p[j] : mx;
    float s = 0.0f;
    for (int j = 0; j < nv; j++) {
      p[j] = expf(p[j] - mx);
      s += p[j];
    }
    float inv = 1.0f / s;
    for (int j = 0; j < nv; j++) p[j] *= inv;
    for (int j = nv; j < N; j++) p[j] = 0.0f;
    (void)cend;
  }
}

/* One (task, head): S = scale Q K^T, P = softmax(S) (masked), O = P V. */
static void attn_fwd_pair(const attn_job *j, int task, int h) {
  int C = j->C, C3 = 3 * C, hs = C / j->H, o = j->off[task], N = j->off[task + 1] - o;
  if (N <= 0) return;
  const float *Q = j->qkv + (size_t)o * C3 + (size_t)h * hs, *K = Q + C, *V = Q + 2 * C;
  float *P = j->att_w + j->att_off[task] + (size_t)h * N * N;
  float *O = j->out + (size_t)o * C + (size_t)h * hs;
  float scale = 1.0f / sqrtf((float)hs);
  int rb = j->causal ? RB : N;
  for (int r0 = 0; r0 < N; r0 += rb) {
    int r1 = r0 + rb < N ? r0 + rb : N, ce = j->causal ? r1 : N;
    cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, r1 - r0, ce, hs, scale,
                Q + (size_t)r0 * C3, C3, K, C3, 0.0f, P + (size_t)r0 * N, N);
    softmax_rows(P, r0, r1, ce, N, j->causal);
    cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, r1 - r0, hs, ce, 1.0f,
                P + (size_t)r0 * N, N, V, C3, 0.0f, O + (size_t)r0 * C, C);
  }
}

/* dS = P * (dP - rowsum(P * dP)) in place of dP, rows r0..r1-1, columns 0..ce-1. */
static void softmax_bwd_rows(float *dP, const float *P, int r0, int r1, int ce, int N) {
  for (int i = r0; i < r1; i++) {
    const float *p = P + (size_t)i * N;
    float *g = dP + (size_t)i * N;
    float dot = 0.0f;
    for (int c = 0; c < ce; c++) dot += p[c] * g[c];
    for (int c = 0; c < ce; c++) g[c] = p[c] * (g[c] - dot);
  }
}

static void attn_bwd_pair(const attn_job *j, int task, int h, float *dS) {
  int C = j->C, C3 = 3 * C, hs = C / j->H, o = j->off[task], N = j->off[task + 1] - o;
  if (N <= 0) return;
  const float *Q = j->qkv + (size_t)o * C3 + (size_t)h * hs, *K = Q + C, *V = Q + 2 * C;
  const float *P = j->att + j->att_off[task] + (size_t)h * N * N;
  const float *dO = j->dout + (size_t)o * C + (size_t)h * hs;
  float *dQ = j->dqkv + (size_t)o * C3 + (size_t)h * hs, *dK = dQ + C, *dV = dQ + 2 * C;
  float scale = 1.0f / sqrtf((float)hs);
  int rb = j->causal ? RB : N;
  for (int r0 = 0; r0 < N; r0 += rb) { /* dS rows and dQ */
    int r1 = r0 + rb < N ? r0 + rb : N, ce = j->causal ? r1 : N;
    cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, r1 - r0, ce, hs, 1.0f,
                dO + (size_t)r0 * C, C, V, C3, 0.0f, dS + (size_t)r0 * N, N);
    softmax_bwd_rows(dS, P, r0, r1, ce, N);
    cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, r1 - r0, hs, ce, scale,
                dS + (size_t)r0 * N, N, K, C3, 0.0f, dQ + (size_t)r0 * C3, C3);
  }
  for (int c0 = 0; c0 < N; c0 += rb) { /* dK, dV by column blocks: rows i >= c0 only */
    int c1 = c0 + rb < N ? c0 + rb : N, i0 = j->causal ? c0 : 0;
    cblas_sgemm(CblasRowMajor, CblasTrans, CblasNoTrans, c1 - c0, hs, N - i0, 1.0f,
                P + (size_t)i0 * N + c0, N, dO + (size_t)i0 * C, C, 0.0f, dV + (size_t)c0 * C3, C3);
    cblas_sgemm(CblasRowMajor, CblasTrans, CblasNoTrans, c1 - c0, hs, N - i0, scale,
                dS + (size_t)i0 * N + c0, N, Q + (size_t)i0 * C3, C3, 0.0f, dK + (size_t)c0 * C3,
                C3);
  }
}

static void attn_item(void *arg, int p, int tid) {
  attn_job *j = arg;
  int task = p / j->H, h = p % j->H;
  if (j->backward)
    attn_bwd_pair(j, task, h, j->scratch + (size_t)tid * (size_t)j->nmax * (size_t)j->nmax);
  else
    attn_fwd_pair(j, task, h);
}

static void run_job(nn_par *pool, attn_job *j) {
  size_t *ao = malloc(sizeof(size_t) * (size_t)(j->ntask + 1));
  if (!ao) abort();
  j->nmax = 1;
  ao[0] = 0;
  for (int i = 0; i < j->ntask; i++) {
    int n = j->off[i + 1] - j->off[i];
    ao[i + 1] = ao[i] + (size_t)j->H * (size_t)n * (size_t)n;
    if (n > j->nmax) j->nmax = n;
  }
  j->att_off = ao;
  if (j->backward) {
    j->scratch = malloc(sizeof(float) * (size_t)nn_par_threads(pool) * (size_t)j->nmax *
                        (size_t)j->nmax);
    if (!j->scratch) abort(); /* a few hundred kB; nothing sensible to do without it */
  }
  nn_par_run(pool, attn_item, j, j->ntask * j->H);
  free(j->scratch);
  free(ao);
}

void nn_attention_fwd(nn_par *pool, float *out, float *att, const float *qkv, const int *off,
                      int ntask, int C, int H, int causal) {
  attn_job j = {.out = out, .att_w = att, .qkv = qkv, .off = off, .ntask = ntask, .C = C, .H = H,
                .causal = causal};
  run_job(pool, &j);
}

void nn_attention_bwd(nn_par *pool, float *dqkv, const float *dout, const float *qkv,
                      const float *att, const int *off, int ntask, int C, int H, int causal) {
  attn_job j = {.dqkv = dqkv, .dout = dout, .att = att, .qkv = qkv, .off = off, .ntask = ntask,
                .C = C, .H = H, .causal = causal, .backward = 1};
  run_job(pool, &j);
}
