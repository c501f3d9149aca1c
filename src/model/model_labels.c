/* model_labels.c — the label head (model.head = labels | both; include/tgmm/model.h): a linear
 * map from every sample's final hidden state to Kmax class logits, its permutation-minimised
 * cross-entropy (He et al.'s clustering objective) and its backward. Inference
 * (tgmm_model_predict_labels): model_pass.c. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "model_impl.h"
#include "tgmm/common.h"
#include "tgmm/metrics.h"
#include "tgmm/model.h"
#include "tgmm/nn.h"

/* log p(a) for a < K of one row of logits (log-softmax in double). */
static void log_softmax(const float *l /* [K] */, int K, double *lp /* [K] */) {
  double mx = l[0], s = 0.0;
  for (int a = 1; a < K; a++)
    if (l[a] > mx) mx = l[a];
  for (int a = 0; a < K; a++) s += exp((double)l[a] - mx);
  double lse = mx + log(s);
  for (int a = 0; a < K; a++) lp[a] = (double)l[a] - lse;
}

/* d[n, a] = s (p_n(a) - [a == perm[z_n]]) for a < K; 0 elsewhere and for samples without a
 * component of the task. */
static void label_grad(const float *logits /* [N, Q] */, int N, int Q, int K, const int32_t *z,
                       const int *perm /* [K] */, float s, float *d /* [N, Q] */) {
  double lp[64];
  for (int n = 0; n < N; n++) {
    float *dn = d + (size_t)n * Q;
    memset(dn, 0, sizeof(float) * (size_t)Q);
    if (z[n] < 0 || z[n] >= K) continue;
    log_softmax(logits + (size_t)n * Q, K, lp);
    for (int a = 0; a < K; a++) dn[a] = s * (float)exp(lp[a]);
    dn[perm[z[n]]] -= s;
  }
}

double tgmm_label_loss(const float *logits, int N, int Q, int K, const int32_t *z, float g,
                       float *dlogits, int *perm) {
  double cost[64 * 64], lp[64]; /* K <= 64 (tgmm_model_dims_from_config) */
  memset(cost, 0, sizeof(double) * (size_t)K * (size_t)K);
  for (int n = 0; n < N; n++) {
    int b = z[n];
    if (b < 0 || b >= K) continue; /* not a component of this task: no target */
    log_softmax(logits + (size_t)n * Q, K, lp);
    for (int a = 0; a < K; a++) cost[b * K + a] -= lp[a];
  }
  double total = tgmm_hungarian(cost, K, perm); /* row b (true) gets column perm[b] (label) */
  if (dlogits) label_grad(logits, N, Q, K, z, perm, g / (float)N, dlogits);
  return total / N;
}

void tgmm_labels_fwd(tgmm_model *m) {
  nn_linear_fwd(m->pool, m->a.lab, m->a.lnf, m->params + m->lab_w, m->params + m->lab_b, m->a.T,
                m->dim.C, m->dim.Kmax);
}

double tgmm_labels_loss(tgmm_model *m, const tgmm_batch *b) {
  int Q = m->dim.Kmax;
  double sum = 0.0;
  for (int i = 0; i < b->ntask; i++) {
    int o = b->off[i];
    sum += tgmm_label_loss(m->a.lab + (size_t)o * Q, b->off[i + 1] - o, Q, b->K[i], b->z + o,
                           0.0f, NULL, m->a.lmatch + (size_t)i * Q);
  }
  return sum;
}

void tgmm_labels_bwd(tgmm_model *m, const tgmm_batch *b, double norm, int accumulate) {
  int Q = m->dim.Kmax, C = m->dim.C, T = m->a.T;
  for (int i = 0; i < b->ntask; i++) { /* the forward's permutations, held fixed */
    int o = b->off[i], N = b->off[i + 1] - o;
    label_grad(m->a.lab + (size_t)o * Q, N, Q, b->K[i], b->z + o, m->a.lmatch + (size_t)i * Q,
               (float)(1.0 / norm) / (float)N, m->a.dlab + (size_t)o * Q);
  }
  /* dlnf = dlab W (overwrites), or into scratch dln and added to the mixture's dlnf */
  float *din = accumulate ? m->a.dln : m->a.dlnf;
  nn_linear_bwd(m->pool, din, m->grads + m->lab_w, m->grads + m->lab_b, m->a.dlab, m->a.lnf,
                m->params + m->lab_w, T, C, Q);
  if (accumulate) nn_add_inplace(m->pool, m->a.dlnf, din, (size_t)T * C);
}
