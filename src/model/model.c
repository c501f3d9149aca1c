/* model.c — the TGMM model's dimensions from a config, its parameter layout (the tensors in
 * buffer order, through the tensor table of model_tensor.c), initialisation, threads and
 * activation memory. Forward/backward: model_pass.c. */
#include "tgmm/model.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "model_impl.h"
#include "tgmm/common.h"
#include "tgmm/rng.h"

int tgmm_model_dims_from_config(const tgmm_config *cfg, tgmm_model_dims *dim) {
  memset(dim, 0, sizeof *dim);
  dim->d = cfg->d;
  dim->C = cfg->model.n_embd;
  dim->L = cfg->model.n_layer;
  dim->H = cfg->model.n_head;
  dim->E = cfg->model.n_task_embd;
  dim->Kmax = tgmm_config_Kmax(cfg);
  dim->nclass = tgmm_config_nclass(cfg);
  dim->n_positions = cfg->model.positions == TGMM_POS_LEARNED ? cfg->model.n_positions : 0;
  dim->causal = cfg->model.attention == TGMM_ATTN_CAUSAL;
  dim->aniso = cfg->family == TGMM_FAMILY_ANISOTROPIC || cfg->model.predict_scales;
  dim->hungarian = cfg->train.matching == TGMM_MATCH_HUNGARIAN;
  dim->nll = cfg->train.loss == TGMM_LOSS_NLL;
  dim->head = (int)cfg->model.head;
  if (cfg->model.backbone == TGMM_BACKBONE_MAMBA2) TGMM_TRY(tgmm_ssm_dims(cfg, dim));
  if (!dim->ssm && dim->C % dim->H != 0) {
    tgmm_error0("model.n_embd = %d is not divisible by model.n_head = %d", dim->C, dim->H);
    return TGMM_EUSER;
  }
  if (dim->Kmax > 64) {
    tgmm_error0("the model supports K up to 64 (largest K is %d)", dim->Kmax);
    return TGMM_EUSER;
  }
  return TGMM_OK;
}

static void layout_block(tgmm_model *m, size_t *off, int l) {
  int C = m->dim.C;
  char n[64];
  tgmm_block_off *b = &m->blocks[l];
#define T1(field, suffix, s0)                          \
  (snprintf(n, sizeof n, "blocks.%d.%s", l, suffix), \
   b->field = tgmm_model_add_tensor(m, off, n, 1, s0, 1))
#define T2(field, suffix, s0, s1)                      \
  (snprintf(n, sizeof n, "blocks.%d.%s", l, suffix), \
   b->field = tgmm_model_add_tensor(m, off, n, 2, s0, s1))
  T1(ln1w, "ln1.weight", C);
  T1(ln1b, "ln1.bias", C);
  T2(qkvw, "attn.qkv.weight", 3 * C, C);
  T1(qkvb, "attn.qkv.bias", 3 * C);
  T2(projw, "attn.proj.weight", C, C);
  T1(projb, "attn.proj.bias", C);
  T1(ln2w, "ln2.weight", C);
  T1(ln2b, "ln2.bias", C);
  T2(fcw, "mlp.fc.weight", 4 * C, C);
  T1(fcb, "mlp.fc.bias", 4 * C);
  T2(fcpw, "mlp.proj.weight", C, 4 * C);
  T1(fcpb, "mlp.proj.bias", C);
#undef T1
#undef T2
}

static void layout(tgmm_model *m) {
  const tgmm_model_dims *D = &m->dim;
  size_t off = 0;
  char n[64];
  m->task_embd = tgmm_model_add_tensor(m, &off, "task_embd.weight", 2, D->Kmax, D->E);
  m->read_in_w = tgmm_model_add_tensor(m, &off, "read_in.weight", 2, D->C, D->d + D->E);
  m->read_in_b = tgmm_model_add_tensor(m, &off, "read_in.bias", 1, D->C, 1);
  if (D->ssm) {
    tgmm_ssm_layout(m, &off);
  } else {
    if (D->n_positions > 0)
      m->pos = tgmm_model_add_tensor(m, &off, "pos_embd.weight", 2, D->n_positions, D->C);
    for (int l = 0; l < D->L; l++) layout_block(m, &off, l);
    m->lnfw = tgmm_model_add_tensor(m, &off, "ln_f.weight", 1, D->C, 1);
    m->lnfb = tgmm_model_add_tensor(m, &off, "ln_f.bias", 1, D->C, 1);
  }
  for (int i = 0; i < D->nclass && D->head != TGMM_HEAD_LABELS; i++) {
    snprintf(n, sizeof n, "readout.%d.q", i);
    m->readout[i].q = tgmm_model_add_tensor(m, &off, n, 2, D->Kmax, m->W);
    snprintf(n, sizeof n, "readout.%d.wk", i);
    m->readout[i].wk = tgmm_model_add_tensor(m, &off, n, 2, m->W, D->C);
    snprintf(n, sizeof n, "readout.%d.wv", i);
    m->readout[i].wv = tgmm_model_add_tensor(m, &off, n, 2, m->W, D->C);
  }
  if (D->head != TGMM_HEAD_MIXTURE) {
    m->lab_w = tgmm_model_add_tensor(m, &off, "label_head.weight", 2, D->Kmax, D->C);
    m->lab_b = tgmm_model_add_tensor(m, &off, "label_head.bias", 1, D->Kmax, 1);
  }
  m->nparams = off;
}

int tgmm_model_create(tgmm_model *m, const tgmm_model_dims *dim) {
  memset(m, 0, sizeof *m);
  m->dim = *dim;
  m->W = dim->Kmax + dim->d * (dim->aniso ? 2 : 1);
  int cap = 8 + 12 * dim->L + 3 * dim->nclass;
  m->tensors = tgmm_calloc((size_t)cap, sizeof(tgmm_tensor));
  m->blocks = tgmm_calloc((size_t)(dim->L > 0 ? dim->L : 1), sizeof(tgmm_block_off));
  m->readout = tgmm_calloc((size_t)dim->nclass, sizeof(tgmm_readout_off));
  if (dim->ssm) m->ssm = tgmm_ssm_new(dim);
  if (!m->tensors || !m->blocks || !m->readout || (dim->ssm && !m->ssm)) {
    tgmm_model_free(m);
    return TGMM_ENOMEM;
  }
  layout(m);
  m->params = tgmm_calloc(m->nparams, sizeof(float));
  m->grads = tgmm_calloc(m->nparams, sizeof(float));
  m->m = tgmm_calloc(m->nparams, sizeof(float));
  m->v = tgmm_calloc(m->nparams, sizeof(float));
  if (!m->params || !m->grads || !m->m || !m->v) {
    tgmm_model_free(m);
    return TGMM_ENOMEM;
  }
  return TGMM_OK;
}

static void acts_free(tgmm_acts *a) {
  float **p[] = {&a->xin,  &a->h0,  &a->ln1,  &a->ln1m, &a->ln1r,     &a->qkv,  &a->atty,
                 &a->att,  &a->res2, &a->ln2, &a->ln2m, &a->ln2r,     &a->fch,  &a->fchg,
                 &a->res3, &a->lnf, &a->lnfm, &a->lnfr, &a->pk,       &a->pv,   &a->pA,
                 &a->pO,   &a->dres, &a->dln, &a->d4,   &a->d3,       &a->datty, &a->dlnf,
                 &a->pscratch, &a->dO, &a->tgt, &a->lab, &a->dlab};
  for (size_t i = 0; i < sizeof p / sizeof p[0]; i++) {
    free(*p[i]);
    *p[i] = NULL;
  }
  free(a->match), free(a->lmatch), free(a->nllw);
  a->match = a->lmatch = NULL;
  a->nllw = NULL;
  a->T_cap = a->ntask_cap = a->nmax_cap = 0;
  a->att_cap = 0;
}

void openblas_set_num_threads(int);

int tgmm_model_set_threads(tgmm_model *m, int n) {
  nn_par_free(m->pool);
  m->pool = NULL;
  openblas_set_num_threads(1);
  if (n <= 1) return TGMM_OK;
  m->pool = nn_par_create(n);
  if (!m->pool || nn_par_threads(m->pool) != n) {
    tgmm_error("cannot start %d threads", n);
    return TGMM_EFAIL;
  }
  return TGMM_OK;
}

int tgmm_model_set_threads_fixed(tgmm_model *m, int n) {
  nn_par_free(m->pool);
  openblas_set_num_threads(1);
  m->pool = nn_par_create_fixed(n);
  if (!m->pool || nn_par_threads(m->pool) != (n > 1 ? n : 1)) {
    tgmm_error("cannot start %d threads", n);
    return TGMM_EFAIL;
  }
  return TGMM_OK;
}

void tgmm_model_free(tgmm_model *m) {
  nn_par_free(m->pool);
  acts_free(&m->a);
  tgmm_ssm_free(m->ssm);
  free(m->tensors), free(m->blocks), free(m->readout);
  free(m->params), free(m->grads), free(m->m), free(m->v);
  memset(m, 0, sizeof *m);
}

static int ends_with(const char *s, const char *suffix) {
  size_t a = strlen(s), b = strlen(suffix);
  return a >= b && !strcmp(s + a - b, suffix);
}

/* GPT-2: Linear/Embedding weights N(0, 0.02); the residual projections N(0, 0.02/sqrt(2L));
 * LayerNorm weight 1, biases 0; pooling queries N(0, 1). */
void tgmm_model_init(tgmm_model *m, uint32_t seed) {
  for (int j = 0; j < m->ntensors; j++) {
    const tgmm_tensor *t = &m->tensors[j];
    float *p = m->params + t->off;
    double std = 0.02;
    if (strstr(t->name, ".ln") || !strncmp(t->name, "ln_f", 4)) {
      float v = ends_with(t->name, ".weight") ? 1.0f : 0.0f;
      for (size_t i = 0; i < t->numel; i++) p[i] = v;
      continue;
    }
    if (ends_with(t->name, ".bias")) {
      memset(p, 0, sizeof(float) * t->numel);
      continue;
    }
    if (ends_with(t->name, "attn.proj.weight") || ends_with(t->name, "mlp.proj.weight"))
      std = 0.02 / sqrt(2.0 * m->dim.L);
    if (ends_with(t->name, ".q")) std = 1.0;
    tgmm_rng r;
    tgmm_rng_init(&r, seed, TGMM_STREAM_INIT, (uint64_t)j, 0);
    for (size_t i = 0; i < t->numel; i++) p[i] = (float)(std * tgmm_rng_normal(&r));
  }
  if (m->ssm) tgmm_ssm_init(m, seed);
  memset(m->m, 0, sizeof(float) * m->nparams);
  memset(m->v, 0, sizeof(float) * m->nparams);
  tgmm_model_zero_grad(m);
}

void tgmm_model_zero_grad(tgmm_model *m) { memset(m->grads, 0, sizeof(float) * m->nparams); }

static float *grow(float **p, size_t n) {
  free(*p);
  *p = tgmm_malloc(sizeof(float) * (n ? n : 1));
  return *p;
}

/* Make room for a batch of T tokens, ntask tasks, longest task nmax, att_n attention floats
 * per layer. Buffers only grow (by at least a quarter once they exist). */
int tgmm_model_reserve(tgmm_model *m, int T, int ntask, int nmax, size_t att_n) {
  tgmm_acts *a = &m->a;
  if (T <= a->T_cap && ntask <= a->ntask_cap && nmax <= a->nmax_cap && att_n <= a->att_cap)
    return TGMM_OK;
  if (T < a->T_cap) T = a->T_cap;
  if (ntask < a->ntask_cap) ntask = a->ntask_cap;
  if (nmax < a->nmax_cap) nmax = a->nmax_cap;
  if (att_n < a->att_cap) att_n = a->att_cap;
  /* a batch larger than the last: a quarter more room than that (ragged batches of random N
   * stop re-allocating, and re-faulting, every layer's activations after a few steps) */
  if (a->T_cap > 0 && T < a->T_cap + a->T_cap / 4) T = a->T_cap + a->T_cap / 4;
  if (a->att_cap > 0 && att_n < a->att_cap + a->att_cap / 4) att_n = a->att_cap + a->att_cap / 4;
  acts_free(a);
  const tgmm_model_dims *D = &m->dim;
  /* L: transformer blocks (mamba2 keeps its layers' activations in m->ssm) */
  size_t t = (size_t)T, C = (size_t)D->C, L = D->ssm ? 0 : (size_t)D->L, W = (size_t)m->W,
         Q = (size_t)D->Kmax;
  size_t ok = 1;
  ok &= !!grow(&a->xin, t * (size_t)(D->d + D->E));
  ok &= !!grow(&a->h0, t * C);
  ok &= !!grow(&a->ln1, L * t * C) && grow(&a->ln1m, L * t) && grow(&a->ln1r, L * t);
  ok &= !!grow(&a->qkv, L * t * 3 * C) && grow(&a->atty, L * t * C) && grow(&a->att, L * att_n);
  ok &= !!grow(&a->res2, L * t * C) && grow(&a->ln2, L * t * C);
  ok &= !!grow(&a->ln2m, L * t) && grow(&a->ln2r, L * t);
  ok &= !!grow(&a->fch, L * t * 4 * C) && grow(&a->fchg, L * t * 4 * C) && grow(&a->res3, L * t * C);
  ok &= !!grow(&a->lnf, t * C) && grow(&a->lnfm, t) && grow(&a->lnfr, t);
  ok &= !!grow(&a->pk, t * W) && grow(&a->pv, t * W) && grow(&a->pA, Q * t);
  ok &= !!grow(&a->pO, (size_t)ntask * Q * W);
  ok &= !!grow(&a->dres, t * C) && grow(&a->dln, t * C) && grow(&a->d4, t * 4 * C);
  ok &= !!grow(&a->d3, t * 3 * C) && grow(&a->datty, t * C) && grow(&a->dlnf, t * C);
  ok &= !!grow(&a->pscratch, Q * (size_t)nmax + 2 * (size_t)nmax * W) && grow(&a->dO, Q * W);
  ok &= !!grow(&a->tgt, Q + 2 * Q * (size_t)D->d);
  ok &= !!(a->match = tgmm_malloc(sizeof(int) * (size_t)ntask * Q));
  size_t lab = D->head != TGMM_HEAD_MIXTURE ? t * Q : 0;
  ok &= !!grow(&a->lab, lab) && grow(&a->dlab, lab);
  ok &= !!(a->lmatch = tgmm_malloc(sizeof(int) * (size_t)ntask * Q));
  ok &= !!(a->nllw = tgmm_malloc(sizeof(double) * 3 * Q * (size_t)D->d));
  if (!ok) {
    acts_free(a);
    return TGMM_ENOMEM;
  }
  a->T_cap = T;
  a->ntask_cap = ntask;
  a->nmax_cap = nmax;
  a->att_cap = att_n;
  return TGMM_OK;
}
