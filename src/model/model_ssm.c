/* model_ssm.c — the Mamba2 backbone (model.backbone = mamba2): its tensors, initialisation,
 * activations, forward and backward between the read-in (m->a.h0) and the read-outs (m->a.lnf).
 *
 * Per layer (Hugging Face Mamba2, its torch_forward path), with inner width I = H P, state N,
 * G groups, conv kernel k, Cc = I + 2GN, Dp = 2I + 2GN + H:
 *   h += out_proj(gated_rmsnorm(scan(silu(conv(xBC)), softplus(dt + dt_bias)), z))
 *   where [z | xBC | dt] = in_proj(rmsnorm(h)) ([T, Dp]),
 * then norm_f (RMSNorm). Tasks are packed: every task's conv and scan start from zeros.
 *
 * Tensors, in buffer order, per layer L:
 *   layers.L.norm.weight [C]; layers.L.mixer.in_proj.weight [Dp, C];
 *   layers.L.mixer.conv1d.weight [Cc, 1, k]; layers.L.mixer.conv1d.bias [Cc];
 *   layers.L.mixer.dt_bias [H]; layers.L.mixer.A_log [H]; layers.L.mixer.D [H];
 *   layers.L.mixer.norm.weight [I]; layers.L.mixer.out_proj.weight [C, I];
 * then norm_f.weight [C]. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "model_impl.h"
#include "tgmm/common.h"
#include "tgmm/nn_ssm.h"
#include "tgmm/rng.h"

typedef struct {
  size_t normw, inw, convw, convb, dtb, alog, D, gnw, outw;
} ssm_layer_off;

struct tgmm_ssm {
  ssm_layer_off *lay; /* [L] */
  size_t normf;
  int T_cap, nmax_cap, ntask_cap;
  /* per layer, [L, T, ...]: norm output rn [C] and its rstd rr [1], in_proj output zx [Dp],
   * conv output before SiLU xc [Cc], dt [H], scan output y [I], gated-norm rstd gr [1],
   * layer output hout [C] */
  float *rn, *rr, *zx, *xc, *dt, *y, *gr, *hout;
  float *nfr; /* norm_f rstd [T] */
  /* one layer's recomputed values and gradients */
  float *xbc, *gn, *dzx, *dxbc, *dy, *ddt, *dgn, *scan;
  size_t scan_cap;
};

int tgmm_ssm_dims(const tgmm_config *cfg, tgmm_model_dims *dim) {
  dim->ssm = 1;
  dim->sH = cfg->model.ssm_heads;
  dim->sP = cfg->model.ssm_head_dim;
  dim->sN = cfg->model.ssm_state;
  dim->sG = cfg->model.ssm_groups;
  dim->sK = cfg->model.conv_kernel;
  dim->n_positions = 0; /* the scan is ordered by itself: no position table */
  if (dim->sH % dim->sG) {
    tgmm_error0("model.ssm_heads = %d is not a multiple of model.ssm_groups = %d", dim->sH, dim->sG);
    return TGMM_EUSER;
  }
  if (dim->sK > 64) { /* the config's range; the conv's weight-gradient buffer */
    tgmm_error0("model.conv_kernel = %d: the mamba2 backbone supports kernels up to 64", dim->sK);
    return TGMM_EUSER;
  }
  return TGMM_OK;
}

static void acts_free(struct tgmm_ssm *s) {
  float **p[] = {&s->rn, &s->rr, &s->zx, &s->xc, &s->dt, &s->y, &s->gr, &s->hout, &s->nfr,
                 &s->xbc, &s->gn, &s->dzx, &s->dxbc, &s->dy, &s->ddt, &s->dgn, &s->scan};
  for (size_t i = 0; i < sizeof p / sizeof p[0]; i++) {
    free(*p[i]);
    *p[i] = NULL;
  }
  s->T_cap = s->nmax_cap = s->ntask_cap = 0;
  s->scan_cap = 0;
}

struct tgmm_ssm *tgmm_ssm_new(const tgmm_model_dims *dim) {
  struct tgmm_ssm *s = tgmm_calloc(1, sizeof *s);
  if (!s) return NULL;
  s->lay = tgmm_calloc((size_t)(dim->L > 0 ? dim->L : 1), sizeof(ssm_layer_off));
  if (!s->lay) {
    free(s);
    return NULL;
  }
  return s;
}

void tgmm_ssm_free(struct tgmm_ssm *s) {
  if (!s) return;
  acts_free(s);
  free(s->lay);
  free(s);
}

void tgmm_ssm_layout(tgmm_model *m, size_t *off) {
  const tgmm_model_dims *D = &m->dim;
  int C = D->C, I = D->sH * D->sP, GN = D->sG * D->sN, H = D->sH;
  int Cc = I + 2 * GN, Dp = 2 * I + 2 * GN + H;
  char n[64];
  for (int l = 0; l < D->L; l++) {
    ssm_layer_off *o = &m->ssm->lay[l];
#define T(field, suffix, nd, s0, s1) \
  (snprintf(n, sizeof n, "layers.%d.%s", l, suffix), o->field = tgmm_model_add_tensor(m, off, n, nd, s0, s1))
    T(normw, "norm.weight", 1, C, 1);
    T(inw, "mixer.in_proj.weight", 2, Dp, C);
    T(convw, "mixer.conv1d.weight", 2, Cc, D->sK);
    tgmm_tensor *cw = &m->tensors[m->ntensors - 1]; /* PyTorch's Conv1d shape [Cc, 1, k] */
    cw->ndim = 3, cw->shape[1] = 1, cw->shape[2] = D->sK;
    T(convb, "mixer.conv1d.bias", 1, Cc, 1);
    T(dtb, "mixer.dt_bias", 1, H, 1);
    T(alog, "mixer.A_log", 1, H, 1);
    T(D, "mixer.D", 1, H, 1);
    T(gnw, "mixer.norm.weight", 1, I, 1);
    T(outw, "mixer.out_proj.weight", 2, C, I);
#undef T
  }
  m->ssm->normf = tgmm_model_add_tensor(m, off, "norm_f.weight", 1, C, 1);
}

/* Hugging Face's Mamba2 initialisation: norms 1, A_log = log(1..H), D = 1, dt_bias = inverse
 * softplus of dt ~ log-uniform [1e-3, 1e-1] (floor 1e-4); conv1d as PyTorch's Conv1d default
 * (weight and bias U(-1/sqrt(k), 1/sqrt(k))). in_proj and out_proj keep the generic N(0, 0.02).
 * Tensor j draws from stream (seed, TGMM_STREAM_INIT, j) as in tgmm_model_init. */
void tgmm_ssm_init(tgmm_model *m, uint32_t seed) {
  const tgmm_model_dims *D = &m->dim;
  for (int j = 0; j < m->ntensors; j++) {
    const tgmm_tensor *t = &m->tensors[j];
    float *p = m->params + t->off;
    tgmm_rng r;
    tgmm_rng_init(&r, seed, TGMM_STREAM_INIT, (uint64_t)j, 0);
    const char *dot = strrchr(t->name, '.');
    if (strncmp(t->name, "layers.", 7) && strcmp(t->name, "norm_f.weight")) continue;
    if (!strcmp(dot, ".A_log")) {
      for (size_t i = 0; i < t->numel; i++) p[i] = (float)log((double)(i + 1));
    } else if (!strcmp(dot, ".D") || strstr(t->name, "norm")) {
      for (size_t i = 0; i < t->numel; i++) p[i] = 1.0f;
    } else if (!strcmp(dot, ".dt_bias")) {
      for (size_t i = 0; i < t->numel; i++) {
        double u = tgmm_rng_uniform(&r);
        double dt = exp(u * (log(1e-1) - log(1e-3)) + log(1e-3));
        if (dt < 1e-4) dt = 1e-4;
        p[i] = (float)(dt + log(-expm1(-dt)));
      }
    } else if (strstr(t->name, ".conv1d.")) {
      double a = 1.0 / sqrt((double)D->sK);
      for (size_t i = 0; i < t->numel; i++) p[i] = (float)tgmm_rng_uniform_range(&r, -a, a);
    }
  }
}

static float *grow(float **p, size_t n) {
  free(*p);
  *p = tgmm_malloc(sizeof(float) * (n ? n : 1));
  return *p;
}

/* Activations of a batch; with bwd also the scan's backward scratch (the states of the longest
 * task per thread: not needed for inference, where tasks may be long). */
static int reserve(tgmm_model *m, int T, int ntask, int nmax, int bwd) {
  struct tgmm_ssm *s = m->ssm;
  const tgmm_model_dims *D = &m->dim;
  size_t need = bwd ? nn_scan_scratch(m->pool, nmax, ntask, D->sH, D->sP, D->sN) : 0;
  if (T <= s->T_cap && ntask <= s->ntask_cap && nmax <= s->nmax_cap && need <= s->scan_cap)
    return TGMM_OK;
  if (T < s->T_cap) T = s->T_cap;
  if (ntask < s->ntask_cap) ntask = s->ntask_cap;
  if (nmax < s->nmax_cap) nmax = s->nmax_cap;
  if (need < s->scan_cap) need = s->scan_cap;
  acts_free(s);
  size_t t = (size_t)T, L = (size_t)D->L, C = (size_t)D->C, H = (size_t)D->sH;
  size_t I = H * (size_t)D->sP, GN = (size_t)D->sG * (size_t)D->sN;
  size_t Cc = I + 2 * GN, Dp = 2 * I + 2 * GN + H;
  int ok = 1;
  ok &= grow(&s->rn, L * t * C) && grow(&s->rr, L * t) && grow(&s->zx, L * t * Dp);
  ok &= grow(&s->xc, L * t * Cc) && grow(&s->dt, L * t * H) && grow(&s->y, L * t * I);
  ok &= grow(&s->gr, L * t) && grow(&s->hout, L * t * C) && grow(&s->nfr, t);
  ok &= grow(&s->xbc, t * Cc) && grow(&s->gn, t * I) && grow(&s->dzx, t * Dp);
  ok &= grow(&s->dxbc, t * Cc) && grow(&s->dy, t * I) && grow(&s->ddt, t * H);
  ok &= grow(&s->dgn, t * I) && grow(&s->scan, need);
  if (!ok) {
    acts_free(s);
    return TGMM_ENOMEM;
  }
  s->T_cap = T;
  s->ntask_cap = ntask;
  s->nmax_cap = nmax;
  s->scan_cap = need;
  return TGMM_OK;
}

/* Views of layer l's activations. */
typedef struct {
  float *rn, *rr, *zx, *xc, *dt, *y, *gr, *hout;
} layer_acts;

static layer_acts view(const tgmm_model *m, int l) {
  const struct tgmm_ssm *s = m->ssm;
  const tgmm_model_dims *D = &m->dim;
  size_t lt = (size_t)l * (size_t)m->a.T, C = (size_t)D->C, H = (size_t)D->sH;
  size_t I = H * (size_t)D->sP, GN = (size_t)D->sG * (size_t)D->sN;
  layer_acts v = {.rn = s->rn + lt * C, .rr = s->rr + lt, .zx = s->zx + lt * (2 * I + 2 * GN + H),
                  .xc = s->xc + lt * (I + 2 * GN), .dt = s->dt + lt * H, .y = s->y + lt * I,
                  .gr = s->gr + lt, .hout = s->hout + lt * C};
  return v;
}

static float *P(const tgmm_model *m, size_t off) { return m->params + off; }
static float *G(const tgmm_model *m, size_t off) { return m->grads + off; }

/* The values of layer l that the backward pass recomputes: xbc = silu(xc), gn = the gated norm. */
static void recompute(tgmm_model *m, int l, const layer_acts *v, int want_gn) {
  const tgmm_model_dims *D = &m->dim;
  struct tgmm_ssm *s = m->ssm;
  int T = m->a.T, I = D->sH * D->sP, GN = D->sG * D->sN, Cc = I + 2 * GN, Dp = Cc + I + D->sH;
  nn_silu_fwd(m->pool, s->xbc, v->xc, (size_t)T * Cc);
  if (want_gn)
    nn_gated_rmsnorm_fwd(m->pool, s->gn, v->gr, v->y, v->zx, Dp, P(m, s->lay[l].gnw), T, I);
}

static void layer_fwd(tgmm_model *m, const tgmm_batch *b, int l, const float *in) {
  const tgmm_model_dims *D = &m->dim;
  struct tgmm_ssm *s = m->ssm;
  const ssm_layer_off *o = &s->lay[l];
  layer_acts v = view(m, l);
  int T = m->a.T, C = D->C, H = D->sH, I = H * D->sP, GN = D->sG * D->sN, Cc = I + 2 * GN;
  int Dp = Cc + I + H;
  nn_rmsnorm_fwd(m->pool, v.rn, v.rr, in, P(m, o->normw), T, C);
  nn_linear_fwd(m->pool, v.zx, v.rn, P(m, o->inw), NULL, T, C, Dp);
  nn_conv_fwd(m->pool, v.xc, v.zx + I, Dp, P(m, o->convw), P(m, o->convb), b->off, b->ntask, Cc,
              D->sK);
  nn_softplus_bias_fwd(v.dt, v.zx + I + Cc, Dp, P(m, o->dtb), T, H);
  nn_silu_fwd(m->pool, s->xbc, v.xc, (size_t)T * Cc);
  nn_scan_fwd(m->pool, v.y, s->xbc, v.dt, P(m, o->alog), P(m, o->D), b->off, b->ntask, H, D->sP,
              D->sN, D->sG);
  nn_gated_rmsnorm_fwd(m->pool, s->gn, v.gr, v.y, v.zx, Dp, P(m, o->gnw), T, I);
  nn_linear_fwd(m->pool, v.hout, s->gn, P(m, o->outw), NULL, T, I, C);
  nn_add_inplace(m->pool, v.hout, in, (size_t)T * C);
}

int tgmm_ssm_forward(tgmm_model *m, const tgmm_batch *b) {
  TGMM_TRY(reserve(m, m->a.T, b->ntask, m->a.nmax, b->weights && b->means));
  const float *in = m->a.h0;
  for (int l = 0; l < m->dim.L; l++) {
    layer_fwd(m, b, l, in);
    in = view(m, l).hout;
  }
  nn_rmsnorm_fwd(m->pool, m->a.lnf, m->ssm->nfr, in, P(m, m->ssm->normf), m->a.T, m->dim.C);
  return TGMM_OK;
}

/* m->a.dres holds dL/d(output of layer l); on return dL/d(its input). */
static void layer_bwd(tgmm_model *m, const tgmm_batch *b, int l, const float *in) {
  const tgmm_model_dims *D = &m->dim;
  struct tgmm_ssm *s = m->ssm;
  const ssm_layer_off *o = &s->lay[l];
  layer_acts v = view(m, l);
  int T = m->a.T, C = D->C, H = D->sH, I = H * D->sP, GN = D->sG * D->sN, Cc = I + 2 * GN;
  int Dp = Cc + I + H;
  float *dres = m->a.dres, *dnorm = m->a.dln;
  recompute(m, l, &v, 1);
  nn_linear_bwd(m->pool, s->dgn, G(m, o->outw), NULL, dres, s->gn, P(m, o->outw), T, I, C);
  nn_gated_rmsnorm_bwd(m->pool, s->dy, s->dzx, Dp, G(m, o->gnw), s->dgn, v.y, v.zx, Dp,
                       P(m, o->gnw), v.gr, T, I);
  nn_scan_bwd(m->pool, s->dxbc, s->ddt, G(m, o->alog), G(m, o->D), s->scan, s->dy, s->xbc, v.dt,
              P(m, o->alog), P(m, o->D), b->off, b->ntask, m->a.nmax, H, D->sP, D->sN, D->sG);
  nn_softplus_bias_bwd(s->dzx + I + Cc, Dp, G(m, o->dtb), s->ddt, v.zx + I + Cc, Dp, P(m, o->dtb),
                       T, H);
  nn_silu_bwd(m->pool, s->dxbc, s->dxbc, v.xc, (size_t)T * Cc);
  nn_conv_bwd(m->pool, s->dzx + I, Dp, G(m, o->convw), G(m, o->convb), s->dxbc, v.zx + I, Dp,
              P(m, o->convw), b->off, b->ntask, Cc, D->sK);
  nn_linear_bwd(m->pool, dnorm, G(m, o->inw), NULL, s->dzx, v.rn, P(m, o->inw), T, C, Dp);
  nn_rmsnorm_bwd(m->pool, dres, G(m, o->normw), dnorm, in, P(m, o->normw), v.rr, T, C);
}

void tgmm_ssm_backward(tgmm_model *m, const tgmm_batch *b) {
  tgmm_acts *a = &m->a;
  const tgmm_model_dims *D = &m->dim;
  /* the forward pass with targets reserved the scan's scratch */
  if (nn_scan_scratch(m->pool, a->nmax, b->ntask, D->sH, D->sP, D->sN) > m->ssm->scan_cap) {
    tgmm_error("internal: mamba2 backward pass without a forward pass with targets");
    abort();
  }
  int T = a->T, C = m->dim.C, L = m->dim.L;
  memset(a->dres, 0, sizeof(float) * (size_t)T * C);
  const float *top = L > 0 ? view(m, L - 1).hout : a->h0;
  nn_rmsnorm_bwd(m->pool, a->dres, G(m, m->ssm->normf), a->dlnf, top, P(m, m->ssm->normf),
                 m->ssm->nfr, T, C);
  for (int l = L - 1; l >= 0; l--) layer_bwd(m, b, l, l > 0 ? view(m, l - 1).hout : a->h0);
}
