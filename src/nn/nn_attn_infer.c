/* nn_attn_infer.c — self-attention for inference (nn_attention_infer, include/tgmm/nn.h): the
 * forward of nn_attn.c without the probabilities, in fewer passes over each head.
 *
 * Per (task, head), on 8-float vectors (every target: the same bits on each): K is gathered
 * transposed by 8 x 8 register transposes (V is read in place when hs is a multiple of 16); for
 * a block of MR = 6 query rows, S = scale Q K^T by 16-column blocks in 12 accumulators, each row's maximum kept as the blocks are stored; then
 * E = exp(S - max) and its row sums in one pass; then O = (E V) / sum, the division applied to
 * the hs outputs of a row instead of its N probabilities. Causal attention skips the masked
 * upper triangle in blocks of 6 rows / 16 columns, as nn_attn.c does. */
#define _GNU_SOURCE
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "nn_math.h"
#include "tgmm/nn.h"

#define MR NN_MR /* query rows of a block */
#define NB 16 /* columns of a block (two 8-float vectors) */

static int round16(int n) { return (n + NB - 1) / NB * NB; }

typedef struct {
  float *out;
  const float *qkv;
  const int *off;
  int C, H, causal;
  float *scratch; /* [threads][per] */
  size_t per;
} infer_job;

/* Kt[c * ld + j] = K[j * ls + c] for c < hs, j < n; zero for n <= j < ld. Blocks of 8 x 8 by
 * register transposes where hs is a multiple of 8, the rest one by one. */
NN_AI void gather_kt(float *Kt, size_t ld, const float *K, size_t ls, int n, int hs) {
  int j0 = 0;
  for (; hs % 8 == 0 && j0 + 8 <= n; j0 += 8)
    for (int c0 = 0; c0 < hs; c0 += 8) {
      nn_v8 r[8], t[8], u[8];
      for (int i = 0; i < 8; i++) r[i] = nn_v8_load(K + (size_t)(j0 + i) * ls + c0);
      for (int i = 0; i < 8; i += 2) {
        t[i] = __builtin_shufflevector(r[i], r[i + 1], 0, 8, 1, 9, 4, 12, 5, 13);
        t[i + 1] = __builtin_shufflevector(r[i], r[i + 1], 2, 10, 3, 11, 6, 14, 7, 15);
      }
      for (int i = 0; i < 8; i += 4) { /* u[i + q]: columns q and q + 4 of rows i .. i+3 */
        u[i] = __builtin_shufflevector(t[i], t[i + 2], 0, 1, 8, 9, 4, 5, 12, 13);
        u[i + 1] = __builtin_shufflevector(t[i], t[i + 2], 2, 3, 10, 11, 6, 7, 14, 15);
        u[i + 2] = __builtin_shufflevector(t[i + 1], t[i + 3], 0, 1, 8, 9, 4, 5, 12, 13);
        u[i + 3] = __builtin_shufflevector(t[i + 1], t[i + 3], 2, 3, 10, 11, 6, 7, 14, 15);
      }
      for (int q = 0; q < 4; q++) {
        nn_v8 lo = __builtin_shufflevector(u[q], u[q + 4], 0, 1, 2, 3, 8, 9, 10, 11);
        nn_v8 hi = __builtin_shufflevector(u[q], u[q + 4], 4, 5, 6, 7, 12, 13, 14, 15);
        nn_v8_store(Kt + (size_t)(c0 + q) * ld + j0, lo);
        nn_v8_store(Kt + (size_t)(c0 + q + 4) * ld + j0, hi);
      }
    }
  for (int c = 0; c < hs; c++) {
    float *d = Kt + (size_t)c * ld;
    for (int j = j0; j < n; j++) d[j] = K[(size_t)j * ls + c];
    for (size_t j = (size_t)n; j < ld; j++) d[j] = 0.0f;
  }
}

/* Vc[j * ld + c] = V[j * ls + c] for j < n, c < hs; zero for hs <= c < ld. */
NN_AI void gather_v(float *Vc, size_t ld, const float *V, size_t ls, int n, int hs) {
  for (int j = 0; j < n; j++) {
    float *d = Vc + (size_t)j * ld;
    const float *s = V + (size_t)j * ls;
    int c = 0;
    for (; c + 8 <= hs; c += 8) nn_v8_store(d + c, nn_v8_load(s + c));
    for (; c < hs; c++) d[c] = s[c];
    for (size_t k = (size_t)hs; k < ld; k++) d[k] = 0.0f;
  }
}

/* S[r * ld + j] = scale * sum_t Q[r][t] Kt[t][j] for the nr rows of the block (rows beyond nr
 * repeat the last, not stored) and j < ncols (a multiple of 16); mx[r] = the maximum of row r
 * over its nv[r] valid columns. */
NN_AI void scores(float *S, size_t ld, float *mx, const float *Q, size_t qs, int nr, int hs,
                  const float *Kt, size_t kld, int ncols, const int *nv, float scale) {
  const float *q[MR];
  nn_v8 m[MR];
  const nn_v8 ninf = nn_v8_splat(-INFINITY);
  for (int r = 0; r < MR; r++) {
    q[r] = Q + (size_t)(r < nr ? r : nr - 1) * qs;
    m[r] = ninf;
  }
  for (int c0 = 0; c0 < ncols; c0 += NB) {
    nn_v8 lo[MR], hi[MR];
    nn_block6x16(lo, hi, q, Kt + c0, kld, hs);
    for (int r = 0; r < nr; r++) {
      nn_v8 l = lo[r] * scale, h = hi[r] * scale;
      nn_v8_store(S + (size_t)r * ld + c0, l);
      nn_v8_store(S + (size_t)r * ld + c0 + 8, h);
      int v = nv[r] - c0;
      if (v < 8) l = nn_v8_keep_below(l, v, ninf);
      if (v < 16) h = nn_v8_keep_below(h, v - 8, ninf);
      m[r] = nn_v8_max(m[r], nn_v8_max(l, h));
    }
  }
  for (int r = 0; r < nr; r++) mx[r] = nn_v8_hmax(m[r]);
}

/* Row p[0 .. ncols) := exp(p - mx) on [0, nv), 0 on [nv, ncols); returns 1 / the row's sum. */
NN_AI float exp_row(float *p, int nv, int ncols, float mx) {
  nn_v8 s = (nn_v8){0}, vm = nn_v8_splat(mx);
  for (int j = 0; j < ncols; j += 8) {
    nn_v8 e = nn_v8_exp_neg(nn_v8_load(p + j) - vm);
    if (j + 8 > nv) e = nn_v8_keep_below(e, nv - j, (nn_v8){0});
    nn_v8_store(p + j, e);
    s += e;
  }
  return 1.0f / nn_v8_sum(s);
}

/* O[r * os + c] = inv[r] * sum_{t < tv} E[r][t] Vc[t][c] for the nr rows and c < hs. */
NN_AI void weighted(float *O, size_t os, const float *E, size_t eld, int nr, int tv,
                    const float *Vc, size_t vld, int hs, const float *inv) {
  const float *e[MR];
  for (int r = 0; r < MR; r++) e[r] = E + (size_t)(r < nr ? r : nr - 1) * eld;
  for (int c0 = 0; c0 < hs; c0 += NB) {
    nn_v8 lo[MR], hi[MR];
    nn_block6x16(lo, hi, e, Vc + c0, vld, tv);
    int nc = hs - c0 < NB ? hs - c0 : NB;
    for (int r = 0; r < nr; r++) {
      float v[NB];
      nn_v8_store(v, lo[r] * inv[r]);
      nn_v8_store(v + 8, hi[r] * inv[r]);
      float *o = O + (size_t)r * os + c0;
      if (nc == NB) {
        nn_v8_store(o, nn_v8_load(v));
        nn_v8_store(o + 8, nn_v8_load(v + 8));
      } else {
        for (int c = 0; c < nc; c++) o[c] = v[c];
      }
    }
  }
}

/* Scratch floats per thread for tasks of at most nmax tokens and heads hs wide. */
static size_t scratch_per(int nmax, int hs) {
  size_t Np = (size_t)round16(nmax), hsp = (size_t)round16(hs);
  return (size_t)hs * Np + Np * hsp + (size_t)MR * Np + 64;
}

TGMM_CLONES static void infer_pair(const infer_job *j, int task, int h, float *sc) {
  int C = j->C, C3 = 3 * C, hs = C / j->H, o = j->off[task], N = j->off[task + 1] - o;
  if (N <= 0) return;
  int Np = round16(N), hsp = round16(hs);
  const float *Q = j->qkv + (size_t)o * C3 + (size_t)h * hs, *K = Q + C, *V = Q + 2 * C;
  float *O = j->out + (size_t)o * C + (size_t)h * hs;
  float *Kt = sc, *Vc = Kt + (size_t)hs * Np, *S = Vc + (size_t)Np * hsp;
  float scale = 1.0f / sqrtf((float)hs);
  gather_kt(Kt, (size_t)Np, K, (size_t)C3, N, hs);
  int direct = hs % NB == 0; /* V's rows read in place: whole column blocks */
  const float *Vb = direct ? V : Vc;
  size_t vld = direct ? (size_t)C3 : (size_t)hsp;
  if (!direct) gather_v(Vc, (size_t)hsp, V, (size_t)C3, N, hs);
  for (int r0 = 0; r0 < N; r0 += MR) {
    int nr = N - r0 < MR ? N - r0 : MR, nv[MR];
    for (int r = 0; r < MR; r++) nv[r] = j->causal ? r0 + (r < nr ? r : nr - 1) + 1 : N;
    int ncols = j->causal ? round16(r0 + nr) : Np, tv = j->causal ? r0 + nr : N;
    float mx[MR], inv[MR];
    scores(S, (size_t)Np, mx, Q + (size_t)r0 * C3, (size_t)C3, nr, hs, Kt, (size_t)Np, ncols, nv,
           scale);
    for (int r = 0; r < nr; r++) inv[r] = exp_row(S + (size_t)r * Np, nv[r], ncols, mx[r]);
    weighted(O + (size_t)r0 * C, (size_t)C, S, (size_t)Np, nr, tv, Vb, vld, hs, inv);
  }
}

static void infer_item(void *arg, int p, int tid) {
  const infer_job *j = arg;
  infer_pair(j, p / j->H, p % j->H, j->scratch + (size_t)tid * j->per);
}

void nn_attention_infer(nn_par *pool, float *out, const float *qkv, const int *off, int ntask,
                        int C, int H, int causal) {
  int nmax = 1;
  for (int i = 0; i < ntask; i++)
    if (off[i + 1] - off[i] > nmax) nmax = off[i + 1] - off[i];
  infer_job j = {.out = out, .qkv = qkv, .off = off, .C = C, .H = H, .causal = causal,
                 .per = scratch_per(nmax, C / H)};
  j.scratch = malloc(sizeof(float) * j.per * (size_t)nn_par_threads(pool));
  if (!j.scratch) abort(); /* a few tens of kB; nothing sensible to do without it */
  nn_par_run(pool, infer_item, &j, ntask * H);
  free(j.scratch);
}
