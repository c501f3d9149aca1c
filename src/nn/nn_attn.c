/* nn_attn.c — multi-head self-attention over packed ragged tasks (see include/tgmm/nn.h).
 *
 * Work is split into (task, head) pairs spread over the thread pool (nn_par.c). The shapes are
 * small (a head is N x hs with N ~ 32..128 tokens and hs = C / H ~ 16..32 wide), far below what
 * a BLAS call amortises, so each pair runs fused register-blocked kernels on 16-float vectors
 * (nn_math.h; 8-float ones where the CPU has no AVX-512: RB_NARROW below) in one pass over the
 * head: S = scale Q K^T for RB rows at a time, the softmax of those rows while they are in
 * registers / L1, then their O = P V; the backward pass likewise
 * (dS rows and dQ, then dK and dV by column blocks). The pair's operands are gathered into
 * contiguous per-thread scratch (K^T, V, ...; one allocation per call, none per pair).
 * Causal attention skips the masked upper triangle in blocks of RB rows / 16 columns.
 * Every pair's arithmetic depends only on that pair (not on the thread split): the same bits
 * for any thread count. */
#define _GNU_SOURCE
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "nn_math.h"
#include "tgmm/nn.h"

/* Rows of a register block: RB = 8 where 32 vector registers hold 8 accumulators of 16 floats
 * (AVX-512); RB_NARROW = 6 elsewhere (AVX2's 16 registers: 12 accumulators of 8 floats, 2 of B,
 * 1 of A; 8 rows spill). The rows of a block share no arithmetic: the bits do not depend on it. */
#define RB 8
#ifndef RB_NARROW
#define RB_NARROW 6
#endif
#define VL 16 /* floats of a vector */

static int round16(int n) { return (n + VL - 1) / VL * VL; }

typedef struct {
  float *out, *dqkv;
  const float *att, *qkv, *dout;
  float *att_w; /* forward: probabilities written here (NULL: not kept) */
  const int *off;
  const size_t *att_off; /* [ntask] start of task i's H*N_i^2 block */
  int ntask, C, H, causal, nmax;
  int backward;
  int narrow; /* RB_NARROW rows per register block (no AVX-512) */
  float *scratch; /* [threads, per] */
  size_t per;     /* floats of scratch per thread */
} attn_job;

size_t nn_attention_size(const int *off, int ntask, int H) {
  size_t s = 0;
  for (int i = 0; i < ntask; i++) {
    size_t n = (size_t)(off[i + 1] - off[i]);
    s += (size_t)H * n * n;
  }
  return s;
}

/* The kernel of every product here: for the nr (<= rb) rows r of a block and the columns
 * c0 .. c0+15 of each 16-column block of [0, ncols):
 *   out[r * ldo + c] = alpha * sum over t in [tlo, thi) of A[r * rs + t * ts] * B[t * ldb + c],
 * stored for c < ocols only. B is contiguous with ldb >= ncols (a multiple of 16; padding 0).
 * Rows beyond nr repeat the last one (computed, not stored). rb (a constant at every call):
 * RB rows on 16-float vectors (AVX-512), or RB_NARROW rows on pairs of 8-float vectors (kern_v8:
 * GCC keeps an array of 16-float accumulators in memory where a register holds 8 floats). Each
 * output is the same sum in the same order either way. */
static inline __attribute__((always_inline)) void kern_store(float *o, const float *v, int nc) {
  if (nc == VL) {
    nn_v8_store(o, nn_v8_load(v));
    nn_v8_store(o + 8, nn_v8_load(v + 8));
  } else {
    for (int c = 0; c < nc; c++) o[c] = v[c];
  }
}

static inline __attribute__((always_inline)) void kern_v8(float *out, size_t ldo, int ocols,
                                                          const float *A, size_t rs, size_t ts,
                                                          int nr, int tlo, int thi,
                                                          const float *B, size_t ldb, int ncols,
                                                          float alpha, int rb) {
  const float *ar[RB];
  for (int r = 0; r < rb; r++) ar[r] = A + (size_t)(r < nr ? r : nr - 1) * rs;
  for (int c0 = 0; c0 < ncols; c0 += VL) {
    nn_v8 lo[RB], hi[RB];
    for (int r = 0; r < rb; r++) lo[r] = hi[r] = (nn_v8){0};
    for (int t = tlo; t < thi; t++) {
      const float *bp = B + (size_t)t * ldb + c0;
      nn_v8 b0 = *(const nn_v8u *)bp, b1 = *(const nn_v8u *)(bp + 8);
      for (int r = 0; r < rb; r++) {
        float a = ar[r][(size_t)t * ts];
        lo[r] += a * b0;
        hi[r] += a * b1;
      }
    }
    int nc = ocols - c0 < VL ? ocols - c0 : VL;
    for (int r = 0; r < nr; r++) {
      float v[VL];
      *(nn_v8u *)v = lo[r] * alpha;
      *(nn_v8u *)(v + 8) = hi[r] * alpha;
      kern_store(out + (size_t)r * ldo + c0, v, nc);
    }
  }
}

static inline __attribute__((always_inline)) void kern(float *out, size_t ldo, int ocols,
                                                       const float *A, size_t rs, size_t ts,
                                                       int nr, int tlo, int thi, const float *B,
                                                       size_t ldb, int ncols, float alpha, int rb) {
  if (rb != RB) {
    kern_v8(out, ldo, ocols, A, rs, ts, nr, tlo, thi, B, ldb, ncols, alpha, rb);
    return;
  }
  const float *ar[RB];
  for (int r = 0; r < RB; r++) ar[r] = A + (size_t)(r < nr ? r : nr - 1) * rs;
  for (int c0 = 0; c0 < ncols; c0 += VL) {
    nn_v16 acc[RB];
    for (int r = 0; r < RB; r++) acc[r] = (nn_v16){0};
    for (int t = tlo; t < thi; t++) {
      nn_v16 b = nn_v16_load(B + (size_t)t * ldb + c0);
      for (int r = 0; r < RB; r++) acc[r] += ar[r][(size_t)t * ts] * b;
    }
    int nc = ocols - c0 < VL ? ocols - c0 : VL;
    for (int r = 0; r < nr; r++) {
      nn_v16 v = acc[r] * alpha;
      float *o = out + (size_t)r * ldo + c0;
      if (nc == VL)
        nn_v16_store(o, v);
      else
        for (int c = 0; c < nc; c++) o[c] = v[c];
    }
  }
}

/* d[0 .. n) = s[0 .. n) by 8-float vectors (a 16-float vector copy goes through the stack on
 * AVX2; memcpy's call costs more than these short rows). */
static inline __attribute__((always_inline)) void copy_floats(float *d, const float *s, int n) {
  int c = 0;
  for (; c + 8 <= n; c += 8) nn_v8_store(d + c, nn_v8_load(s + c));
  for (; c < n; c++) d[c] = s[c];
}

/* dst[c * ld + j] = src[j * ls + c] (c < hs, j < n), zero for n <= j < ld. */
static inline __attribute__((always_inline)) void gather_t(float *dst, size_t ld, const float *src, size_t ls, int n, int hs) {
  for (int c = 0; c < hs; c++) {
    float *d = dst + (size_t)c * ld;
    for (int j = 0; j < n; j++) d[j] = src[(size_t)j * ls + c];
    for (size_t j = (size_t)n; j < ld; j++) d[j] = 0.0f;
  }
}

/* dst[j * ld + c] = src[j * ls + c] (j < n, c < hs), zero for hs <= c < ld. */
static inline __attribute__((always_inline)) void gather_rows(float *dst, size_t ld, const float *src, size_t ls, int n, int hs) {
  for (int j = 0; j < n; j++) {
    float *d = dst + (size_t)j * ld;
    const float *r = src + (size_t)j * ls;
    copy_floats(d, r, hs);
    for (size_t c = (size_t)hs; c < ld; c++) d[c] = 0.0f;
  }
}

/* P_softmax_row: row p[0 .. ncols) (ncols a multiple of 16): softmax over [0, nv), zero on
 * [nv, ncols); whole vectors, the entries beyond nv masked (whatever they hold).
 * P_softmax_bwd_row: g[0 .. ncols) = p * (g - sum_j p_j g_j) over the row's n valid entries
 * (p is read on [0, n) only), zero beyond. For both vector widths (nn_math.h). */
#define SOFTMAX_FUNCS(P, V, W)                                                               \
  NN_AI void P##_softmax_row(float *p, int nv, int ncols) {                                  \
    V m = P##_splat(-INFINITY), ninf = m;                                                    \
    for (int j = 0; j < ncols; j += W) {                                                     \
      V x = P##_load(p + j);                                                                 \
      m = P##_max(m, j + W <= nv ? x : P##_keep_below(x, nv - j, ninf));                    \
    }                                                                                        \
    V s = (V){0}, vm = P##_splat(P##_hmax(m));                                               \
    for (int j = 0; j < ncols; j += W) {                                                     \
      V e = P##_exp_neg(P##_load(p + j) - vm);                                               \
      if (j + W > nv) e = P##_keep_below(e, nv - j, (V){0});                                 \
      P##_store(p + j, e);                                                                   \
      s += e;                                                                                \
    }                                                                                        \
    V inv = P##_splat(1.0f / P##_sum(s));                                                    \
    for (int j = 0; j < ncols; j += W) P##_store(p + j, P##_load(p + j) * inv);              \
  }                                                                                          \
  NN_AI void P##_softmax_bwd_row(float *g, const float *p, int n, int ncols) {               \
    V d = (V){0};                                                                            \
    int full = n / W * W;                                                                    \
    for (int j = 0; j < full; j += W) d += P##_load(p + j) * P##_load(g + j);                \
    float dot = P##_sum(d);                                                                  \
    for (int j = full; j < n; j++) dot += p[j] * g[j];                                       \
    for (int j = 0; j < full; j += W) P##_store(g + j, P##_load(p + j) * (P##_load(g + j) - dot)); \
    for (int j = full; j < n; j++) g[j] = p[j] * (g[j] - dot);                               \
    for (int j = n; j < ncols; j++) g[j] = 0.0f;                                             \
  }
SOFTMAX_FUNCS(nn_v16, nn_v16, 16)
SOFTMAX_FUNCS(nn_v8, nn_v8, 8)

/* rb == RB: 16-float vectors, else 8-float ones (rb is a constant at every call). */
NN_AI void softmax_row(float *p, int nv, int ncols, int rb) {
  if (rb == RB)
    nn_v16_softmax_row(p, nv, ncols);
  else
    nn_v8_softmax_row(p, nv, ncols);
}
NN_AI void softmax_bwd_row(float *g, const float *p, int n, int ncols, int rb) {
  if (rb == RB)
    nn_v16_softmax_bwd_row(g, p, n, ncols);
  else
    nn_v8_softmax_bwd_row(g, p, n, ncols);
}

/* Scratch floats per thread for tasks of at most nmax tokens and heads hs wide. */
static size_t scratch_per(int nmax, int hs) {
  size_t Np = (size_t)round16(nmax), hsp = (size_t)round16(hs);
  return (size_t)hs * Np + 3 * Np * hsp + Np * Np + (size_t)RB * Np + 64;
}

/* One (task, head): S = scale Q K^T, P = softmax(S) (masked), O = P V; rb rows per block. */
static inline __attribute__((always_inline)) void fwd_pair(const attn_job *j, int task, int h,
                                                           float *sc, int rb) {
  int C = j->C, C3 = 3 * C, hs = C / j->H, o = j->off[task], N = j->off[task + 1] - o;
  if (N <= 0) return;
  int Np = round16(N), hsp = round16(hs);
  const float *Q = j->qkv + (size_t)o * C3 + (size_t)h * hs, *K = Q + C, *V = Q + 2 * C;
  float *P = j->att_w ? j->att_w + j->att_off[task] + (size_t)h * N * N : NULL;
  float *O = j->out + (size_t)o * C + (size_t)h * hs;
  float *Kt = sc, *Vc = Kt + (size_t)hs * Np, *S = Vc + (size_t)Np * hsp;
  float scale = 1.0f / sqrtf((float)hs);
  gather_t(Kt, (size_t)Np, K, (size_t)C3, N, hs);
  gather_rows(Vc, (size_t)hsp, V, (size_t)C3, N, hs);
  for (int r0 = 0; r0 < N; r0 += rb) {
    int nr = N - r0 < rb ? N - r0 : rb;
    int ncols = j->causal ? round16(r0 + nr) : Np, tv = j->causal ? r0 + nr : N;
    kern(S, (size_t)Np, ncols, Q + (size_t)r0 * C3, (size_t)C3, 1, nr, 0, hs, Kt, (size_t)Np,
         ncols, scale, rb);
    for (int r = 0; r < nr; r++) softmax_row(S + (size_t)r * Np, j->causal ? r0 + r + 1 : N, ncols, rb);
    kern(O + (size_t)r0 * C, (size_t)C, hs, S, (size_t)Np, 1, nr, 0, tv, Vc, (size_t)hsp, hsp,
         1.0f, rb);
    if (P)
      for (int r = 0; r < nr; r++) {
        float *pr = P + (size_t)(r0 + r) * N;
        int nc = ncols < N ? ncols : N;
        const float *sr = S + (size_t)r * Np;
        copy_floats(pr, sr, nc);
        for (int c = nc; c < N; c++) pr[c] = 0.0f;
      }
  }
}

static inline __attribute__((always_inline)) void bwd_pair(const attn_job *j, int task, int h,
                                                           float *sc, int rb) {
  int C = j->C, C3 = 3 * C, hs = C / j->H, o = j->off[task], N = j->off[task + 1] - o;
  if (N <= 0) return;
  int Np = round16(N), hsp = round16(hs);
  const float *Q = j->qkv + (size_t)o * C3 + (size_t)h * hs, *K = Q + C, *V = Q + 2 * C;
  const float *P = j->att + j->att_off[task] + (size_t)h * N * N;
  const float *dO = j->dout + (size_t)o * C + (size_t)h * hs;
  float *dQ = j->dqkv + (size_t)o * C3 + (size_t)h * hs, *dK = dQ + C, *dV = dQ + 2 * C;
  float scale = 1.0f / sqrtf((float)hs);
  float *Vt = sc, *Kc = Vt + (size_t)hs * Np, *Qc = Kc + (size_t)Np * hsp;
  float *dOc = Qc + (size_t)Np * hsp, *dS = dOc + (size_t)Np * hsp; /* dS [N, Np] */
  gather_t(Vt, (size_t)Np, V, (size_t)C3, N, hs);
  gather_rows(Kc, (size_t)hsp, K, (size_t)C3, N, hs);
  gather_rows(Qc, (size_t)hsp, Q, (size_t)C3, N, hs);
  gather_rows(dOc, (size_t)hsp, dO, (size_t)C, N, hs);
  for (int r0 = 0; r0 < N; r0 += rb) { /* dS rows (P * (dP - rowdot)) and dQ = scale dS K */
    int nr = N - r0 < rb ? N - r0 : rb;
    int ncols = j->causal ? round16(r0 + nr) : Np, tv = j->causal ? r0 + nr : N;
    float *g = dS + (size_t)r0 * Np;
    kern(g, (size_t)Np, ncols, dOc + (size_t)r0 * hsp, (size_t)hsp, 1, nr, 0, hs, Vt,
         (size_t)Np, ncols, 1.0f, rb);
    for (int r = 0; r < nr; r++) {
      int nv = j->causal ? r0 + r + 1 : N;
      softmax_bwd_row(g + (size_t)r * Np, P + (size_t)(r0 + r) * N, nv, ncols, rb);
    }
    kern(dQ + (size_t)r0 * C3, (size_t)C3, hs, g, (size_t)Np, 1, nr, 0, tv, Kc, (size_t)hsp, hsp,
         scale, rb);
  }
  for (int c0 = 0; c0 < N; c0 += rb) { /* dK = scale dS^T Q, dV = P^T dO: rows i >= c0 only */
    int nr = N - c0 < rb ? N - c0 : rb, i0 = j->causal ? c0 : 0;
    kern(dK + (size_t)c0 * C3, (size_t)C3, hs, dS + c0, 1, (size_t)Np, nr, i0, N, Qc,
         (size_t)hsp, hsp, scale, rb);
    kern(dV + (size_t)c0 * C3, (size_t)C3, hs, P + c0, 1, (size_t)N, nr, i0, N, dOc, (size_t)hsp,
         hsp, 1.0f, rb);
  }
}

TGMM_CLONES static void attn_fwd_pair(const attn_job *j, int task, int h, float *sc) {
  fwd_pair(j, task, h, sc, RB);
}
TGMM_CLONES static void attn_fwd_pair_narrow(const attn_job *j, int task, int h, float *sc) {
  fwd_pair(j, task, h, sc, RB_NARROW);
}
TGMM_CLONES static void attn_bwd_pair(const attn_job *j, int task, int h, float *sc) {
  bwd_pair(j, task, h, sc, RB);
}
TGMM_CLONES static void attn_bwd_pair_narrow(const attn_job *j, int task, int h, float *sc) {
  bwd_pair(j, task, h, sc, RB_NARROW);
}

static void attn_item(void *arg, int p, int tid) {
  attn_job *j = arg;
  int task = p / j->H, h = p % j->H;
  float *sc = j->scratch + (size_t)tid * j->per;
  if (j->backward)
    (j->narrow ? attn_bwd_pair_narrow : attn_bwd_pair)(j, task, h, sc);
  else
    (j->narrow ? attn_fwd_pair_narrow : attn_fwd_pair)(j, task, h, sc);
}

static void run_job(nn_par *pool, attn_job *j) {
  int nt = nn_par_threads(pool);
  j->nmax = 1;
  for (int i = 0; i < j->ntask; i++) {
    int n = j->off[i + 1] - j->off[i];
    if (n > j->nmax) j->nmax = n;
  }
  j->per = scratch_per(j->nmax, j->C / j->H);
  j->narrow = nn_narrow();
  /* one block: the task offsets into att, then every thread's scratch */
  size_t head = ((size_t)j->ntask + 1) * sizeof(size_t);
  head = (head + 63) / 64 * 64;
  char *mem = malloc(head + sizeof(float) * (size_t)nt * j->per);
  if (!mem) abort(); /* a few hundred kB; nothing sensible to do without it */
  size_t *ao = (size_t *)mem;
  ao[0] = 0;
  for (int i = 0; i < j->ntask; i++) {
    size_t n = (size_t)(j->off[i + 1] - j->off[i]);
    ao[i + 1] = ao[i] + (size_t)j->H * n * n;
  }
  j->att_off = ao;
  j->scratch = (float *)(mem + head);
  nn_par_run(pool, attn_item, j, j->ntask * j->H);
  free(mem);
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
