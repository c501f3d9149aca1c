/* model_pass.c — TGMM forward and backward over a batch of packed ragged tasks, inference (the
 * mixture and the labels a model predicts) and the FLOPs of a step (see include/tgmm/model.h).
 * Every per-token layer is one call over all tokens of the batch (one big GEMM per linear map);
 * attention and the read-out work per task. */
#include <stdlib.h>
#include <string.h>

#include "model_impl.h"
#include "tgmm/common.h"
#include "tgmm/metrics.h"
#include "tgmm/model.h"
#include "tgmm/nn.h"

/* Per-layer activation views (layer l of the batch's T tokens). */
typedef struct {
  float *ln1, *ln1m, *ln1r, *qkv, *atty, *att, *res2, *ln2, *ln2m, *ln2r, *fch, *fchg, *res3;
} layer_acts;

static layer_acts layer_view(tgmm_model *m, int l) {
  tgmm_acts *a = &m->a;
  size_t T = (size_t)a->T, C = (size_t)m->dim.C, lt = (size_t)l * T;
  layer_acts v = {
      .ln1 = a->ln1 + lt * C, .ln1m = a->ln1m + lt, .ln1r = a->ln1r + lt,
      .qkv = a->qkv + lt * 3 * C, .atty = a->atty + lt * C, .att = a->att + (size_t)l * a->att_n,
      .res2 = a->res2 + lt * C, .ln2 = a->ln2 + lt * C, .ln2m = a->ln2m + lt, .ln2r = a->ln2r + lt,
      .fch = a->fch + lt * 4 * C, .fchg = a->fchg + lt * 4 * C, .res3 = a->res3 + lt * C};
  return v;
}

static float *P(tgmm_model *m, size_t off) { return m->params + off; }
static float *G(tgmm_model *m, size_t off) { return m->grads + off; }

/* h0 += pos_embd[n] (positions = learned). */
static void add_positions(tgmm_model *m, const tgmm_batch *b) {
  int C = m->dim.C;
  if (m->dim.n_positions <= 0) return;
  for (int i = 0; i < b->ntask; i++)
    for (int t = b->off[i]; t < b->off[i + 1]; t++)
      nn_add_inplace(NULL, m->a.h0 + (size_t)t * C, P(m, m->pos) + (size_t)(t - b->off[i]) * C,
                     (size_t)C);
}

/* xin[t] = [x_t, task_embd[K_i - 1]]; h0 = read_in(xin) (+ pos_embd[n]). */
static void embed_fwd(tgmm_model *m, const tgmm_batch *b) {
  const tgmm_model_dims *D = &m->dim;
  int dE = D->d + D->E, C = D->C;
  for (int i = 0; i < b->ntask; i++) {
    const float *e = P(m, m->task_embd) + (size_t)(b->K[i] - 1) * D->E;
    for (int t = b->off[i]; t < b->off[i + 1]; t++) {
      float *row = m->a.xin + (size_t)t * dE;
      memcpy(row, b->x + (size_t)t * D->d, sizeof(float) * (size_t)D->d);
      memcpy(row + D->d, e, sizeof(float) * (size_t)D->E);
    }
  }
  nn_linear_fwd(m->pool, m->a.h0, m->a.xin, P(m, m->read_in_w), P(m, m->read_in_b), m->a.T, dE, C);
  add_positions(m, b);
}

/* embed_fwd in inference: the task embedding's share of read_in is the same for every token of
 * a task, so it joins the bias, once per K of the batch: h0 = x Wx^T + (b + We e_K) with
 * read_in.weight = [Wx | We] (Wx [C, d], We [C, E]); by nn_linear_infer, task by task. */
static int embed_infer(tgmm_model *m, const tgmm_batch *b) {
  const tgmm_model_dims *D = &m->dim;
  int d = D->d, dE = D->d + D->E, C = D->C;
  const float *Wr = P(m, m->read_in_w), *br = P(m, m->read_in_b);
  float *Wx = tgmm_malloc(sizeof(float) * (size_t)C * ((size_t)d + (size_t)D->Kmax));
  char *have = tgmm_calloc((size_t)D->Kmax, 1);
  if (!Wx || !have) {
    free(Wx), free(have);
    return TGMM_ENOMEM;
  }
  float *bk = Wx + (size_t)C * d; /* [Kmax, C]: the bias of tasks with K = k + 1 */
  for (int c = 0; c < C; c++)
    memcpy(Wx + (size_t)c * d, Wr + (size_t)c * dE, sizeof(float) * (size_t)d);
  for (int i = 0; i < b->ntask; i++) {
    int k = b->K[i] - 1;
    if (!have[k]) {
      const float *e = P(m, m->task_embd) + (size_t)k * D->E;
      for (int c = 0; c < C; c++) {
        const float *w = Wr + (size_t)c * dE + d;
        float s = br[c];
        for (int j = 0; j < D->E; j++) s += w[j] * e[j];
        bk[(size_t)k * C + c] = s;
      }
      have[k] = 1;
    }
    int o = b->off[i];
    nn_linear_infer(m->pool, m->a.h0 + (size_t)o * C, b->x + (size_t)o * d, Wx,
                    bk + (size_t)k * C, NULL, b->off[i + 1] - o, d, C, 0);
  }
  free(Wx), free(have);
  add_positions(m, b);
  return TGMM_OK;
}

/* The rest of block o after ln1 in inference (nothing kept for a backward): the linear maps by
 * nn_linear_infer with the residuals and GELU fused into them (fc writes GELU's output alone),
 * attention by nn_attention_infer. */
static void block_infer(tgmm_model *m, const tgmm_batch *b, const tgmm_block_off *o,
                        const layer_acts *v, const float *in) {
  int T = m->a.T, C = m->dim.C;
  nn_linear_infer(m->pool, v->qkv, v->ln1, P(m, o->qkvw), P(m, o->qkvb), NULL, T, C, 3 * C, 0);
  nn_attention_infer(m->pool, v->atty, v->qkv, b->off, b->ntask, C, m->dim.H, m->dim.causal);
  nn_linear_infer(m->pool, v->res2, v->atty, P(m, o->projw), P(m, o->projb), in, T, C, C, 0);
  nn_layernorm_fwd(m->pool, v->ln2, v->ln2m, v->ln2r, v->res2, P(m, o->ln2w), P(m, o->ln2b), T, C);
  nn_linear_infer(m->pool, v->fchg, v->ln2, P(m, o->fcw), P(m, o->fcb), NULL, T, C, 4 * C, 1);
  nn_linear_infer(m->pool, v->res3, v->fchg, P(m, o->fcpw), P(m, o->fcpb), v->res2, T, 4 * C, C, 0);
}

/* Block l from its input `in`; its activations go to layer slot l, or in inference (infer != 0)
 * to slot 0 for every layer (in may then be slot 0's res3: it is read before res3 is written),
 * keeping no attention probabilities. */
static void block_fwd(tgmm_model *m, const tgmm_batch *b, int l, int infer, const float *in) {
  const tgmm_block_off *o = &m->blocks[l];
  layer_acts v = layer_view(m, infer ? 0 : l);
  int T = m->a.T, C = m->dim.C;
  size_t TC = (size_t)T * C;
  nn_layernorm_fwd(m->pool, v.ln1, v.ln1m, v.ln1r, in, P(m, o->ln1w), P(m, o->ln1b), T, C);
  if (infer) {
    block_infer(m, b, o, &v, in);
    return;
  }
  nn_linear_fwd(m->pool, v.qkv, v.ln1, P(m, o->qkvw), P(m, o->qkvb), T, C, 3 * C);
  nn_attention_fwd(m->pool, v.atty, infer ? NULL : v.att, v.qkv, b->off, b->ntask, C, m->dim.H,
                   m->dim.causal);
  nn_linear_fwd_add(m->pool, v.res2, v.atty, P(m, o->projw), P(m, o->projb), in, T, C, C);
  nn_layernorm_fwd(m->pool, v.ln2, v.ln2m, v.ln2r, v.res2, P(m, o->ln2w), P(m, o->ln2b), T, C);
  nn_linear_fwd(m->pool, v.fch, v.ln2, P(m, o->fcw), P(m, o->fcb), T, C, 4 * C);
  nn_gelu_fwd(m->pool, v.fchg, v.fch, TC * 4);
  nn_linear_fwd_add(m->pool, v.res3, v.fchg, P(m, o->fcpw), P(m, o->fcpb), v.res2, T, 4 * C, C);
}

/* Pooled output of task i: [Kmax, W]. */
static float *pooled(tgmm_model *m, int i) {
  return m->a.pO + (size_t)i * (size_t)m->dim.Kmax * (size_t)m->W;
}

static void readout_fwd(tgmm_model *m, const tgmm_batch *b) {
  int C = m->dim.C, W = m->W, Q = m->dim.Kmax;
  for (int i = 0; i < b->ntask; i++) {
    const tgmm_readout_off *r = &m->readout[b->cls[i]];
    int o = b->off[i], N = b->off[i + 1] - o;
    nn_pool_fwd(pooled(m, i), m->a.pA + (size_t)Q * o, m->a.pk + (size_t)o * W,
                m->a.pv + (size_t)o * W, m->a.lnf + (size_t)o * C, P(m, r->q), P(m, r->wk),
                P(m, r->wv), N, C, Q, W);
  }
}

void tgmm_model_match(const float *O, int Q, int W, int d, int K, const float *mu, int *perm) {
  size_t kd = (size_t)K * (size_t)d;
  double *est = tgmm_malloc(sizeof(double) * 2 * kd), *tru = est + kd;
  for (int k = 0; k < K; k++) perm[k] = k;
  if (!est) return; /* out of memory: canonical order */
  for (int k = 0; k < K; k++)
    for (int j = 0; j < d; j++) {
      est[(size_t)k * d + j] = O[(size_t)k * W + Q + j];
      tru[(size_t)k * d + j] = mu[(size_t)k * d + j];
    }
  tgmm_align(est, tru, K, d, perm);
  free(est);
}

/* Loss of task i; with dO != NULL also its gradient g * dloss/dO. Canonical: the targets as
 * given. Hungarian: true component k is the target of predicted component match[k] (weight,
 * mean and scale alike), so the loss is the canonical one on permuted targets. */
static double task_loss(tgmm_model *m, const tgmm_batch *b, int i, float *dO, float g,
                        double parts[3]) {
  const tgmm_model_dims *D = &m->dim;
  size_t Q = (size_t)D->Kmax, d = (size_t)D->d, kd = Q * d;
  const float *pi = b->weights + i * Q, *mu = b->means + i * kd;
  const float *sd = D->aniso && b->scales ? b->scales + i * kd : NULL;
  if (D->nll) {
    int o = b->off[i];
    double l = nn_gmm_nll(dO, pooled(m, i), D->Kmax, D->d, b->K[i], D->aniso,
                          b->x + (size_t)o * d, b->off[i + 1] - o, g, m->a.nllw);
    if (parts) parts[0] = l, parts[1] = parts[2] = 0.0;
    return l;
  }
  if (!D->hungarian)
    return nn_gmm_loss(dO, pooled(m, i), D->Kmax, D->d, b->K[i], pi, mu, sd, g, parts);
  float *tgt = m->a.tgt; /* [Q + 2 Q d] permuted pi | mu | sd */
  const int *perm = m->a.match + i * Q;
  for (int k = 0; k < b->K[i]; k++) {
    size_t p = (size_t)perm[k];
    tgt[p] = pi[k];
    memcpy(tgt + Q + p * d, mu + k * d, sizeof(float) * d);
    if (sd) memcpy(tgt + Q + kd + p * d, sd + k * d, sizeof(float) * d);
  }
  return nn_gmm_loss(dO, pooled(m, i), D->Kmax, D->d, b->K[i], tgt, tgt + Q, sd ? tgt + Q + kd : NULL,
                     g, parts);
}

/* Hungarian matching of every task of the batch from this forward's read-out. */
static void match_all(tgmm_model *m, const tgmm_batch *b) {
  size_t Q = (size_t)m->dim.Kmax, kd = Q * (size_t)m->dim.d;
  for (int i = 0; i < b->ntask; i++)
    tgmm_model_match(pooled(m, i), m->dim.Kmax, m->W, m->dim.d, b->K[i], b->means + i * kd,
                     m->a.match + i * Q);
}

static int check_batch(const tgmm_model *m, const tgmm_batch *b, int *T, int *nmax) {
  *T = b->off[b->ntask];
  *nmax = 1;
  for (int i = 0; i < b->ntask; i++) {
    int n = b->off[i + 1] - b->off[i];
    if (n < 1 || b->K[i] < 1 || b->K[i] > m->dim.Kmax || b->cls[i] < 0 ||
        b->cls[i] >= m->dim.nclass || (m->dim.n_positions > 0 && n > m->dim.n_positions)) {
      tgmm_error("task %d of the batch does not fit the model (N = %d, K = %d, class %d)", i, n,
                 b->K[i], b->cls[i]);
      return TGMM_EUSER;
    }
    if (n > *nmax) *nmax = n;
  }
  return TGMM_OK;
}

/* infer != 0: no targets, no backward to follow (one layer slot reused, no probabilities). */
static int forward(tgmm_model *m, const tgmm_batch *b, double norm, double *loss, double parts[3],
                   int infer) {
  int T, nmax;
  TGMM_TRY(check_batch(m, b, &T, &nmax));
  size_t att_n = m->ssm ? 0 : nn_attention_size(b->off, b->ntask, m->dim.H);
  TGMM_TRY(tgmm_model_reserve(m, T, b->ntask, nmax, att_n));
  m->a.T = T;
  m->a.ntask = b->ntask;
  m->a.nmax = nmax;
  m->a.att_n = att_n;
  if (infer && !m->ssm)
    TGMM_TRY(embed_infer(m, b));
  else
    embed_fwd(m, b);
  if (m->ssm) {
    TGMM_TRY(tgmm_ssm_forward(m, b)); /* h0 -> lnf */
  } else {
    const float *in = m->a.h0;
    for (int l = 0; l < m->dim.L; l++) {
      block_fwd(m, b, l, infer, in);
      in = layer_view(m, infer ? 0 : l).res3;
    }
    nn_layernorm_fwd(m->pool, m->a.lnf, m->a.lnfm, m->a.lnfr, in, P(m, m->lnfw), P(m, m->lnfb), T, m->dim.C);
  }
  int mix = tgmm_model_has_mixture(m), lab = tgmm_model_has_labels(m);
  if (mix) readout_fwd(m, b);
  if (lab) tgmm_labels_fwd(m);
  double sum = 0.0, acc[3] = {0, 0, 0};
  if (lab && b->z) sum += tgmm_labels_loss(m, b);
  if (mix && b->weights && b->means) {
    if (m->dim.hungarian && !m->dim.nll) match_all(m, b);
    for (int i = 0; i < b->ntask; i++) {
      double p[3];
      sum += task_loss(m, b, i, NULL, 0.0f, p);
      for (int j = 0; j < 3; j++) acc[j] += p[j];
    }
  }
  if (loss) *loss = sum / norm;
  if (parts)
    for (int j = 0; j < 3; j++) parts[j] = acc[j] / norm;
  return TGMM_OK;
}

int tgmm_model_forward(tgmm_model *m, const tgmm_batch *b, double norm, double *loss,
                       double parts[3]) {
  return forward(m, b, norm, loss, parts, 0);
}

static void readout_bwd(tgmm_model *m, const tgmm_batch *b, double norm) {
  int C = m->dim.C, W = m->W, Q = m->dim.Kmax;
  for (int i = 0; i < b->ntask; i++) {
    const tgmm_readout_off *r = &m->readout[b->cls[i]];
    int o = b->off[i], N = b->off[i + 1] - o;
    task_loss(m, b, i, m->a.dO, (float)(1.0 / norm), NULL);
    nn_pool_bwd(m->a.dlnf + (size_t)o * C, G(m, r->q), G(m, r->wk), G(m, r->wv), m->a.pscratch,
                m->a.dO, m->a.lnf + (size_t)o * C, P(m, r->q), P(m, r->wk), P(m, r->wv),
                m->a.pk + (size_t)o * W, m->a.pv + (size_t)o * W, m->a.pA + (size_t)Q * o, N, C,
                Q, W);
  }
}

/* m->a.dres holds dL/d(output of block l); on return dL/d(input of block l). */
static void block_bwd(tgmm_model *m, const tgmm_batch *b, int l, const float *in) {
  const tgmm_block_off *o = &m->blocks[l];
  layer_acts v = layer_view(m, l);
  tgmm_acts *a = &m->a;
  int T = a->T, C = m->dim.C;
  nn_linear_bwd(m->pool, a->d4, G(m, o->fcpw), G(m, o->fcpb), a->dres, v.fchg, P(m, o->fcpw), T, 4 * C, C);
  nn_gelu_bwd(m->pool, a->d4, a->d4, v.fch, (size_t)T * 4 * C);
  nn_linear_bwd(m->pool, a->dln, G(m, o->fcw), G(m, o->fcb), a->d4, v.ln2, P(m, o->fcw), T, C, 4 * C);
  nn_layernorm_bwd(m->pool, a->dres, G(m, o->ln2w), G(m, o->ln2b), a->dln, v.res2, P(m, o->ln2w), v.ln2m,
                   v.ln2r, T, C);
  nn_linear_bwd(m->pool, a->datty, G(m, o->projw), G(m, o->projb), a->dres, v.atty, P(m, o->projw), T, C, C);
  nn_attention_bwd(m->pool, a->d3, a->datty, v.qkv, v.att, b->off, b->ntask, C, m->dim.H, m->dim.causal);
  nn_linear_bwd(m->pool, a->dln, G(m, o->qkvw), G(m, o->qkvb), a->d3, v.ln1, P(m, o->qkvw), T, C, 3 * C);
  nn_layernorm_bwd(m->pool, a->dres, G(m, o->ln1w), G(m, o->ln1b), a->dln, in, P(m, o->ln1w), v.ln1m, v.ln1r,
                   T, C);
}

/* From dL/dh0 (in a->dres): position and task embeddings, read-in. */
static void embed_bwd(tgmm_model *m, const tgmm_batch *b) {
  const tgmm_model_dims *D = &m->dim;
  int C = D->C, dE = D->d + D->E;
  const float *dres = m->a.dres;
  for (int i = 0; i < b->ntask; i++) {
    float *gte = G(m, m->task_embd) + (size_t)(b->K[i] - 1) * D->E;
    float *s = m->a.dln; /* scratch: column sums of dres over the task, [C] */
    memset(s, 0, sizeof(float) * (size_t)C);
    for (int t = b->off[i]; t < b->off[i + 1]; t++) {
      nn_add_inplace(NULL, s, dres + (size_t)t * C, (size_t)C);
      if (D->n_positions > 0)
        nn_add_inplace(NULL, G(m, m->pos) + (size_t)(t - b->off[i]) * C, dres + (size_t)t * C, (size_t)C);
    }
    const float *Wr = P(m, m->read_in_w);
    for (int c = 0; c < C; c++)
      for (int e = 0; e < D->E; e++) gte[e] += s[c] * Wr[(size_t)c * dE + D->d + e];
  }
  nn_linear_bwd(m->pool, NULL, G(m, m->read_in_w), G(m, m->read_in_b), dres, m->a.xin, P(m, m->read_in_w),
                m->a.T, dE, C);
}

void tgmm_model_backward(tgmm_model *m, const tgmm_batch *b, double norm) {
  tgmm_acts *a = &m->a;
  int T = a->T, C = m->dim.C, L = m->dim.L;
  int mix = tgmm_model_has_mixture(m) && b->weights && b->means;
  if (mix) readout_bwd(m, b, norm);
  if (tgmm_model_has_labels(m) && b->z) tgmm_labels_bwd(m, b, norm, mix);
  else if (!mix) memset(a->dlnf, 0, sizeof(float) * (size_t)T * C); /* no targets: no gradient */
  if (m->ssm) {
    tgmm_ssm_backward(m, b); /* dlnf -> dres */
    embed_bwd(m, b);
    return;
  }
  memset(a->dres, 0, sizeof(float) * (size_t)T * C);
  const float *top = L > 0 ? layer_view(m, L - 1).res3 : a->h0;
  nn_layernorm_bwd(m->pool, a->dres, G(m, m->lnfw), G(m, m->lnfb), a->dlnf, top, P(m, m->lnfw), a->lnfm,
                   a->lnfr, T, C);
  for (int l = L - 1; l >= 0; l--)
    block_bwd(m, b, l, l > 0 ? layer_view(m, l - 1).res3 : a->h0);
  embed_bwd(m, b);
}

/* The forward pass of b without its targets (inference: read-outs and label logits only). */
static int infer(tgmm_model *m, const tgmm_batch *b) {
  tgmm_batch nb = *b; /* no targets: no loss, no matching */
  nb.weights = nb.means = nb.scales = NULL;
  nb.z = NULL;
  return forward(m, &nb, 1.0, NULL, NULL, 1);
}

int tgmm_model_predict(tgmm_model *m, const tgmm_batch *b, double *weights, double *means,
                       double *scales) {
  if (!tgmm_model_has_mixture(m)) {
    tgmm_error("the model has no mixture read-out (model.head = labels)");
    return TGMM_EUSER;
  }
  TGMM_TRY(infer(m, b));
  const tgmm_model_dims *D = &m->dim;
  size_t Q = (size_t)D->Kmax, kd = Q * (size_t)D->d;
  memset(weights, 0, sizeof(double) * Q * (size_t)b->ntask);
  memset(means, 0, sizeof(double) * kd * (size_t)b->ntask);
  if (scales) memset(scales, 0, sizeof(double) * kd * (size_t)b->ntask);
  for (int i = 0; i < b->ntask; i++)
    nn_gmm_predict(pooled(m, i), D->Kmax, D->d, b->K[i], D->aniso, weights + Q * i,
                   means + kd * i, scales ? scales + kd * i : NULL);
  return TGMM_OK;
}

int tgmm_model_predict_labels(tgmm_model *m, const tgmm_batch *b, int32_t *labels) {
  if (!tgmm_model_has_labels(m)) {
    tgmm_error("the model has no label head (model.head = mixture)");
    return TGMM_EUSER;
  }
  TGMM_TRY(infer(m, b));
  int Q = m->dim.Kmax;
  for (int i = 0; i < b->ntask; i++)
    for (int t = b->off[i]; t < b->off[i + 1]; t++) {
      const float *l = m->a.lab + (size_t)t * Q;
      int best = 0;
      for (int a = 1; a < b->K[i]; a++)
        if (l[a] > l[best]) best = a;
      labels[t] = best;
    }
  return TGMM_OK;
}

/* FLOPs of the forward of the read-outs (mixture and/or label head) on T tokens. */
static double head_flops(const tgmm_model *m, double T) {
  double C = m->dim.C, W = m->W, Q = m->dim.Kmax;
  double f = tgmm_model_has_mixture(m) ? 2.0 * T * (2.0 * W * C + 2.0 * Q * W) : 0.0;
  return f + (tgmm_model_has_labels(m) ? 2.0 * T * C * Q : 0.0);
}

/* The Mamba2 backbone's (model_ssm.c): in/out projections, conv and scan per layer. */
static double ssm_step_flops(const tgmm_model *m, const int *off, int ntask) {
  const tgmm_model_dims *D = &m->dim;
  double T = off[ntask], C = D->C, H = D->sH, I = H * D->sP, GN = (double)D->sG * D->sN;
  double Cc = I + 2 * GN, Dp = Cc + I + H;
  double lin = 2.0 * T * (C * Dp + I * C) * D->L + 2.0 * T * (D->d + D->E) * C;
  double scan = 2.0 * T * (2.0 * I * D->sN + Cc * D->sK) * D->L; /* state update + read, conv */
  return 3.0 * (lin + scan + head_flops(m, T)); /* backward = 2 x forward */
}

double tgmm_model_step_flops(const tgmm_model *m, const int *off, int ntask) {
  if (m->ssm) return ssm_step_flops(m, off, ntask);
  const tgmm_model_dims *D = &m->dim;
  double T = off[ntask], C = D->C, att = 0.0;
  for (int i = 0; i < ntask; i++) {
    double n = off[i + 1] - off[i];
    att += (D->causal ? 0.5 : 1.0) * n * n;
  }
  double lin = 2.0 * T * (12.0 * C * C) * D->L + 2.0 * T * (D->d + D->E) * C;
  double attn = 2.0 * 2.0 * att * C * D->L; /* QK^T and PV */
  double pool = head_flops(m, T);
  return 3.0 * (lin + attn + pool); /* backward = 2 x forward */
}
