/* nn_gemm.c — the linear maps of inference (nn_linear_infer, include/tgmm/nn.h): a
 * register-blocked small-GEMM kernel instead of OpenBLAS, with the bias, the residual and GELU
 * in its epilogue (no separate pass over the output).
 *
 * The model's maps are (tokens x C) (C x {C, 3C, 4C}) and back with C ~ 64: an inner dimension
 * too short for OpenBLAS to amortise its packing of both operands on every call. Here only the
 * weights are packed, once per call, into panels of 16 output columns ([N/16][K][16], zero
 * columns beyond N: a few kB, against M K N multiply-adds); the activations are read in place.
 * A block of MR = 6 rows x 16 columns lives in 12 accumulators of 8 floats (AVX2's 16
 * registers: 12 accumulators, 2 of the panel's row, 1 broadcast); rows come in tiles of
 * TILE_ROWS so that a tile's rows stay in L1 while every panel passes over them. Each output is
 * the sum over k = 0..K-1 in order (fused multiply-adds), then + b, then + res: the same bits
 * for any M, row split and thread count. */
#include <stdlib.h>
#include <string.h>

#include "nn_math.h"
#include "tgmm/nn.h"

#define MR NN_MR      /* rows of a register block */
#define NR 16         /* columns of a panel */
#define TILE_ROWS 48  /* rows of a work item (MR x 8) */

typedef struct {
  float *out;
  const float *in, *Wp, *bp, *res; /* Wp [np][K][NR]; bp [np * NR] (zero padded) */
  int M, K, N, np, gelu;
} gemm_job;

/* Wp[p][k][c] = W[p*NR + c][k] (0 for p*NR + c >= N); bp likewise from b (0 when b is NULL). */
static void pack(float *Wp, float *bp, const float *W /* [N][K] */, const float *b /* [N] */,
                 int K, int N, int np) {
  for (int p = 0; p < np; p++)
    for (int c = 0; c < NR; c++) {
      int n = p * NR + c;
      float *dst = Wp + (size_t)p * K * NR + c;
      for (int k = 0; k < K; k++) dst[(size_t)k * NR] = n < N ? W[(size_t)n * K + k] : 0.0f;
      bp[n] = n < N && b ? b[n] : 0.0f;
    }
}

/* Columns c0 .. c0+nc-1 of one output row from the accumulators lo, hi (16 columns): + bias,
 * + res (may be NULL), GELU; stored for the nc (<= 16) valid columns only. */
NN_AI void epilogue(float *o, const float *r, const float *bias, nn_v8 lo, nn_v8 hi, int nc,
                    int gelu) {
  float t[NR] = {0}; /* a partial panel: its residual and output through t */
  if (r && nc < NR) r = memcpy(t, r, sizeof(float) * (size_t)nc);
  lo += nn_v8_load(bias);
  hi += nn_v8_load(bias + 8);
  if (r) {
    lo += nn_v8_load(r);
    hi += nn_v8_load(r + 8);
  }
  if (gelu) {
    lo = nn_v8_gelu(lo);
    hi = nn_v8_gelu(hi);
  }
  float *d = nc == NR ? o : t;
  nn_v8_store(d, lo);
  nn_v8_store(d + 8, hi);
  if (d == t) memcpy(o, t, sizeof(float) * (size_t)nc);
}

/* Rows r0 .. r0+nr-1 (nr <= MR) x panel p. Rows beyond nr repeat the last one (computed, not
 * stored). */
NN_AI void block(const gemm_job *j, int r0, int nr, int p) {
  const float *a[MR];
  for (int r = 0; r < MR; r++) a[r] = j->in + (size_t)(r0 + (r < nr ? r : nr - 1)) * j->K;
  nn_v8 lo[MR], hi[MR];
  nn_block6x16(lo, hi, a, j->Wp + (size_t)p * j->K * NR, NR, j->K);
  int c0 = p * NR, nc = j->N - c0 < NR ? j->N - c0 : NR;
  for (int r = 0; r < nr; r++) {
    size_t row = (size_t)(r0 + r) * j->N + c0;
    epilogue(j->out + row, j->res ? j->res + row : NULL, j->bp + c0, lo[r], hi[r], nc, j->gelu);
  }
}

TGMM_CLONES static void tile(const gemm_job *j, int t) {
  int t0 = t * TILE_ROWS, t1 = t0 + TILE_ROWS < j->M ? t0 + TILE_ROWS : j->M;
  for (int p = 0; p < j->np; p++)
    for (int r0 = t0; r0 < t1; r0 += MR) block(j, r0, t1 - r0 < MR ? t1 - r0 : MR, p);
}

static void tile_item(void *arg, int item, int tid) {
  (void)tid;
  tile(arg, item);
}

void nn_linear_infer(nn_par *pool, float *out, const float *in, const float *W, const float *b,
                     const float *res, int M, int K, int N, int gelu) {
  if (M <= 0 || N <= 0) return;
  int np = (N + NR - 1) / NR;
  float *Wp = malloc(sizeof(float) * ((size_t)np * NR * (size_t)K + (size_t)np * NR));
  if (!Wp) abort(); /* a few tens of kB; nothing sensible to do without it */
  gemm_job j = {.out = out, .in = in, .Wp = Wp, .bp = Wp + (size_t)np * NR * K, .res = res,
                .M = M, .K = K, .N = N, .np = np, .gelu = gelu};
  pack(Wp, Wp + (size_t)np * NR * K, W, b, K, N, np);
  nn_par_run(pool, tile_item, &j, (M + TILE_ROWS - 1) / TILE_ROWS);
  free(Wp);
}
