/* rng.h — counter-based random streams (Philox4x32-10 from Random123).
 *
 * A stream is keyed by (seed, stream kind, id, sub): key = {seed, kind}, counter =
 * {position, sub, id_lo, id_hi}. Nothing depends on the order in which tasks are drawn or on
 * the number of ranks: task `id` of a run is always the same. Convention in task.c: sub 0
 * holds a task's parameters, sub n+1 holds sample n (so samples can be drawn by any rank and the
 * first n samples do not depend on N), sub 0xFFFFFFFE the mean_shift noise and sub 0xFFFFFFFF
 * the ragged sample count N_i (so N never perturbs the parameters). */
#ifndef TGMM_RNG_H
#define TGMM_RNG_H

#include <stdint.h>

/* Stream kinds: keep training, held-out, gen and eval tasks (and other uses) apart. */
enum {
  TGMM_STREAM_TRAIN = 1,   /* training tasks */
  TGMM_STREAM_HELDOUT = 2, /* held-out tasks evaluated during training */
  TGMM_STREAM_GEN = 3,     /* `tgmm gen` */
  TGMM_STREAM_EVAL = 4,    /* `tgmm eval` */
  TGMM_STREAM_INIT = 5,    /* model parameter initialisation */
  TGMM_STREAM_EM = 6,      /* EM / Lloyd / spectral random starts */
};

typedef struct {
  uint32_t key[2];
  uint32_t ctr[4]; /* ctr[0] = position (advances), ctr[1] = sub, ctr[2..3] = id */
  uint32_t buf[4];
  int nbuf; /* unused words left in buf */
} tgmm_rng;

void tgmm_rng_init(tgmm_rng *r, uint32_t seed, uint32_t kind, uint64_t id, uint32_t sub);

uint32_t tgmm_rng_u32(tgmm_rng *r);
uint64_t tgmm_rng_u64(tgmm_rng *r);
/* Uniform on [0, 1) with 53 random bits. */
double tgmm_rng_uniform(tgmm_rng *r);
/* Uniform on [lo, hi). */
double tgmm_rng_uniform_range(tgmm_rng *r, double lo, double hi);
/* Uniform integer in {lo, ..., hi} (inclusive), without modulo bias. */
int64_t tgmm_rng_int(tgmm_rng *r, int64_t lo, int64_t hi);
/* Standard normal (Box–Muller on two fresh uniforms; no cached spare, so draws stay aligned). */
double tgmm_rng_normal(tgmm_rng *r);
/* Index k in 0..K-1 with probability p[k] (p sums to 1; the last index absorbs rounding). */
int tgmm_rng_categorical(tgmm_rng *r, const double *p /* [K] */, int K);

#endif
