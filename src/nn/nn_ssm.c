/* nn_ssm.c — the Mamba2 layers (see include/tgmm/nn_ssm.h): RMSNorm, gated RMSNorm, SiLU,
 * softplus, the causal depthwise convolution and the selective scan.
 *
 * Row-wise layers split their rows into blocks over the pool (fixed-size blocks in a fixed pool,
 * so weight-gradient partial sums are added in the same order for any thread count). The conv's
 * weight gradient is split by channels and each channel sums its tokens in order; the scan runs
 * per (task, group) with its per-head parameter partial sums added in task order afterwards, so
 * neither depends on the thread count at all. */
#include "tgmm/nn_ssm.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "nn_math.h"

#define EPS 1e-5f
#define FIX_ROWS 256    /* rows per block of a fixed pool's row-wise layers */
#define FIX_CHANNELS 64 /* channels per block of the conv's weight gradient */
#define EW_MIN 65536    /* elementwise passes below this many floats stay serial */


static void block_range(size_t n, int b, int nb, size_t *lo, size_t *hi) {
  *lo = n * (size_t)b / (size_t)nb;
  *hi = n * (size_t)(b + 1) / (size_t)nb;
}

static inline float sigmoidf(float x) { return 1.0f / (1.0f + expf(-x)); }
#define sigmoid_fast nn_fast_sigmoid /* the hot loops: vectorises */

/* Dot product with 8 independent partial sums (vectorises without reassociation flags). */
static inline float dot(const float *a, const float *b, int n) {
  float acc[8] = {0, 0, 0, 0, 0, 0, 0, 0};
  int i = 0;
  for (; i + 8 <= n; i += 8)
    for (int l = 0; l < 8; l++) acc[l] += a[i + l] * b[i + l];
  float s = ((acc[0] + acc[1]) + (acc[2] + acc[3])) + ((acc[4] + acc[5]) + (acc[6] + acc[7]));
  for (; i < n; i++) s += a[i] * b[i];
  return s;
}

/* ---------------- a row-block job with optional per-block partial sums ---------------- */

typedef struct rows_job rows_job;
struct rows_job {
  void (*rows)(const rows_job *j, size_t lo, size_t hi, float *part);
  size_t n;
  int nb;
  size_t npart; /* floats of partial sums per block (0: none) */
  float *part;  /* [nb, npart] */
  /* the layer's arguments */
  float *out, *out2, *dw;
  const float *in, *in2, *w, *dout, *rstd;
  int C, ld, ld2;
};

static void rows_item(void *arg, int blk, int tid) {
  (void)tid;
  const rows_job *j = arg;
  size_t lo, hi;
  block_range(j->n, blk, j->nb, &lo, &hi);
  if (hi > lo) j->rows(j, lo, hi, j->part ? j->part + (size_t)blk * j->npart : NULL);
}

/* Run j over n rows; with npart > 0, dst[npart] += the blocks' partial sums in block order. */
static void rows_run(nn_par *pool, rows_job *j, size_t n, size_t npart, float *dst) {
  j->n = n;
  j->npart = npart;
  j->nb = nn_par_blocks(pool, n, FIX_ROWS);
  if (j->nb > 1 && npart) j->part = calloc((size_t)j->nb * npart, sizeof(float));
  if (j->nb <= 1 || (npart && !j->part)) { /* serial (or no memory for the partial sums) */
    j->part = NULL;
    if (n) j->rows(j, 0, n, dst);
    return;
  }
  nn_par_run(pool, rows_item, j, j->nb);
  if (!npart) return;
  for (int b = 0; b < j->nb; b++)
    for (size_t c = 0; c < npart; c++) dst[c] += j->part[(size_t)b * npart + c];
  free(j->part);
  j->part = NULL;
}

/* ---------------- RMSNorm ---------------- */

static void rms_fwd_rows(const rows_job *j, size_t lo, size_t hi, float *part) {
  (void)part;
  int C = j->C;
  for (size_t i = lo; i < hi; i++) {
    const float *x = j->in + i * C;
    float *y = j->out + i * C;
    float r = 1.0f / sqrtf(dot(x, x, C) / (float)C + EPS);
    for (int c = 0; c < C; c++) y[c] = x[c] * r * j->w[c];
    j->out2[i] = r;
  }
}

void nn_rmsnorm_fwd(nn_par *pool, float *out, float *rstd, const float *in, const float *w, int M,
                    int C) {
  rows_job j = {.rows = rms_fwd_rows, .out = out, .out2 = rstd, .in = in, .w = w, .C = C};
  rows_run(pool, &j, (size_t)M, 0, NULL);
}

/* One row's backward of out = u * r * w with r = 1/sqrt(mean(u^2) + eps): du[c] = r w[c] g[c] -
 * u[c] r^3 mean(w g u). Writes du (or adds it when acc), dw += g u r. */
static inline void rms_row_bwd(float *du, int acc, float *dw, const float *g, const float *u,
                               const float *w, float r, int C) {
  float part[8] = {0, 0, 0, 0, 0, 0, 0, 0}, s = 0.0f;
  int c8 = C - C % 8;
  for (int c = 0; c < c8; c += 8) /* 8 partial sums: vectorises */
    for (int l = 0; l < 8; l++) part[l] += w[c + l] * g[c + l] * u[c + l];
  for (int c = c8; c < C; c++) s += w[c] * g[c] * u[c];
  s += ((part[0] + part[1]) + (part[2] + part[3])) + ((part[4] + part[5]) + (part[6] + part[7]));
  for (int c = 0; c < C; c++) dw[c] += g[c] * u[c] * r;
  float k = r * r * r * s / (float)C;
  if (acc)
    for (int c = 0; c < C; c++) du[c] += r * w[c] * g[c] - u[c] * k;
  else
    for (int c = 0; c < C; c++) du[c] = r * w[c] * g[c] - u[c] * k;
}

static void rms_bwd_rows(const rows_job *j, size_t lo, size_t hi, float *dw) {
  int C = j->C;
  for (size_t i = lo; i < hi; i++)
    rms_row_bwd(j->out + i * C, 1, dw, j->dout + i * C, j->in + i * C, j->w, j->rstd[i], C);
}

void nn_rmsnorm_bwd(nn_par *pool, float *din, float *dw, const float *dout, const float *in,
                    const float *w, const float *rstd, int M, int C) {
  rows_job j = {.rows = rms_bwd_rows, .out = din, .dout = dout, .in = in, .w = w, .rstd = rstd,
                .C = C};
  rows_run(pool, &j, (size_t)M, (size_t)C, dw);
}

/* ---------------- gated RMSNorm ---------------- */

static inline float silu(float x) { return x * sigmoid_fast(x); }

TGMM_CLONES static void grms_fwd_rows(const rows_job *j, size_t lo, size_t hi, float *part) {
  (void)part;
  int I = j->C;
  for (size_t i = lo; i < hi; i++) {
    const float *y = j->in + i * I, *z = j->in2 + i * (size_t)j->ld;
    float *o = j->out + i * I;
    for (int c = 0; c < I; c++) o[c] = y[c] * silu(z[c]);
    float ss = dot(o, o, I);
    float r = 1.0f / sqrtf(ss / (float)I + EPS);
    for (int c = 0; c < I; c++) o[c] *= r * j->w[c];
    j->out2[i] = r;
  }
}

void nn_gated_rmsnorm_fwd(nn_par *pool, float *out, float *rstd, const float *y, const float *z,
                          int ldz, const float *w, int M, int I) {
  rows_job j = {.rows = grms_fwd_rows, .out = out, .out2 = rstd, .in = y, .in2 = z, .w = w,
                .C = I, .ld = ldz};
  rows_run(pool, &j, (size_t)M, 0, NULL);
}

TGMM_CLONES static void grms_bwd_rows(const rows_job *j, size_t lo, size_t hi, float *dw) {
  int I = j->C;
  for (size_t i = lo; i < hi; i++) {
    const float *y = j->in + i * I, *z = j->in2 + i * (size_t)j->ld, *g = j->dout + i * I;
    float *dy = j->out + i * I, *dz = j->out2 + i * (size_t)j->ld2;
    for (int c = 0; c < I; c++) dz[c] = y[c] * silu(z[c]); /* u, then du below */
    rms_row_bwd(dy, 0, dw, g, dz, j->w, j->rstd[i], I);   /* dy := du */
    for (int c = 0; c < I; c++) {
      float s = sigmoid_fast(z[c]), du = dy[c];
      dy[c] = du * z[c] * s;
      dz[c] = du * y[c] * s * (1.0f + z[c] * (1.0f - s));
    }
  }
}

void nn_gated_rmsnorm_bwd(nn_par *pool, float *dy, float *dz, int lddz, float *dw,
                          const float *dout, const float *y, const float *z, int ldz,
                          const float *w, const float *rstd, int M, int I) {
  rows_job j = {.rows = grms_bwd_rows, .out = dy, .out2 = dz, .dout = dout, .in = y, .in2 = z,
                .w = w, .rstd = rstd, .C = I, .ld = ldz, .ld2 = lddz};
  rows_run(pool, &j, (size_t)M, (size_t)I, dw);
}

/* ---------------- SiLU, softplus ---------------- */

TGMM_CLONES static void silu_fwd_rows(const rows_job *j, size_t lo, size_t hi, float *part) {
  (void)part;
  for (size_t i = lo; i < hi; i++) j->out[i] = j->in[i] * sigmoid_fast(j->in[i]);
}

TGMM_CLONES static void silu_bwd_rows(const rows_job *j, size_t lo, size_t hi, float *part) {
  (void)part;
  for (size_t i = lo; i < hi; i++) {
    float x = j->in[i], s = sigmoid_fast(x);
    j->out[i] = j->dout[i] * s * (1.0f + x * (1.0f - s));
  }
}

static void ew_run(nn_par *pool, rows_job *j, size_t n) {
  if (n < EW_MIN) {
    j->rows(j, 0, n, NULL);
    return;
  }
  j->n = n;
  j->nb = nn_par_threads(pool); /* elementwise: the split does not change any result */
  nn_par_run(pool, rows_item, j, j->nb);
}

void nn_silu_fwd(nn_par *pool, float *out, const float *in, size_t n) {
  rows_job j = {.rows = silu_fwd_rows, .out = out, .in = in};
  ew_run(pool, &j, n);
}

void nn_silu_bwd(nn_par *pool, float *din, const float *dout, const float *in, size_t n) {
  rows_job j = {.rows = silu_bwd_rows, .out = din, .dout = dout, .in = in};
  ew_run(pool, &j, n);
}

static inline float softplus(float x) { return x > 20.0f ? x : log1pf(expf(x)); }

void nn_softplus_bias_fwd(float *out, const float *in, int ld, const float *bias, int M, int H) {
  for (int i = 0; i < M; i++)
    for (int h = 0; h < H; h++) out[(size_t)i * H + h] = softplus(in[(size_t)i * ld + h] + bias[h]);
}

void nn_softplus_bias_bwd(float *din, int lddin, float *dbias, const float *dout,
                          const float *in, int ld, const float *bias, int M, int H) {
  for (int i = 0; i < M; i++)
    for (int h = 0; h < H; h++) {
      float g = dout[(size_t)i * H + h] * sigmoidf(in[(size_t)i * ld + h] + bias[h]);
      din[(size_t)i * lddin + h] = g;
      dbias[h] += g;
    }
}

/* ---------------- causal depthwise convolution ---------------- */

typedef struct {
  float *out, *din, *dw, *db;
  const float *in, *w, *b, *dout;
  float *wt; /* [k, Cc]: w transposed, so that the channel loops are contiguous */
  const int *off;
  int ntask, ldin, lddin, Cc, k, nbc;
} conv_job;

static void conv_fwd_task(void *arg, int i, int tid) {
  (void)tid;
  const conv_job *j = arg;
  int Cc = j->Cc, k = j->k, o = j->off[i];
  for (int t = o; t < j->off[i + 1]; t++) {
    float *y = j->out + (size_t)t * Cc;
    memcpy(y, j->b, sizeof(float) * (size_t)Cc);
    for (int q = 0; q < k; q++) {
      int s = t - k + 1 + q;
      if (s < o) continue;
      const float *x = j->in + (size_t)s * j->ldin, *wq = j->wt + (size_t)q * Cc;
      for (int c = 0; c < Cc; c++) y[c] += wq[c] * x[c];
    }
  }
}

static float *transpose_w(const float *w, int Cc, int k) {
  float *wt = malloc(sizeof(float) * (size_t)Cc * (size_t)k);
  if (wt)
    for (int c = 0; c < Cc; c++)
      for (int q = 0; q < k; q++) wt[(size_t)q * Cc + c] = w[(size_t)c * k + q];
  return wt;
}

void nn_conv_fwd(nn_par *pool, float *out, const float *in, int ldin, const float *w,
                 const float *b, const int *off, int ntask, int Cc, int k) {
  conv_job j = {.out = out, .in = in, .w = w, .b = b, .off = off, .ntask = ntask, .ldin = ldin,
                .Cc = Cc, .k = k};
  j.wt = transpose_w(w, Cc, k);
  if (!j.wt) { /* no memory for the transpose: a 1-channel-at-a-time loop */
    for (int i = 0; i < ntask; i++)
      for (int t = off[i]; t < off[i + 1]; t++)
        for (int c = 0; c < Cc; c++) {
          float s = b[c];
          for (int q = 0; q < k; q++)
            if (t - k + 1 + q >= off[i]) s += w[(size_t)c * k + q] * in[(size_t)(t - k + 1 + q) * ldin + c];
          out[(size_t)t * Cc + c] = s;
        }
    return;
  }
  nn_par_run(pool, conv_fwd_task, &j, ntask);
  free(j.wt);
}

/* dw, db of channels lo..hi-1: every channel sums its tokens in order (any split gives the
 * same bits); the channel loops run over contiguous columns, in steps of DW_COLS. */
#define DW_COLS 64
TGMM_CLONES static void conv_dw_block(const conv_job *j, size_t lo, size_t hi) {
  int k = j->k, Cc = j->Cc;
  float dw[64 * DW_COLS], db[DW_COLS]; /* [k, cols]; k <= 64 (checked by the caller) */
  for (size_t c0 = lo; c0 < hi; c0 += DW_COLS) {
    int nc = (int)(hi - c0 < DW_COLS ? hi - c0 : DW_COLS);
    memset(dw, 0, sizeof(float) * (size_t)k * DW_COLS);
    memset(db, 0, sizeof db);
    for (int i = 0; i < j->ntask; i++)
      for (int t = j->off[i]; t < j->off[i + 1]; t++) {
        const float *g = j->dout + (size_t)t * Cc + c0;
        for (int c = 0; c < nc; c++) db[c] += g[c];
        for (int q = 0; q < k; q++) {
          int s = t - k + 1 + q;
          if (s < j->off[i]) continue;
          const float *x = j->in + (size_t)s * j->ldin + c0;
          float *w = dw + (size_t)q * DW_COLS;
          for (int c = 0; c < nc; c++) w[c] += g[c] * x[c];
        }
      }
    for (int c = 0; c < nc; c++) {
      for (int q = 0; q < k; q++) j->dw[(c0 + c) * k + q] += dw[(size_t)q * DW_COLS + c];
      j->db[c0 + c] += db[c];
    }
  }
}

/* Items 0..ntask-1: din of a task; items ntask..: dw, db of a block of channels. */
static void conv_bwd_item(void *arg, int item, int tid) {
  (void)tid;
  const conv_job *j = arg;
  int Cc = j->Cc, k = j->k;
  if (item < j->ntask) {
    int o = j->off[item], e = j->off[item + 1];
    for (int s = o; s < e; s++) {
      float *dx = j->din + (size_t)s * j->lddin;
      memset(dx, 0, sizeof(float) * (size_t)Cc);
      for (int q = 0; q < k; q++) {
        int t = s + k - 1 - q; /* output t used input s through tap q */
        if (t >= e) continue;
        const float *g = j->dout + (size_t)t * Cc, *wq = j->wt + (size_t)q * Cc;
        for (int c = 0; c < Cc; c++) dx[c] += wq[c] * g[c];
      }
    }
    return;
  }
  size_t lo, hi;
  block_range((size_t)Cc, item - j->ntask, j->nbc, &lo, &hi);
  conv_dw_block(j, lo, hi);
}

void nn_conv_bwd(nn_par *pool, float *din, int lddin, float *dw, float *db, const float *dout,
                 const float *in, int ldin, const float *w, const int *off, int ntask, int Cc,
                 int k) {
  conv_job j = {.din = din, .dw = dw, .db = db, .dout = dout, .in = in, .w = w, .off = off,
                .ntask = ntask, .ldin = ldin, .lddin = lddin, .Cc = Cc, .k = k};
  j.wt = transpose_w(w, Cc, k);
  if (!j.wt) abort(); /* tiny (k x Cc floats); the forward pass just allocated as much */
  j.nbc = nn_par_blocks(pool, (size_t)Cc, FIX_CHANNELS);
  nn_par_run(pool, conv_bwd_item, &j, ntask + j.nbc);
  free(j.wt);
}

/* ---------------- selective scan ---------------- */

typedef struct {
  float *y, *dxbc, *ddt, *scratch;
  const float *xbc, *dt, *A_log, *D, *dy;
  const int *off;
  int ntask, nmax, H, P, N, G;
  size_t per_thread; /* scratch floats per thread */
  float *part;       /* [ntask, H, 2]: per (task, head) sums for dA, dD */
} scan_job;

/* One token of one head: S (N x P, state row n = coefficient of B[n]) = dA S + dt x B^T, then
 * y = S^T C + Dh x. */
TGMM_CLONES static void scan_token(float *S, float *y, const float *x, const float *B,
                                   const float *Cv, float dA, float dtv, float Dh, int P, int N) {
  for (int p = 0; p < P; p++) y[p] = Dh * x[p];
  for (int n = 0; n < N; n++) {
    float *s = S + (size_t)n * P, bn = dtv * B[n], cn = Cv[n];
    for (int p = 0; p < P; p++) {
      s[p] = dA * s[p] + bn * x[p];
      y[p] += s[p] * cn;
    }
  }
}

static void scan_fwd_item(void *arg, int item, int tid) {
  const scan_job *j = arg;
  int H = j->H, P = j->P, N = j->N, G = j->G, hpg = H / G, i = item / G, g = item % G;
  int HP = H * P, ld = HP + 2 * G * N;
  float *S = j->scratch + (size_t)tid * j->per_thread;
  for (int h = g * hpg; h < (g + 1) * hpg; h++) {
    float A = -expf(j->A_log[h]);
    memset(S, 0, sizeof(float) * (size_t)P * N);
    for (int t = j->off[i]; t < j->off[i + 1]; t++) {
      const float *row = j->xbc + (size_t)t * ld;
      float dtv = j->dt[(size_t)t * H + h];
      scan_token(S, j->y + (size_t)t * HP + (size_t)h * P, row + h * P, row + HP + g * N,
                 row + HP + G * N + g * N, expf(dtv * A), dtv, j->D[h], P, N);
    }
  }
}

void nn_scan_fwd(nn_par *pool, float *y, const float *xbc, const float *dt, const float *A_log,
                 const float *D, const int *off, int ntask, int H, int P, int N, int G) {
  size_t per = (size_t)P * N + (size_t)P;
  float *scratch = malloc(sizeof(float) * per * (size_t)nn_par_threads(pool));
  if (!scratch) abort(); /* a few KB per thread */
  scan_job j = {.y = y, .xbc = xbc, .dt = dt, .A_log = A_log, .D = D, .off = off,
                .ntask = ntask, .H = H, .P = P, .N = N, .G = G, .scratch = scratch,
                .per_thread = per};
  nn_par_run(pool, scan_fwd_item, &j, ntask * G);
  free(scratch);
}

/* The state update alone (the backward pass's recomputation): So = dA Si + dt x B^T. */
TGMM_CLONES static void scan_state(float *So, const float *Si, const float *x, const float *B,
                                   float dA, float dtv, int P, int N) {
  for (int n = 0; n < N; n++) {
    float *so = So + (size_t)n * P, bn = dtv * B[n];
    const float *si = Si + (size_t)n * P;
    for (int p = 0; p < P; p++) so[p] = dA * si[p] + bn * x[p];
  }
}

size_t nn_scan_scratch(const nn_par *pool, int nmax, int ntask, int H, int P, int N) {
  size_t per = ((size_t)nmax + 1) * P * N + 2 * (size_t)P;
  return per * (size_t)nn_par_threads(pool) + 2 * (size_t)ntask * H;
}

/* Backward of one token of one head. Gs (N x P) holds dL/dS_t from the later tokens; adds
 * dy C^T, then: dC += S_t^T dy, dB += dt Gs x, GB = Gs^T B, dx = dt GB + Dh dy,
 * returns (through *ddA) sum(Gs .* S_{t-1}), and scales Gs by dA (-> dL/dS_{t-1}). */
TGMM_CLONES static void scan_token_bwd(float *Gs, float *GB, float *dx, float *dB, float *dC,
                                       float *ddA, const float *St, const float *Sp,
                                       const float *dy, const float *x, const float *B,
                                       const float *Cv, float dA, float dtv, float Dh, int P,
                                       int N) {
  float acc = 0.0f;
  for (int p = 0; p < P; p++) GB[p] = 0.0f;
  for (int n = 0; n < N; n++) {
    float *gs = Gs + (size_t)n * P, cn = Cv[n], bn = B[n];
    const float *st = St + (size_t)n * P;
    dC[n] += dot(st, dy, P);
    for (int p = 0; p < P; p++) gs[p] += cn * dy[p];
    if (Sp) acc += dot(gs, Sp + (size_t)n * P, P);
    dB[n] += dtv * dot(gs, x, P);
    for (int p = 0; p < P; p++) {
      GB[p] += gs[p] * bn;
      gs[p] *= dA;
    }
  }
  for (int p = 0; p < P; p++) dx[p] = dtv * GB[p] + Dh * dy[p];
  *ddA = acc;
}

static void scan_bwd_item(void *arg, int item, int tid) {
  const scan_job *j = arg;
  int H = j->H, P = j->P, N = j->N, G = j->G, hpg = H / G, i = item / G, g = item % G;
  int HP = H * P, ld = HP + 2 * G * N, o = j->off[i], e = j->off[i + 1];
  size_t PN = (size_t)P * N;
  float *St = j->scratch + (size_t)tid * j->per_thread; /* [N_i, N, P] states */
  float *Gs = St + (size_t)j->nmax * PN, *GB = Gs + PN;
  for (int t = o; t < e; t++) { /* zero dB, dC of the group */
    float *r = j->dxbc + (size_t)t * ld + HP;
    memset(r + g * N, 0, sizeof(float) * (size_t)N);
    memset(r + G * N + g * N, 0, sizeof(float) * (size_t)N);
  }
  for (int h = g * hpg; h < (g + 1) * hpg; h++) {
    float A = -expf(j->A_log[h]), Dh = j->D[h];
    /* recompute the states S_t of the task (from the zero state in Gs) */
    memset(Gs, 0, sizeof(float) * PN);
    for (int t = o; t < e; t++) {
      const float *row = j->xbc + (size_t)t * ld;
      float dtv = j->dt[(size_t)t * H + h];
      float *S = St + (size_t)(t - o) * PN;
      scan_state(S, t > o ? S - PN : Gs, row + h * P, row + HP + g * N, expf(dtv * A), dtv, P, N);
    }
    double sA = 0.0, sD = 0.0;
    for (int t = e - 1; t >= o; t--) {
      const float *row = j->xbc + (size_t)t * ld, *x = row + h * P;
      const float *dy = j->dy + (size_t)t * HP + (size_t)h * P;
      float *drow = j->dxbc + (size_t)t * ld;
      float dtv = j->dt[(size_t)t * H + h], dA = expf(dtv * A), ddA;
      scan_token_bwd(Gs, GB, drow + h * P, drow + HP + g * N, drow + HP + G * N + g * N, &ddA,
                     St + (size_t)(t - o) * PN, t > o ? St + (size_t)(t - o - 1) * PN : NULL,
                     dy, x, row + HP + g * N, row + HP + G * N + g * N, dA, dtv, Dh, P, N);
      j->ddt[(size_t)t * H + h] = dot(x, GB, P) + ddA * A * dA;
      sA += (double)(ddA * dtv * dA);
      sD += (double)dot(dy, x, P);
    }
    j->part[((size_t)i * H + h) * 2] = (float)sA;
    j->part[((size_t)i * H + h) * 2 + 1] = (float)sD;
  }
}

void nn_scan_bwd(nn_par *pool, float *dxbc, float *ddt, float *dA_log, float *dD, float *scratch,
                 const float *dy, const float *xbc, const float *dt, const float *A_log,
                 const float *D, const int *off, int ntask, int nmax, int H, int P, int N, int G) {
  size_t per = ((size_t)nmax + 1) * P * N + 2 * (size_t)P;
  scan_job j = {.dxbc = dxbc, .ddt = ddt, .dy = dy, .xbc = xbc, .dt = dt, .A_log = A_log,
                .D = D, .off = off, .ntask = ntask, .nmax = nmax, .H = H, .P = P, .N = N,
                .G = G, .scratch = scratch, .per_thread = per};
  j.part = scratch + per * (size_t)nn_par_threads(pool);
  nn_par_run(pool, scan_bwd_item, &j, ntask * G);
  for (int h = 0; h < H; h++) { /* task order: the same sums for any thread count */
    float A = -expf(A_log[h]), sA = 0.0f, sD = 0.0f;
    for (int i = 0; i < ntask; i++) {
      sA += j.part[((size_t)i * H + h) * 2];
      sD += j.part[((size_t)i * H + h) * 2 + 1];
    }
    dA_log[h] += sA * A; /* A = -exp(A_log): dA/dA_log = A */
    dD[h] += sD;
  }
}
