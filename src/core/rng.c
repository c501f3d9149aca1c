/* rng.c — counter-based random streams: Philox4x32-10 (Random123), key = {seed, kind},
 * counter = {position, sub, id_lo, id_hi}. Each block gives four 32-bit words. */
#include "tgmm/rng.h"

#include <Random123/philox.h>
#include <math.h>

void tgmm_rng_init(tgmm_rng *r, uint32_t seed, uint32_t kind, uint64_t id, uint32_t sub) {
  r->key[0] = seed;
  r->key[1] = kind;
  r->ctr[0] = 0;
  r->ctr[1] = sub;
  r->ctr[2] = (uint32_t)(id & 0xFFFFFFFFu);
  r->ctr[3] = (uint32_t)(id >> 32);
  r->buf[0] = r->buf[1] = r->buf[2] = r->buf[3] = 0;
  r->nbuf = 0;
}

/* Next block of four words at the current position; the position then advances. */
static void refill(tgmm_rng *r) {
  philox4x32_ctr_t c = {{r->ctr[0], r->ctr[1], r->ctr[2], r->ctr[3]}};
  philox4x32_key_t k = {{r->key[0], r->key[1]}};
  philox4x32_ctr_t out = philox4x32_R(10, c, k);
  for (int i = 0; i < 4; i++) r->buf[i] = out.v[i];
  r->nbuf = 4;
  r->ctr[0]++;
}

uint32_t tgmm_rng_u32(tgmm_rng *r) {
  if (r->nbuf == 0) refill(r);
  uint32_t w = r->buf[4 - r->nbuf];
  r->nbuf--;
  return w;
}

uint64_t tgmm_rng_u64(tgmm_rng *r) {
  uint64_t hi = tgmm_rng_u32(r);
  uint64_t lo = tgmm_rng_u32(r);
  return (hi << 32) | lo;
}

double tgmm_rng_uniform(tgmm_rng *r) {
  return (double)(tgmm_rng_u64(r) >> 11) * 0x1.0p-53;
}

double tgmm_rng_uniform_range(tgmm_rng *r, double lo, double hi) {
  return lo + (hi - lo) * tgmm_rng_uniform(r);
}

int64_t tgmm_rng_int(tgmm_rng *r, int64_t lo, int64_t hi) {
  if (hi <= lo) return lo;
  uint64_t range = (uint64_t)hi - (uint64_t)lo + 1u; /* 0 means the full 2^64 range */
  if (range == 0) return (int64_t)tgmm_rng_u64(r);
  uint64_t threshold = (0u - range) % range; /* 2^64 mod range: reject below it */
  for (;;) {
    uint64_t x = tgmm_rng_u64(r);
    if (x >= threshold) return (int64_t)((uint64_t)lo + x % range);
  }
}

double tgmm_rng_normal(tgmm_rng *r) {
  double u1 = tgmm_rng_uniform(r);
  double u2 = tgmm_rng_uniform(r);
  double rad = sqrt(-2.0 * log(1.0 - u1)); /* 1 - u1 in (0, 1]: finite */
  return rad * cos(6.283185307179586476925286766559 * u2);
}

int tgmm_rng_categorical(tgmm_rng *r, const double *p /* [K] */, int K) {
  double u = tgmm_rng_uniform(r);
  double cum = 0.0;
  for (int k = 0; k < K - 1; k++) {
    cum += p[k];
    if (u < cum) return k;
  }
  return K - 1;
}
