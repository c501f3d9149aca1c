/* train_step.c — one training step of `tgmm train` (see include/tgmm/train.h):
 *
 * Normal mode: this rank's contiguous share of the step's B tasks -> forward -> backward ->
 * MPI_Allreduce of the float gradient buffer and of the loss terms.
 *
 * Bitwise mode (train.deterministic): the step's B tasks are cut into nchunk = ceil(B / chunk)
 * fixed chunks; rank r owns chunks [nchunk r / size, nchunk (r+1) / size) (any rank count: a
 * rank may own more chunks than another, or none). Each chunk gets its own forward/backward (so
 * every GEMM call has the same shape whatever the rank count) and its gradient is kept. The chunk
 * gradients are then summed exactly in fixed point, so the order of addition does not matter:
 *  1. one small MPI_Allreduce (MAX) agrees on every tensor's largest magnitude M over all chunks
 *     (and on the loss terms'; a non-finite value anywhere makes M infinite);
 *  2. every chunk's values are converted to 64-bit integers at the scale 2^e chosen so that
 *     nchunk * M * 2^e <= 2^62 (headroom for the sum of every chunk), truncating toward zero;
 *  3. one MPI_Allreduce (SUM, MPI_INT64_T) over [nparams + 5] integers (gradient, 4 loss terms,
 *     FLOPs): integer addition is associative, so any reduction tree gives the same integers;
 *  4. back to float: value = integer * 2^-e (a tensor whose M is infinite becomes NaN, so the
 *     non-finite guard names it).
 * A value below M * 2^-(61 - log2 nchunk) in magnitude rounds to the grid; relative to the
 * tensor's largest gradient that is far below float precision (tests/bench/bitwise_comm.sh
 * measures the distance from the former double-precision chain sum).
 *
 * Then, in both modes: guards (non-finite loss or gradient: the step and the tensor are named,
 * nothing is written), clipping, AdamW. */
#define _GNU_SOURCE
#include <math.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>

#include "tgmm/common.h"
#include "tgmm/optim.h"
#include "train_impl.h"

/* "step[:rank]" -> step, rank (rank 0 when absent); -1 when unset. */
static void parse_hook(const char *name, int64_t *step, int *rank) {
  *step = -1;
  *rank = 0;
  const char *v = getenv(name);
  if (!v || !*v) return;
  char *end = NULL;
  long long s = strtoll(v, &end, 10);
  if (end == v || s < 0) return;
  *step = s;
  if (*end == ':') *rank = atoi(end + 1);
}

int tgmm_train_step_setup(trainer *tr) {
  const tgmm_config *cfg = tr->cfg;
  parse_hook("TGMM_TEST_INJECT_NAN", &tr->inject_step, &tr->inject_rank);
  parse_hook("TGMM_TEST_DIE_AT", &tr->die_step, &tr->die_rank);
  if (!cfg->train.deterministic) return TGMM_OK;
  int64_t chunk = cfg->train.chunk;
  tr->nchunk = (tr->B + chunk - 1) / chunk;
  if (tr->nchunk < tgmm_mpi.size)
    tgmm_info("train.deterministic: %lld chunks per step for %d ranks: %lld rank(s) idle",
              (long long)tr->nchunk, tgmm_mpi.size, (long long)(tgmm_mpi.size - tr->nchunk));
  tgmm_share(tr->nchunk, tgmm_mpi.rank, tgmm_mpi.size, &tr->c0, &tr->c1);
  size_t n = tr->model.nparams, nloc = (size_t)(tr->c1 - tr->c0);
  const char *chain = getenv("TGMM_BENCH_CHAIN_SUM");
  tr->chain_sum = chain && *chain && strcmp(chain, "0") != 0;
  tr->chunk_grads = tgmm_malloc(sizeof(float) * n * (nloc ? nloc : 1));
  tr->chunk_loss = tgmm_malloc(sizeof(double) * 4 * (nloc ? nloc : 1));
  tr->acc = tgmm_malloc(sizeof(double) * (n + 4));
  tr->iacc = tgmm_malloc(sizeof(int64_t) * (n + FX_EXTRA));
  tr->fx_max = tgmm_malloc(sizeof(double) * (size_t)(tr->model.ntensors + 2));
  if (!tr->chunk_grads || !tr->chunk_loss || !tr->acc || !tr->iacc || !tr->fx_max)
    return TGMM_ENOMEM;
  return TGMM_OK;
}

void tgmm_train_step_free(trainer *tr) {
  free(tr->chunk_grads), free(tr->chunk_loss), free(tr->acc), free(tr->iacc), free(tr->fx_max);
  tr->chunk_grads = NULL;
  tr->chunk_loss = tr->acc = tr->fx_max = NULL;
  tr->iacc = NULL;
}

/* Test hook TGMM_TEST_INJECT_NAN=step[:rank] (step 1-based, as in every message): poison the first element of the middle tensor's
 * gradient on that rank (g: the rank's local gradient buffer [nparams]). */
static void maybe_inject(const trainer *tr, int64_t s, float *g) {
  if (s + 1 != tr->inject_step || tgmm_mpi.rank != tr->inject_rank) return;
  const tgmm_tensor *t = &tr->model.tensors[tr->model.ntensors / 2];
  g[t->off] = NAN;
}

/* Forward + backward of tasks [t0, t1) of step s into m->grads (zeroed first); loss4 = loss,
 * ce, means, scales (normalised by the global B); *flops += the model FLOPs. */
static int local_pass(trainer *tr, int64_t s, int64_t t0, int64_t t1, double loss4[4],
                      double *flops) {
  tgmm_model *m = &tr->model;
  TGMM_TRY(tgmm_source_fill(&tr->src, s, t0, t1, &tr->bb));
  tgmm_model_zero_grad(m);
  memset(loss4, 0, 4 * sizeof(double));
  if (tr->bb.ntask == 0) return TGMM_OK;
  TGMM_TRY(tgmm_model_forward(m, &tr->bb.b, (double)tr->B, &loss4[0], &loss4[1]));
  tgmm_model_backward(m, &tr->bb.b, (double)tr->B);
  *flops += tgmm_model_step_flops(m, tr->bb.off, tr->bb.ntask);
  return TGMM_OK;
}

static int grads_normal(trainer *tr, int64_t s, step_stats *st) {
  tgmm_model *m = &tr->model;
  double red[6] = {0, 0, 0, 0, 0, 0}; /* loss, ce, means, scales, flops, stop */
  int rc = local_pass(tr, s, tr->t0, tr->t1, red, &red[4]);
  maybe_inject(tr, s, m->grads);
  red[5] = tgmm_stop_signal ? 1.0 : 0.0;
  rc = tgmm_agree(rc);
  if (rc != TGMM_OK) return rc;
  double t = tgmm_now();
  if (tgmm_mpi.size > 1) {
    MPI_Allreduce(MPI_IN_PLACE, m->grads, (int)m->nparams, MPI_FLOAT, MPI_SUM, tgmm_mpi.comm);
    MPI_Allreduce(MPI_IN_PLACE, red, 6, MPI_DOUBLE, MPI_SUM, tgmm_mpi.comm);
  }
  st->comm_seconds = tgmm_now() - t;
  st->loss = red[0];
  memcpy(st->parts, red + 1, sizeof st->parts);
  st->flops = red[4];
  st->stop = red[5] > 0.0;
  return TGMM_OK;
}

/* The former bitwise sum, kept for comparison (TGMM_BENCH_CHAIN_SUM=1, used by
 * tests/bench/bitwise_comm.sh): chunk gradients added in chunk order in double along the ranks
 * (rank 0 -> 1 -> ... -> P-1, P hops a step), then broadcast. Needs nchunk divisible by P to be
 * rank-count independent. red = flops, stop. */
static void chain_sum(trainer *tr, double red[2]) {
  tgmm_model *m = &tr->model;
  size_t n = m->nparams, nloc = (size_t)(tr->c1 - tr->c0);
  int rank = tgmm_mpi.rank, size = tgmm_mpi.size;
  if (rank > 0)
    MPI_Recv(tr->acc, (int)(n + 4), MPI_DOUBLE, rank - 1, 71, tgmm_mpi.comm, MPI_STATUS_IGNORE);
  else
    memset(tr->acc, 0, sizeof(double) * (n + 4));
  for (size_t c = 0; c < nloc; c++) {
    const float *g = tr->chunk_grads + c * n;
    for (size_t i = 0; i < n; i++) tr->acc[i] += (double)g[i];
    for (int j = 0; j < 4; j++) tr->acc[n + (size_t)j] += tr->chunk_loss[c * 4 + (size_t)j];
  }
  if (rank < size - 1) {
    MPI_Send(tr->acc, (int)(n + 4), MPI_DOUBLE, rank + 1, 71, tgmm_mpi.comm);
  } else {
    for (size_t i = 0; i < n; i++) m->grads[i] = (float)tr->acc[i];
  }
  if (size > 1) {
    MPI_Bcast(m->grads, (int)n, MPI_FLOAT, size - 1, tgmm_mpi.comm);
    MPI_Bcast(tr->acc + n, 4, MPI_DOUBLE, size - 1, tgmm_mpi.comm);
    MPI_Allreduce(MPI_IN_PLACE, red, 2, MPI_DOUBLE, MPI_SUM, tgmm_mpi.comm);
  }
}

/* Scale exponent e for values of magnitude <= M summed over nchunk chunks: nchunk * M * 2^e
 * stays below 2^62 (M finite and > 0). */
static int fx_exponent(double M, int64_t nchunk) {
  int ex, lg = 0;
  frexp(M, &ex); /* M < 2^ex */
  while (((int64_t)1 << lg) < nchunk) lg++;
  return 62 - ex - lg;
}

/* q += g * scale truncated toward zero (|g * scale| < 2^62: no overflow; the truncation is the
 * same whatever rank holds the chunk). */
static void fx_add(int64_t *q, const float *g, size_t n, double scale) {
  for (size_t i = 0; i < n; i++) q[i] += (int64_t)((double)g[i] * scale);
}

/* Largest |g| over n values, or INFINITY when one is not finite. */
static double max_abs(const float *g, size_t n, double mx) {
  float m = 0, poison = 0;
  for (size_t i = 0; i < n; i++) {
    float a = fabsf(g[i]);
    m = a > m ? a : m;
    poison += g[i] * 0.0f; /* NaN once a value is NaN or infinite */
  }
  if (poison != 0 || isnan(poison)) return INFINITY;
  return (double)m > mx ? (double)m : mx;
}

/* Bitwise mode: the exact fixed-point sum of the chunk gradients (see the top of the file).
 * red = flops, stop. The result: m->grads, and tr->acc[n..n+3] the loss terms. */
static void fixed_point_sum(trainer *tr, double red[2]) {
  tgmm_model *m = &tr->model;
  size_t n = m->nparams, nloc = (size_t)(tr->c1 - tr->c0);
  int nt = m->ntensors;
  double *M = tr->fx_max; /* [nt + 2]: tensors, loss terms, stop flag */
  for (int j = 0; j < nt + 2; j++) M[j] = 0;
  for (size_t c = 0; c < nloc; c++) {
    const float *g = tr->chunk_grads + c * n;
    for (int j = 0; j < nt; j++) M[j] = max_abs(g + m->tensors[j].off, m->tensors[j].numel, M[j]);
    for (int k = 0; k < 4; k++) {
      double a = fabs(tr->chunk_loss[c * 4 + (size_t)k]);
      M[nt] = isfinite(a) ? (a > M[nt] ? a : M[nt]) : INFINITY;
    }
  }
  M[nt + 1] = red[1];
  if (tgmm_mpi.size > 1) MPI_Allreduce(MPI_IN_PLACE, M, nt + 2, MPI_DOUBLE, MPI_MAX, tgmm_mpi.comm);
  red[1] = M[nt + 1];
  int64_t *q = tr->iacc;
  memset(q, 0, sizeof(int64_t) * (n + FX_EXTRA));
  for (size_t c = 0; c < nloc; c++) {
    const float *g = tr->chunk_grads + c * n;
    for (int j = 0; j < nt; j++) {
      const tgmm_tensor *t = &m->tensors[j];
      if (isfinite(M[j]) && M[j] > 0)
        fx_add(q + t->off, g + t->off, t->numel, ldexp(1.0, fx_exponent(M[j], tr->nchunk)));
    }
    if (isfinite(M[nt]) && M[nt] > 0) {
      double sc = ldexp(1.0, fx_exponent(M[nt], tr->nchunk));
      for (int k = 0; k < 4; k++) q[n + (size_t)k] += (int64_t)(tr->chunk_loss[c * 4 + (size_t)k] * sc);
    }
  }
  q[n + 4] = llrint(red[0]); /* FLOPs: an integer count */
  if (tgmm_mpi.size > 1)
    MPI_Allreduce(MPI_IN_PLACE, q, (int)(n + FX_EXTRA), MPI_INT64_T, MPI_SUM, tgmm_mpi.comm);
  for (int j = 0; j < nt; j++) {
    const tgmm_tensor *t = &m->tensors[j];
    float *g = m->grads + t->off;
    if (!isfinite(M[j])) {
      for (size_t i = 0; i < t->numel; i++) g[i] = NAN;
    } else if (M[j] == 0) {
      memset(g, 0, sizeof(float) * t->numel);
    } else {
      double inv = ldexp(1.0, -fx_exponent(M[j], tr->nchunk));
      for (size_t i = 0; i < t->numel; i++) g[i] = (float)((double)q[t->off + i] * inv);
    }
  }
  double linv = M[nt] > 0 && isfinite(M[nt]) ? ldexp(1.0, -fx_exponent(M[nt], tr->nchunk)) : 0;
  for (int k = 0; k < 4; k++) tr->acc[n + (size_t)k] = isfinite(M[nt]) ? (double)q[n + (size_t)k] * linv : NAN;
  red[0] = (double)q[n + 4];
}

static int grads_bitwise(trainer *tr, int64_t s, step_stats *st) {
  tgmm_model *m = &tr->model;
  size_t n = m->nparams;
  int64_t chunk = tr->cfg->train.chunk;
  double red[2] = {0, 0}; /* flops, stop */
  int rc = TGMM_OK;
  for (int64_t c = tr->c0; c < tr->c1 && rc == TGMM_OK; c++) {
    int64_t t0 = c * chunk, t1 = t0 + chunk < tr->B ? t0 + chunk : tr->B;
    size_t k = (size_t)(c - tr->c0);
    rc = local_pass(tr, s, t0, t1, tr->chunk_loss + 4 * k, &red[0]);
    memcpy(tr->chunk_grads + k * n, m->grads, sizeof(float) * n);
  }
  if (tr->c1 > tr->c0) maybe_inject(tr, s, tr->chunk_grads);
  red[1] = tgmm_stop_signal ? 1.0 : 0.0;
  rc = tgmm_agree(rc);
  if (rc != TGMM_OK) return rc;
  double t = tgmm_now();
  if (tr->chain_sum)
    chain_sum(tr, red);
  else
    fixed_point_sum(tr, red);
  st->comm_seconds = tgmm_now() - t;
  st->loss = tr->acc[n];
  memcpy(st->parts, tr->acc + n + 1, sizeof st->parts);
  st->flops = red[0];
  st->stop = red[1] > 0.0;
  return TGMM_OK;
}

/* Name the first tensor whose gradient holds a non-finite value ("" if none). */
static const char *bad_tensor(const tgmm_model *m) {
  for (int j = 0; j < m->ntensors; j++) {
    const tgmm_tensor *t = &m->tensors[j];
    for (size_t i = 0; i < t->numel; i++)
      if (!isfinite(m->grads[t->off + i])) return t->name;
  }
  return "";
}

static int guard(const trainer *tr, int64_t s, const step_stats *st) {
  if (isfinite(st->loss) && isfinite(st->gnorm)) return TGMM_OK;
  if (!isfinite(st->loss))
    tgmm_error0("step %lld: non-finite loss %g (weights %g, means %g, scales %g); stopping, "
                "the last checkpoint is kept as it was", (long long)(s + 1), st->loss,
                st->parts[0], st->parts[1], st->parts[2]);
  else
    tgmm_error0("step %lld: non-finite gradient in tensor %s (gradient norm %g); stopping, the "
                "last checkpoint is kept as it was", (long long)(s + 1), bad_tensor(&tr->model),
                st->gnorm);
  return TGMM_ENUM;
}

int tgmm_train_step(trainer *tr, int64_t s, step_stats *st) {
  memset(st, 0, sizeof *st);
  const tgmm_config *cfg = tr->cfg;
  tgmm_model *m = &tr->model;
  double t_start = tgmm_now();
  TGMM_TRY(cfg->train.deterministic ? grads_bitwise(tr, s, st) : grads_normal(tr, s, st));
  st->gnorm = tgmm_grad_norm(m->grads, m->nparams);
  TGMM_TRY(guard(tr, s, st));
  if (cfg->train.clip > 0) tgmm_clip_grads(m->grads, m->nparams, cfg->train.clip);
  st->lr = tgmm_lr_at(cfg, s);
  tgmm_adamw opt = {.lr = st->lr, .beta1 = cfg->train.beta1, .beta2 = cfg->train.beta2,
                    .eps = cfg->train.eps, .weight_decay = cfg->train.weight_decay};
  tgmm_adamw_step(&opt, s + 1, m->nparams, m->params, m->grads, m->m, m->v);
  st->seconds = tgmm_now() - t_start;
  /* Test hook TGMM_TEST_DIE_AT=step[:rank]: this rank dies like `kill -9` once `step` steps are
   * done (before that step's checkpoint). */
  if (s + 1 == tr->die_step && tgmm_mpi.rank == tr->die_rank) raise(SIGKILL);
  return TGMM_OK;
}
