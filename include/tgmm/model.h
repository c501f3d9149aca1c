/* model.h — the TGMM model: parameters in one contiguous buffer with named views, forward and
 * backward over a batch of packed ragged tasks, loss, and inference.
 *
 * Architecture (the paper's, README "Training"): token n of task i = [x_n (d), task_embd[K_i - 1] (E)]
 * -> read_in (linear, bias) to width C (+ pos_embd[n] when positions = learned) -> n_layer
 * pre-LayerNorm GPT-2 blocks (causal or bidirectional attention, MLP 4C with tanh-GELU) ->
 * ln_f -> the task's class read-out (attentive pooling, Kmax queries of width W) -> GMM head.
 * W = Kmax + d (isotropic) or Kmax + 2d (anisotropic).
 *
 * Parameter tensors (PyTorch-style names, shapes as in a torch state_dict), in buffer order:
 *   task_embd.weight [Kmax, E]; read_in.weight [C, d+E]; read_in.bias [C];
 *   pos_embd.weight [n_positions, C] (positions = learned only);
 *   blocks.L.ln1.weight/bias [C]; blocks.L.attn.qkv.weight [3C, C], .bias [3C];
 *   blocks.L.attn.proj.weight [C, C], .bias [C]; blocks.L.ln2.weight/bias [C];
 *   blocks.L.mlp.fc.weight [4C, C], .bias [4C]; blocks.L.mlp.proj.weight [C, 4C], .bias [C];
 *   ln_f.weight/bias [C]; readout.i.q [Kmax, W]; readout.i.wk [W, C]; readout.i.wv [W, C]
 *   (mixture head); label_head.weight [Kmax, C], label_head.bias [Kmax] (label head).
 * Gradients and the AdamW moments m, v use the same layout in buffers of their own.
 *
 * model.head: `mixture` (the paper's) is the read-out above; `labels` replaces it by a linear map
 * from each sample's final hidden state (ln_f output) to Kmax class logits (classes >= K masked),
 * trained by the cross-entropy of each sample's true component minimised over the K! label
 * permutations (exact, Hungarian; src/model/model_labels.c); `both` has the two heads and adds the
 * two losses.
 *
 * model.backbone = mamba2 replaces pos_embd, blocks and ln_f by n_layer Mamba2 layers and a final
 * RMSNorm (layers.L.* and norm_f.weight; see src/model/model_ssm.c); the input side and
 * read-outs are the same. */
#ifndef TGMM_MODEL_H
#define TGMM_MODEL_H

#include <stddef.h>
#include <stdint.h>

#include "tgmm/config.h"
#include "tgmm/nn.h"

typedef struct {
  int d, C, L, H, E;   /* dimension, width, layers, heads, task-embedding width */
  int Kmax, nclass;    /* largest K; number of read-outs (classes) */
  int n_positions;     /* rows of pos_embd (0 when positions = none) */
  int causal, aniso;   /* attention mask; anisotropic head (predicts scales) */
  int hungarian;       /* loss on Hungarian-matched components (train.matching = hungarian) */
  int nll;             /* train.loss = nll: the mixture's negative log-likelihood of the samples */
  int head;            /* model.head (tgmm_head): TGMM_HEAD_MIXTURE (0), _LABELS or _BOTH */
  /* model.backbone = mamba2 (ssm != 0; H, causal, n_positions unused): heads, head width,
   * state, groups, conv kernel (src/model/model_ssm.c) */
  int ssm, sH, sP, sN, sG, sK;
} tgmm_model_dims;

typedef struct {
  char name[64];
  int ndim;
  int shape[3]; /* dims beyond ndim are 1 */
  size_t off, numel; /* offset into the buffers, element count */
} tgmm_tensor;

typedef struct {
  size_t ln1w, ln1b, qkvw, qkvb, projw, projb, ln2w, ln2b, fcw, fcb, fcpw, fcpb;
} tgmm_block_off;

typedef struct {
  size_t q, wk, wv;
} tgmm_readout_off;

/* A batch of tasks packed token by token. Targets may be NULL for inference. */
typedef struct {
  int ntask;
  const int *off;       /* [ntask+1] token offsets, off[0] = 0, N_i = off[i+1] - off[i] >= 1 */
  const int *K;         /* [ntask] components of each task (1 <= K <= Kmax) */
  const int *cls;       /* [ntask] read-out (class) of each task */
  const float *x;       /* [off[ntask], d] samples */
  const float *weights; /* [ntask, Kmax] true weights (first K used) or NULL */
  const float *means;   /* [ntask, Kmax, d] true means or NULL */
  const float *scales;  /* [ntask, Kmax, d] true standard deviations (anisotropic) or NULL */
  const int32_t *z;     /* [off[ntask]] true component of each sample (label head) or NULL */
} tgmm_batch;

/* Activations of the last forward pass (sized for the largest batch seen so far). */
typedef struct {
  int T, ntask, nmax; /* current batch */
  size_t att_n;       /* floats of attention probabilities per layer */
  int T_cap, ntask_cap, nmax_cap;
  size_t att_cap;
  float *xin, *h0, *ln1, *ln1m, *ln1r, *qkv, *atty, *att, *res2, *ln2, *ln2m, *ln2r, *fch, *fchg,
      *res3, *lnf, *lnfm, *lnfr, *pk, *pv, *pA, *pO;
  float *dres, *dln, *d4, *d3, *datty, *dlnf, *pscratch, *dO; /* gradient scratch */
  float *tgt; /* [Kmax + 2 Kmax d] one task's matched targets */
  int *match; /* [ntask, Kmax] hungarian: predicted component of true component k of task i */
  float *lab, *dlab; /* [T, Kmax] label logits and their gradient (label head) */
  int *lmatch; /* [ntask, Kmax] label head: the label (class) matched to true component k */
  double *nllw; /* [3 Kmax d] scratch of the nll loss */
} tgmm_acts;

typedef struct {
  tgmm_model_dims dim;
  int W; /* read-out width */
  int ntensors;
  tgmm_tensor *tensors; /* [ntensors] */
  size_t nparams;
  float *params, *grads, *m, *v; /* each [nparams] */
  size_t task_embd, read_in_w, read_in_b, pos, lnfw, lnfb; /* offsets */
  size_t lab_w, lab_b; /* label_head.weight [Kmax, C], label_head.bias [Kmax] (label head) */
  tgmm_block_off *blocks;                                   /* [L] */
  tgmm_readout_off *readout;                                /* [nclass] */
  nn_par *pool; /* the layers' thread pool (NULL: serial); see tgmm_model_set_threads */
  struct tgmm_ssm *ssm; /* mamba2 backbone: its layout and activations (model_ssm.c), or NULL */
  tgmm_acts a;
} tgmm_model;

/* Model dimensions from a resolved config (prints and returns TGMM_EUSER if inconsistent,
 * e.g. n_embd not divisible by n_head). */
int tgmm_model_dims_from_config(const tgmm_config *cfg, tgmm_model_dims *dim);
/* Allocate the tensor table and the four buffers (params, grads, m, v zeroed). */
int tgmm_model_create(tgmm_model *m, const tgmm_model_dims *dim);
void tgmm_model_free(tgmm_model *m);
/* Run the layers on n threads (a pool of n; OpenBLAS itself is set to one thread). */
int tgmm_model_set_threads(tgmm_model *m, int n);
/* The same with fixed-size work blocks (nn_par_create_fixed): results are bitwise the same for
 * any n (train.deterministic). */
int tgmm_model_set_threads_fixed(tgmm_model *m, int n);
/* GPT-2 initialisation, deterministic: tensor j draws from stream (seed, TGMM_STREAM_INIT, j). */
void tgmm_model_init(tgmm_model *m, uint32_t seed);
/* Tensor by name (NULL if absent). */
const tgmm_tensor *tgmm_model_find(const tgmm_model *m, const char *name);

/* Make sure the activation buffers hold a batch of T tokens and ntask tasks, the longest with
 * nmax tokens, att_n attention floats per layer (forward does this itself). */
int tgmm_model_reserve(tgmm_model *m, int T, int ntask, int nmax, size_t att_n);

static inline int tgmm_model_has_mixture(const tgmm_model *m) {
  return m->dim.head != TGMM_HEAD_LABELS;
}
static inline int tgmm_model_has_labels(const tgmm_model *m) {
  return m->dim.head != TGMM_HEAD_MIXTURE;
}

/* Forward pass; with targets, *loss = (sum over the batch's task losses) / norm, and parts[3]
 * (may be NULL) the cross-entropy, means and scales terms likewise. norm is the GLOBAL number of
 * tasks of the step (data parallel: every rank passes the same norm).
 * Matching (dim.hungarian): canonical compares predicted component k with true component k (the
 * paper's loss); hungarian first matches each task's K predicted means to its K true means by
 * the Hungarian algorithm on squared distances (the evaluation's alignment), from this forward's
 * own outputs, and compares matched pairs (weights' logits and scales follow the same
 * permutation). The match is stored in m->a.match and held fixed by the backward (as DETR).
 * train.loss = nll (dim.nll): the task's loss is nn_gmm_nll of its own samples b->x (no targets
 * compared, no matching; parts[0] holds it, parts[1..2] are 0); it still needs b->weights and
 * b->means to be present, as the flag that a batch carries targets.
 * Label head: with b->z, *loss also holds the label loss (tgmm_label_loss of every task, summed,
 * / norm; not in parts), its permutations in m->a.lmatch, held fixed by the backward. The mixture
 * loss needs b->weights and b->means; a head without its targets adds nothing. */
int tgmm_model_forward(tgmm_model *m, const tgmm_batch *b, double norm, double *loss,
                       double parts[3]);
/* Backward pass of the last forward (same batch): ACCUMULATES into m->grads. */
void tgmm_model_backward(tgmm_model *m, const tgmm_batch *b, double norm);
void tgmm_model_zero_grad(tgmm_model *m);
/* The Hungarian match of one task: perm[k] = predicted component matched to true component k
 * (squared distances of the means O[k, Q..Q+d-1] to mu[k]). */
void tgmm_model_match(const float *O /* [Q, W] */, int Q, int W, int d, int K,
                      const float *mu /* [K, d] */, int *perm /* [K] */);

/* Inference: weights [ntask, Kmax], means [ntask, Kmax, d], scales [ntask, Kmax, d] (may be
 * NULL; filled only for anisotropic models); entries of components k >= K_i are set to 0. */
int tgmm_model_predict(tgmm_model *m, const tgmm_batch *b, double *weights, double *means,
                       double *scales);

/* Inference of the label head (TGMM_EUSER for a model without one): labels[t] = the argmax of
 * token t's logits over the first K_i classes of its task. */
int tgmm_model_predict_labels(tgmm_model *m, const tgmm_batch *b, int32_t *labels /* [off[ntask]] */);

/* The label loss of one task: p_n = softmax of logits[n, 0..K-1]; cost[b][a] = sum over samples
 * with z_n = b of -log p_n(a); perm = the assignment of labels to true components of least total
 * cost (Hungarian; perm[b] = label of true component b); returns that total / N (mean
 * cross-entropy at the best permutation). With dlogits: dlogits[n, a] = g (p_n(a) - [a ==
 * perm[z_n]]) / N for a < K, 0 for a >= K (the permutation held fixed). */
double tgmm_label_loss(const float *logits /* [N, Q] */, int N, int Q, int K,
                       const int32_t *z /* [N] */, float g, float *dlogits /* [N, Q] or NULL */,
                       int *perm /* [K] */);

/* FLOPs of one training step (forward + backward) on a batch with the given token counts,
 * counting 2 per multiply-add, GEMM-like work only (for throughput reports). */
double tgmm_model_step_flops(const tgmm_model *m, const int *off, int ntask);

#endif
